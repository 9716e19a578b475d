"""QBO's SQL-like query language: `lexer` → `parser` (a `Query`) → `evaluate` (the reply)."""

from qbo_sandbox.query.evaluate import run_query
from qbo_sandbox.query.parser import Query, parse_query

__all__ = ["Query", "parse_query", "run_query"]
