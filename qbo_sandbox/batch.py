"""`POST /batch`: up to 30 operations in one call, each answered on its own (no rollback).

Each item runs, in order, through the same dispatch as a single call (api.py hands it in), so
every entity and operation the API serves works in a batch too. The batch as a whole is one
call for limits, fault injection and `requestid` replay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from qbo_sandbox import faults
from qbo_sandbox.jsonio import JsonError, dumps, loads

MAX_ITEMS = 30
MAX_BID_LENGTH = 10
MAX_REQUEST_ID_LENGTH = 36
ITEM_KEYS = ("bId", "operation", "optionsData")
NOT_ENTITIES = ("batch", "cdc", "query")

Execute = Callable[[Request, list[str], bytes], Response]
"""Runs one item as a call: (request, path segments after the realm, body) → response."""


def run_batch(parent: Request, body: bytes, execute: Execute) -> dict[str, object]:
    """The `BatchItemResponse` payload (without `time`); raises a fault for a bad envelope."""
    items = _items(body, with_request_id=bool(parent.query_params.get("requestid")))
    answers: list[dict[str, object]] = []
    for item in items:
        try:
            request, segments, item_body = _as_call(parent, item)
            answer = _payload(execute(request, segments, item_body))
        except faults.QboFault as fault:
            answer = {"Fault": fault.body()["Fault"]}
        answers.append({**answer, "bId": item["bId"]})
    return {"BatchItemResponse": answers}


def _items(body: bytes, with_request_id: bool) -> list[dict[str, Any]]:
    try:
        envelope = loads(body)
    except JsonError as error:
        raise faults.malformed_body("IntuitBatchRequest", str(error)) from error
    if not isinstance(envelope, dict):
        raise faults.malformed_body("IntuitBatchRequest", "expected a JSON object")
    for key in envelope:
        if key != "BatchItemRequest":
            raise faults.unrecognized_field("IntuitBatchRequest", key)
    items = envelope.get("BatchItemRequest")
    if not isinstance(items, list) or not items:
        raise faults.required_param_missing("BatchItemRequest")
    if len(items) > MAX_ITEMS:
        raise faults.business_validation(
            f"A batch may hold at most {MAX_ITEMS} BatchItemRequest items; it has {len(items)}."
        )
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise faults.malformed_body("BatchItemRequest", "expected a JSON object")
        bid = item.get("bId")
        if bid in (None, ""):
            raise faults.required_param_missing("bId")
        if not isinstance(bid, str):
            raise faults.unsupported_property("BatchItemRequest", "bId", "bId must be a string")
        if with_request_id and len(bid) > MAX_BID_LENGTH:
            raise faults.string_length("bId", MAX_BID_LENGTH, len(bid))
        if bid in seen:
            raise faults.business_validation(f"The bId {bid} is used by more than one item.")
        seen.add(bid)
    return items


def _as_call(parent: Request, item: dict[str, Any]) -> tuple[Request, list[str], bytes]:
    """The single call an item stands for: a query, or `POST /{entity}?operation=...`."""
    entities = [key for key in item if key not in (*ITEM_KEYS, "Query")]
    if "Query" in item:
        query = item["Query"]
        if entities or not isinstance(query, str):
            raise faults.unsupported_property(
                "BatchItemRequest", "Query", "a Query item holds one query string and no entity"
            )
        return _request(parent, "query", ""), ["query"], query.encode("utf-8")
    if len(entities) != 1:
        raise faults.required_param_missing("BatchItemRequest")
    operation = item.get("operation")
    if operation is not None and not isinstance(operation, str):
        raise faults.unsupported_property(
            "BatchItemRequest", "operation", "operation must be a string"
        )
    [entity] = entities
    query_string = urlencode({"operation": operation}) if operation else ""
    segment = entity.lower()
    if segment in NOT_ENTITIES:
        raise faults.unsupported_operation(f"{entity} cannot be an item of a batch.")
    return _request(parent, segment, query_string), [segment], dumps(item[entity])


def _request(parent: Request, tail: str, query_string: str) -> Request:
    """A POST to `/v3/company/{realm}/{tail}` made from the batch call (same headers)."""
    prefix = parent.url.path.rsplit("/", 1)[0]
    path = f"{prefix}/{tail}"
    scope = {
        **parent.scope,
        "method": "POST",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query_string.encode("utf-8"),
    }
    return Request(scope)


def _payload(response: Response) -> dict[str, object]:
    """An item's answer as the batch shows it: the call's envelope without `time`."""
    answer = loads(bytes(response.body))
    if not isinstance(answer, dict):
        raise TypeError("a dispatched call answered something other than a JSON object")
    answer.pop("time", None)
    return answer
