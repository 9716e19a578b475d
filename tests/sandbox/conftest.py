from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.sandbox.helpers import Company


@pytest.fixture(scope="session")
async def http(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as client:
        yield client


@pytest.fixture
async def company(http: httpx.AsyncClient) -> Company:
    """A fresh sandbox company (realm) for one test."""
    return await Company.new(http)
