"""Inputs and results of activities (one model each, so they can evolve)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from billing.records import Customer, Item, ItemType


class EnsureCustomerInput(BaseModel):
    company_id: str
    customer: Customer


class EnsureItemInput(BaseModel):
    company_id: str
    item_type: ItemType
    item: Item


class SyncOutcome(BaseModel):
    """What a sync did in QBO, in the product's words."""

    action: Literal["created", "updated", "linked", "unchanged"]
    qbo_type: str
    qbo_id: str
    message: str


class ActivityLogInput(BaseModel):
    company_id: str
    record_type: str
    record_id: str
    action: str
    outcome: Literal["success", "failed", "retrying"]
    message: str
    qbo_type: str | None = None
    qbo_id: str | None = None
    event_id: str | None = None
