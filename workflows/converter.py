"""The one data converter used by the starter, the worker, tests and the replayer."""

from __future__ import annotations

from temporalio.contrib.pydantic import pydantic_data_converter

DATA_CONVERTER = pydantic_data_converter
