"""A recursive-descent parser for QBO's query language.

    SELECT * | COUNT(*) FROM Entity [WHERE cond (AND cond)*] [ORDERBY field [ASC|DESC], ...]
           [STARTPOSITION n] [MAXRESULTS n]
    cond := field (= | < | > | <= | >=) literal | field IN (literal, ...) | field LIKE 'pattern'

Keywords are case-insensitive; the three trailing clauses may come in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from qbo_sandbox import faults
from qbo_sandbox.query.lexer import Token, TokenKind, tokenize

Literal = str | Decimal | bool
COMPARISONS = ("=", "<", ">", "<=", ">=")


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    """One of COMPARISONS, "IN" or "LIKE"."""
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    entity: str
    count_only: bool
    conditions: tuple[Condition, ...] = ()
    ordering: tuple[Ordering, ...] = ()
    start_position: int | None = None
    max_results: int | None = None


def parse_query(text: str) -> Query:
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._index = 0

    # --- grammar --------------------------------------------------------------------------

    def query(self) -> Query:
        self._keyword("SELECT")
        count_only = self._selection()
        self._keyword("FROM")
        entity = self._word("an entity name")
        conditions: list[Condition] = []
        if self._accept_keyword("WHERE"):
            conditions.append(self._condition())
            while self._accept_keyword("AND"):
                conditions.append(self._condition())
        ordering: tuple[Ordering, ...] | None = None
        start_position: int | None = None
        max_results: int | None = None
        while self._peek().kind is not TokenKind.END:
            if ordering is None and self._accept_order_by():
                ordering = self._ordering()
            elif start_position is None and self._accept_keyword("STARTPOSITION"):
                start_position = self._integer()
            elif max_results is None and self._accept_keyword("MAXRESULTS"):
                max_results = self._integer()
            else:
                raise self._unexpected("ORDERBY, STARTPOSITION, MAXRESULTS or the end of the query")
        return Query(
            entity, count_only, tuple(conditions), ordering or (), start_position, max_results
        )

    def _selection(self) -> bool:
        if self._accept_symbol("*"):
            return False
        if self._accept_keyword("COUNT"):
            self._symbol("(")
            self._symbol("*")
            self._symbol(")")
            return True
        raise self._unexpected('"*" or "COUNT(*)"')

    def _condition(self) -> Condition:
        field = self._word("a property name")
        if self._accept_keyword("IN"):
            self._symbol("(")
            values = [self._literal()]
            while self._accept_symbol(","):
                values.append(self._literal())
            self._symbol(")")
            return Condition(field, "IN", tuple(values))
        if self._accept_keyword("LIKE"):
            token = self._advance()
            if token.kind is not TokenKind.STRING:
                raise self._unexpected("a quoted pattern", token)
            return Condition(field, "LIKE", (token.text,))
        token = self._advance()
        if token.kind is not TokenKind.SYMBOL or token.text not in COMPARISONS:
            raise self._unexpected("=, <, >, <=, >=, IN or LIKE", token)
        return Condition(field, token.text, (self._literal(),))

    def _ordering(self) -> tuple[Ordering, ...]:
        orderings = [self._one_ordering()]
        while self._accept_symbol(","):
            orderings.append(self._one_ordering())
        return tuple(orderings)

    def _one_ordering(self) -> Ordering:
        field = self._word("a property name")
        if self._accept_keyword("DESC"):
            return Ordering(field, descending=True)
        self._accept_keyword("ASC")
        return Ordering(field, descending=False)

    def _literal(self) -> Literal:
        token = self._advance()
        if token.kind is TokenKind.STRING:
            return token.text
        if token.kind is TokenKind.NUMBER:
            return _number(token.text)
        if token.is_word("TRUE", "FALSE"):
            return token.text.upper() == "TRUE"
        raise self._unexpected("a quoted string, a number, true or false", token)

    def _integer(self) -> int:
        token = self._advance()
        if token.kind is not TokenKind.NUMBER or not token.text.isdigit():
            raise self._unexpected("a whole number", token)
        return int(token.text)

    def _accept_order_by(self) -> bool:
        if self._accept_keyword("ORDERBY"):
            return True
        if self._peek().is_word("ORDER"):
            self._advance()
            self._keyword("BY")
            return True
        return False

    # --- token helpers --------------------------------------------------------------------

    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _advance(self) -> Token:
        token = self._tokens[self._index]
        if token.kind is not TokenKind.END:
            self._index += 1
        return token

    def _accept_keyword(self, word: str) -> bool:
        if self._peek().is_word(word):
            self._index += 1
            return True
        return False

    def _accept_symbol(self, symbol: str) -> bool:
        if self._peek().is_symbol(symbol):
            self._index += 1
            return True
        return False

    def _keyword(self, word: str) -> None:
        if not self._accept_keyword(word):
            raise self._unexpected(f'"{word.lower()}"')

    def _symbol(self, symbol: str) -> None:
        if not self._accept_symbol(symbol):
            raise self._unexpected(f'"{symbol}"')

    def _word(self, expected: str) -> str:
        token = self._advance()
        if token.kind is not TokenKind.WORD:
            raise self._unexpected(expected, token)
        return token.text

    def _unexpected(self, expected: str, token: Token | None = None) -> faults.QboFault:
        token = token or self._peek()
        return faults.query_parse_error(
            f'Encountered "{token.text}" at line 1, column {token.column}.\n'
            f"Was expecting: {expected}"
        )


def _number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise faults.query_parse_error(f'Invalid number "{text}"') from error
