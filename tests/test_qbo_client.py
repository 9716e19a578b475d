"""The production QBO client against the sandbox over HTTP, and against recorded fault bodies."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml

from qbo import (
    AuthenticationError,
    DuplicateNameError,
    ObjectNotFoundError,
    QBOClient,
    ReconnectRequiredError,
    StaleObjectError,
    ThrottledError,
    wire,
)
from qbo import models as q
from qbo.client import quote
from qbo.errors import ServerError, UnsupportedPropertyError, error_from_response, intuit_tid
from store import Store
from tests.conftest import Company
from tests.events import new_id

RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "qbo-recordings"


def recorded_response(name: str, index: int = 0) -> tuple[int, dict[str, list[str]], str]:
    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"recordings not found at {RECORDINGS}")
    interaction = yaml.safe_load(path.read_text())["http_interactions"][index]["response"]
    return interaction["status"]["code"], interaction["headers"], interaction["body"]["string"]


def parse_recorded(name: str, index: int = 0):
    status, headers, body = recorded_response(name, index)
    flat = {k: v[0] for k, v in headers.items()}
    return error_from_response(status, body, wire.loads(body), intuit_tid(flat), None)


def test_recorded_gateway_401_is_an_authentication_error_with_its_tid() -> None:
    error = parse_recorded("error/401.yml")
    assert isinstance(error, AuthenticationError)
    assert (error.status, error.code) == (401, "3200")
    assert error.detail == "Token expired"  # the token fragment QBO quotes is dropped
    assert "AB0160" not in str(error)
    assert error.intuit_tid == "1-5f7349e0-0fd2bee86a8a83c67a77fbb2"
    assert "intuit_tid 1-5f7349e0" in str(error)


def test_recorded_validation_faults_are_typed() -> None:
    duplicate = parse_recorded("error/validation.yml")
    assert isinstance(duplicate, DuplicateNameError) and duplicate.code == "6240"
    unsupported = parse_recorded("error/400_json.yml")
    assert isinstance(unsupported, UnsupportedPropertyError) and unsupported.code == "2010"
    assert not unsupported.retryable


def test_xml_throttle_fault_waits_as_long_as_retry_after_says() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse '
        'xmlns="http://schema.intuit.com/finance/v3"><Fault type="ValidationFault">'
        '<Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429'
        "</Message><Detail>The request limit was reached.</Detail></Error></Fault></IntuitResponse>"
    )
    error = error_from_response(429, body, None, "tid-1", "17")
    assert isinstance(error, ThrottledError) and error.retryable
    assert (error.code, error.retry_after, error.detail) == (
        "3001",
        17.0,
        "The request limit was reached.",
    )
    assert isinstance(error_from_response(503, "", None, "", None), ServerError)


def test_money_goes_out_as_json_numbers_and_comes_back_as_decimal() -> None:
    text = wire.dumps({"Amount": Decimal("120.10"), "Qty": Decimal("3"), "Name": "O'Hara"})
    assert text == '{"Amount":120.10,"Qty":3,"Name":"O\'Hara"}'
    assert wire.loads(text)["Amount"] == Decimal("120.10")
    with pytest.raises(TypeError):
        wire.dumps({"Amount": 0.1})
    assert quote("O'Hara \\ Sons") == "'O\\'Hara \\\\ Sons'"


async def test_sandbox_faults_arrive_typed_with_code_detail_and_tid(
    qbo: QBOClient, company: Company
) -> None:
    realm = company.realm_id
    first = await qbo.create(realm, q.Customer(DisplayName="Pat O'Hara"), new_id("req"))
    with pytest.raises(DuplicateNameError) as dup:
        await qbo.create(realm, q.Customer(DisplayName="pat o'hara"), new_id("req"))
    assert dup.value.status == 400 and dup.value.intuit_tid
    assert first.Id and first.SyncToken == "0"
    with pytest.raises(ObjectNotFoundError):
        await qbo.read(realm, q.Customer, "987654")
    await qbo.update(realm, q.Customer(Id=first.Id, SyncToken="0", CompanyName="A"), new_id("req"))
    with pytest.raises(StaleObjectError) as stale:
        await qbo.update(
            realm, q.Customer(Id=first.Id, SyncToken="0", CompanyName="B"), new_id("req")
        )
    assert stale.value.code == "5010" and stale.value.retryable
    found = await qbo.query(
        realm,
        q.Customer,
        f"SELECT * FROM Customer WHERE DisplayName = {quote(first.DisplayName or '')}",
    )
    assert [c.Id for c in found] == [first.Id]


async def test_a_repeated_requestid_creates_once(qbo: QBOClient, company: Company) -> None:
    request_id = new_id("req")
    one = await qbo.create(company.realm_id, q.Customer(DisplayName="Once Only"), request_id)
    two = await qbo.create(company.realm_id, q.Customer(DisplayName="Once Only"), request_id)
    assert one.Id == two.Id
    rows = await qbo.query(company.realm_id, q.Customer, "SELECT * FROM Customer")
    assert len(rows) == 1


async def test_revoked_refresh_token_asks_to_reconnect(
    qbo: QBOClient, store: Store, company: Company, sandbox_url: str, http: httpx.AsyncClient
) -> None:
    await http.post(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/revoke")
    with pytest.raises(ReconnectRequiredError) as err:
        await qbo.read(company.realm_id, q.Customer, "1")
    assert "reconnect QuickBooks" in str(err.value)
    conn = await store.get_connection(company.company_id)
    assert conn is not None and conn.status == "reconnect_required"


async def test_concurrent_calls_after_expiry_refresh_once(
    qbo: QBOClient, store: Store, company: Company, sandbox_url: str, http: httpx.AsyncClient
) -> None:
    import asyncio

    await http.post(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/expire-access-tokens")
    before = await store.load_tokens(company.realm_id)
    await asyncio.gather(
        *(qbo.query(company.realm_id, q.Account, "SELECT * FROM Account") for _ in range(8))
    )
    after = await store.load_tokens(company.realm_id)
    assert after.version == before.version + 1  # one rotation, the newest refresh token kept
    assert after.refresh_token != before.refresh_token


async def test_tokens_are_encrypted_at_rest(store: Store, company: Company) -> None:
    from sqlmodel import Session

    from store import Connection

    tokens = await store.load_tokens(company.realm_id)
    with Session(store.engine) as session:
        row = session.get(Connection, company.company_id)
        assert row is not None
        assert tokens.access_token not in row.access_token_enc
        assert tokens.refresh_token not in row.refresh_token_enc
        assert len(row.refresh_token_enc) > len(tokens.refresh_token)


@pytest.mark.parametrize(
    ("status", "code", "kind", "retryable"),
    [
        (401, "3200", "AuthenticationError", True),
        (403, "3100", "ForbiddenError", False),
        (429, "3001", "ThrottledError", True),
        (500, "", "ServerError", True),
        (502, "", "ServerError", True),
        (503, "", "ServerError", True),
        (504, "", "ServerError", True),
        (400, "610", "ObjectNotFoundError", False),
        (400, "2010", "UnsupportedPropertyError", False),
        (400, "2020", "MissingFieldError", False),
        (400, "2030", "InvalidIdError", False),
        (400, "2500", "InvalidReferenceError", False),
        (400, "5010", "StaleObjectError", True),
        (400, "6000", "BusinessRuleError", False),
        (400, "6070", "AmountMismatchError", False),
        (400, "6140", "DuplicateDocNumberError", False),
        (400, "6240", "DuplicateNameError", False),
        (400, "4000", "QueryError", False),
    ],
)
def test_every_row_of_the_error_table_has_its_type(
    status: int, code: str, kind: str, retryable: bool
) -> None:
    body = {"Fault": {"Error": [{"Message": "m", "Detail": "d", "code": code, "element": "E"}]}}
    error = error_from_response(status, "", body, "tid-9", None)
    assert (type(error).__name__, error.retryable) == (kind, retryable)
    assert (error.status, error.code, error.detail, error.element, error.intuit_tid) == (
        status,
        code,
        "d",
        "E",
        "tid-9",
    )


async def test_invalid_grant_from_the_token_endpoint_is_reconnect_required(
    settings, http: httpx.AsyncClient
) -> None:
    from services import oauth_client

    with pytest.raises(ReconnectRequiredError) as err:
        await oauth_client(settings, http).refresh("not-a-refresh-token")
    assert err.value.code == "invalid_grant" and not err.value.retryable
