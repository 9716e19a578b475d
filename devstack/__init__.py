"""The local stack without Docker: Temporal binary resolver, process supervision, the demo."""
