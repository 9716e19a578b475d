"""The error answers of the HTTP API, one table: their body models and what each status means,
so every route declares its answers by status (`error_answers(404, 409)`) in the OpenAPI."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorMessage(BaseModel):
    """An error in words: the record and the reason, and what to do next."""

    detail: str


class FieldError(BaseModel):
    """One refused field: where it is (`["body", "data", "payment", "amount"]`) and why."""

    loc: list[str | int]
    msg: str
    type: str | None = None


class FieldErrors(BaseModel):
    """Every refused field of the request at once."""

    detail: list[FieldError]


# Status → (body model, what it means); a route may say it in its own words (`described`).
ERROR_ANSWERS: dict[int, tuple[type[BaseModel], str]] = {
    400: (ErrorMessage, "The request cannot be carried out as sent."),
    401: (ErrorMessage, "No valid API key: send `Authorization: Bearer <API key>`."),
    403: (ErrorMessage, "The API key is another company's: a company key reaches only its own."),
    404: (ErrorMessage, "Not found: the message names what."),
    409: (
        ErrorMessage,
        "Not now: the message says why (e.g. reconnect QuickBooks) and what to do.",
    ),
    422: (FieldErrors, "Refused fields: each names the field and the reason; nothing was done."),
    502: (ErrorMessage, "QuickBooks answered with an error, quoted in the message."),
    503: (ErrorMessage, "QuickBooks or Temporal did not answer: try again."),
}


def error_answers(*statuses: int, described: dict[int, str] | None = None) -> dict[int | str, Any]:
    """The `responses=` of a route answering with these error statuses."""
    words = described or {}
    unknown = set(words) - set(statuses)
    if unknown:
        raise ValueError(f"described statuses {sorted(unknown)} are not among {statuses}")
    answers: dict[int | str, Any] = {}
    for status in statuses:
        model, meaning = ERROR_ANSWERS[status]
        answers[status] = {"model": model, "description": words.get(status, meaning)}
    return answers
