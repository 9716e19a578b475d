"""Connecting to Temporal with the project's data converter."""

from __future__ import annotations

from temporalio.client import Client

from config import Settings
from workflows.converter import DATA_CONVERTER


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )
