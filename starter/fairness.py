"""Fairness per company: every workflow a company's events start carries the company id as its
Temporal fairness key, so a task queue dispatches companies round-robin (weighted), and one
company's backlog never queues ahead of another company's live events.

Child workflows and activities inherit their parent's priority, so setting it where a lane (or a
reconciliation) starts covers every task of that company. Weights come from `FAIRNESS_WEIGHTS`
("co_big=3,co_trial=0.5"; default 1): a weight-3 company gets three tasks dispatched to every one
of a weight-1 company while both have a backlog. A lane already running keeps the weight it
started with until it continues as new.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from temporalio.common import Priority

DEFAULT_WEIGHT = 1.0


class InvalidFairnessWeights(ValueError):
    pass


@dataclass(frozen=True)
class FairnessWeights:
    weights: Mapping[str, float] = field(default_factory=dict)
    default: float = DEFAULT_WEIGHT

    @classmethod
    def parse(cls, text: str) -> FairnessWeights:
        """`"co_a=3,co_b=0.5"` → weights; a clear error naming the entry that is wrong."""
        weights: dict[str, float] = {}
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            company_id, sep, raw = entry.partition("=")
            company_id = company_id.strip()
            try:
                weight = float(raw) if sep else math.nan
            except ValueError:
                weight = math.nan
            if not company_id or not math.isfinite(weight) or weight <= 0:
                raise InvalidFairnessWeights(
                    f"FAIRNESS_WEIGHTS entry {entry!r}: expected <company id>=<weight > 0>"
                )
            weights[company_id] = weight
        return cls(weights)

    def weight(self, company_id: str) -> float:
        return self.weights.get(company_id, self.default)

    def priority(self, company_id: str) -> Priority:
        return Priority(fairness_key=company_id, fairness_weight=self.weight(company_id))
