"""Typed decoding of the YAML node tree into plain values, with Go yaml.v3's rules.

- A scalar decoded into a string keeps its source text (`mode: 0644` into a string
  is "0644").
- Integers: decimal, `0o`/`0x`/`0b` prefixes, and a leading 0 for octal; `_` is
  ignored. A quoted scalar is a string and cannot become an int.
- Booleans (resolve.go, decode.go scalar()): plain true/True/TRUE/false/False/FALSE;
  and any !!str (plain, quoted or tagged) that is one of YAML 1.1's words
  y Y yes Yes YES on On ON / n N no No NO off Off OFF. `tRUE` is a !!str error.
- `~`, `null` or an empty value means absent; a null list item is dropped.
- A map of strings (openshift metadata.labels, a Go map[string]string) reads
  every key and value as its text; a null value is "".

Keys the version's schema does not know are collected as `unused key` warnings;
values of the wrong type as unmarshal errors (reported all together, as yaml.v3 does).
"""

from __future__ import annotations

import base64
import re

import yaml

from .source import MERGE, PLAIN
from .schema import BOOL, INT, STR, ListOf, MapOf, Struct, go_type_name, zero_value

_TAG = "tag:yaml.org,2002:"
_NULL = {"", "~", "null", "Null", "NULL"}
# yaml.v3 v3.0.1: resolve.go's !!bool words (YAML 1.2 core) and, for a !!str
# decoded into a Go bool, decode.go scalar()'s YAML 1.1 words.
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False,
         "FALSE": False}
_BOOL_11 = {**dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
            **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False)}
_OCTAL = re.compile(r"[-+]?0[0-7]+")
_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)")
# Needed only for error messages and float-valued ints: compiled on first use (re's
# cache), not at import (start-up).
_FLOAT = r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?"


def is_null(node) -> bool:
    if not isinstance(node, yaml.ScalarNode):
        return False
    if node.tag == PLAIN:
        return node.value in _NULL
    return node.tag == _TAG + "null"


def short_tag(node) -> str:
    """The tag yaml.v3 names in its messages (`!!str`, `!!int`, `!!map`, ...)."""
    if isinstance(node, yaml.MappingNode):
        return "!!map"
    if isinstance(node, yaml.SequenceNode):
        return "!!seq"
    if node.tag != PLAIN:
        return "!!" + node.tag[len(_TAG):] if node.tag.startswith(_TAG) else node.tag
    v = node.value
    if v in _NULL:
        return "!!null"
    if v in _BOOL:
        return "!!bool"
    if _parse_int(v) is not None:
        return "!!int"
    if re.fullmatch(_FLOAT, v) or v.lower() in (".inf", "-.inf", "+.inf", ".nan"):
        return "!!float"
    return "!!str"


def _parse_int(text: str) -> int | None:
    t = text.replace("_", "")
    if _OCTAL.fullmatch(t):
        return int(t, 8)
    if _INT.fullmatch(text):
        try:
            return int(t, 0)
        except ValueError:
            return None
    return None


class Decoder:
    def __init__(self, version: tuple[int, int], variant: str = "fcos"):
        self.version = version
        self.variant = variant
        self.errors: list[str] = []  # yaml.v3 unmarshal error lines
        self.unused: list[tuple] = []  # paths of unknown keys
        # paths where a struct is expected and the YAML holds no mapping (a null
        # value, or a list whose items shifted when yaml.v3 dropped a null one)
        self.mismatched: list[tuple] = []

    def _fail(self, node, into) -> None:
        value = f" `{node.value}`" if isinstance(node, yaml.ScalarNode) else ""
        self.errors.append(f"line {node.start_mark.line + 1}: cannot unmarshal "
                           f"{short_tag(node)}{value} into {go_type_name(into)}")

    def decode(self, node, t, path: tuple = ()):
        """The value of `node` as type `t`, or None when absent or wrong."""
        if node is None or is_null(node):
            if node is not None and isinstance(t, Struct) and path:
                # yaml.v3 leaves the struct zero; Butane's unused-key walk then
                # finds no mapping there and warns (ValidateUnusedKeys).
                self.mismatched.append(path)
            return None
        if isinstance(t, (Struct, MapOf)) and isinstance(node, yaml.MappingNode) \
                and self._duplicates(node):
            return None
        if isinstance(t, Struct):
            return self._struct(node, t, path)
        if isinstance(t, ListOf):
            if not isinstance(node, yaml.SequenceNode):
                self._fail(node, t)
                return None
            out = []
            for i, item in enumerate(node.value):
                if is_null(item):
                    continue  # yaml.v3 drops a null item of a list of structs, strings, numbers
                v = self.decode(item, t.item, path + (i,))
                out.append(zero_value(t.item) if v is None else v)
            if isinstance(t.item, Struct):
                # The walk pairs the decoded item j with the YAML item j.
                self.mismatched += [path + (j,) for j in range(len(out))
                                    if not isinstance(node.value[j], yaml.MappingNode)]
            return out
        if isinstance(t, MapOf):
            return self._map(node, t)
        if not isinstance(node, yaml.ScalarNode):
            self._fail(node, t)
            return None
        return self._scalar(node, t)

    def _duplicates(self, node) -> bool:
        """yaml.v3 (decode.go, uniqueKeys) checks the keys of each mapping it decodes
        into a struct or map, and only those: every later key equal to an earlier
        one (same kind and text, `<<` aside) is an unmarshal error `line J: mapping
        key "K" already defined at line I`, for each such pair, and the mapping is
        not decoded. True if there was one."""
        first: dict[str, list] = {}
        for knode, _ in node.value:
            if isinstance(knode, yaml.ScalarNode) and knode.tag != MERGE:
                first.setdefault(knode.value, []).append(knode)
        found = False
        for knode, _ in node.value:  # the pairs in yaml.v3's order: by earlier key, then later
            group = first.get(knode.value) if isinstance(knode, yaml.ScalarNode) else None
            if not group or len(group) < 2:
                continue
            earlier_line = knode.start_mark.line + 1
            quoted = knode.value.replace("\\", "\\\\").replace('"', '\\"')
            for later in group[[id(k) for k in group].index(id(knode)) + 1:]:
                self.errors.append(f"line {later.start_mark.line + 1}: mapping key "
                                   f'"{quoted}" already defined at line {earlier_line}')
                found = True
        return found

    def _map(self, node, t: MapOf):
        """A Go map[string]string: every key and value read as a string, a null
        value as "" (yaml.v3 decodes into the map's zero value)."""
        if not isinstance(node, yaml.MappingNode):
            self._fail(node, t)
            return None
        out = {}
        for knode, vnode in node.value:
            if is_null(knode):
                key = ""
            elif isinstance(knode, yaml.ScalarNode):
                key = self._scalar(knode, STR)
            else:
                key = self._fail(knode, STR)
            if is_null(vnode):
                value = zero_value(t.item)
            elif isinstance(vnode, yaml.ScalarNode):
                value = self._scalar(vnode, t.item)
            else:
                value = self._fail(vnode, t.item)
            if key is not None and value is not None:
                out[key] = value
        return out

    def _scalar(self, node, t):
        tag, text = node.tag, node.value
        if t == STR and tag == _TAG + "binary":
            # yaml.v3 decodes !!binary into a string: the bytes themselves
            # (bytes that are not UTF-8 are kept as they are, surrogate-escaped).
            try:
                return base64.b64decode("".join(text.split()), validate=True).decode("utf-8", "surrogateescape")
            except ValueError:
                self.errors.append(f"line {node.start_mark.line + 1}: cannot decode !!binary value: "
                                   "illegal base64 data")
                return None
        if t == STR:
            return text
        if tag == PLAIN or tag in (_TAG + "int", _TAG + "bool", _TAG + "float"):
            if t == INT:
                n = _parse_int(text)
                if n is None and re.fullmatch(_FLOAT, text) and tag != _TAG + "bool":
                    f = float(text.replace("_", ""))
                    n = int(f) if abs(f) < 2 ** 63 else None
                if n is not None and -2 ** 63 <= n < 2 ** 63:
                    return n
            elif t == BOOL:
                if text in _BOOL and tag != _TAG + "int" and tag != _TAG + "float":
                    return _BOOL[text]
                if tag == PLAIN and text in _BOOL_11:
                    return _BOOL_11[text]  # resolves to !!str: YAML 1.1's words
        elif t == BOOL and tag == _TAG + "str" and text in _BOOL_11:
            return _BOOL_11[text]  # quoted or !!str: yaml.v3 takes YAML 1.1's words
        self._fail(node, t)
        return None

    def _struct(self, node, t: Struct, path: tuple):
        if not isinstance(node, yaml.MappingNode):
            self._fail(node, t)
            return None
        # Unknown keys of this mapping come first, then those below it in
        # struct-field order (not document order), as the official tool reports them.
        out = {}
        own, below = [], {}
        outer = self.unused
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                # yaml.v3 mappingStruct decodes every key into a string: a complex key
                # (`? [a, b]`) is an unmarshal error, and no field.
                self._fail(knode, STR)
                continue
            key = knode.value
            f = t.accepts(key, self.version, self.variant)
            if f is None:
                own.append(path + (key if key is not None else "?",))
                continue
            self.unused = below.setdefault(key, [])
            v = self.decode(vnode, f.type, path + (key,))
            if v is not None:
                out[key] = v
        self.unused = outer
        outer.extend(own)
        for f in t.fields:
            outer.extend(below.pop(f.name, []))
        return out
