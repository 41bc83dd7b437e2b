"""Ignition's duplicate-entry check: no two list entries may share a key.

The lists and their keys are a table that follows Ignition's struct tree in
field order, because the order of the reports is the order of that walk: the
lists of one object are checked together, then its children in turn. Lists that
share a keyspace (files/directories/links, the two kernel-argument lists) name
the same group.
"""

from __future__ import annotations

from typing import Any, Callable

from ..report import ERROR, Entry
from . import messages as msg


def _field(name: str) -> Callable[[Any], str]:
    def key(entry: Any) -> str:
        value = entry.get(name) if isinstance(entry, dict) else None
        return "" if value is None else str(value)
    return key


def _itself(entry: Any) -> str:
    return str(entry)


def _partition(entry: Any) -> str:
    if not isinstance(entry, dict):
        return ""
    if entry.get("number"):
        return f"number:{entry['number']}"
    if entry.get("label") is not None:
        return f"label:{entry['label']}"
    return ""


# kind -> fields in Ignition's struct order. Each field is one of
#   ("object", key, child kind)
#   ("list", key, entry key function, shared group or None, child kind or None)
#   ("each", key, child kind): entries may repeat, but their children are checked
TREE: dict[str, list[tuple]] = {
    "config": [("object", "ignition", "ignition"), ("object", "kernelArguments", "kargs"),
               ("object", "passwd", "passwd"), ("object", "storage", "storage"),
               ("object", "systemd", "systemd")],
    "ignition": [("object", "config", "ignitionConfig"), ("object", "proxy", "proxy"),
                 ("object", "security", "security")],
    "ignitionConfig": [("list", "merge", _field("source"), None, "resource"),
                       ("object", "replace", "resource")],
    "proxy": [("list", "noProxy", _itself, None, None)],
    "security": [("object", "tls", "tls")],
    "tls": [("list", "certificateAuthorities", _field("source"), None, "resource")],
    "resource": [("list", "httpHeaders", _field("name"), None, None)],
    "kargs": [("list", "shouldExist", _itself, "kernelArgument", None),
              ("list", "shouldNotExist", _itself, "kernelArgument", None)],
    "passwd": [("list", "groups", _field("name"), None, None),
               ("list", "users", _field("name"), None, "user")],
    "user": [("list", "groups", _itself, None, None),
             ("list", "sshAuthorizedKeys", _itself, None, None)],
    "storage": [("list", "directories", _field("path"), "node", None),
                ("list", "disks", _field("device"), None, "disk"),
                ("list", "files", _field("path"), "node", "file"),
                ("list", "filesystems", _field("device"), None, None),
                ("list", "links", _field("path"), "node", None),
                ("list", "luks", _field("name"), None, "luks"),
                ("list", "raid", _field("name"), None, "raid")],
    "disk": [("list", "partitions", _partition, None, None)],
    "file": [("each", "append", "resource"), ("object", "contents", "resource")],
    "luks": [("object", "clevis", "clevis"), ("object", "keyFile", "resource")],
    "clevis": [("list", "tang", _field("url"), None, None)],
    "raid": [("list", "devices", _itself, None, None)],
    "systemd": [("list", "units", _field("name"), None, "unit")],
    "unit": [("list", "dropins", _field("name"), None, None)],
}


def find_duplicates(config: dict) -> list[Entry]:
    entries: list[Entry] = []
    _walk(config, "config", (), entries)
    return entries


def _walk(node: Any, kind: str, path: tuple, entries: list[Entry]) -> None:
    if not isinstance(node, dict):
        return
    seen: dict[str, set[str]] = {}
    for field in TREE[kind]:
        if field[0] != "list":
            continue
        _, key, key_of, group, _child = field
        values = node.get(key)
        if not isinstance(values, list):
            continue
        keys = seen.setdefault(group or key, set())
        for index, value in enumerate(values):
            entry_key = key_of(value)
            if entry_key in keys:
                entries.append(Entry(ERROR, path + (key, index), msg.DUPLICATE))
            keys.add(entry_key)
    for field in TREE[kind]:
        if field[0] == "object":
            _, key, child = field
            _walk(node.get(key), child, path + (key,), entries)
        else:
            key, child = field[1], field[-1]
            values = node.get(key)
            if child is None or not isinstance(values, list):
                continue
            for index, value in enumerate(values):
                _walk(value, child, path + (key, index), entries)
