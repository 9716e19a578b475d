"""QBO names: unique per realm, so a clash gets a disambiguated name ("Jane Smith (2)")."""

from __future__ import annotations

import re

MAX_NAME_ATTEMPTS = 20


def candidate_names(base: str, limit: int = MAX_NAME_ATTEMPTS) -> list[str]:
    return [base] + [f"{base} ({n})" for n in range(2, limit + 1)]


def is_variant_of(name: str | None, base: str) -> bool:
    """True when `name` is `base` or one of its disambiguated forms (case and spaces ignored)."""
    if not name:
        return False
    pattern = rf"^{re.escape(base.strip())}( \(\d+\))?$"
    return re.match(pattern, name.strip(), flags=re.IGNORECASE) is not None


def same_text(a: str | None, b: str | None) -> bool:
    def norm(s: str | None) -> str:
        return re.sub(r"[\s.,#]+", " ", (s or "").lower()).strip()

    return bool(norm(a)) and norm(a) == norm(b)
