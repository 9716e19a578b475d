"""Tokens of QBO's query language: words, 'quoted strings' (with \\' escapes), numbers, symbols."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from qbo_sandbox import faults


class TokenKind(Enum):
    WORD = "word"
    STRING = "string"
    NUMBER = "number"
    SYMBOL = "symbol"
    END = "end of query"


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    """Words and symbols as written, strings unescaped, numbers as written."""
    column: int

    def is_word(self, *words: str) -> bool:
        return self.kind is TokenKind.WORD and self.text.upper() in words

    def is_symbol(self, symbol: str) -> bool:
        return self.kind is TokenKind.SYMBOL and self.text == symbol


SINGLE_SYMBOLS = frozenset("=(),*")
COMPARISON_STARTS = frozenset("<>")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
        elif char == "'":
            position = _read_string(text, position, tokens)
        elif char.isdigit() or (char in "-." and text[position + 1 : position + 2].isdigit()):
            position = _read_while(text, position, tokens, TokenKind.NUMBER, _is_number_char)
        elif char.isalpha() or char == "_":
            position = _read_while(text, position, tokens, TokenKind.WORD, _is_word_char)
        elif char in COMPARISON_STARTS:
            length = 2 if text[position + 1 : position + 2] == "=" else 1
            tokens.append(Token(TokenKind.SYMBOL, text[position : position + length], position + 1))
            position += length
        elif char in SINGLE_SYMBOLS:
            tokens.append(Token(TokenKind.SYMBOL, char, position + 1))
            position += 1
        else:
            raise faults.query_parse_error(
                f"Invalid content. Lexical error at line 1, column {position + 1}.  "
                f'Encountered: "{char}"'
            )
    tokens.append(Token(TokenKind.END, "<EOF>", len(text) + 1))
    return tokens


def _is_number_char(char: str) -> bool:
    return char.isdigit() or char == "."


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_."


def _read_while(
    text: str, start: int, tokens: list[Token], kind: TokenKind, accepts: Callable[[str], bool]
) -> int:
    end = start + 1
    while end < len(text) and accepts(text[end]):
        end += 1
    tokens.append(Token(kind, text[start:end], start + 1))
    return end


def _read_string(text: str, start: int, tokens: list[Token]) -> int:
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\\" and text[position + 1 : position + 2] in ("'", "\\"):
            chars.append(text[position + 1])
            position += 2
        elif char == "'":
            tokens.append(Token(TokenKind.STRING, "".join(chars), start + 1))
            return position + 1
        else:
            chars.append(char)
            position += 1
    raise faults.query_parse_error(
        f"Lexical error at line 1, column {len(text) + 1}.  Encountered: <EOF> inside the string "
        f"starting at column {start + 1}"
    )
