"""Encryption at rest for OAuth tokens (Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)


class TokenCipher:
    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise ValueError(
                "TOKEN_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64 bytes); "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from exc

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, ciphertext: str, max_age_seconds: int | None = None) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode(), ttl=max_age_seconds).decode()
        except InvalidToken as exc:
            raise ValueError("stored token cannot be decrypted with TOKEN_ENCRYPTION_KEY") from exc

    @classmethod
    def from_key_or_file(cls, key: str, key_file: Path) -> TokenCipher:
        """Use `key` when set; otherwise a key kept in `key_file` (created once, for local dev)."""
        if key:
            return cls(key)
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            # Written aside, then linked in place (as temporal_platform/keys.py does): processes
            # starting at once (a stack, parallel test workers) all end up with the one key.
            draft = key_file.with_name(f".{key_file.name}.{os.getpid()}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
            try:
                os.link(draft, key_file)
                log.warning(
                    "TOKEN_ENCRYPTION_KEY is not set: created a local dev key in %s", key_file
                )
            except FileExistsError:
                pass  # another process made it first: use theirs
            finally:
                draft.unlink()
        return cls(key_file.read_bytes().strip())
