"""Reading systemd unit contents the way Ignition does (go-systemd's deserializer).

Ignition rejects contents that go-systemd cannot deserialize and warns about
enabled units without an [Install] option, so both the accepted syntax and the
error texts follow that lexer, not systemd's own, more forgiving parser.
"""

from __future__ import annotations

import re

from ..values import Value
from .goformat import go_quote

LINE_MAX = 2048  # go-systemd's SYSTEMD_LINE_MAX


_NAME_END = re.compile("[=\r\n]")
_SPACE = re.compile(r"\s*")  # str.isspace's characters (checked over every code point)


class UnitContentError(ValueError):
    """str(error) is go-systemd's message."""


class UnitOption(Value):
    """One option of a unit: its section, name and value (a value)."""

    __slots__ = ("section", "name", "value")

    def __init__(self, section: str, name: str, value: str) -> None:
        self.section = section
        self.name = name
        self.value = value


def deserialize(contents: str) -> list[UnitOption]:
    return _Lexer(contents).run()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.options: list[UnitOption] = []

    def run(self) -> list[UnitOption]:
        # Anything before the first "[" is skipped, one character at a time.
        while self.pos < len(self.text):
            ch = self._next()
            if ch == "[":
                section = self._section_name()
                self._section_body(section)
                break
            if ch in "#;":
                self._skip_line()
        return self.options

    def _next(self) -> str:
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    def _skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    def _section_name(self) -> str:
        name = []
        while True:
            if self.pos >= len(self.text):
                raise UnitContentError("unable to find end of section")
            ch = self._next()
            if ch == "]":
                break
            if ch in "\r\n":
                raise UnitContentError("unable to find end of section")
            name.append(ch)
        garbage = self._to_eol().strip()
        if garbage:
            # go-systemd formats this before it records the section name
            raise UnitContentError(f"found garbage after section name : {go_quote(garbage)}")
        return "".join(name)

    def _section_body(self, section: str) -> None:
        text = self.text
        while True:
            # Whitespace (str.isspace) between options, skipped all at once: \s matches
            # the same characters.
            self.pos = _SPACE.match(text, self.pos).end()
            if self.pos >= len(text):
                return
            ch = self._next()
            if ch == "[":
                section = self._section_name()
                continue
            if ch in "#;":
                self._skip_line()
                continue
            self.pos -= 1
            name = self._option_name()
            self.options.append(UnitOption(section, name, self._option_value()))

    def _option_name(self) -> str:
        # go-systemd reads rune by rune up to the first "=", failing at a line break or
        # the end; finding the first of the three is the same and faster.
        start = self.pos
        m = _NAME_END.search(self.text, start)
        if m is None:
            self.pos = len(self.text)
            raise UnitContentError("EOF")
        if m[0] != "=":
            raise UnitContentError("unexpected newline encountered while parsing option name")
        self.pos = m.end()
        return self.text[start:m.start()].strip()

    def _to_eol(self) -> str:
        end = self.text.find("\n", self.pos)
        if end < 0:
            line, self.pos = self.text[self.pos:], len(self.text)
        else:
            line, self.pos = self.text[self.pos:end], end + 1
        if len(line.encode()) > LINE_MAX:
            raise UnitContentError(f"line too long (max {LINE_MAX} bytes)")
        return line

    def _option_value(self) -> str:
        parts = []
        while True:
            at_eof = self.pos >= len(self.text)
            line = self._to_eol()
            if not parts and (at_eof or not line.endswith("\\")):
                return line.rstrip("\\").strip()  # one line, the usual case: the same value
            if not line.strip():
                break
            parts.append(line)
            if not line.endswith("\\") or at_eof:
                break
        return " ".join(p.rstrip("\\") for p in parts).strip()
