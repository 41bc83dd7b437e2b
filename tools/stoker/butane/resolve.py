"""What a scalar resolves to in yaml.v3 v3.0.1 (resolve.go `resolve`): a tag and
a value (None, bool, int, float or str).

    resolve("0644")               # ("!!int", 420)
    resolve("yes")                # ("!!str", "yes")
    resolve("1.5", "!!int")       # raises Unresolved: "cannot decode !!float `1.5` as a !!int"

A plain scalar is resolved by its first character's hint: + - and digits may be
an int, a float or a timestamp; y Y n N t T f F o O ~ only one of the map's
words; . a float. An explicit !!bool, !!int, !!float, !!null or !!timestamp tag
must resolve to itself (an int may be a !!float), else yaml.v3 fails.
Timestamps are told apart only for messages (`timestamps=True`): no date reads
as a number.
"""

from __future__ import annotations

import re

NULL, BOOL, INT, FLOAT, STR, TIMESTAMP = "!!null", "!!bool", "!!int", "!!float", "!!str", "!!timestamp"
RESOLVABLE = (NULL, BOOL, INT, FLOAT, TIMESTAMP)  # and !!str, and no tag
_MAP = {"": (NULL, None), "~": (NULL, None), "null": (NULL, None), "Null": (NULL, None),
        "NULL": (NULL, None), "true": (BOOL, True), "True": (BOOL, True), "TRUE": (BOOL, True),
        "false": (BOOL, False), "False": (BOOL, False), "FALSE": (BOOL, False),
        **{s: (FLOAT, float("nan")) for s in (".nan", ".NaN", ".NAN")},
        **{s: (FLOAT, float("inf")) for s in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
        **{s: (FLOAT, float("-inf")) for s in ("-.inf", "-.Inf", "-.INF")}}
_YAML_FLOAT = r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


class Unresolved(Exception):
    """An explicit tag the value does not resolve to (yaml.v3 failf)."""


def _hint(text: str) -> str:
    c = text[:1]
    if c in ("+", "-"):
        return "S"
    if "0" <= c <= "9" and c:
        return "D"
    if c and c in "yYnNtTfFoO~":
        return "M"
    return "." if c == "." else ""


def _go_int(s: str, base: int = 0) -> int | None:
    """strconv.ParseInt(s, base, 64), else ParseUint(s, base, 64): the value or None."""
    sign = s[:1] in ("+", "-")
    negative = s[:1] == "-"
    body = s[1:] if sign else s
    if base == 0:
        base = 10
        if body[:1] == "0":
            prefix = body[1:2].lower()
            if prefix in ("b", "o", "x"):
                base, body = {"b": 2, "o": 8, "x": 16}[prefix], body[2:]
            else:
                base = 8
    if not body or any(c not in _DIGITS[base] for c in body):
        return None
    n = int(body, base)
    if negative:
        return -n if n <= 2 ** 63 else None
    return n if n < (2 ** 63 if sign else 2 ** 64) else None


def resolve(text: str, tag: str = "", timestamps: bool = False) -> tuple[str, object]:
    """(tag, value) of a scalar with no tag ("") or with one of RESOLVABLE."""
    hint = _hint(text) if text else "N"
    if hint:
        if text in _MAP:
            rtag, value = _MAP[text]
            return _check(tag, rtag, value, text)
        if hint == ".":
            from .yamlv3 import _go_parse_float_dot  # rare: not at start-up

            if _go_parse_float_dot(text):
                return _check(tag, FLOAT, float(text.replace("_", "")), text)
        elif hint in ("D", "S"):
            if tag == TIMESTAMP or timestamps and tag == "":
                from .yamlv3 import _go_timestamp  # messages only: not at start-up

                if _go_timestamp(text):
                    return _check(tag, TIMESTAMP, text, text)
            plain = text.replace("_", "")
            n = _go_int(plain)
            if n is not None:
                return _check(tag, INT, n, text)
            if re.fullmatch(_YAML_FLOAT, plain):
                f = float(plain)
                if abs(f) != float("inf"):
                    return _check(tag, FLOAT, f, text)
            for prefix, base in (("0b", 2), ("0o", 8)):
                if plain.startswith(prefix) or plain.startswith("-" + prefix):
                    sign = "-" if plain[0] == "-" else ""
                    n = _go_int(sign + plain[len(prefix) + len(sign):], base)
                    if n is not None:
                        return _check(tag, INT, n, text)
    return _check(tag, STR, text, text)


def _check(tag: str, rtag: str, value, text: str) -> tuple[str, object]:
    if tag in ("", rtag):
        return rtag, value
    if tag == FLOAT and rtag == INT:
        return FLOAT, float(value)
    raise Unresolved(f"cannot decode {rtag} `{text}` as a {tag}")
