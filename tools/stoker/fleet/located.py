"""YAML loading that remembers where every key and value came from.

The loaded data is plain dicts/lists/scalars (as yaml.safe_load gives); beside it
a `Marks` records, for each path (tuple of keys and indexes), the file and the
1-based line and column of the value and, for mapping entries, of the key. A
duplicate key is an error, not a silent overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .errors import FleetError, Problem

Where = tuple[str, int, int]  # file, line, column


@dataclass
class Marks:
    values: dict[tuple, Where] = field(default_factory=dict)
    keys: dict[tuple, Where] = field(default_factory=dict)
    texts: dict[tuple, str] = field(default_factory=dict)  # plain scalars read as non-strings: as written

    def value(self, path: tuple) -> Where | None:
        """The mark of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            if path in self.values:
                return self.values[path]
            if not path:
                return None
            path = path[:-1]

    def key(self, path: tuple) -> Where | None:
        return self.keys.get(tuple(path)) or self.value(path)

    def update_under(self, prefix: tuple, other: "Marks", other_prefix: tuple = ()) -> None:
        """Copy `other`'s marks below `other_prefix` to below `prefix`."""
        n = len(other_prefix)
        for src, dst in ((other.values, self.values), (other.keys, self.keys), (other.texts, self.texts)):
            for p, w in src.items():
                if p[:n] == other_prefix:
                    dst[prefix + p[n:]] = w


def _where(file: str, node: yaml.Node) -> Where:
    return (file, node.start_mark.line + 1, node.start_mark.column + 1)


def load(text: str, file: str) -> tuple[object, Marks]:
    """Parse one YAML document; raise FleetError with the position on bad YAML."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # a control character, found before parsing starts
        raise FleetError(_reader_problem(exc, text, file)) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
            raise FleetError(Problem(file, line, col, f"not valid YAML: {exc.problem or exc}")) from None
        except yaml.YAMLError as exc:
            raise FleetError(_reader_problem(exc, text, file)) from None
        except RecursionError:
            raise FleetError(Problem(file, None, None, "not valid YAML: nested too deeply")) from None
        marks = Marks()
        if root is None:
            return None, marks
        problems: list[Problem] = []
        if (big := _expands_beyond(root, MAX_VALUES)) is not None:
            raise FleetError(Problem(file, *_where(file, big)[1:],
                                     f"this value expands to more than {MAX_VALUES:,} values through YAML "
                                     "aliases (*name); write it out or use fewer aliases"))
        try:
            data = _build(loader, root, (), file, marks, problems)
        except RecursionError:
            raise FleetError(Problem(file, None, None, "not valid YAML: nested too deeply")) from None
        if problems:
            raise FleetError(problems)
        return data, marks
    finally:
        loader.dispose()


def _reader_problem(exc: yaml.YAMLError, text: str, file: str) -> Problem:
    """A reader error (a control character) at its line and column; PyYAML gives an offset."""
    position = getattr(exc, "position", None)
    if not isinstance(position, int):
        return Problem(file, None, None, f"not valid YAML: {str(exc).splitlines()[0]}")
    before = text[:position]
    line, col = before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
    return Problem(file, line, col, f"not valid YAML: character #x{getattr(exc, 'character', 0):04x} is not allowed")


# A definition has hundreds of values; aliases may repeat a part, but a
# document that expands beyond this (nested aliases grow exponentially: the
# "billion laughs" pattern) is refused before it is built.
MAX_VALUES = 100_000


def _expands_beyond(root: yaml.Node, limit: int) -> yaml.Node | None:
    """The first node (in document order) whose expansion, aliases followed,
    exceeds `limit` values; None when the whole document stays within it.
    Sizes are memoised per node, so shared nodes are counted without
    expanding them."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = limit + 1  # a node that contains itself (a recursive alias) is too big
        total = 1
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        for child in children:
            total += size(child)
            if total > limit:
                break
        sizes[id(node)] = total
        return total

    def find(node: yaml.Node) -> yaml.Node:
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else
                    node.value if isinstance(node, yaml.SequenceNode) else [])
        for child in children:
            if sizes.get(id(child), 0) > limit:
                return find(child) if child is not node else node
        return node

    return find(root) if size(root) > limit else None


_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _build(loader, node, path, file, marks: Marks, problems):
    marks.values[path] = _where(file, node)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTION_TAGS:
        problems.append(Problem(file, *_where(file, node)[1:], f"YAML tag {node.tag!r} is not supported here"))
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(file, *_where(file, key_node)[1:], "YAML merge keys (<<) are not supported"))
                continue
            key = _construct(loader, key_node, file, problems)
            if key is _BAD:
                continue
            if not isinstance(key, (str, int, float, bool)):
                problems.append(Problem(file, *_where(file, key_node)[1:], "a key must be a plain value"))
                continue
            if key in out:
                first = marks.keys[path + (key,)]
                problems.append(Problem(file, *_where(file, key_node)[1:],
                                        f"duplicate key {key!r} (first at line {first[1]})"))
                continue
            marks.keys[path + (key,)] = _where(file, key_node)
            out[key] = _build(loader, value_node, path + (key,), file, marks, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, path + (i,), file, marks, problems) for i, item in enumerate(node.value)]
    if node.style is None and not node.tag.startswith("!") and node.tag != "tag:yaml.org,2002:str":
        # A plain scalar that YAML 1.1 reads as a number, boolean or null: keep what was written
        # (0700, yes, 1_000), for values that must stay text (environment values, secrets).
        marks.texts[path] = node.value
    value = _construct(loader, node, file, problems)
    return None if value is _BAD else value


_BAD = object()
# Tags the safe loader understands and whose value is a plain YAML type (no binary, no sets).
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq",
                                                  "timestamp")}


def _construct(loader, node, file, problems):
    """One scalar (or key) as the safe loader reads it; an unknown or explicit
    non-plain tag is a located problem, never an exception. The problem names
    the tag only, never the value (a secrets file is read this way too)."""
    if node.tag not in _PLAIN_TAGS:
        problems.append(Problem(file, *_where(file, node)[1:], f"YAML tag {node.tag!r} is not supported here"))
        return _BAD
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        problems.append(Problem(file, *_where(file, node)[1:], f"cannot read this value as {node.tag.rsplit(':', 1)[-1]}"))
        return _BAD
