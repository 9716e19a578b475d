"""The activity log as office staff read it: names, amounts, local times, plain outcome words, a
Retry button on failed lines; server-rendered HTML with a few lines of vanilla JS, no outside assets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape
from typing import Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The words a person reads, by the log's outcome (API.md names); unknown ones show as written.
OUTCOME_WORDS = {
    "success": "Synced",
    "failed": "Failed",
    "retrying": "Retrying",
    "waiting": "Waiting",  # for QuickBooks to be reconnected
    "skipped": "Skipped",
}
# The outcome filter's choices, in the order the office thinks of them.
FILTERS = ("failed", "success", "retrying", "waiting", "skipped")


class Line(Protocol):
    """What the page reads of one activity line (the JSON model has it all)."""

    @property
    def at(self) -> datetime: ...
    @property
    def record_type(self) -> str: ...
    @property
    def record_id(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def qbo_type(self) -> str | None: ...
    @property
    def qbo_id(self) -> str | None: ...
    @property
    def event_id(self) -> str | None: ...
    @property
    def resolved(self) -> bool: ...
    @property
    def customer_name(self) -> str | None: ...


@dataclass(frozen=True)
class PageView:
    """One page of the log and where it sits: the company, its zone and connection, the paging."""

    company_id: str
    timezone: str
    connection_status: str | None
    lines: list[Line]
    limit: int
    outcome: str | None
    before: datetime | None
    older_than: datetime | None  # the `before` of the next (older) page, None on the last page
    signed_in_as: str | None = None  # the key a browser signed in with (it may sign out)


def company_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # A zone the store should never hold; the page still shows, in UTC.
        return ZoneInfo("UTC")


def local_time(at: datetime, zone: tzinfo) -> str:
    """E.g. "Nov 26, 2026 3:04:05 AM MST": month names, no 24-hour clock, the zone's abbreviation."""
    local = at.astimezone(zone)
    hour = local.hour % 12 or 12
    return f"{local:%b} {local.day}, {local.year} {hour}:{local:%M:%S %p} {local.tzname()}"


def outcome_word(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " ").capitalize())


def page_url(view: PageView, **changes: object) -> str:
    params: dict[str, object] = {"limit": view.limit}
    if view.outcome:
        params["outcome"] = view.outcome
    params.update(changes)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"/companies/{view.company_id}/activity?{query}"


def line_row(line: Line, zone: tzinfo) -> str:
    record = f"{line.record_type.replace('_', ' ').capitalize()} {line.record_id}"
    outcome = (
        f"<span class='badge {escape(line.outcome)}'>{escape(outcome_word(line.outcome))}</span>"
    )
    if line.resolved:
        outcome += " <span class='badge resolved'>Resolved</span>"
    action = ""
    if line.outcome == "failed" and not line.resolved and line.event_id:
        action = (
            f"<button type='button' class='retry' data-event-id='{escape(line.event_id)}' "
            f"aria-label='Retry {escape(record)}'>Retry</button>"
            "<span class='retry-answer' role='status' aria-live='polite'></span>"
        )
    qbo = f"{line.qbo_type or ''} {line.qbo_id or ''}".strip()
    return (
        f"<tr class='line {escape(line.outcome)}'>"
        f"<td class='when'><time datetime='{escape(line.at.isoformat())}'>"
        f"{escape(local_time(line.at, zone))}</time></td>"
        f"<td class='customer'>{escape(line.customer_name or '—')}</td>"
        f"<td class='record'>{escape(record)}</td>"
        f"<td class='outcome'>{outcome}</td>"
        f"<td class='message'>{escape(line.message)}</td>"
        f"<td class='qbo'>{escape(qbo)}</td>"
        f"<td class='action'>{action}</td></tr>"
    )


def sign_out(view: PageView) -> str:
    if view.signed_in_as is None:
        return ""
    return (
        "<form class='sign-out' method='post' action='/sign-out'>"
        f"<span class='signed-in'>Signed in with {escape(view.signed_in_as)}</span> "
        "<button type='submit'>Sign out</button></form>"
    )


def reconnect_notice(view: PageView) -> str:
    if view.connection_status != "reconnect_required":
        return ""
    href = f"/companies/{view.company_id}/quickbooks/connect"
    return (
        "<p class='notice' role='alert'>QuickBooks asked us to sign in again, so syncing is paused "
        "and new records wait; nothing is lost. "
        f"<a class='reconnect' href='{escape(href)}'>Reconnect QuickBooks</a></p>"
    )


def outcome_filter(view: PageView) -> str:
    options = "".join(
        f"<option value='{value}'{' selected' if view.outcome == value else ''}>"
        f"{escape(outcome_word(value))}</option>"
        for value in FILTERS
    )
    return (
        f"<form class='filter' method='get' action='/companies/{escape(view.company_id)}/activity'>"
        "<label for='outcome'>Show</label> <select id='outcome' name='outcome'>"
        f"<option value=''>Everything</option>{options}</select>"
        f"<input type='hidden' name='limit' value='{view.limit}'> "
        "<button type='submit'>Show</button></form>"
    )


def paging(view: PageView) -> str:
    links = []
    if view.before is not None:
        links.append(f"<a class='newest' href='{escape(page_url(view))}'>← Newest lines</a>")
    if view.older_than is not None:
        older = page_url(view, before=view.older_than.isoformat())
        links.append(f"<a class='older' rel='next' href='{escape(older)}'>Older lines →</a>")
    return f"<nav class='paging' aria-label='Pages of the log'>{' '.join(links)}</nav>"


def activity_page(view: PageView) -> str:
    zone = company_zone(view.timezone)
    rows = "".join(line_row(line, zone) for line in view.lines) or (
        "<tr><td colspan='7' class='empty'>Nothing here yet.</td></tr>"
    )
    company = escape(view.company_id)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>QuickBooks activity · {company}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>QuickBooks activity</h1><p class='sub'>Company {company} · times in "
        f"{escape(view.timezone)}</p>{sign_out(view)}</header>"
        f"{reconnect_notice(view)}{outcome_filter(view)}"
        "<table><caption>Every record sent to QuickBooks, newest first</caption><thead><tr>"
        f"<th scope='col'>When ({escape(view.timezone)})</th><th scope='col'>Customer</th>"
        "<th scope='col'>Record</th><th scope='col'>Outcome</th>"
        "<th scope='col'>What happened</th><th scope='col'>In QuickBooks</th>"
        "<th scope='col'><span class='visually-hidden'>Actions</span></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{paging(view)}<script>{SCRIPT}</script></body></html>"
    )


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1d2733}
h1{margin:0 0 .2rem;font-size:1.5rem}.sub{margin:0 0 1rem;color:#5b6775}
table{border-collapse:collapse;width:100%;font-size:.92rem}
caption{text-align:left;color:#5b6775;padding:.4rem 0}
th,td{padding:.45rem .7rem;text-align:left;vertical-align:top;border-bottom:1px solid #e3e7ec}
thead th{background:#f4f6f8;font-weight:600}
td.when{white-space:nowrap;color:#3b4652}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-size:.82rem;font-weight:600}
.badge.success{background:#e3f4e8;color:#1b6b36}.badge.failed{background:#fde7e7;color:#a11d1d}
.badge.retrying{background:#fff3d6;color:#8a5a00}.badge.skipped{background:#eceff3;color:#4a5663}
.badge.waiting{background:#e6eefc;color:#234d99}
.badge.resolved{background:#e3f4e8;color:#1b6b36}
button{font:inherit;padding:.25rem .8rem;border:1px solid #2e6bd1;border-radius:.3rem;
background:#2e6bd1;color:#fff;cursor:pointer}button:disabled{opacity:.6;cursor:default}
.retry-answer{display:block;margin-top:.3rem;font-size:.85rem}
.retry-answer.ok{color:#1b6b36}.retry-answer.error{color:#a11d1d}
.notice{background:#fff3d6;border:1px solid #e8c46a;padding:.7rem 1rem;border-radius:.3rem}
.notice a{font-weight:600}.filter{margin:1rem 0}.filter button{margin-left:.3rem}
.paging{margin:1rem 0}.paging a{margin-right:1.5rem}
.sign-out{margin:0 0 1rem;color:#5b6775;font-size:.9rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
"""

# The Retry button: POST /events/{id}/retry, and the server's answer in the row, errors plainly.
SCRIPT = """
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.retry");
  if (!button) return;
  const answer = button.parentElement.querySelector(".retry-answer");
  button.disabled = true;
  answer.className = "retry-answer";
  answer.textContent = "Asking for a retry…";
  try {
    const reply = await fetch(
      "/events/" + encodeURIComponent(button.dataset.eventId) + "/retry",
      {method: "POST", headers: {"accept": "application/json"}});
    let body = null;
    try { body = await reply.json(); } catch (_) { body = null; }
    if (reply.status === 202) {
      answer.className = "retry-answer ok";
      answer.textContent = "Retry started";
      return;
    }
    let detail = reply.statusText;
    if (body && body.detail !== undefined) {
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    }
    answer.className = "retry-answer error";
    answer.textContent = "Retry failed: " + reply.status + " " + detail;
  } catch (error) {
    answer.className = "retry-answer error";
    answer.textContent = "Retry failed: " + error.message;
  }
  button.disabled = false;
});
"""
