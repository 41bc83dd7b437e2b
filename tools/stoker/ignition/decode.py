"""Go encoding/json's decoding of a parsed document into one spec's struct tree.

Ignition reads a config with json.Unmarshal into its Go structs, then validates
the structs. This module does the same to a gojson node tree and keeps what
each step tells:

  config       the structs as plain data: struct field names as keys, only the
               fields Go would set, every value of its Go type. Wrong-typed
               values are left out (Go skips them and leaves the field as it was),
               so the semantic checks never see them.
  positions    canonical path -> byte offset of the value that set it
  type_errors  Go's UnmarshalTypeError texts, every one (Go keeps only the first)
  unused       per struct path, the keys that are not a field name (Ignition's
               ValidateUnusedKeys warnings), with the key's offset

Go's rules followed (encoding/json decode.go, Go >= 1.20 error texts):
  - a key fills the field of the same name, else one whose name matches it
    case-insensitively (foldName); "Path" fills `path`. Ignition's unused-key
    check compares exactly, so such a key is also reported as unused. Keys of
    objects below it are checked against the struct too (Ignition cannot find
    those objects by path and silently skips them).
  - a repeated key decodes again into the same field: objects merge into the
    struct so far, arrays decode element by element into the existing elements.
    (Go's reuse of slice capacity beyond the current length is not modelled.)
  - null sets pointers and slices to nil and leaves everything else as it was.
  - numbers fill an int only if strconv.ParseInt(text, 10, 64) accepts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..report import format_path
from . import messages as msg
from .gojson import ArrayNode, ObjectNode, node_kind
from .structs import GoType

_KEEP = object()   # Go leaves the target as it was: null into a value, or a type error
_CLEAR = object()  # Go sets the target to nil: null into a pointer or a slice
_ABSENT = object()


@dataclass
class Decoded:
    config: dict
    positions: dict = field(default_factory=dict)      # path -> offset
    type_errors: list = field(default_factory=list)    # (path, message, offset)
    unused: dict = field(default_factory=dict)         # struct path -> {key: key offset}
    not_objects: dict = field(default_factory=dict)    # struct path -> offset of the null found there


def decode(root, go: GoType) -> Decoded:
    """Decode the node tree `root` into the struct type `go`, as json.Unmarshal(data, &v) would."""
    decoder = _Decoder()
    value = decoder.value(root, go, False, _ABSENT, (), True, ("", ()))
    result = Decoded(value if isinstance(value, dict) else {}, decoder.positions, decoder.type_errors,
                     decoder.unused, decoder.not_objects)
    result.positions[()] = root.offset
    return result


def zero(go: GoType):
    """Go's zero value of a non-pointer type, as the semantic checks expect it."""
    return {"struct": {}, "slice": [], "string": "", "int": 0, "bool": False}[go.kind]


class _Decoder:
    def __init__(self) -> None:
        self.positions: dict = {}
        self.type_errors: list = []
        self.unused: dict = {}
        self.not_objects: dict = {}

    def value(self, node, go: GoType, pointer: bool, existing, path: tuple, exact: bool, context: tuple):
        """The new value of a target of type `go` that held `existing`, or _KEEP/_CLEAR.

        `exact`: every key on the way matched its field exactly, so Ignition's
        unused-key walk finds this node by its path. `context`: the enclosing
        struct's name and the JSON field names from the root, for Go's error text.
        """
        kind = node_kind(node)
        if kind == "null":
            if pointer or go.kind == "slice":
                return _CLEAR
            if go.kind == "struct" and exact:
                self.not_objects[path] = node.offset
            return _KEEP
        if go.kind == "struct":
            if kind != "object":
                return self.mistyped(node, kind, go, path, context)
            self.not_objects.pop(path, None)
            return self.struct(node, go, dict(existing) if isinstance(existing, dict) else {}, path, exact,
                               context[1])
        if go.kind == "slice":
            if kind != "array":
                return self.mistyped(node, kind, go, path, context)
            return self.slice(node, go, existing if isinstance(existing, list) else [], path, exact, context)
        if kind == "number" and go.kind == "int":
            number = _go_int(node.value)
            if number is None:
                return self.mistyped(node, f"number {node.value}", go, path, context)
            return number
        if {"string": "string", "bool": "bool"}.get(go.kind) != kind:
            return self.mistyped(node, kind, go, path, context)
        return node.value

    def struct(self, node: ObjectNode, go: GoType, result: dict, path: tuple, exact: bool, stack: tuple):
        for key, key_offset, child in node.pairs:
            target = go.field(key)
            if target is None or target.name != key:
                self.unused.setdefault(path, {})[key] = key_offset
            if target is None:
                continue
            child_path = path + (target.name,)
            new = self.value(child, target.type, target.pointer, result.get(target.name, _ABSENT), child_path,
                             exact and key == target.name, (go.name, stack + (target.name,)))
            if new is _CLEAR:
                result.pop(target.name, None)
            elif new is not _KEEP:
                result[target.name] = new
                self.positions[child_path] = child.offset
        return result

    def slice(self, node: ArrayNode, go: GoType, old: list, path: tuple, exact: bool, context: tuple):
        result = []
        for index, item in enumerate(node.items):
            previous = old[index] if index < len(old) else _ABSENT
            new = self.value(item, go.elem, False, previous, path + (index,), exact, context)
            if new is _KEEP or new is _CLEAR:
                new = zero(go.elem) if previous is _ABSENT else previous
            result.append(new)
            self.positions[path + (index,)] = item.offset
        return result

    def mistyped(self, node, value: str, go: GoType, path: tuple, context: tuple):
        struct_name, stack = context
        if struct_name or stack:
            message = (f"json: cannot unmarshal {value} into Go struct field "
                       f"{struct_name}.{'.'.join(stack)} of type {go.display}")
        else:
            message = f"json: cannot unmarshal {value} into Go value of type {go.display}"
        self.type_errors.append((path, message, node.offset))
        return _KEEP


_INT64 = 1 << 63


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64) for a JSON number's text, or None where Go fails."""
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii() or len(digits) > 19:
        return None
    number = int(text)
    return number if -_INT64 <= number < _INT64 else None


def unused_key_findings(decoded: Decoded, go: GoType) -> list[tuple]:
    """Ignition's ValidateUnusedKeys warnings as (path, message, offset), in its struct walk order."""
    findings: list[tuple] = []
    stack = [(decoded.config, go, ())]
    while stack:
        value, kind, path = stack.pop()
        if kind.kind == "slice":
            stack.extend((item, kind.elem, path + (i,)) for i, item in reversed(list(enumerate(value))))
            continue
        if path in decoded.not_objects:
            # Ignition's walk found null where a struct is: it says so and skips the unused keys there
            message = msg.NOT_AN_OBJECT.format(path=format_path(path))
            findings.append((path, message, decoded.not_objects[path]))
        for key, offset in decoded.unused.get(path, {}).items():
            findings.append((path + (key,), msg.UNUSED_KEY.format(key=key), offset))
        children = []
        for child in kind.fields:
            child_kind = child.type
            if child_kind.kind == "struct" and (child.name in value or not child.pointer):
                # Go walks a value struct even when it was never set: it is there, zero
                children.append((value.get(child.name, {}), child_kind, path + (child.name,)))
            elif child_kind.kind == "slice" and child_kind.elem.kind == "struct" and child.name in value:
                children.append((value[child.name], child_kind, path + (child.name,)))
        stack.extend(reversed(children))
    return findings
