"""The HTTP API's routers, one per concern (see docs/API.md); `starter.api` assembles them."""
