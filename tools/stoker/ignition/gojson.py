"""Parse child configs as JSON and explain failures in Go encoding/json's words.

Butane shows these messages for inline merge/replace configs, so the parser
below follows Go's scanner states closely enough to name the same character and
context. It keeps its own stack instead of recursing, because Go accepts 10000
levels of nesting where Python's recursion (and its json module) gives up near
1000.
"""

from __future__ import annotations

import json
import re

from .goformat import go_quote

MAX_DEPTH = 10000  # Go's encoding/json maxNestingDepth
_WS = b" \t\r\n"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class _SyntaxError(Exception):
    pass


def _quote_char(byte: int) -> str:
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    return "'" + go_quote(chr(byte))[1:-1] + "'"


class _Parser:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    # -- low level --
    def fail(self, context: str):
        if self.pos >= len(self.data):
            raise _SyntaxError("unexpected end of JSON input")
        raise _SyntaxError(f"invalid character {_quote_char(self.data[self.pos])} {context}")

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < len(self.data) else None

    def skip_ws(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in _WS:
            self.pos += 1

    # -- the document: an explicit stack of open containers --
    def document(self):
        stack: list[list] = []  # [container, pending object key]
        self.skip_ws()
        value = self.value_or_open(stack)
        while True:
            if value is not _OPEN:
                if not stack:
                    break
                container = stack[-1]
                if isinstance(container[0], dict):
                    container[0][container[1]] = value
                else:
                    container[0].append(value)
                value = self.after_member(stack)
                if value is _CLOSED:
                    value = stack.pop()[0]
                    continue
            else:
                value = self.first_member(stack)
                if value is _CLOSED:
                    value = stack.pop()[0]
        self.skip_ws()
        if self.pos < len(self.data):
            self.fail("after top-level value")
        return value

    def value_or_open(self, stack: list):
        ch = self.peek()
        if ch in (ord("{"), ord("[")):
            if len(stack) >= MAX_DEPTH:
                self.fail("exceeded max depth")
            self.pos += 1
            stack.append([{} if ch == ord("{") else [], None])
            return _OPEN
        return self.scalar()

    def first_member(self, stack: list):
        """Just after '{' or '['."""
        self.skip_ws()
        container = stack[-1]
        if isinstance(container[0], dict):
            if self.peek() == ord("}"):
                self.pos += 1
                return _CLOSED
            return self.object_key(stack)
        if self.peek() == ord("]"):
            self.pos += 1
            return _CLOSED
        return self.value_or_open(stack)

    def object_key(self, stack: list):
        if self.peek() != ord('"'):
            self.fail("looking for beginning of object key string")
        stack[-1][1] = self.string()
        self.skip_ws()
        if self.peek() != ord(":"):
            self.fail("after object key")
        self.pos += 1
        self.skip_ws()
        return self.value_or_open(stack)

    def after_member(self, stack: list):
        self.skip_ws()
        is_object = isinstance(stack[-1][0], dict)
        ch = self.peek()
        if ch == ord(","):
            self.pos += 1
            self.skip_ws()
            return self.object_key(stack) if is_object else self.value_or_open(stack)
        if ch == ord("}" if is_object else "]"):
            self.pos += 1
            return _CLOSED
        self.fail("after object key:value pair" if is_object else "after array element")

    # -- scalars --
    def scalar(self):
        ch = self.peek()
        if ch == ord('"'):
            return self.string()
        if ch is not None and (ch == ord("-") or ch in _DIGITS):
            return self.number()
        words = {ord("t"): ("true", True), ord("f"): ("false", False), ord("n"): ("null", None)}
        if ch in words:
            word, value = words[ch]
            self.literal(word)
            return value
        self.fail("looking for beginning of value")

    def string(self) -> str:
        start = self.pos
        self.pos += 1
        while True:
            ch = self.peek()
            if ch is None or ch < 0x20:
                self.fail("in string literal")
            self.pos += 1
            if ch == ord('"'):
                break
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
        token = self.data[start:self.pos].decode("utf-8", errors="replace")
        # Go turns invalid UTF-8 and unpaired surrogate escapes into U+FFFD
        return _LONE_SURROGATE.sub("\ufffd", json.loads(token))

    def digits(self) -> None:
        while self.peek() is not None and self.peek() in _DIGITS:
            self.pos += 1

    def number(self):
        start = self.pos
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
        return json.loads(self.data[start:self.pos])

    def literal(self, word: str) -> None:
        self.pos += 1
        for expected in word[1:]:
            if self.peek() != ord(expected):
                self.fail(f"in literal {word} (expecting {_quote_char(ord(expected))})")
            self.pos += 1


_OPEN = object()    # a container was opened; its members follow
_CLOSED = object()  # the innermost container was closed


def parse_config(text: str | bytes) -> tuple[dict | None, str | None]:
    """Parse a child Ignition config; return (config, None) or (None, Go-style error)."""
    data = text.encode() if isinstance(text, str) else text
    try:
        value = _Parser(data).document()
    except _SyntaxError as error:
        return None, str(error)
    if value is None:
        return {}, None  # Go leaves the struct untouched for null
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(value), "number")
        return None, f"json: cannot unmarshal {kind} into Go value of type types.Config"
    return value, None
