"""QuickBooks Online Accounting API v3 client: OAuth2 with token refresh, typed faults, requestid."""

from qbo.auth import OAuthClient, OAuthTokens, TokenManager, TokenStore
from qbo.client import QBOClient
from qbo.errors import (
    AuthenticationError,
    DuplicateNameError,
    ObjectNotFoundError,
    QBOError,
    ReconnectRequiredError,
    ServerError,
    StaleObjectError,
    ThrottledError,
    ValidationFaultError,
)

__all__ = [
    "AuthenticationError",
    "DuplicateNameError",
    "OAuthClient",
    "OAuthTokens",
    "ObjectNotFoundError",
    "QBOClient",
    "QBOError",
    "ReconnectRequiredError",
    "ServerError",
    "StaleObjectError",
    "ThrottledError",
    "TokenManager",
    "TokenStore",
    "ValidationFaultError",
]
