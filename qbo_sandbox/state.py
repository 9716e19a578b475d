"""Everything one sandbox process remembers: companies and the tokens issued for them."""

from __future__ import annotations

from dataclasses import dataclass

from qbo_sandbox.oauth import TokenStore
from qbo_sandbox.realms import RealmRegistry


@dataclass
class Sandbox:
    realms: RealmRegistry
    tokens: TokenStore
