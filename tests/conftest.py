"""Shared fixtures: real servers only (QBO sandbox process, Temporal dev server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.processes import running_sandbox


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """Base URL of a QBO sandbox process shared by the whole session (create a realm per test)."""
    with running_sandbox() as url:
        yield url
