"""The one data converter of every Temporal client, worker and replayer: pydantic payloads,
encrypted by the payload codec, failure messages and stack traces encrypted with them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from config import DEFAULT_DATA_DIR, Settings
from temporal_platform.codec import PayloadEncryptionCodec
from temporal_platform.keys import PayloadKey, payload_keys_or_dev_file

DEV_KEY_FILE = DEFAULT_DATA_DIR / "payload-encryption.keys"


def payload_keys(settings: Settings) -> list[PayloadKey]:
    """PAYLOAD_ENCRYPTION_KEYS, or the local dev key every process of the checkout shares."""
    return payload_keys_or_dev_file(settings.payload_encryption_keys, DEV_KEY_FILE)


def payload_codec(settings: Settings) -> PayloadEncryptionCodec:
    return PayloadEncryptionCodec(payload_keys(settings))


def data_converter(keys: Sequence[PayloadKey]) -> DataConverter:
    # Failure messages leave the worker encrypted too: QBO's fault details may quote what was
    # sent (names, addresses), and the codec server shows them to operators in the Web UI.
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=PayloadEncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter_for(settings: Settings) -> DataConverter:
    return data_converter(payload_keys(settings))
