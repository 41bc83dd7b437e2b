"""Parse child configs as JSON and explain failures in Go encoding/json's words.

Butane shows these messages for inline merge/replace configs, so the scanner
below follows Go's scanner states closely enough to name the same character
and context; Python's json module then builds the value.
"""

from __future__ import annotations

import json

from .goformat import go_quote

_WS = b" \t\r\n"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"


class _SyntaxError(Exception):
    pass


def _quote_char(byte: int) -> str:
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    return "'" + go_quote(chr(byte))[1:-1] + "'"


class _Scanner:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, context: str):
        if self.pos >= len(self.data):
            raise _SyntaxError("unexpected end of JSON input")
        raise _SyntaxError(f"invalid character {_quote_char(self.data[self.pos])} {context}")

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < len(self.data) else None

    def skip_ws(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in _WS:
            self.pos += 1

    def document(self) -> None:
        self.skip_ws()
        self.value()
        self.skip_ws()
        if self.pos < len(self.data):
            self.fail("after top-level value")

    def value(self) -> None:
        ch = self.peek()
        if ch == ord("{"):
            self.object()
        elif ch == ord("["):
            self.array()
        elif ch == ord('"'):
            self.string()
        elif ch is not None and (ch == ord("-") or ch in _DIGITS):
            self.number()
        elif ch is not None and chr(ch) in "tfn":
            self.literal({"t": "true", "f": "false", "n": "null"}[chr(ch)])
        else:
            self.fail("looking for beginning of value")

    def object(self) -> None:
        self.pos += 1
        self.skip_ws()
        if self.peek() == ord("}"):
            self.pos += 1
            return
        while True:
            if self.peek() != ord('"'):
                self.fail("looking for beginning of object key string")
            self.string()
            self.skip_ws()
            if self.peek() != ord(":"):
                self.fail("after object key")
            self.pos += 1
            self.skip_ws()
            self.value()
            self.skip_ws()
            ch = self.peek()
            if ch == ord(","):
                self.pos += 1
                self.skip_ws()
                continue
            if ch == ord("}"):
                self.pos += 1
                return
            self.fail("after object key:value pair")

    def array(self) -> None:
        self.pos += 1
        self.skip_ws()
        if self.peek() == ord("]"):
            self.pos += 1
            return
        while True:
            self.skip_ws()
            self.value()
            self.skip_ws()
            ch = self.peek()
            if ch == ord(","):
                self.pos += 1
                continue
            if ch == ord("]"):
                self.pos += 1
                return
            self.fail("after array element")

    def string(self) -> None:
        self.pos += 1
        while True:
            ch = self.peek()
            if ch is None:
                self.fail("in string literal")
            if ch == ord('"'):
                self.pos += 1
                return
            if ch < 0x20:
                self.fail("in string literal")
            self.pos += 1
            if ch == ord("\\"):
                escape = self.peek()
                if escape is None or chr(escape) not in '"\\/bfnrtu':
                    self.fail("in string escape code")
                self.pos += 1
                if escape == ord("u"):
                    for _ in range(4):
                        if self.peek() is None or self.peek() not in _HEX:
                            self.fail("in \\u hexadecimal character escape")
                        self.pos += 1

    def digits(self) -> None:
        while self.peek() is not None and self.peek() in _DIGITS:
            self.pos += 1

    def number(self) -> None:
        if self.peek() == ord("-"):
            self.pos += 1
            if self.peek() is None or self.peek() not in _DIGITS:
                self.fail("in numeric literal")
        if self.peek() == ord("0"):
            self.pos += 1
        else:
            self.digits()
        if self.peek() == ord("."):
            self.pos += 1
            if self.peek() is None or self.peek() not in _DIGITS:
                self.fail("after decimal point in numeric literal")
            self.digits()
        if self.peek() in (ord("e"), ord("E")):
            self.pos += 1
            if self.peek() in (ord("+"), ord("-")):
                self.pos += 1
            if self.peek() is None or self.peek() not in _DIGITS:
                self.fail("in exponent of numeric literal")
            self.digits()

    def literal(self, word: str) -> None:
        self.pos += 1
        for expected in word[1:]:
            if self.peek() != ord(expected):
                self.fail(f"in literal {word} (expecting {_quote_char(ord(expected))})")
            self.pos += 1


def parse_config(text: str | bytes) -> tuple[dict | None, str | None]:
    """Parse a child Ignition config; return (config, None) or (None, Go-style error)."""
    data = text.encode() if isinstance(text, str) else text
    try:
        _Scanner(data).document()
    except _SyntaxError as error:
        return None, str(error)
    value = json.loads(data.decode("utf-8", errors="replace"))
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "bool", type(None): "null"}.get(type(value), "number")
        if value is None:
            return {}, None  # Go leaves the struct untouched for null
        return None, f"json: cannot unmarshal {kind} into Go value of type types.Config"
    return value, None
