"""Timestamps the way QBO writes them: the company's local time with its UTC offset."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _company_timezone() -> tzinfo:
    # Sandbox companies live in Pacific time; fall back to UTC where the tz database is missing.
    try:
        return ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:
        return UTC


COMPANY_TIMEZONE = _company_timezone()


def now() -> datetime:
    return datetime.now(COMPANY_TIMEZONE)


def metadata_timestamp(moment: datetime) -> str:
    """`MetaData` times: whole seconds, e.g. 2020-09-29T05:58:16-07:00."""
    return moment.isoformat(timespec="seconds")


def response_time(moment: datetime | None = None) -> str:
    """The envelope's `time`: milliseconds, e.g. 2020-09-29T05:58:16.187-07:00."""
    return (moment or now()).isoformat(timespec="milliseconds")


def parse_timestamp(text: str) -> datetime | None:
    """An ISO date or date-time as an aware datetime (a date is midnight company time), or None."""
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COMPANY_TIMEZONE)
    return moment
