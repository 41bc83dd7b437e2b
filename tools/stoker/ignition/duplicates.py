"""Ignition's duplicate-entry check: no two list entries may share a key.

Ignition (config/validate/validate.go ValidateDups) walks its struct tree: at
each struct, the slice fields are checked together (fields that MergedKeys puts
in one group share a keyspace, IgnoreDuplicates fields are skipped), then the
fields are walked in struct order. The reports come out in that order, so this
module walks the same tree, structs.struct_tree(version), over the parsed JSON.
Entries are keyed by their struct's Key() (structs.KEYS), strings by themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from ..report import ERROR, Entry
from . import messages as msg
from .structs import KEYS, GoType, struct_tree

def _field(name: str) -> Callable[[object], str]:
    def key(entry: object) -> str:
        value = entry.get(name) if isinstance(entry, dict) else None
        return "" if value is None else str(value)
    return key


def _itself(entry: object) -> str:
    return str(entry)


def _partition(entry: object) -> str:
    if not isinstance(entry, dict):
        return ""
    if entry.get("number"):
        return f"number:{entry['number']}"
    if entry.get("label") is not None:
        return f"label:{entry['label']}"
    return ""


def _key_function(elem: GoType) -> Callable[[object], str]:
    if elem.kind != "struct":
        return _itself
    key = KEYS[elem.name]
    return _partition if key == "partition" else _field(key)


def find_duplicates(config: dict, version: str) -> list[Entry]:
    """The "duplicate entry defined" errors of `config` as spec `version`, in Ignition's order.

    """
    entries: list[Entry] = []
    stack = [(config, struct_tree(version), ())]
    while stack:
        node, go, path = stack.pop()
        if not isinstance(node, dict):
            continue
        seen: dict[str, set[str]] = {}
        children = []
        for field in go.fields:
            values = node.get(field.name)
            if field.type.kind == "struct":
                children.append((values, field.type, path + (field.name,)))
                continue
            if field.type.kind != "slice" or not isinstance(values, list):
                continue
            if field.duplicates != "ignore":
                keys = seen.setdefault(field.name if field.duplicates == "check" else field.duplicates, set())
                key_of = _key_function(field.type.elem)
                for index, value in enumerate(values):
                    entry_key = key_of(value)
                    if entry_key in keys:
                        entries.append(Entry(ERROR, path + (field.name, index), msg.DUPLICATE))
                    keys.add(entry_key)
            if field.type.elem.kind == "struct":
                children.extend((value, field.type.elem, path + (field.name, index))
                                for index, value in enumerate(values))
        stack.extend(reversed(children))
    return entries
