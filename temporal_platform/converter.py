"""The one data converter of every Temporal client, worker and replayer: pydantic payloads,
encrypted by the payload codec, failure messages and stack traces encrypted with them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverter, PayloadConverter

from config import DEFAULT_DATA_DIR, Settings
from temporal_platform.codec import PayloadEncryptionCodec
from temporal_platform.keys import PayloadKey, payload_keys_or_dev_file

DEV_KEY_FILE = DEFAULT_DATA_DIR / "payload-encryption.keys"


def payload_keys(settings: Settings) -> list[PayloadKey]:
    """PAYLOAD_ENCRYPTION_KEYS, or the local dev key every process of the checkout shares."""
    return payload_keys_or_dev_file(settings.payload_encryption_keys, DEV_KEY_FILE)


def payload_codec(settings: Settings) -> PayloadEncryptionCodec:
    return PayloadEncryptionCodec(payload_keys(settings))


# Of each stack trace, the innermost frames that fit: the server replaces a failure over its size
# limit with "Failure exceeds size limit." (message and all), and an encrypted one it cannot trim.
STACK_KEPT = 1500


class EncryptedFailures(DefaultFailureConverter):
    """Failure messages and stack traces leave the process encrypted (each failure of the chain),
    the stack traces cut to their innermost frames."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=False)

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        # Called again for each cause (by the base class), so each failure encodes itself.
        super().to_failure(exception, payload_converter, failure)
        failure.encoded_attributes.CopyFrom(
            payload_converter.to_payloads(
                [{"message": failure.message, "stack_trace": failure.stack_trace[-STACK_KEPT:]}]
            )[0]
        )
        failure.message, failure.stack_trace = "Encoded failure", ""


def data_converter(keys: Sequence[PayloadKey]) -> DataConverter:
    # Failure messages leave the worker encrypted too: QBO's fault details may quote what was
    # sent (names, addresses), and the codec server shows them to operators in the Web UI.
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=PayloadEncryptionCodec(keys),
        failure_converter_class=EncryptedFailures,
    )


def data_converter_for(settings: Settings) -> DataConverter:
    return data_converter(payload_keys(settings))
