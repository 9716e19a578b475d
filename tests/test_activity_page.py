"""The activity page as office staff use it, in Debian's headless Chromium against the real API,
worker, Temporal dev server and QBO sandbox; and the log's JSON and settings behind it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from store import ActivityLogEntry, Store
from tests import browser
from tests.conftest import Company
from tests.events import customer, event_json, invoice, new_id, payment

pytestmark = pytest.mark.usefixtures("worker")
needs_chromium = browser.needs_chromium

T = TypeVar("T")

PHOENIX = ZoneInfo("America/Phoenix")  # no daylight saving: always UTC-7, "MST"


class Page:
    """A Chromium tab; selenium blocks, so each call runs in a thread while the API serves."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.to_thread(fn)

    async def open(self, url: str) -> None:
        await self._call(lambda: self.driver.get(url))

    async def texts(self, css: str) -> list[str]:
        from selenium.webdriver.common.by import By

        return await self._call(
            lambda: [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]
        )

    async def rows(self) -> list[dict[str, str]]:
        """Each line of the log: its cells by class, and whether it has a Retry button."""
        script = """
          return [...document.querySelectorAll("tbody tr.line")].map(tr => ({
            when: tr.querySelector("td.when").innerText,
            customer: tr.querySelector("td.customer").innerText,
            record: tr.querySelector("td.record").innerText,
            outcome: tr.querySelector("td.outcome").innerText,
            message: tr.querySelector("td.message").innerText,
            retry: tr.querySelector("button.retry") ? tr.querySelector("button.retry").getAttribute("aria-label") : "",
          }));"""
        rows: list[dict[str, str]] = await self._call(lambda: self.driver.execute_script(script))
        return rows

    async def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By

        await self._call(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    async def wait_for_text(self, css: str, changed_from: str = "", timeout: float = 15) -> str:
        """The element's text once it is neither empty nor `changed_from`."""
        deadline = time.monotonic() + timeout
        while True:
            texts = await self.texts(css)
            if texts and texts[0] and texts[0] != changed_from:
                return texts[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{css} still shows {texts!r}")
            await asyncio.sleep(0.1)

    async def attribute(self, css: str, name: str) -> str | None:
        from selenium.webdriver.common.by import By

        value: str | None = await self._call(
            lambda: self.driver.find_element(By.CSS_SELECTOR, css).get_attribute(name)
        )
        return value

    async def requested_urls(self) -> list[str]:
        """Every URL the page fetched (the browser's own record, not the page's word)."""
        urls: list[str] = await self._call(
            lambda: self.driver.execute_script(
                "return performance.getEntriesByType('resource').map(e => e.name)"
            )
        )
        return urls

    async def url(self) -> str:
        url: str = await self._call(lambda: self.driver.current_url)
        return url

    async def path(self) -> str:
        return httpx.URL(await self.url()).path

    async def submit(self, css: str, typed: dict[str, str] | None = None) -> None:
        """Type into the fields (by id), press the button, and wait for the next page."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        def type_and_send() -> None:
            for field_id, text in (typed or {}).items():
                self.driver.find_element(By.ID, field_id).send_keys(text)
            button = self.driver.find_element(By.CSS_SELECTOR, css)
            button.click()
            WebDriverWait(self.driver, 15).until(expected_conditions.staleness_of(button))

        await self._call(type_and_send)

    async def sign_in(self, key: str) -> None:
        """Type the key into the sign-in page the browser is on, and send it."""
        await self.submit("form button[type=submit]", {"key": key})

    async def cookies(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._call(self.driver.get_cookies)
        return found

    async def script(self, js: str) -> Any:
        return await self._call(lambda: self.driver.execute_script(js))

    async def screenshot(self, path: Path) -> None:
        await self._call(lambda: self.driver.save_screenshot(str(path)))


@pytest.fixture
def chromium() -> Iterator[Any]:
    with browser.chromium() as driver:
        yield driver


async def send(http: httpx.AsyncClient, api: str, body: dict[str, Any], expect: str) -> None:
    """POST the event, then follow it until it has completed or failed as expected."""
    assert (await http.post(f"{api}/events", json=body)).status_code == 202
    await follow_until(http, api, body["event_id"], expect)


async def follow_until(http: httpx.AsyncClient, api: str, event_id: str, expect: str) -> None:
    body = {"event_id": event_id}
    deadline = time.monotonic() + 60
    while True:
        state = (await http.get(f"{api}/events/{body['event_id']}")).json()
        if state["status"] in ("completed", "failed"):
            assert state["status"] == expect, state
            return
        assert time.monotonic() < deadline, state
        await asyncio.sleep(0.1)


def saved_customer(company: Company, customer_id: str, first: str, last: str) -> dict[str, Any]:
    data = {"customer": customer(customer_id, first=first, last=last)}
    return event_json(company.company_id, "customer.saved", data)


def payment_over_the_invoice_total(company: Company, first: str, last: str) -> dict[str, Any]:
    """$150.00 on an invoice of $120.00: the workflow refuses it before QuickBooks sees anything."""
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    data = {
        "payment": payment(pid, iid, cid, "150.00"),
        "invoice": invoice(iid, cid, number="1043"),
        "customer": customer(cid, first=first, last=last),
    }
    return event_json(company.company_id, "payment.recorded", data)


def in_phoenix(at: str) -> tuple[str, str]:
    """The date and the clock time the office in Phoenix reads for a UTC time of the log."""
    local = datetime.fromisoformat(at).astimezone(PHOENIX)
    return f"{local:%b} {local.day}, {local.year}", f"{local.hour % 12 or 12}:{local:%M:%S %p} MST"


@needs_chromium
async def test_office_staff_read_names_local_times_and_outcomes_retry_a_failure_and_page_back(
    api: str,
    http: httpx.AsyncClient,
    store: Store,
    company: Company,
    chromium: Any,
    tmp_path: Path,
) -> None:
    settings_url = f"{api}/companies/{company.company_id}/quickbooks/settings"
    chosen = await http.put(
        settings_url, json={"sync_enabled": True, "timezone": "America/Phoenix"}
    )
    assert chosen.status_code == 200 and chosen.json()["timezone"] == "America/Phoenix"
    await send(http, api, saved_customer(company, new_id("cust"), "Ann", "Lee"), "completed")
    failing = payment_over_the_invoice_total(company, "Marisol", "Vega")
    await send(http, api, failing, "failed")
    await send(http, api, saved_customer(company, new_id("cust"), "Bob", "Ortiz"), "completed")
    logged = (await http.get(f"{api}/companies/{company.company_id}/activity")).json()
    assert [e["customer_name"] for e in logged] == ["Bob Ortiz", "Marisol Vega", "Ann Lee"]

    page = Page(chromium)
    _, key = await store.keys.create(company.company_id, "front office")
    await page.open(f"{api}/companies/{company.company_id}/activity")
    assert await page.path() == "/sign-in"  # the office signs in once, then reads the log
    await page.sign_in(key)
    rows = await page.rows()
    assert [(r["customer"], r["outcome"]) for r in rows] == [
        ("Bob Ortiz", "Synced"),
        ("Marisol Vega", "Failed"),
        ("Ann Lee", "Synced"),
    ]
    for row, entry in zip(rows, logged, strict=True):
        day, clock = in_phoenix(entry["at"])
        assert day in row["when"] and clock in row["when"], (row["when"], entry["at"])
    assert "$150.00" in rows[1]["message"] and "$120.00" in rows[1]["message"]  # amounts as logged
    assert rows[1]["record"] == f"Payment {failing['data']['payment']['id']}"
    assert [bool(r["retry"]) for r in rows] == [False, True, False]  # only the failed line
    assert rows[1]["retry"] == f"Retry Payment {failing['data']['payment']['id']}"
    assert "When (America/Phoenix)" in await page.texts("thead th")
    assert await page.texts("a.reconnect") == []

    # Retry: the browser's POST reaches the server and its answer shows in the row.
    await page.click("tr.failed button.retry")
    answer = await page.wait_for_text("tr.failed .retry-answer", changed_from="Asking for a retry…")
    retry_url = f"{api}/events/{failing['event_id']}/retry"
    assert retry_url in await page.requested_urls()
    assert answer == "Retry started"
    await page.screenshot(tmp_path / "activity.png")  # for a person to look at: the answer shown
    await follow_until(http, api, failing["event_id"], "failed")  # still $150 on $120: fails again

    # Paging: two lines a page, newest first: the retry's failure, then Bob; then the older ones.
    await page.open(f"{api}/companies/{company.company_id}/activity?limit=2")
    assert [r["customer"] for r in await page.rows()] == ["Marisol Vega", "Bob Ortiz"]
    await page.click("a.older")
    assert [r["customer"] for r in await page.rows()] == ["Marisol Vega", "Ann Lee"]
    assert await page.texts("a.older") == [] and await page.texts("a.newest") != []

    # QuickBooks refused the login: the page says so and links to reconnecting.
    tokens = await store.load_tokens(company.realm_id)
    assert await store.mark_reconnect_required(company.realm_id, "refresh refused", tokens.version)
    await page.open(f"{api}/companies/{company.company_id}/activity")
    assert await page.texts("a.reconnect") == ["Reconnect QuickBooks"]
    assert await page.attribute("a.reconnect", "href") == (
        f"{api}/companies/{company.company_id}/quickbooks/connect"
    )


@needs_chromium
async def test_office_staff_sign_in_with_their_key_once_and_sign_out(
    api: str, store: Store, company: Company, chromium: Any
) -> None:
    row, key = await store.keys.create(company.company_id, "front office")
    page = Page(chromium)
    log_page = f"/companies/{company.company_id}/activity"
    await page.open(f"{api}{log_page}?limit=20")
    assert await page.path() == "/sign-in"
    await page.sign_in("skq_not_a_key")
    assert await page.texts(".problem") == ["That key is not valid: it is unknown or was revoked."]

    await page.sign_in(key)
    assert (
        await page.url() == f"{api}{log_page}?limit=20"
    )  # back where the office was going; no key in it
    assert await page.texts(".signed-in") == [
        f"Signed in with key {row.key_id} (front office), company {company.company_id}"
    ]
    cookies = await page.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
        ("skimmer_session", True, "Strict")
    ]
    assert key not in cookies[0]["value"]
    assert await page.script("return document.cookie") == ""  # HttpOnly: no script reads it

    await page.open(f"{api}/companies/co_someone_else/activity")
    assert "is for company " + company.company_id in (await page.texts("body"))[0]  # 403

    await page.open(f"{api}{log_page}")
    await page.submit("form.sign-out button")
    assert await page.path() == "/sign-in"
    await page.open(f"{api}{log_page}")
    assert await page.path() == "/sign-in"  # signed out: the page asks again


def line(company: Company, n: int, outcome: str, **extra: Any) -> ActivityLogEntry:
    return ActivityLogEntry(
        entry_key=new_id("key"),
        company_id=company.company_id,
        at=datetime(2030, 1, 2, 3, n, tzinfo=ZoneInfo("UTC")),
        record_type="payment",
        record_id=f"pay_{n}",
        action="record",
        outcome=outcome,
        message=f"line {n}",
        workflow_id=f"wf_{n}",
        event_id=f"evt_{n}",
        **extra,
    )


async def test_every_outcome_reads_as_a_word_and_a_resolved_failure_offers_no_retry(
    api: str, http: httpx.AsyncClient, store: Store, company: Company
) -> None:
    outcomes = ["success", "failed", "retrying", "waiting", "skipped", "failed"]
    for n, outcome in enumerate(outcomes):
        await store.append_activity(line(company, n, outcome, customer_name=f"Name {n}"))
    assert await store.mark_activity_resolved("evt_1") == 1

    url = f"{api}/companies/{company.company_id}/activity"
    logged = (await http.get(url)).json()
    assert [(e["event_id"], e["resolved"]) for e in logged][-2:] == [
        ("evt_1", True),
        ("evt_0", False),
    ]
    assert logged[-1]["at"] == "2030-01-02T03:00:00Z"  # UTC said, though SQLite forgets the zone
    failed = (await http.get(url, params={"outcome": "failed"})).json()
    assert [e["record_id"] for e in failed] == ["pay_5", "pay_1"]
    older = (await http.get(url, params={"before": "2030-01-02T03:02:00Z"})).json()
    assert [e["record_id"] for e in older] == ["pay_1", "pay_0"]

    page = (await http.get(url, headers={"accept": "text/html"})).text
    for word in ("Synced", "Failed", "Retrying", "Waiting", "Skipped", "Resolved"):
        assert f">{word}</span>" in page, word
    assert page.count("<button type='button' class='retry'") == 1  # evt_5; evt_1 is resolved
    assert "data-event-id='evt_5'" in page and "data-event-id='evt_1'" not in page
    assert "Jan 2, 2030 3:00:00 AM UTC" in page  # the default zone, said


async def test_settings_keep_the_company_time_zone_and_refuse_unknown_ones(
    api: str, http: httpx.AsyncClient, company: Company
) -> None:
    url = f"{api}/companies/{company.company_id}/quickbooks/settings"
    assert (await http.get(url)).json()["timezone"] == "UTC"
    refused = await http.put(url, json={"sync_enabled": True, "timezone": "Mars/Olympus_Mons"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "timezone"]
    chosen = await http.put(url, json={"sync_enabled": True, "timezone": "America/Phoenix"})
    assert chosen.status_code == 200 and chosen.json()["timezone"] == "America/Phoenix"
    kept = await http.put(url, json={"sync_enabled": True})  # no zone given: the stored one stays
    assert kept.json()["timezone"] == "America/Phoenix"
