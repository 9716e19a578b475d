"""QuickBooks Online Accounting API v3 client: OAuth2 with token refresh, typed faults, requestid,
per-realm request limits shared by every process."""

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
from qbo.limiter import QBOLimits, RealmLimiter, RequestBudget

__all__ = [
    "AuthenticationError",
    "DuplicateNameError",
    "OAuthClient",
    "OAuthTokens",
    "ObjectNotFoundError",
    "QBOClient",
    "QBOError",
    "QBOLimits",
    "RealmLimiter",
    "ReconnectRequiredError",
    "RequestBudget",
    "ServerError",
    "StaleObjectError",
    "ThrottledError",
    "TokenManager",
    "TokenStore",
    "ValidationFaultError",
]
