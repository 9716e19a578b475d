"""Debian's headless Chromium for page tests, optionally cut off from every host but this one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="the browser test needs Debian's Chromium: apt-get install -y chromium chromium-driver "
    "(.ci/run installs them when it runs as root)",
)
# Every request to another host goes to a closed port (loopback bypasses a proxy): no network.
NO_NETWORK = "--proxy-server=http://127.0.0.1:9"


@contextmanager
def chromium(offline: bool = False) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)  # no sandbox: CI runs as root in a container
    options.add_argument("--window-size=1400,900")
    if offline:
        options.add_argument(NO_NETWORK)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
