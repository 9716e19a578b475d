"""Payload encryption: AES-GCM with the key id in each payload's metadata, rotation by a list of
keys (the first encrypts, all decrypt), and the keys' configuration."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from billing.snapshots import Customer
from temporal_platform.codec import ENCODING, KEY_ID, PayloadEncryptionCodec, PayloadKeyError
from temporal_platform.converter import data_converter
from temporal_platform.keys import (
    PayloadKey,
    new_key_line,
    parse_payload_keys,
    payload_keys_or_dev_file,
)

JANE = b'{"display_name": "Jane Smith", "email": "jane.smith@example.com"}'


def plain(data: bytes = JANE) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def key(key_id: str) -> PayloadKey:
    return PayloadKey(key_id, os.urandom(32))


async def test_a_payload_is_encrypted_under_the_first_key_and_decrypts_to_itself() -> None:
    codec = PayloadEncryptionCodec([key("k2"), key("k1")])
    (sealed,) = await codec.encode([plain()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k2"
    assert b"Jane" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain()]
    (again,) = await codec.encode([plain()])
    assert again.data != sealed.data  # a fresh nonce each time


async def test_after_rotation_payloads_of_the_old_key_still_decrypt() -> None:
    old, new = key("2026-06"), key("2026-12")
    (before,) = await PayloadEncryptionCodec([old]).encode([plain()])
    rotated = PayloadEncryptionCodec([new, old])
    (after,) = await rotated.encode([plain()])
    assert after.metadata[KEY_ID] == b"2026-12"
    assert await rotated.decode([before, after]) == [plain(), plain()]


async def test_a_payload_of_a_key_no_longer_configured_fails_naming_the_key_id() -> None:
    (sealed,) = await PayloadEncryptionCodec([key("retired")]).encode([plain()])
    with pytest.raises(PayloadKeyError, match=r"key id 'retired'.*not among.*\(ids: current\)"):
        await PayloadEncryptionCodec([key("current")]).decode([sealed])


async def test_a_different_key_under_the_same_id_or_an_altered_payload_does_not_decrypt() -> None:
    codec = PayloadEncryptionCodec([key("k1")])
    (sealed,) = await codec.encode([plain()])
    with pytest.raises(PayloadKeyError, match="key was changed, or the payload was altered"):
        await PayloadEncryptionCodec([key("k1")]).decode([sealed])
    altered = Payload()
    altered.CopyFrom(sealed)
    altered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadKeyError):
        await codec.decode([altered])


async def test_payloads_from_before_encryption_pass_through() -> None:
    codec = PayloadEncryptionCodec([key("k1")])
    assert await codec.decode([plain()]) == [plain()]


async def test_the_service_converter_encrypts_pydantic_values_and_reads_them_back() -> None:
    converter = data_converter([key("k1")])
    jane = Customer.model_validate(
        {"id": "cust_1", "first_name": "Jane", "last_name": "Smith", "email": "jane@example.com"}
    )
    (sealed,) = await converter.encode([jane])
    assert b"Smith" not in sealed.SerializeToString()
    assert await converter.decode([sealed], [Customer]) == [jane]


def test_keys_are_read_newest_first_from_the_setting() -> None:
    first, second = new_key_line("2026-12"), new_key_line("2026-06")
    keys = parse_payload_keys(f" {first} , {second} ")
    assert [k.key_id for k in keys] == ["2026-12", "2026-06"]
    assert keys[0].secret == base64.b64decode(first.split(":", 1)[1])
    assert len(keys[0].secret) == 32


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("", "holds no key"),
        ("nokey", "entry 1 is not '<id>:<base64 key>'"),
        ("bad id:AAAA", "entry 1 is not '<id>:<base64 key>'"),
        ("k1:not base64!", "key 'k1' is not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "key 'k1' is 5 bytes"),
        # Named: a random key in the id would differ between pytest-xdist's workers.
        pytest.param(
            f"{new_key_line('k1')},{new_key_line('k1')}", "names key 'k1' twice", id="k1,k1"
        ),
    ],
)
def test_a_wrong_setting_is_refused_naming_the_entry_and_how_to_make_a_key(
    setting: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_payload_keys(setting)


def test_the_key_in_the_setting_never_shows_in_its_repr() -> None:
    (k,) = parse_payload_keys(new_key_line("k1"))
    assert repr(k) == "PayloadKey(key_id='k1')"


def test_without_a_setting_every_process_shares_one_dev_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / ".data" / "payload-encryption.keys"
    (made,) = payload_keys_or_dev_file("", key_file)
    (read,) = payload_keys_or_dev_file("", key_file)
    assert made == read and made.key_id == "dev"
    assert key_file.stat().st_mode & 0o777 == 0o600
    configured = new_key_line("prod")
    assert [k.key_id for k in payload_keys_or_dev_file(configured, key_file)] == ["prod"]
