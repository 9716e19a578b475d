"""Payload encryption keys: `PAYLOAD_ENCRYPTION_KEYS="id:base64key,..."`, the first encrypts and
every one decrypts (rotation); a local dev key file when none is configured."""

from __future__ import annotations

import base64
import binascii
import datetime
import logging
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
KEY_SIZES = (16, 24, 32)  # AES-128, AES-192, AES-256
HOW_TO_MAKE_ONE = "make one with: python -m temporal_platform.keys"


@dataclass(frozen=True)
class PayloadKey:
    """One AES-GCM key and the id written next to every payload it encrypts."""

    key_id: str
    secret: bytes = field(repr=False)


def new_key_line(key_id: str | None = None) -> str:
    """`<id>:<base64 AES-256 key>`, an entry for PAYLOAD_ENCRYPTION_KEYS."""
    key_id = key_id or f"k{datetime.date.today():%Y%m%d}"
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def parse_payload_keys(text: str) -> list[PayloadKey]:
    """The keys of `id1:base64key,id2:base64key` (newest first); a clear error naming the entry."""
    keys: list[PayloadKey] = []
    for n, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon or not KEY_ID.fullmatch(key_id):
            raise ValueError(
                f"PAYLOAD_ENCRYPTION_KEYS entry {n} is not '<id>:<base64 key>' with an id of "
                f"letters, digits, '.', '_' or '-'; {HOW_TO_MAKE_ONE}"
            )
        try:
            secret = base64.b64decode(
                encoded.strip().replace("-", "+").replace("_", "/"), validate=True
            )
        except binascii.Error:
            raise ValueError(
                f"PAYLOAD_ENCRYPTION_KEYS key {key_id!r} is not base64; {HOW_TO_MAKE_ONE}"
            ) from None
        if len(secret) not in KEY_SIZES:
            raise ValueError(
                f"PAYLOAD_ENCRYPTION_KEYS key {key_id!r} is {len(secret)} bytes; an AES key is "
                f"16, 24 or 32 bytes (32 recommended); {HOW_TO_MAKE_ONE}"
            )
        if any(k.key_id == key_id for k in keys):
            raise ValueError(f"PAYLOAD_ENCRYPTION_KEYS names key {key_id!r} twice")
        keys.append(PayloadKey(key_id, secret))
    if not keys:
        raise ValueError(f"PAYLOAD_ENCRYPTION_KEYS holds no key; {HOW_TO_MAKE_ONE}")
    return keys


def payload_keys_or_dev_file(configured: str, key_file: Path) -> list[PayloadKey]:
    """The configured keys; without any, the local dev key in `key_file` (created once)."""
    if configured.strip():
        return parse_payload_keys(configured)
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked in place: a process starting meanwhile never reads half a key.
        draft = key_file.with_name(f".{key_file.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_key_line("dev") + "\n")
        try:
            os.link(draft, key_file)
            log.warning(
                "PAYLOAD_ENCRYPTION_KEYS is not set: created a local dev key in %s", key_file
            )
        except FileExistsError:
            pass  # another process of the stack made it first: use theirs
        finally:
            draft.unlink()
    return parse_payload_keys(key_file.read_text())


if __name__ == "__main__":
    print(new_key_line(sys.argv[1] if len(sys.argv) > 1 else None))
