"""AES-GCM payload encryption: every payload leaves the process encrypted with the first key, its
key id in the payload's metadata; any configured key decrypts (rotation)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from temporal_platform.keys import PayloadKey

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class PayloadKeyError(ValueError):
    """An encrypted payload the configured keys cannot open."""


class PayloadEncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise ValueError("payload encryption needs at least one key")
        self._current = keys[0]
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}

    @property
    def key_id(self) -> str:
        """The id of the key that encrypts."""
        return self._current.key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._current.key_id
        cipher = self._ciphers[key_id]
        encrypted = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # The key id is authenticated too: a payload relabelled to another key fails to open.
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id.encode())
            encrypted.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed
                )
            )
        return encrypted

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        # Payloads without our encoding pass as they are: histories from before encryption (the
        # replay corpus, workflows started by an older release) still read.
        return [self._decrypt(p) if p.metadata.get("encoding") == ENCODING else p for p in payloads]

    def _decrypt(self, payload: Payload) -> Payload:
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"a payload is encrypted with key id {key_id!r}, which is not among "
                f"PAYLOAD_ENCRYPTION_KEYS (ids: {', '.join(self._ciphers)}): put that key back "
                "in the list (after the current one) to read it"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode()))
        except InvalidTag:
            raise PayloadKeyError(
                f"a payload labelled with key id {key_id!r} does not decrypt with the key "
                "configured under that id: the key was changed, or the payload was altered"
            ) from None
