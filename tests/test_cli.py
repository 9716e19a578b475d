"""`skimmer-qbo`, the installed console script, run as on-call would against the real API, worker,
Temporal and the QBO sandbox: send an event, follow it, read the activity log, connect a company."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from config import Settings
from devstack.sample_events import customer, event_json, new_id, payment_recorded_json
from store import Store
from tests.conftest import Company
from tests.processes import SIGNING_SECRET, free_port

pytestmark = pytest.mark.usefixtures("worker")

SKIMMER_QBO = Path(sys.executable).with_name("skimmer-qbo")


@pytest.fixture(autouse=True)
def admin_key(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands carry the test stack's admin key, as an operator's shell would."""
    monkeypatch.setenv("SKIMMER_API_KEY", settings.admin_api_key)


@dataclass(frozen=True)
class Ran:
    exit_code: int
    out: str
    err: str


async def skimmer_qbo(api: str, *args: str, stdin: bytes = b"", **env: str) -> Ran:
    """The console script in its own process, pointed at `api` by SKIMMER_API_URL."""
    # SKIMMER_API_KEY: the test stack's admin key (`admin_key` below).
    clean = {k: v for k, v in os.environ.items() if k != "EVENTS_SIGNING_SECRET"}
    process = await asyncio.create_subprocess_exec(
        str(SKIMMER_QBO), *args,
        env={**clean, "SKIMMER_API_URL": api, **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=150)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


def event_fields(out: str) -> dict[str, str]:
    """The "name: value" lines `status` prints above its steps."""
    head = out.split("\n\n", 1)[0]
    return {
        name.strip(): value.strip()
        for name, _, value in (line.partition(":") for line in head.splitlines())
    }


async def test_a_payment_sent_from_a_file_completes_and_status_shows_its_steps(
    api: str, company: Company, tmp_path: Path
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    body = payment_recorded_json(company.company_id, cid, iid, pid, "120.00")
    event_file = tmp_path / "payment.json"
    event_file.write_text(json.dumps(body))

    sent = await skimmer_qbo(api, "send", str(event_file), "--wait")
    assert sent.exit_code == 0, sent.err
    assert f"{body['event_id']} accepted" in sent.out
    assert event_fields(sent.out.split("\n", 1)[1])["status"] == "completed"

    shown = await skimmer_qbo(api, "status", str(body["event_id"]))
    assert shown.exit_code == 0, shown.err
    fields = event_fields(shown.out)
    assert (fields["event"], fields["status"]) == (body["event_id"], "completed")
    assert fields["message"].startswith("Payment $120.00 on invoice")
    assert fields["temporal ui"].startswith("http://localhost:8233/namespaces/default/workflows/")
    header, *step_lines = shown.out.split("\n\n", 1)[1].splitlines()
    assert header.split() == ["STEP", "STATUS", "ATTEMPT", "FINISHED", "MESSAGE"]
    assert step_lines[-1].split()[:3] == ["apply_payment", "completed", "1"]

    as_json = await skimmer_qbo(api, "status", str(body["event_id"]), "--json")
    state = json.loads(as_json.out)
    assert state["status"] == "completed" and state["workflow_id"].startswith(company.company_id)
    # A customer QBO has never seen: ensured first, then the invoice, then the payment, once each.
    names = [step["name"] for step in state["steps"]]
    assert {(step["status"], step["attempt"]) for step in state["steps"]} == {("completed", 1)}
    ordered = [names.index(name) for name in ("ensure_customer", "upsert_invoice", "apply_payment")]
    assert ordered == sorted(ordered) and names[-1] == "apply_payment"
    assert len(step_lines) == len(names)
    again = await skimmer_qbo(api, "send", str(event_file))
    assert (
        again.exit_code == 0
        and f"{body['event_id']} duplicate: {state['workflow_id']}" in again.out
    )


async def test_activity_shows_each_events_line_newest_first_and_filters_by_outcome(
    api: str, company: Company
) -> None:
    co = company.company_id
    first = event_json(co, "customer.saved", {"customer": customer(new_id("cust"), "Ann", "Lee")})
    second = event_json(co, "customer.saved", {"customer": customer(new_id("cust"), "Bo", "Ray")})
    for body in (first, second):  # from stdin, as `… | skimmer-qbo send`
        sent = await skimmer_qbo(api, "send", "--wait", stdin=json.dumps(body).encode())
        assert sent.exit_code == 0, sent.err

    table = await skimmer_qbo(api, "activity", co, "--limit", "5")
    assert table.exit_code == 0, table.err
    header, *lines = table.out.splitlines()
    assert header.split() == ["AT", "OUTCOME", "RECORD", "ACTION", "QBO", "EVENT", "MESSAGE"]
    assert [str(second["event_id"]) in lines[0], str(first["event_id"]) in lines[1]] == [True, True]
    assert all(" success " in line and "created in QuickBooks" in line for line in lines)

    as_json = json.loads((await skimmer_qbo(api, "activity", co, "--json")).out)
    assert [line["event_id"] for line in as_json] == [second["event_id"], first["event_id"]]
    failed = await skimmer_qbo(api, "activity", co, "--outcome", "failed")
    assert (failed.exit_code, failed.out.strip()) == (0, f"no failed activity lines for {co}")


async def test_send_signs_the_body_when_the_api_wants_signed_events(
    signed_api: str, company: Company
) -> None:
    body = json.dumps(
        event_json(company.company_id, "customer.saved", {"customer": customer("c1")})
    )
    unsigned = await skimmer_qbo(signed_api, "send", stdin=body.encode())
    assert unsigned.exit_code == 1
    assert unsigned.err.strip() == "Error: POST /events: 401 missing X-Signature header"

    signed = await skimmer_qbo(
        signed_api, "send", stdin=body.encode(), EVENTS_SIGNING_SECRET=SIGNING_SECRET
    )
    assert signed.exit_code == 0, signed.err
    assert " accepted: " in signed.out


async def test_connect_url_is_the_sandbox_authorize_url_and_opening_it_connects_the_company(
    api: str, sandbox_url: str, store: Store
) -> None:
    company_id = f"co_{new_id('cli')}"
    printed = await skimmer_qbo(api, "connect-url", company_id)
    assert printed.exit_code == 0, printed.err
    authorize = httpx.URL(printed.out.strip())
    assert str(authorize).startswith(f"{sandbox_url}/connect/oauth2?")
    assert authorize.params["state"] and company_id not in authorize.params["state"]
    assert authorize.params["redirect_uri"] == f"{api}/quickbooks/callback"
    assert "valid for 10 minutes" in printed.err

    # The office user's browser: the sandbox approves at once, the callback stores the tokens.
    async with httpx.AsyncClient(follow_redirects=True, timeout=30) as browser:
        landed = await browser.get(authorize)
    assert landed.url.path == f"/companies/{company_id}/quickbooks/settings"
    conn = await store.get_connection(company_id)
    assert conn is not None and conn.status == "connected"


async def test_errors_are_one_line_with_an_exit_code(
    api: str, company: Company, store: Store
) -> None:
    unknown = await skimmer_qbo(api, "status", "evt_never_sent")
    assert unknown.exit_code == 1 and unknown.out == ""
    assert (
        unknown.err.strip()
        == "Error: GET /events/evt_never_sent: 404 event evt_never_sent is unknown"
    )

    not_json = await skimmer_qbo(api, "send", stdin=b"{not json")
    assert not_json.exit_code == 2 and "Invalid value for EVENT_FILE: not JSON" in not_json.err

    missing = event_json(company.company_id, "customer.saved", {"customer": {"first_name": "A"}})
    refused = await skimmer_qbo(api, "send", stdin=json.dumps(missing).encode())
    assert refused.exit_code == 1
    assert (
        refused.err.strip()
        == "Error: POST /events: 422 customer.saved.data.customer.id: Field required"
    )

    nowhere = await skimmer_qbo(f"http://127.0.0.1:{free_port()}", "status", "evt_1")
    assert nowhere.exit_code == 1 and "cannot reach the API at http://127.0.0.1:" in nowhere.err
    assert len(nowhere.err.strip().splitlines()) == 1

    # A failed event: `send --wait` and `status` exit 1 and say why.
    co = company.company_id
    await store.update_settings(co, deposit_account_id=None)
    body = payment_recorded_json(co, new_id("cust"), new_id("inv"), new_id("pay"), "30.00")
    sent = await skimmer_qbo(api, "send", "--wait", stdin=json.dumps(body).encode())
    assert sent.exit_code == 1
    fields = event_fields(sent.out.split("\n", 1)[1])
    assert fields["status"] == "failed" and "no deposit account" in fields["message"]
    shown = await skimmer_qbo(api, "status", str(body["event_id"]), "--json")
    assert shown.exit_code == 1 and json.loads(shown.out)["status"] == "failed"


async def test_status_names_the_step_quickbooks_fails_and_its_attempts(
    api: str, company: Company, sandbox_url: str, http: httpx.AsyncClient
) -> None:
    fault = {"kind": "status", "status": 503, "path": "payment", "method": "POST", "times": 3}
    realm_url = f"{sandbox_url}/__sandbox/realms/{company.realm_id}"
    assert (await http.post(f"{realm_url}/faults", json=fault)).status_code == 201
    body = payment_recorded_json(
        company.company_id, new_id("cust"), new_id("inv"), new_id("pay"), "40.00"
    )
    assert (await skimmer_qbo(api, "send", stdin=json.dumps(body).encode())).exit_code == 0

    for _ in range(60):  # QBO answers 503 three times: Temporal retries after 1, 2 and 4 s
        state = json.loads((await skimmer_qbo(api, "status", str(body["event_id"]), "--json")).out)
        if state["status"] != "running":
            break
    assert state["status"] == "retrying", state
    retrying = state["steps"][-1]
    assert (retrying["name"], retrying["status"]) == ("apply_payment", "retrying")
    assert retrying["attempt"] >= 2 and "Service Unavailable" in retrying["message"]

    done = await skimmer_qbo(api, "send", "--wait", stdin=json.dumps(body).encode())
    assert done.exit_code == 0, done.err  # a duplicate, followed to its end
    finished = json.loads((await skimmer_qbo(api, "status", str(body["event_id"]), "--json")).out)
    assert finished["steps"][-1] | {"finished_at": None, "scheduled_at": None} == {
        "name": "apply_payment", "status": "completed", "attempt": 4, "message": None,
        "finished_at": None, "scheduled_at": None,
    }  # fmt: skip
