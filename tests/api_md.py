"""Field lists as /work/shared/docs/API.md writes them (`{"id", "name"?, "item": Item?,
"lines": [{…}]}`), parsed into names, optionality and nested shapes for the contract tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Beside the repository, as the recording tests find ../shared.
API_MD = Path(__file__).resolve().parents[2] / "shared" / "docs" / "API.md"


@dataclass
class Field:
    optional: bool = False
    record: str | None = None  # a record API.md names (`Customer`), described on its own
    shape: Shape | None = None  # an object written in place (`{"line1", …}`, `[{…}]`)


@dataclass
class Shape:
    fields: dict[str, Field] = field(default_factory=dict)


class FieldList:
    """A recursive reader of one `{…}` list; values it does not need (types, enums) are skipped."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.at] if self.at < len(self.text) else ""

    def skip_space(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.at += 1
            return True
        return False

    def shape(self) -> Shape:
        assert self.take("{"), self.text[self.at :]
        shape = Shape()
        while not self.take("}"):
            if self.take(",") or self.skip_ellipsis():
                continue
            name = self.quoted()
            entry = Field(optional=self.take("?"))
            if self.take(":"):
                entry.record, entry.shape, late_optional = self.value()
                entry.optional |= late_optional
            shape.fields[name] = entry
        return shape

    def skip_ellipsis(self) -> bool:
        for dots in ("…", "..."):
            if self.text.startswith(dots, self.at):
                self.at += len(dots)
                return True
        return False

    def quoted(self) -> str:
        found = re.compile(r'"([^"]*)"').match(self.text, self.at)
        assert found, f"a quoted name expected at {self.text[self.at : self.at + 30]!r}"
        self.at = found.end()
        return found[1]

    def value(self) -> tuple[str | None, Shape | None, bool]:
        """(record name, shape in place, optional mark after it) of one value."""
        record: str | None = None
        shape: Shape | None = None
        if self.peek() == "{":
            shape = self.shape()
        elif self.take("["):
            if self.peek() == "{":
                shape = self.shape()
            while not self.take("]"):
                self.at += 1
        else:  # words: `Customer`, `bool`, `"a" | "b"`, `"…"`, `…`
            found = re.compile(r"[^,}\]]*").match(self.text, self.at)
            assert found is not None
            words = found[0].strip().rstrip("?").strip()
            if re.fullmatch(r"[A-Z][a-z]+", words):
                record = words
            self.at = found.end() - (1 if found[0].rstrip().endswith("?") else 0)
            self.skip_space()
        return record, shape, self.take("?")


def field_list(text: str) -> Shape:
    return FieldList(text).shape()


def section(markdown: str, heading: str) -> str:
    start = markdown.index(f"## {heading}")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else len(markdown)]


def first_list_after(text: str, marker: str) -> Shape:
    """The first `{…}` list in the text after `marker`."""
    start = text.index("{", text.index(marker) + len(marker))
    return field_list(text[start:])


def event_data(markdown: str) -> dict[str, Shape]:
    """Each event type → its `data` (the table of POST /events)."""
    shapes: dict[str, Shape] = {}
    for row in re.finditer(r"^\| (`[a-z_.]+`.*?) \| `(\{[^`]*\})`[^|]*\|$", markdown, re.MULTILINE):
        data = field_list(row[2])
        for event_type in re.findall(r"`([a-z_.]+)`", row[1]):
            shapes[event_type] = data
    return shapes


def records(markdown: str) -> dict[str, Shape]:
    """Each record of the Records list (`- **Customer** `{…}``)."""
    return {
        found[1]: field_list(found[2])
        for found in re.finditer(r"^- \*\*(\w+)\*\* `([^`]*)`", markdown, re.MULTILINE)
    }
