"""QBO's fault shapes: the `Fault`/`Error` validation fault and the lower-case auth gateway fault.

Each builder names the fault by what went wrong, with QBO's code, message and detail wording.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.responses import Response

from qbo_sandbox import clock
from qbo_sandbox.jsonio import json_response


@dataclass(frozen=True)
class FaultError:
    code: str
    message: str
    detail: str
    element: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }


class QboFault(Exception):
    """A fault the QBO API answers with (HTTP 400 `ValidationFault` unless told otherwise)."""

    def __init__(
        self, *errors: FaultError, status_code: int = 400, fault_type: str = "ValidationFault"
    ):
        super().__init__(
            "; ".join(f"{error.code} {error.message}: {error.detail}" for error in errors)
        )
        self.errors = errors
        self.status_code = status_code
        self.fault_type = fault_type

    def body(self) -> dict[str, object]:
        return {
            "Fault": {"Error": [error.as_json() for error in self.errors], "type": self.fault_type},
            "time": clock.response_time(),
        }


def _fault(code: str, message: str, detail: str, element: str = "") -> QboFault:
    return QboFault(FaultError(code, message, detail, element))


# --- request shape ---------------------------------------------------------------------------


def unsupported_operation(detail: str) -> QboFault:
    return _fault("500", "Unsupported Operation", detail)


def unknown_resource(relative_path: str, full_url: str) -> QboFault:
    return unsupported_operation(
        f"Operation Could not find resource for relative : {relative_path} "
        f"of full path: {full_url} is not supported."
    )


def unsupported_property(entity: str, element: str, problem: str) -> QboFault:
    detail = (
        f"Property Name:{problem} (class com.intuit.schema.finance.v3.{entity}) "
        "specified is unsupported or invalid"
    )
    return _fault("2010", "Request has invalid or unsupported property", detail, element)


def unrecognized_field(entity: str, element: str) -> QboFault:
    return unsupported_property(
        entity, element, f'Unrecognized field "{element}", not marked as ignorable'
    )


def malformed_body(entity: str, problem: str) -> QboFault:
    return unsupported_property(entity, "", f"Can not read request body: {problem}")


def required_param_missing(element: str) -> QboFault:
    return _fault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def invalid_id(value: object, element: str = "Id") -> QboFault:
    return _fault(
        "2030", "Invalid ID", f"Id should be a valid number. Supplied value:{value}", element
    )


def invalid_string(element: str, value: str) -> QboFault:
    return _fault(
        "2040",
        "Invalid String. The String may contain unsupported or illegal chars",
        f"Element contains invalid characters. {value}",
        element,
    )


def string_length(element: str, max_length: int, supplied: int) -> QboFault:
    return _fault(
        "2050",
        "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. "
        f"Min:0 Max:{max_length} supported. Supplied length:{supplied}",
        element,
    )


# --- records ---------------------------------------------------------------------------------


def object_not_found() -> QboFault:
    return _fault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
    )


def invalid_reference(element: str, entity: str, ref_id: str, inactive: bool) -> QboFault:
    reason = "is inactive" if inactive else "not found"
    return _fault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} element id {ref_id} {reason}",
        element,
    )


def stale_object() -> QboFault:
    return _fault(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and sandbox were working on this at the same time. "
        "sandbox finished before you did, so your work was not saved.",
    )


def duplicate_name(who_uses_it: str) -> QboFault:
    return _fault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : {who_uses_it} is already using this name. "
        "Please use a different name.",
    )


def business_validation(detail: str) -> QboFault:
    return _fault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
    )


# --- query -----------------------------------------------------------------------------------


def query_parse_error(detail: str) -> QboFault:
    return _fault("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_validation_error(detail: str) -> QboFault:
    return _fault("4001", "Invalid query", f"QueryValidationError: {detail}")


# --- auth gateway (lower-case shape, never wrapped in `Fault`) ------------------------------------


def authentication_failed(detail: str) -> Response:
    """HTTP 401 from the gateway: the access token is missing, unknown, expired or revoked."""
    return _gateway_fault(
        401,
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail,
        "3200",
        "AUTHENTICATION",
        {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
    )


def authorization_failed(realm_id: str) -> Response:
    """HTTP 403 from the gateway: the token is fine but not for this company."""
    return _gateway_fault(
        403,
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        f"App is not authorized to access company {realm_id}",
        "3100",
        "AUTHORIZATION",
        {},
    )


def _gateway_fault(
    status_code: int, message: str, detail: str, code: str, fault_type: str, headers: dict[str, str]
) -> Response:
    error = {"message": message, "detail": detail, "code": code, "element": None}
    body = {"fault": {"error": [error], "type": fault_type}, "time": int(time.time() * 1000)}
    return json_response(body, status_code, headers)
