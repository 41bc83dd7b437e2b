"""Ignition JSON exactly as the official tool writes it (SPEC §2).

Keys follow the Go struct order of the Ignition types, empty lists and empty
structs are omitted, set pointers are kept even when false/0/"", and strings are
escaped the way Go's encoding/json escapes them.
"""

from __future__ import annotations

import re

from .schema import OUTPUT, ListOf, Struct, zero_value

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
            "\u2028": "\\u2028", "\u2029": "\\u2029"}
_NEEDS_ESCAPE = re.compile('["\\\\<>&\u2028\u2029\x00-\x1f]')


def _escape_char(m: re.Match) -> str:
    c = m.group(0)
    return _ESCAPES.get(c) or f"\\u{ord(c):04x}"


_SURROGATE = "[\ud800-\udfff]"  # rare (non-ASCII file names): compiled on first use


def go_string(s: str) -> str:
    # Strings from local files and file names may carry undecodable bytes as lone
    # surrogates (surrogateescape); Go's encoding/json writes each invalid byte as the
    # escape \ufffd (a valid U+FFFD stays as it is).
    if _NEEDS_ESCAPE.search(s):
        s = _NEEDS_ESCAPE.sub(_escape_char, s)
    if not s.isascii() and re.search(_SURROGATE, s):
        s = re.sub(_SURROGATE, "\\\\ufffd", s)
    return '"' + s + '"'


# Pointer fields without omitempty: Go writes null when they are unset, in every
# struct that is itself written (Ignition 3.0.0 ConfigReference.Source is a *string).
_NULL_WHEN_UNSET = {"ConfigReference": ("source",)}


def prune(value, t=OUTPUT, *, level: tuple[int, int] | None = None, kept: bool = False):
    """Drop what Go's omitempty drops, and order keys as the Go structs do, for the
    Ignition types of a schema level (schema.py; None: the newest). `kept`: the
    struct is written even when empty (a list item)."""
    if isinstance(t, Struct):
        out = {}
        nulls = _NULL_WHEN_UNSET.get(t.name, ())
        for f in t.fields_at(level):
            if f.sugar:
                continue
            if f.ign in nulls and value.get(f.ign) is None:
                out[f.ign] = None
                continue
            if f.ign not in value:
                # A non-pointer Go field without omitempty is written even when the
                # YAML left it out or null: its zero value (`users: [{name: ~}]` ->
                # {"name":""}), as encoding/json marshals it.
                if f.always and not isinstance(f.type, (Struct, ListOf)):
                    out[f.ign] = zero_value(f.type)
                continue
            v = value[f.ign]
            if isinstance(f.type, (Struct, ListOf)):
                v = prune(v, f.type, level=level)
                if not v and not f.always_at(level):
                    continue
            elif f.omit_zero and v in (0, ""):
                continue
            out[f.ign] = v
        if nulls and not kept and all(out.get(k, 0) is None for k in out):
            return {}  # nothing but the unset pointers: the struct itself is left out
        return out
    if isinstance(t, ListOf):
        return [prune(v, t.item, level=level, kept=True) for v in value]
    return value


def dumps(config: dict, *, pretty: bool = False, level: tuple[int, int] | None = None) -> str:
    """The config as JSON text (without the trailing newline)."""
    parts: list[str] = []
    _write(prune(config, level=level), parts, pretty, 0)
    return "".join(parts)


def _write(v, parts: list[str], pretty: bool, depth: int) -> None:
    if isinstance(v, dict):
        if not v:
            parts.append("{}")
            return
        parts.append("{")
        for i, (k, item) in enumerate(v.items()):
            if i:
                parts.append(",")
            if pretty:
                parts.append("\n" + "  " * (depth + 1))
            parts.append(go_string(k))
            parts.append(": " if pretty else ":")
            _write(item, parts, pretty, depth + 1)
        if pretty:
            parts.append("\n" + "  " * depth)
        parts.append("}")
    elif isinstance(v, list):
        if not v:
            parts.append("[]")
            return
        parts.append("[")
        for i, item in enumerate(v):
            if i:
                parts.append(",")
            if pretty:
                parts.append("\n" + "  " * (depth + 1))
            _write(item, parts, pretty, depth + 1)
        if pretty:
            parts.append("\n" + "  " * depth)
        parts.append("]")
    elif isinstance(v, bool):
        parts.append("true" if v else "false")
    elif isinstance(v, int):
        parts.append(str(v))
    elif isinstance(v, str):
        parts.append(go_string(v))
    elif v is None:
        parts.append("null")
    else:
        raise TypeError(f"unexpected value in config: {type(v).__name__}")
