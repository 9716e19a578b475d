"""A payment end to end (POST /events → completed) next to the very same QBO calls made directly,
interleaved at a set QBO latency, and the Temporal history events each payment costs.

The direct variant replays the calls the sandbox logged for the e2e payment (`--log-bodies`):
same method, path and body, a fresh requestid, the Ids of records the e2e run created swapped
for the ones the replay created, and current SyncTokens, so it makes new records of its own.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from bench.qbo_calls import CallsBench, is_refused
from devstack.sample_events import customer, event_json, item, new_id, payment_recorded_json
from devstack.seed import ConnectedCompany, choose_accounts_and_sync, connect_company
from devstack.stack import Stack

COMPANY_ID = "co_bench_e2e"
POLL = 0.02  # seconds between API polls
# Seconds between looks for the event's workflow before its lane has started it: the e2e time
# is measured to within this, so it is short (a look costs the server one cheap read).
LOOK_AGAIN = 0.005
EVENT_TIMEOUT = 60.0

Json = Any
Key = tuple[str, str]  # (entity name in lower case, QBO Id)


@dataclass
class Payment:
    """One measured payment: its times and what it cost."""

    event_id: str
    workflow_id: str
    e2e: float
    direct: float
    calls: int  # QBO calls the service made for it (refused ones left out), all replayed
    mismatches: int  # replayed calls whose status class differed from the service's
    child_history: int = 0
    lane_history: int = 0


@dataclass
class E2EResult:
    latency: float
    completion: str
    payments: list[Payment] = field(default_factory=list)


# --- replaying the service's calls ------------------------------------------------------------


def entities(value: Json) -> Iterator[tuple[str, dict[str, Json]]]:
    """Every QBO record in a reply, as (entity name, record): `{"Invoice": {"Id": …}}`,
    a query's `{"QueryResponse": {"Customer": [...]}}`, a batch's items."""
    if isinstance(value, dict):
        for key, inner in value.items():
            records = inner if isinstance(inner, list) else [inner]
            for record in records:
                if key[:1].isupper() and isinstance(record, dict) and "Id" in record:
                    yield key, record
            yield from entities(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from entities(inner)


def parse(text: str | None) -> Json:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


@dataclass
class Replayer:
    """Sends a logged call again as itself, with what must change for it to make new records."""

    http: httpx.AsyncClient
    base_url: str
    ids: dict[Key, str] = field(default_factory=dict)  # the e2e's Id → the replay's
    sync_tokens: dict[Key, str] = field(default_factory=dict)  # the latest seen per record
    serial: int = 0

    def learn(self, reply: Json) -> None:
        for name, record in entities(reply):
            if "SyncToken" in record:
                self.sync_tokens[(name.lower(), str(record["Id"]))] = str(record["SyncToken"])

    def pair(self, logged: Json, replayed: Json) -> None:
        """The records the e2e call answered with, matched in order to the replay's."""
        for (name, old), (again, new) in zip(entities(logged), entities(replayed), strict=False):
            if name == again and old["Id"] != new["Id"]:
                self.ids[(name.lower(), str(old["Id"]))] = str(new["Id"])

    def mapped(self, entity: str, record_id: str) -> str:
        return self.ids.get((entity.lower(), record_id), record_id)

    def ref(self, key: str, value: str) -> str:
        """A `…Ref` value: `CustomerRef`, `ItemRef`, `DepositToAccountRef` name their entity."""
        referred = key[:-3].lower()
        for (entity, old), new in self.ids.items():
            if old == value and referred.endswith(entity):
                return new
        return value

    def rewrite(self, value: Json, entity: str | None = None) -> Json:
        """The body with the replay's Ids and fresh numbers and names; `entity` names the record
        `value` is (None: a part of one, whose own `Id`s are lines' and addresses')."""
        if isinstance(value, list):
            return [self.rewrite(inner) for inner in value]
        if not isinstance(value, dict):
            return value
        out: dict[str, Json] = {}
        for key, inner in value.items():
            if key.endswith("Ref") and isinstance(inner, dict) and "value" in inner:
                out[key] = {**inner, "value": self.ref(key, str(inner["value"]))}
            elif key == "LinkedTxn" and isinstance(inner, list):
                out[key] = [
                    {**txn, "TxnId": self.mapped(str(txn.get("TxnType", "")), str(txn["TxnId"]))}
                    if isinstance(txn, dict) and "TxnId" in txn
                    else txn
                    for txn in inner
                ]
            else:
                out[key] = self.rewrite(inner)
        return out if entity is None else self.as_record(out, entity)

    def as_record(self, record: dict[str, Json], entity: str) -> dict[str, Json]:
        """An update gets the replay's Id and the record's current SyncToken; a create a fresh
        DocNumber and name (QBO refuses ones already used)."""
        if "Id" in record:
            record["Id"] = self.mapped(entity, str(record["Id"]))
            token = self.sync_tokens.get((entity.lower(), str(record["Id"])))
            if token is not None and "SyncToken" in record:
                record["SyncToken"] = token
            return record
        self.serial += 1
        if "DocNumber" in record:
            record["DocNumber"] = f"R{uuid.uuid4().hex[:8]}"
        for name in ("DisplayName", "Name"):
            if isinstance(record.get(name), str):
                record[name] = f"{record[name][:80]} r{self.serial}"
        return record

    def rewrite_body(self, body: Json, entity: str | None) -> Json:
        """A record POSTed to /{entity}, or a batch of named records."""
        if entity != "batch" or not isinstance(body, dict):
            return self.rewrite(body, entity)
        items = body.get("BatchItemRequest")
        if not isinstance(items, list):
            return self.rewrite(body)
        rewritten = []
        for batch_item in items:
            if not isinstance(batch_item, dict):
                rewritten.append(batch_item)
                continue
            rewritten.append(
                {
                    key: self.rewrite(inner, key) if key[:1].isupper() else inner
                    for key, inner in batch_item.items()
                }
            )
        return {**body, "BatchItemRequest": rewritten}

    def target(self, entry: dict[str, Json]) -> tuple[str, str | None, dict[str, str]]:
        """The call's path with the replay's Ids, its entity, and its query with a new requestid."""
        parts = str(entry["path"]).split("/")  # /v3/company/{realm}/{entity}[/{id}]
        entity = parts[4] if len(parts) > 4 else None
        if entity is not None and len(parts) > 5 and parts[5].isdigit():
            parts[5] = self.mapped(entity, parts[5])
        params = dict(parse_qsl(str(entry.get("query") or ""), keep_blank_values=True))
        if "requestid" in params:
            params["requestid"] = uuid.uuid4().hex
        return "/".join(parts), entity, params

    async def replay(self, entry: dict[str, Json]) -> int:
        """Send one logged call again; returns the status QBO answered."""
        path, entity, params = self.target(entry)
        headers = {"Accept": "application/json"}
        content: bytes | None = None
        if entry["method"] != "GET":
            content_type = str(entry.get("content_type") or "application/json")
            body = parse(entry.get("body"))
            if body is not None and content_type.startswith("application/json"):
                content = json.dumps(self.rewrite_body(body, entity)).encode()
            else:  # a query's text
                content = str(entry.get("body") or "").encode()
            headers["Content-Type"] = content_type
        url = f"{self.base_url}{path}?{urlencode(params)}" if params else f"{self.base_url}{path}"
        reply = await self.http.request(entry["method"], url, content=content, headers=headers)
        answered = parse(reply.text)
        self.pair(parse(entry.get("reply")), answered)
        self.learn(answered)
        return reply.status_code


def same_class(logged: int | None, replayed: int) -> bool:
    return logged is not None and logged // 100 == replayed // 100


# --- the payments ---------------------------------------------------------------------------


class E2EBench:
    def __init__(
        self,
        http: httpx.AsyncClient,
        client: Client,
        stack: Stack,
        completion: str,
    ) -> None:
        self.http = http
        self.client = client
        self.stack = stack
        self.completion = completion
        self.calls_bench: CallsBench | None = None
        self.replayer: Replayer | None = None

    async def connect(self, latency: float) -> ConnectedCompany:
        """A company of its own with `latency` seconds on every QBO call, and a token of the
        bench's own for the direct calls (issued by the sandbox, never printed)."""
        company = await connect_company(self.http, self.stack.api_url, COMPANY_ID)
        await choose_accounts_and_sync(self.http, self.stack.api_url, company)
        realm_url = f"{self.stack.sandbox_url}/__sandbox/realms/{company.realm_id}"
        delay = {"kind": "delay", "path": "*", "seconds": latency, "times": None}
        (await self.http.post(f"{realm_url}/faults", json=delay)).raise_for_status()
        issued = await self.http.post(f"{realm_url}/tokens")
        issued.raise_for_status()
        direct = httpx.AsyncClient(
            timeout=60, headers={"Authorization": f"Bearer {issued.json()['access_token']}"}
        )
        self.replayer = Replayer(direct, self.stack.sandbox_url)
        self.calls_bench = CallsBench(self.http, self.stack.api_url, f"{realm_url}/requests")
        return company

    async def close(self) -> None:
        if self.replayer is not None:
            await self.replayer.http.aclose()

    async def post(self, event: dict[str, Json]) -> str:
        reply = await self.http.post(f"{self.stack.api_url}/events", json=event)
        if reply.status_code != 202:
            raise RuntimeError(f"{event['type']} refused: {reply.status_code} {reply.text}")
        return str(reply.json()["workflow_id"])

    async def until_completed(self, event_id: str, workflow_id: str) -> None:
        """Back once the event's workflow closed (Temporal's long poll on its result: no polling
        delay), or, with `completion="api"`, once GET /events/{id} says so (polled every 20 ms).
        When the workflow is still missing after a second the API is asked too, every 40th look
        (a reshaped service may run the event in a workflow of another id)."""
        deadline = time.monotonic() + EVENT_TIMEOUT
        handle = self.client.get_workflow_handle(workflow_id)
        looks = 0
        while time.monotonic() < deadline:
            looks += 1
            if self.completion == "api" or (looks > 200 and looks % 40 == 0):
                state = (await self.http.get(f"{self.stack.api_url}/events/{event_id}")).json()
                if state.get("status") == "completed":
                    return
                if state.get("status") == "failed":
                    raise RuntimeError(f"event {event_id} failed: {state}")
            if self.completion != "api":
                try:
                    await handle.result()
                    return
                except RPCError as exc:
                    if exc.status != RPCStatusCode.NOT_FOUND:
                        raise  # not started by its lane yet: look again
                except WorkflowFailureError as exc:
                    raise RuntimeError(f"event {event_id} failed: {exc.cause}") from exc
            await asyncio.sleep(POLL if self.completion == "api" else LOOK_AGAIN)
        raise RuntimeError(f"event {event_id} did not complete in {EVENT_TIMEOUT:.0f} s")

    async def confirm(self, event_id: str) -> None:
        """The API shows the event completed (checked after the clock stopped)."""
        state = (await self.http.get(f"{self.stack.api_url}/events/{event_id}")).json()
        if state.get("status") != "completed":
            raise RuntimeError(f"event {event_id}: the workflow closed but the API says {state}")

    async def one(self, event: dict[str, Json]) -> Payment:
        """The payment end to end, then its QBO calls again, directly."""
        assert self.calls_bench is not None and self.replayer is not None
        before = await self.calls_bench.log_length()
        started = time.perf_counter()
        workflow_id = await self.post(event)
        await self.until_completed(event["event_id"], workflow_id)
        e2e = time.perf_counter() - started
        await self.confirm(event["event_id"])
        made = [
            e for e in await self.calls_bench.settled_log(before) if not is_refused(e["status"])
        ]
        for entry in made:  # the records' SyncTokens as the service left them
            self.replayer.learn(parse(entry.get("reply")))
        started = time.perf_counter()
        statuses = [await self.replayer.replay(entry) for entry in made]
        direct = time.perf_counter() - started
        mismatches = sum(
            not same_class(e["status"], s) for e, s in zip(made, statuses, strict=True)
        )
        return Payment(event["event_id"], workflow_id, e2e, direct, len(made), mismatches)

    async def measure(self, payments: int, latency: float) -> E2EResult:
        """`payments` payments of one existing customer, each on a new invoice, interleaved with
        their direct replays; the first payment (once-per-company reads) is a warm-up."""
        await self.connect(latency)
        assert self.calls_bench is not None
        cid = new_id("cust")
        lines = [(new_id("prod"), "2", "30.00"), (new_id("wot"), "1", "60.00")]
        given = [event_json(COMPANY_ID, "customer.saved", {"customer": customer(cid)})]
        for item_id, _, price in lines:
            kind = "work_order_type.saved" if item_id.startswith("wot") else "product.saved"
            snapshot = item(item_id, name=f"Item {item_id}", price=price)
            given.append(event_json(COMPANY_ID, kind, {"item": snapshot}))
        for event in given:
            await self.calls_bench.run_event(event)

        def payment() -> dict[str, Json]:
            return payment_recorded_json(
                COMPANY_ID, cid, new_id("inv"), new_id("pay"), "120.00", lines=lines
            )

        await self.one(payment())  # warm-up: first-payment reads, the direct connection
        result = E2EResult(latency, self.completion)
        for _ in range(payments):
            result.payments.append(await self.one(payment()))
        for measured in result.payments:
            await self.count_history(measured)
        return result

    # --- Temporal history ---------------------------------------------------------------------

    async def count_history(self, payment: Payment) -> None:
        """The events of the payment's own workflow, and its share of its parent's (the lane):
        from the signal that brought it (or the run's start) to the next event's signal."""
        handle = self.client.get_workflow_handle(payment.workflow_id)
        try:
            payment.child_history = len((await handle.fetch_history()).events)
            described = await handle.describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return  # no workflow of that id: the figure says n/a
        if not described.parent_id:
            return
        lane = self.client.get_workflow_handle(described.parent_id, run_id=described.parent_run_id)
        events = (await lane.fetch_history()).events
        marker = payment.event_id.encode()
        signals = [
            n
            for n, event in enumerate(events)
            if event.HasField("workflow_execution_signaled_event_attributes")
        ]
        codec = self.client.data_converter.payload_codec
        ours = []
        for n in signals:
            payloads = list(events[n].workflow_execution_signaled_event_attributes.input.payloads)
            # Signal inputs are stored encrypted: read them as the worker does.
            if codec is not None:
                payloads = await codec.decode(payloads)
            if any(marker in p.data for p in payloads):
                ours.append(n)
        start = ours[0] if ours and ours[0] != signals[0] else 0
        later = [n for n in signals if n > start and n not in ours]
        payment.lane_history = (later[0] if later else len(events)) - start
