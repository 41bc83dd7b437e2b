"""Parse JSON the way Go's encoding/json does, and explain failures in its words.

Butane shows these messages for inline merge/replace configs, and a whole .ign
document is checked the same way, so the parser below follows Go's scanner
states closely enough to name the same character and context. It keeps its own
stack instead of recursing, because Go accepts 10000 levels of nesting where
Python's recursion (and its json module) gives up near 1000.

Two outputs from the one parser:
    parse_config(text)    plain Python values, for Butane's child configs
    parse_document(data)  a node tree that also keeps every value's and key's
                          byte offset, for validating a document with positions
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .goformat import go_quote

MAX_DEPTH = 10000  # Go's encoding/json maxNestingDepth
_WS = b" \t\r\n"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"
_PLAIN_RUN = re.compile(rb'[^"\\\x00-\x1f]*')  # string bytes that need no attention
# Lone surrogates: unpaired \u escapes, and the per-byte escapes of invalid UTF-8 (surrogateescape).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONSyntaxError(ValueError):
    """Go's *json.SyntaxError: str(error) is Go's text, `offset` the byte it stopped at."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _quote_char(byte: int) -> str:
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    return "'" + go_quote(chr(byte))[1:-1] + "'"


def to_bytes(text: str | bytes) -> bytes:
    """The document's bytes; a str with lone surrogates keeps them as (invalid) UTF-8 bytes."""
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)


# -- the node tree of parse_document --

@dataclass
class ObjectNode:
    offset: int                                      # of "{"
    pairs: list = field(default_factory=list)        # (key, key offset, node), duplicates kept, in order


@dataclass
class ArrayNode:
    offset: int                                      # of "["
    items: list = field(default_factory=list)


@dataclass
class ScalarNode:
    offset: int
    kind: str                                        # "string", "number", "bool" or "null"
    value: object                                    # str, bool or None; a number's source text


def node_kind(node) -> str:
    """The JSON kind of a node, in Go's words ("object", "array", "string", "number", "bool", "null")."""
    if isinstance(node, ObjectNode):
        return "object"
    if isinstance(node, ArrayNode):
        return "array"
    return node.kind


def plain(node):
    """The node tree as json.loads-like Python values; later duplicate keys win, as in Go.

    Walks with its own stack: a document may nest 10000 levels deep.
    """
    def convert_scalar(scalar: ScalarNode):
        return _number(scalar.value) if scalar.kind == "number" else scalar.value

    if isinstance(node, ScalarNode):
        return convert_scalar(node)
    root = {} if isinstance(node, ObjectNode) else []
    stack = [(node, root)]
    while stack:
        source, target = stack.pop()
        if isinstance(source, ObjectNode):
            members = source.pairs
        else:
            members = ((None, 0, item) for item in source.items)
        for key, _, child in members:
            if isinstance(child, ScalarNode):
                value = convert_scalar(child)
            else:
                value = {} if isinstance(child, ObjectNode) else []
                stack.append((child, value))
            if isinstance(target, dict):
                target[key] = value
            else:
                target.append(value)
    return root


def _number(text: str | bytes):
    try:
        return json.loads(text)
    except ValueError:
        return float(text)  # an integer too long for Python's int(): stands in as a float (inf)


class _Parser:
    def __init__(self, data: bytes, nodes: bool = False) -> None:
        self.data = data
        self.pos = 0
        self.nodes = nodes  # build ObjectNode/ArrayNode/ScalarNode instead of plain values

    # -- low level --
    def fail(self, context: str):
        if self.pos >= len(self.data):
            raise JSONSyntaxError("unexpected end of JSON input", len(self.data))
        raise JSONSyntaxError(f"invalid character {_quote_char(self.data[self.pos])} {context}", self.pos)

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < len(self.data) else None

    def skip_ws(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in _WS:
            self.pos += 1

    # -- the document: an explicit stack of open containers --
    def document(self):
        stack: list[list] = []  # [container, pending object key, offset of that key]
        self.skip_ws()
        value = self.value_or_open(stack)
        while True:
            if value is not _OPEN:
                if not stack:
                    break
                self.store(stack[-1], value)
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

    @staticmethod
    def store(frame: list, value) -> None:
        container = frame[0]
        if isinstance(container, dict):
            container[frame[1]] = value
        elif isinstance(container, list):
            container.append(value)
        elif isinstance(container, ObjectNode):
            container.pairs.append((frame[1], frame[2], value))
        else:
            container.items.append(value)

    @staticmethod
    def is_object(frame: list) -> bool:
        return isinstance(frame[0], (dict, ObjectNode))

    def value_or_open(self, stack: list):
        ch = self.peek()
        if ch in (ord("{"), ord("[")):
            if len(stack) >= MAX_DEPTH:
                self.fail("exceeded max depth")
            if self.nodes:
                container = ObjectNode(self.pos) if ch == ord("{") else ArrayNode(self.pos)
            else:
                container = {} if ch == ord("{") else []
            self.pos += 1
            stack.append([container, None, 0])
            return _OPEN
        start = self.pos
        value = self.scalar()
        if not self.nodes:
            return value
        if isinstance(value, _NumberText):
            return ScalarNode(start, "number", value.text)
        kind = "string" if isinstance(value, str) else "bool" if isinstance(value, bool) else "null"
        return ScalarNode(start, kind, value)

    def first_member(self, stack: list):
        """Just after '{' or '['."""
        self.skip_ws()
        if self.is_object(stack[-1]):
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
        stack[-1][2] = self.pos
        stack[-1][1] = self.string()
        self.skip_ws()
        if self.peek() != ord(":"):
            self.fail("after object key")
        self.pos += 1
        self.skip_ws()
        return self.value_or_open(stack)

    def after_member(self, stack: list):
        self.skip_ws()
        is_object = self.is_object(stack[-1])
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
            self.pos = _PLAIN_RUN.match(self.data, self.pos).end()  # skip ordinary bytes in one step
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
        # Go turns each byte of invalid UTF-8, and each unpaired surrogate escape, into U+FFFD
        token = self.data[start:self.pos].decode("utf-8", errors="surrogateescape")
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
        text = self.data[start:self.pos]
        # the node tree keeps the source text: Go's type errors quote it ("number 420.0")
        return _NumberText(text.decode("ascii")) if self.nodes else _number(text)

    def literal(self, word: str) -> None:
        self.pos += 1
        for expected in word[1:]:
            if self.peek() != ord(expected):
                self.fail(f"in literal {word} (expecting {_quote_char(ord(expected))})")
            self.pos += 1


@dataclass(frozen=True)
class _NumberText:
    text: str


_OPEN = object()    # a container was opened; its members follow
_CLOSED = object()  # the innermost container was closed


def parse_config(text: str | bytes) -> tuple[dict | None, str | None]:
    """Parse a child Ignition config; return (config, None) or (None, Go-style error)."""
    try:
        value = _Parser(to_bytes(text)).document()
    except JSONSyntaxError as error:
        return None, str(error)
    if value is None:
        return {}, None  # Go leaves the struct untouched for null
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(value), "number")
        return None, f"json: cannot unmarshal {kind} into Go value of type types.Config"
    return value, None


def parse_document(data: bytes):
    """The node tree of a whole JSON document; raises JSONSyntaxError with Go's text and offset."""
    return _Parser(data, nodes=True).document()


def is_valid_json(text: str) -> bool:
    """Whether Go's json.Unmarshal accepts `text` (Ignition checks tang advertisements this way)."""
    try:
        _Parser(to_bytes(text), nodes=True).document()
    except JSONSyntaxError:
        return False
    return True
