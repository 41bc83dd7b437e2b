"""Reading the Butane YAML: the node tree with positions, and position look-ups.

PyYAML's composer gives nodes with marks; we resolve scalars ourselves (see
decode.py) so that the YAML rules are those of Go's yaml.v3 as Butane uses it,
not PyYAML's YAML 1.1 resolver.
"""

from __future__ import annotations

import re
import sys

import yaml

from ..errors import StokerError


class YamlError(StokerError):
    """The input is not YAML the official tool would accept."""


_MAX_FRAMES = 12000 + 4 * 10000  # the composer recurses about 4 frames per level
PLAIN = "!plain"  # a plain scalar whose type decode.py resolves
MERGE = "tag:yaml.org,2002:merge"


class _Resolver:
    """Leaves plain scalars unresolved so decode.py applies yaml.v3's rules."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return MERGE if value == "<<" else PLAIN
        return super().resolve(kind, value, implicit)


MAX_DEPTH = 10000  # yaml.v3 scannerc.go max_flow_level


class _Aliases:
    """Composing as yaml.v3's parser does (a mixin before a Composer)."""

    def compose_node(self, parent, index):
        """As yaml.v3's parser: an alias is a node of its own at its position
        (vcontext's context tree holds it as a leaf), an unknown one fails
        without a line (decode.go parser.alias), and a later anchor of the same
        name replaces the earlier one."""
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            if event.anchor not in self.anchors:
                raise YamlError(f"yaml: unknown anchor '{event.anchor}' referenced")
            return _alias(self.anchors[event.anchor], event)
        event = self.peek_event()
        if event.anchor is not None:
            self.anchors.pop(event.anchor, None)
        return super().compose_node(parent, index)


class _Loader(_Aliases, _Resolver, yaml.SafeLoader):
    """PyYAML's pure-Python loader, linear in flow nesting depth and limited as
    yaml.v3 limits it.

    PyYAML keeps one possible simple key per flow level in a dict and scans the
    whole dict for every token (quadratic: 2000 nested `[` took 7 s). The dict is
    in insertion order, and keys are inserted at the current, ever-advancing
    position, so it is ordered by position: the first key has the lowest token
    number, and the stale keys (an earlier line, or more than 1024 characters
    back) are a prefix of it. The two look-ups below use that order; their
    results and errors are PyYAML's."""

    def next_possible_simple_key(self):
        for key in self.possible_simple_keys.values():
            return key.token_number
        return None

    def stale_possible_simple_keys(self):
        keys = self.possible_simple_keys
        while keys:
            level, key = next(iter(keys.items()))
            if key.line == self.line and self.index - key.index <= 1024:
                return
            if key.required:
                raise yaml.scanner.ScannerError("while scanning a simple key", key.mark,
                                                "could not find expected ':'", self.get_mark())
            del keys[level]

    # Double-quoted escapes as yaml.v3 reads them (scannerc.go
    # yaml_parser_scan_flow_scalar), where PyYAML differs: \' is a quote and \/ (a
    # YAML 1.2 escape) unknown; a \u or \U code naming a UTF-16 surrogate or
    # beyond U+10FFFF is "found invalid Unicode character escape code" (PyYAML keeps
    # a lone surrogate, and its chr() fails beyond U+10FFFF), met where the scanner
    # meets it, so before anything later in the document.
    ESCAPE_REPLACEMENTS = {**{k: v for k, v in yaml.SafeLoader.ESCAPE_REPLACEMENTS.items()
                              if k != "/"}, "'": "'"}

    def scan_flow_scalar(self, style):
        if style == '"':
            self._check_escape_codes()
        return super().scan_flow_scalar(style)

    def _check_escape_codes(self) -> None:
        """Walk the double-quoted scalar starting here as far as PyYAML would read
        it without error; fail at the first escape code yaml.v3 refuses, with the
        scalar's start as context mark and the code's first digit as problem mark."""
        text, start = self.buffer, self.get_mark()
        i, end = self.pointer + 1, len(self.buffer) - 1  # the buffer ends in "\0"
        while i < end:
            ch = text[i]
            if ch == '"':
                return
            if ch in _BREAKS:
                i += 2 if text.startswith("\r\n", i) else 1
                if text[i:i + 3] in ("---", "...") and text[i + 3] in _ENDS + " \t":
                    return  # a document indicator: PyYAML's error
                continue
            if ch != "\\":
                i += 1
                continue
            code = text[i + 1]
            if code in _BREAKS:
                i += 1
            elif code in _CODE_LENGTHS:
                digits = text[i + 2:i + 2 + _CODE_LENGTHS[code]]
                if len(digits) < _CODE_LENGTHS[code] or not all(c in _HEX for c in digits):
                    return  # PyYAML's "expected escape sequence" error
                value = int(digits, 16)
                if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
                    raise yaml.scanner.ScannerError(
                        "while scanning a double-quoted scalar", start,
                        "found invalid Unicode character escape code", self._mark_at(start, i + 2))
                i += 2 + len(digits)
            elif code in self.ESCAPE_REPLACEMENTS:
                i += 2
            else:
                return  # PyYAML's "found unknown escape character" error

    def _mark_at(self, start, pointer: int):
        """The mark of a later position in the buffer (as PyYAML counts lines)."""
        seen = self.buffer[self.pointer:pointer]
        breaks = list(re.finditer("\r\n|[\r\n\x85\u2028\u2029]", seen))
        column = len(seen) - breaks[-1].end() if breaks else start.column + len(seen)
        return yaml.Mark(start.name, start.index + len(seen), start.line + len(breaks), column,
                         None, None)

    # Tabs as libyaml reads them (yaml.v3 scannerc.go), where PyYAML's scanner
    # takes only spaces: separation between tokens in a flow collection and
    # where no simple key may start (after `key:`), and blanks inside a plain
    # scalar; on a continuation line, a tab before the scalar's indentation is
    # yaml.v3's "found a tab character that violates indentation".

    def scan_to_next_token(self):
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        while True:
            while self.peek() == " " or self.peek() == "\t" and (
                    self.flow_level or not self.allow_simple_key):
                self.forward()
            if self.peek() == "#":
                while self.peek() not in _ENDS:
                    self.forward()
            if not self.scan_line_break():
                return
            if not self.flow_level:
                self.allow_simple_key = True

    def scan_plain_spaces(self, indent, start_mark):
        """The blanks and line breaks after a word of a plain scalar, folded:
        a list of text chunks (empty: the scalar ends), or None at a document
        marker."""
        n = 0
        while self.peek(n) in " \t":
            n += 1
        blanks = self.prefix(n)
        self.forward(n)
        if self.peek() not in _BREAKS:
            return [blanks] if blanks else []
        first = self.scan_line_break()
        self.allow_simple_key = True
        more = []
        while True:
            if self.column == 0 and self.prefix(3) in ("---", "...") and self.peek(3) in _ENDS + " \t":
                return None
            ch = self.peek()
            if ch == "\t" and self.column < indent:
                raise yaml.scanner.ScannerError("while scanning a plain scalar", start_mark,
                                                "found a tab character that violates indentation",
                                                self.get_mark())
            if ch in " \t":
                self.forward()
            elif ch in _BREAKS:
                more.append(self.scan_line_break())
            else:
                break
        if first != "\n":
            return [first, *more]
        return more if more else [" "]

    # A tab where a block scalar's indentation is read is yaml.v3's error too.

    def scan_block_scalar(self, style):
        self._block_start = self.get_mark()
        return super().scan_block_scalar(style)

    def _tab_in_indentation(self):
        raise yaml.scanner.ScannerError("while scanning a block scalar", self._block_start,
                                        "found a tab character where an indentation space "
                                        "is expected", self.get_mark())

    def scan_block_scalar_indentation(self):
        """The empty lines before the first line of a block scalar with no
        indentation indicator: their breaks, the widest indentation, the end."""
        breaks, widest, end = [], 0, self.get_mark()
        while True:
            while self.peek() == " ":
                self.forward()
            widest = max(widest, self.column)
            if self.peek() == "\t":
                self._tab_in_indentation()
            if self.peek() not in _BREAKS:
                return breaks, widest, end
            breaks.append(self.scan_line_break())
            end = self.get_mark()

    def scan_block_scalar_breaks(self, indent):
        """The indentation and empty lines before a block scalar's next line."""
        breaks, end = [], self.get_mark()
        while True:
            while self.column < indent and self.peek() == " ":
                self.forward()
            if self.column < indent and self.peek() == "\t":
                self._tab_in_indentation()
            if self.peek() not in _BREAKS:
                return breaks, end
            breaks.append(self.scan_line_break())
            end = self.get_mark()

    def fetch_flow_collection_start(self, TokenClass):
        if self.flow_level >= MAX_DEPTH:
            # yaml.v3: "yaml: line N: exceeded max depth of 10000" (parser.fail, no column).
            raise YamlError(f"yaml: line {self.line + 1}: exceeded max depth of {MAX_DEPTH}")
        super().fetch_flow_collection_start(TokenClass)


# LibYAML's parser, when PyYAML has it, is ten times faster on large documents
# and gives the same node marks; its error messages are vaguer and it limits
# nesting, so any failure is parsed again by the pure-Python loader.
_FastLoader = type("_FastLoader", (_Resolver, yaml.CSafeLoader), {}) \
    if getattr(yaml, "__with_libyaml__", False) else None


_BREAKS = "\r\n\x85\u2028\u2029"
_ENDS = "\0" + _BREAKS
_CODE_LENGTHS = {"x": 2, "u": 4, "U": 8}
_HEX = "0123456789abcdefABCDEF"


class _FastEvents(_Aliases, _Resolver, yaml.composer.Composer, yaml.resolver.Resolver):
    """LibYAML's scanner and parser (what it accepts, at its speed) with the
    Python composer, which keeps aliases apart: for documents that may hold one."""

    def __init__(self, text: str) -> None:
        self._c = _FastLoader(text)
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.check_event, self.peek_event, self.get_event = \
            self._c.check_event, self._c.peek_event, self._c.get_event

    def dispose(self) -> None:
        self._c.dispose()


def _alias(target, event):
    """The node an alias stands for, at the alias's position: a shallow copy of
    the anchored node (sharing its content) whose `alias` is that node and
    `anchor` the name."""
    node = type(target).__new__(type(target))
    node.__dict__.update(target.__dict__)
    node.start_mark, node.end_mark = event.start_mark, event.end_mark
    node.alias, node.anchor = target, event.anchor
    return node


def is_alias(node) -> bool:
    return getattr(node, "alias", None) is not None


def compose(text: str) -> yaml.Node | None:
    """The first YAML document's node tree (None for an empty document).
    Aliases are nodes of their own (see _alias)."""
    _check_directive(text)
    # libyaml's composer shares the anchored node for an alias: where one may be
    # (a `*` starting a token), the Python composer composes libyaml's events
    if _FastLoader is not None:
        loader = None
        try:
            loader = _FastLoader(text) if "*" not in text or not re.search(_ALIAS, text) \
                else _FastEvents(text)
            if not loader.check_node():
                return None
            node = loader.get_node()
            if not _has_escaped_slash(node, text):
                return node
        except (yaml.YAMLError, RecursionError, UnicodeError):
            pass  # explained by the slower loader below
        finally:
            if loader is not None:
                loader.dispose()
    if re.search(_UNREADABLE, text):
        # PyYAML's reader refuses the whole text at once; libyaml's meets the
        # character only where it reads it (yamlerrors.undecodable)
        from .yamlerrors import undecodable

        error, text = undecodable(text.encode("utf-8", "surrogatepass"), _compose_python)
        if error is not None:
            raise YamlError(error)
    return _compose_python(text)


def _compose_python(text: str, reach: list | None = None) -> yaml.Node | None:
    """The pure-Python loader's compose; `reach` (if given) gets how far into
    the text it read, in characters."""
    loader = None
    limit = sys.getrecursionlimit()
    # PyYAML composes recursively; allow deep documents, then fail cleanly.
    sys.setrecursionlimit(max(limit, _MAX_FRAMES))
    try:
        loader = _Loader(text)
        if not loader.check_node():
            return None
        node = loader.get_node()
    except RecursionError:
        raise YamlError("yaml: exceeded max depth") from None
    except yaml.reader.ReaderError as exc:
        # a reader error has no mark in yaml.v3: no line (decode.go parser.fail); a
        # lone surrogate (only a str can hold one) is what UTF-8 cannot encode
        surrogate = isinstance(exc.character, int) and 0xD800 <= exc.character <= 0xDFFF
        raise YamlError("yaml: " + ("invalid Unicode character" if surrogate
                                    else "control characters are not allowed")) from None
    except yaml.composer.ComposerError as exc:  # unknown anchors fail in _Aliases
        raise YamlError(f"yaml: {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        from . import yamlerrors  # here: only a document that fails needs the table

        scanner = isinstance(exc, yaml.scanner.ScannerError)
        raise YamlError("yaml: " + yamlerrors.where(exc, scanner, text)
                        + yamlerrors.problem(exc, scanner)) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"yaml: {exc}") from None
    finally:
        sys.setrecursionlimit(limit)
        if reach is not None:
            reach.append(loader.pointer if loader is not None else 0)
        if loader is not None:
            loader.dispose()
    return node


# Needed for double-quoted scalars and %YAML directives only: compiled on first use
# (re's cache), not at import (start-up).
_ESCAPE = r"\\(.)"
_ALIAS = r"(?:^|[\s\[{,:])\*"
# what libyaml's reader refuses: control characters (and, in a str, surrogates)
_UNREADABLE = "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
_YAML_DIRECTIVE = r"\A(?:(?:#[^\n]*|%[^\n]*|[ \t]*)\n)*?%YAML[ \t]+(\d+)\.(\d+)"


def _check_directive(text: str) -> None:
    """Directives as yaml.v3 reads them (scannerc.go, parserc.go), where PyYAML
    differs: a directive other than %YAML and %TAG is "found unknown directive
    name" (PyYAML skips it), and yaml.v3 reads only YAML 1.1 documents: a %YAML
    directive of another version is "found incompatible YAML document". The
    first is a scanner error, reported at its 1-based line, the second a parser
    error, at its 0-based line; neither has a line on the first line
    (decode.go parser.fail)."""
    if "%" not in text:
        return
    for number, line in enumerate(text.split("\n")):
        if not line.startswith("%"):
            if line.strip() and not line.lstrip().startswith("#"):
                break  # the document has begun
            continue
        name = re.match(r"[0-9A-Za-z_-]*", line[1:])[0]
        if name and name not in ("YAML", "TAG") and line[1 + len(name):2 + len(name)] in ("", " ", "\t", "\r"):
            raise YamlError(f"yaml: {f'line {number + 1}: ' if number else ''}found unknown directive name")
    if "%YAML" not in text:
        return
    m = re.match(_YAML_DIRECTIVE, text, re.M)
    if m and (m[1], m[2]) != ("1", "1"):
        line = text.count("\n", 0, m.start(1))
        raise YamlError(f"yaml: {f'line {line}: ' if line else ''}found incompatible YAML document")


def _has_escaped_slash(node, text: str) -> bool:
    """Whether a double-quoted scalar holds \\/, which LibYAML reads and yaml.v3
    does not: the pure-Python loader then reads the document again and fails
    where yaml.v3 fails (LibYAML refuses the other escapes yaml.v3 refuses)."""
    todo, seen = [node], set()
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            raw = text[node.start_mark.index:node.end_mark.index] if node.style == '"' else ""
            if "\\" in raw and any(m[1] == "/" for m in re.finditer(_ESCAPE, raw, re.S)):
                return True
        elif isinstance(node, yaml.MappingNode):
            todo.extend(n for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    return False


def child(node, key):
    """The value node at `key` (a str for mappings, an int for sequences); None
    below an alias (a leaf of the context tree). The last of equal keys, as in
    vcontext's tree."""
    if is_alias(node):
        return None
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        found = None
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                found = v
        return found
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
        if 0 <= key < len(node.value):
            return node.value[key]
    return None


def key_node(node, key: str):
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k
    return None


def position(root, path: tuple) -> tuple[int, int]:
    """1-based (line, column) of the deepest node that exists along `path`.

    A mapping's position is that of its first key, so a missing leaf points at the
    first key of the mapping it belongs in, as the official tool does.
    """
    if root is None:
        return 1, 1
    node = root
    for key in path:
        nxt = child(node, key)
        if nxt is None:
            break
        node = nxt
    mark = node.start_mark
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style \
            and not is_alias(node):
        mark = node.value[0][0].start_mark
    return mark.line + 1, mark.column + 1


def key_position(root, path: tuple) -> tuple[int, int]:
    """1-based position of the key at the end of `path` (for unused-key warnings)."""
    parent = root
    for key in path[:-1]:
        parent = child(parent, key)
        if parent is None:
            return position(root, path)
    k = key_node(parent, path[-1])
    if k is None:
        return position(root, path)
    return k.start_mark.line + 1, k.start_mark.column + 1
