"""The entity types this sandbox serves; add a rules module and list it here to serve another."""

from __future__ import annotations

from qbo_sandbox.entities.account import AccountRules
from qbo_sandbox.entities.customer import CustomerRules
from qbo_sandbox.entities.item import ItemRules
from qbo_sandbox.entities.schema import EntityRules

ENTITIES: dict[str, EntityRules] = {
    rules.name: rules for rules in (CustomerRules(), ItemRules(), AccountRules())
}


def by_path(segment: str) -> EntityRules | None:
    """The entity for a URL segment (`customer`) or query name, case-insensitively."""
    lowered = segment.lower()
    return next((rules for rules in ENTITIES.values() if rules.path == lowered), None)


__all__ = ["ENTITIES", "EntityRules", "by_path"]
