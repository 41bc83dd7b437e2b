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

- Merge keys (`<<`) merge where yaml.v3 decodes a mapping into a struct or map
  (decode.go merge): own keys win, then the sources in order; a source that is
  not a mapping fails the whole decode. vcontext's context tree keeps the raw
  keys, so `<<` itself is an unused key.
- An alias decodes as its anchored node (errors at the anchor's lines) but is a
  leaf of the context tree: nothing below it is checked for unused keys, and a
  struct at an alias gets the "context tree does not match" warning.
- An explicit !!bool, !!int, !!float, !!null or !!timestamp tag the value does
  not resolve to fails the whole decode, as a !!binary that is not base64 does.

Keys the version's schema does not know are collected as `unused key` warnings;
values of the wrong type as unmarshal errors (reported all together, as yaml.v3
does); a Fatal error (yaml.v3 failf) ends decoding.
"""

from __future__ import annotations

import base64

import yaml

from . import resolve as _resolve
from .source import MERGE, PLAIN, is_alias
from .schema import BOOL, INT, STR, GO_ITEM_NAMES, ListOf, MapOf, Struct, go_type_name, zero_value

_TAG = "tag:yaml.org,2002:"
_NULL = {"", "~", "null", "Null", "NULL"}
# yaml.v3 v3.0.1: resolve.go's !!bool words (YAML 1.2 core) and, for a !!str
# decoded into a Go bool, decode.go scalar()'s YAML 1.1 words.
# decode.go scalar(): a !!str decoded into a Go bool may be one of YAML 1.1's words.
_BOOL_11 = {**dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
            **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False)}


TREE, LEAF, NONE = "tree", "leaf", "none"  # what vcontext's context tree holds at a path
WANT_MAP = "map merge requires map or sequence of maps as the value"


class Fatal(Exception):
    """yaml.v3 failf while decoding: the message, e.g. "yaml: ..."."""


def is_null(node) -> bool:
    if not isinstance(node, yaml.ScalarNode):
        return False
    if node.tag == PLAIN:
        return node.value in _NULL
    if node.tag == _TAG + "null" and node.value not in _NULL:
        raise Fatal(f"yaml: cannot decode !!str `{node.value}` as a !!null")
    return node.tag == _TAG + "null"


def _is_merge(key) -> bool:
    """decode.go isMerge: a plain (or !!merge-tagged) `<<`."""
    return isinstance(key, yaml.ScalarNode) and key.tag == MERGE and key.value == "<<"


def short_tag(node) -> str:
    """The tag yaml.v3 names in its messages (`!!str`, `!!int`, `!!map`, ...)."""
    if isinstance(node, yaml.MappingNode):
        return "!!map"
    if isinstance(node, yaml.SequenceNode):
        return "!!seq"
    if node.tag != PLAIN:
        return "!!" + node.tag[len(_TAG):] if node.tag.startswith(_TAG) else node.tag
    return _resolve.resolve(node.value, timestamps=True)[0]


def _shown(value: str) -> str:
    """yaml.v3 terror: a value over 10 bytes is cut to its first 7 and "..."."""
    raw = value.encode("utf-8", "surrogateescape")
    if len(raw) > 10:
        return raw[:7].decode("utf-8", "surrogateescape") + "..."
    return value


class Decoder:
    def __init__(self, version: tuple[int, int], variant: str = "fcos",
                 packages: dict[str, str] | None = None):
        self.version = version
        self.variant = variant
        self.packages = packages  # Go package names for messages (schema.go_packages)
        self.errors: list[str] = []  # yaml.v3 unmarshal error lines
        # Butane's unused-key walk (ValidateUnusedKeys), in its order (the decoded
        # structs, each before its fields): ("unused", path of an unknown key) and
        # ("mismatch", path) where a struct is decoded and the context tree holds
        # no mapping (a null value, an alias, or a list whose items shifted when
        # yaml.v3 dropped a null one)
        self.checks: list[tuple[str, tuple]] = []
        self._aliases: set[int] = set()  # the aliases being decoded (decode.go d.aliases)
        self._count = self._alias_count = self._alias_depth = 0

    def _fail(self, node, into, named: str | None = None) -> None:
        value = f" `{_shown(node.value)}`" if isinstance(node, yaml.ScalarNode) else ""
        self.errors.append(f"line {node.start_mark.line + 1}: cannot unmarshal "
                           f"{short_tag(node)}{value} into {go_type_name(into, self.packages, named)}")

    def _counted(self) -> None:
        """decode.go unmarshal's guard against alias expansion."""
        self._count += 1
        if self._alias_depth:
            self._alias_count += 1
        if self._alias_count > 100:
            self._check_aliasing()

    def _check_aliasing(self) -> None:
        n, a = self._count, self._alias_count
        if n > 1000:
            allowed = 0.99 if n <= 400000 else 0.10 if n >= 4000000 else \
                0.99 - 0.89 * (n - 400000) / 3600000
            if a / n > allowed:
                raise Fatal("yaml: document contains excessive aliasing")

    def decode(self, node, t, path: tuple = (), ctx: str = TREE, named: str | None = None,
               item: bool = False):
        """The value of `node` as type `t`, or None when absent or wrong. `ctx` is
        what the context tree holds at `path` (TREE: this very node); `named` the
        Go name of a list's string items; `item`: a list item (the list pairs
        items with the tree)."""
        if node is not None:
            self._count += 1  # _counted(), inline: once per node
            if self._alias_depth:
                self._alias_count += 1
            if self._alias_count > 100:
                self._check_aliasing()
        if node is not None and is_alias(node):
            if id(node) in self._aliases:
                raise Fatal(f"yaml: anchor '{node.anchor}' value contains itself")
            if ctx == TREE and not item and isinstance(t, Struct) and path:
                self.checks.append(("mismatch", path))  # a leaf of the context tree
            self._aliases.add(id(node))
            self._alias_depth += 1
            try:
                return self.decode(node.alias, t, path, LEAF if ctx == TREE else NONE, named, item)
            finally:
                self._alias_depth -= 1
                self._aliases.discard(id(node))
        if node is None or is_null(node):
            if node is not None and isinstance(t, Struct) and path and ctx == TREE:
                # yaml.v3 leaves the struct zero; Butane's unused-key walk then
                # finds no mapping there and warns (ValidateUnusedKeys).
                self.checks.append(("mismatch", path))
            return None
        if isinstance(t, (Struct, MapOf)) and isinstance(node, yaml.MappingNode) \
                and self._duplicates(node):
            return None
        if isinstance(t, Struct):
            return self._struct(node, t, path, ctx)
        if isinstance(t, ListOf):
            if not isinstance(node, yaml.SequenceNode):
                self._fail(node, t, named)
                return None
            out = []
            inner = TREE if ctx == TREE else NONE
            for i, child in enumerate(node.value):
                if is_null(child) or is_alias(child) and is_null(child.alias):
                    continue  # yaml.v3 drops a null item of a list of structs, strings, numbers
                j = len(out)  # the walk pairs the decoded item j with the YAML item j
                if isinstance(t.item, Struct) and ctx == TREE and (
                        not isinstance(node.value[j], yaml.MappingNode) or is_alias(node.value[j])):
                    self.checks.append(("mismatch", path + (j,)))
                v = self.decode(child, t.item, path + (i,), inner, named, item=True)
                out.append(zero_value(t.item) if v is None else v)
            return out
        if isinstance(t, MapOf):
            return self._map(node, t)
        if not isinstance(node, yaml.ScalarNode):
            self._fail(node, t, named)
            return None
        return self._scalar(node, t, named)

    def _duplicates(self, node) -> bool:
        """yaml.v3 (decode.go, uniqueKeys) checks the keys of each mapping it decodes
        into a struct or map, and only those: every later key equal to an earlier
        one (same kind and text: two `<<` too, and any two collections, whose
        text is "") is an unmarshal error `line J: mapping key "K" already
        defined at line I`, for each such pair, and the mapping is not decoded.
        True if there was one."""
        def same(k):  # an alias node's text is its anchor's name
            if is_alias(k):
                return "alias", k.anchor
            return type(k), k.value if isinstance(k, yaml.ScalarNode) else ""

        first: dict[tuple, list] = {}
        for knode, _ in node.value:
            first.setdefault(same(knode), []).append(knode)
        found = False
        for knode, _ in node.value:  # the pairs in yaml.v3's order: by earlier key, then later
            group = first[same(knode)]
            if len(group) < 2:
                continue
            earlier_line = knode.start_mark.line + 1
            quoted = same(knode)[1].replace("\\", "\\\\").replace('"', '\\"')
            for later in group[[id(k) for k in group].index(id(knode)) + 1:]:
                self.errors.append(f"line {later.start_mark.line + 1}: mapping key "
                                   f'"{quoted}" already defined at line {earlier_line}')
                found = True
        return found

    def _sources(self, merge) -> list:
        """The mappings a `<<` value merges (decode.go merge), or Fatal."""
        if is_alias(merge):
            if not isinstance(merge.alias, yaml.MappingNode):
                raise Fatal("yaml: " + WANT_MAP)
            return [merge]
        if isinstance(merge, yaml.MappingNode):
            return [merge]
        if isinstance(merge, yaml.SequenceNode):
            for source in merge.value:
                if not isinstance(source, yaml.MappingNode):
                    raise Fatal("yaml: " + WANT_MAP)
            return list(merge.value)
        raise Fatal("yaml: " + WANT_MAP)

    def _merge(self, node, merge, decode_into, merged: set | None) -> None:
        """Decode the sources of `merge` (the last `<<` of `node`) with
        `decode_into(source, merged)`, skipping the keys already set."""
        if merged is None:
            merged = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
        for source in self._sources(merge):
            self._counted()
            target = source
            if is_alias(source):
                if id(source) in self._aliases:
                    raise Fatal(f"yaml: anchor '{source.anchor}' value contains itself")
                self._aliases.add(id(source))
                self._alias_depth += 1
                target = source.alias
            try:
                if not self._duplicates(target):
                    decode_into(target, merged)
            finally:
                if target is not source:
                    self._alias_depth -= 1
                    self._aliases.discard(id(source))

    def _map(self, node, t: MapOf, out: dict | None = None, merged: set | None = None):
        """A Go map[string]string: every key and value read as a string, a null
        value as "" (yaml.v3 decodes into the map's zero value)."""
        if not isinstance(node, yaml.MappingNode):
            self._fail(node, t)
            return None
        out = {} if out is None else out
        merge = None
        for knode, vnode in node.value:
            if _is_merge(knode):
                merge = vnode
                continue
            if is_null(knode):
                key = ""
            elif isinstance(knode, yaml.ScalarNode):
                key = self._scalar(knode, STR)
            else:
                key = self._fail(knode, STR)
            if merged is not None and key is not None:
                if key in merged:
                    continue
                merged.add(key)
            if is_alias(vnode):
                vnode = vnode.alias
            if is_null(vnode):
                value = zero_value(t.item)
            elif isinstance(vnode, yaml.ScalarNode):
                value = self._scalar(vnode, t.item)
            else:
                value = self._fail(vnode, t.item)
            if key is not None and value is not None:
                out[key] = value
        if merge is not None:
            self._merge(node, merge, lambda source, keys: self._map(source, t, out, keys), merged)
        return out

    def _scalar(self, node, t, named: str | None = None):
        tag, text = node.tag, node.value
        if tag == _TAG + "binary":
            # yaml.v3 decodes !!binary first, whatever the target: into a string the
            # bytes themselves (bytes that are not UTF-8 kept, surrogate-escaped).
            # Go's base64 skips line breaks only.
            try:
                value = base64.b64decode(text.replace("\n", "").replace("\r", ""),
                                         validate=True).decode("utf-8", "surrogateescape")
            except ValueError:
                raise Fatal("yaml: !!binary value contains invalid base64 data") from None
            if t == STR:
                return value
        elif t == STR and tag in (PLAIN, _TAG + "str"):
            return text
        elif tag == PLAIN:
            value = _resolve.resolve(text)[1]
        elif tag == _TAG + "str":
            value = text
        else:
            short = "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag
            if short in _resolve.RESOLVABLE:
                try:
                    value = _resolve.resolve(text, short)[1]
                except _resolve.Unresolved as exc:
                    raise Fatal(f"yaml: {exc}") from None
            else:
                value = text  # a tag yaml.v3 does not resolve: the text
        if t == STR:
            return text
        if t == INT:
            if isinstance(value, int) and not isinstance(value, bool) and -2 ** 63 <= value < 2 ** 63:
                return value
            if isinstance(value, float) and value <= 2.0 ** 63:  # false for NaN
                # yaml.v3 (decode.go) checks only `resolved <= math.MaxInt64`, then Go's int64(f)
                # drops the fraction; out of range (2^63, -1e19, -.inf), amd64 gives MinInt64
                return int(value) if -2.0 ** 63 <= value < 2.0 ** 63 else -2 ** 63
        elif t == BOOL:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value in _BOOL_11:
                return _BOOL_11[value]  # a !!str: yaml.v3 takes YAML 1.1's words
        self._fail(node, t, named)
        return None

    def _struct(self, node, t: Struct, path: tuple, ctx: str = TREE, out: dict | None = None,
                merged: set | None = None):
        if not isinstance(node, yaml.MappingNode):
            self._fail(node, t)
            return None
        # Unknown keys of this mapping come first, then those below it in
        # struct-field order (not document order), as the official tool reports them.
        out = {} if out is None else out
        own, below = [], {}
        if ctx == TREE:
            # vcontext's tree: one entry per key text (an alias key's is its
            # anchor's name), `<<` included, checked against the struct's fields
            seen = set()
            for knode, _ in node.value:
                key = knode.anchor if is_alias(knode) else \
                    knode.value if isinstance(knode, yaml.ScalarNode) else ""
                if key not in seen:
                    seen.add(key)
                    if t.accepts(key, self.version, self.variant) is None:
                        own.append(("unused", path + (key,)))
        outer = self.checks
        inner = TREE if ctx == TREE else NONE
        merge = None
        for knode, vnode in node.value:
            if _is_merge(knode):
                merge = vnode
                continue
            if not isinstance(knode, yaml.ScalarNode):
                # yaml.v3 mappingStruct decodes every key into a string: a complex key
                # (`? [a, b]`) is an unmarshal error, and no field.
                self._fail(knode, STR)
                continue
            self._counted()
            key = knode.value
            if merged is not None:
                if key in merged:
                    continue
                merged.add(key)
            f = t.accepts(key, self.version, self.variant)
            if f is None:
                continue
            self.checks = below.setdefault(key, [])
            v = self.decode(vnode, f.type, path + (key,), inner, GO_ITEM_NAMES.get((t.name, key)))
            if v is not None:
                out[key] = v
        self.checks = outer
        outer.extend(own)
        for f in t.fields:
            outer.extend(below.pop(f.name, []))
        if merge is not None:
            self._merge(node, merge,
                        lambda source, keys: self._struct(source, t, path, NONE, out, keys), merged)
        return out
