"""Ignition's merge rules (Ignition config/merge), over plain config dicts.

The parent is the base, the child is laid over it:
- scalars: the child's value wins when it is set;
- structs: merged field by field;
- lists of keyed entries (files by path, units by name, disks by device, ...): a
  child entry with a parent's key is merged in place, the rest are appended;
  files, directories and links share one path keyspace (a child node of another
  type at the same path removes the parent's), and so do the kernel arguments;
- `append` of files and the `options`/`mount_options` lists are concatenated.

`merge` returns the merged config and a transcript that says, for every path of
the result, which side and which path of that side it came from; translation
uses it to keep every output field mapped to the user's YAML.
"""

from __future__ import annotations

from .schema import CONFIG, OUTPUT, ListOf, Struct

PARENT, CHILD = "parent", "child"

# Lists whose entries are concatenated instead of merged by key.
_APPEND = {"append", "options", "mountOptions", "mount_options"}
# Lists whose entries share one keyspace per parent struct.
_SHARED = {
    "Storage": ("files", "directories", "links"),
    "KernelArguments": ("shouldExist", "shouldNotExist"),
}
_SHARED_SNAKE = {"Storage": ("files", "directories", "links"),
                 "KernelArguments": ("should_exist", "should_not_exist")}


def _copy(value):
    """A deep copy of a config value (dicts, lists and immutable scalars, as YAML
    decoding and translation make them): what copy.deepcopy gives for such
    values, faster, and without importing copy and weakref (start-up)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _key(item, item_type, naming: str):
    """The merge key of one list entry."""
    if not isinstance(item_type, Struct) or not isinstance(item, dict):
        return ("value", item)
    name = item_type.name
    if name == "Partition":
        number = item.get("number") or 0
        return ("number", number) if number else ("label", item.get("label"))
    if name in ("File", "Directory", "Link"):
        return ("path", item.get("path"))
    if name in ("Disk", "Filesystem"):
        return ("device", item.get("device"))
    if name == "Tang":
        return ("url", item.get("url"))
    if "name" in item_type.by_name:
        return ("name", item.get("name"))
    return ("index", id(item))  # no key (e.g. Butane trees): always appended


class _Merger:
    def __init__(self, naming: str):
        self.naming = naming
        self.transcript: dict[tuple, tuple[str, tuple]] = {}

    def field(self, struct: Struct, key: str):
        return (struct.by_ign if self.naming == "ign" else struct.by_name).get(key)

    def record(self, value, rpath: tuple, side: str, spath: tuple) -> None:
        self.transcript[rpath] = (side, spath)
        if isinstance(value, dict):
            for k, v in value.items():
                self.record(v, rpath + (k,), side, spath + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.record(v, rpath + (i,), side, spath + (i,))

    def struct(self, p: dict, c: dict, t: Struct, rpath, ppath, cpath) -> dict:
        self.transcript[rpath] = (CHILD, cpath)
        out: dict = {}
        shared = (_SHARED if self.naming == "ign" else _SHARED_SNAKE).get(t.name, ())
        p = self._drop_shadowed(p, c, shared, t)
        for k in list(p) + [k for k in c if k not in p]:
            f = self.field(t, k)
            if k not in c and isinstance(p[k], _Sparse):
                out[k] = self.list(k, p[k], [], f.type.item, rpath + (k,), ppath + (k,),
                                   cpath + (k,))
            elif k not in c:
                out[k] = _copy(p[k])
                self.record(out[k], rpath + (k,), PARENT, ppath + (k,))
            elif k not in p or f is None:
                out[k] = _copy(c[k])
                self.record(out[k], rpath + (k,), CHILD, cpath + (k,))
            elif isinstance(f.type, Struct) and isinstance(p[k], dict) and isinstance(c[k], dict):
                out[k] = self.struct(p[k], c[k], f.type, rpath + (k,), ppath + (k,), cpath + (k,))
            elif isinstance(f.type, ListOf) and isinstance(p[k], list) and isinstance(c[k], list):
                out[k] = self.list(k, p[k], c[k], f.type.item, rpath + (k,), ppath + (k,),
                                   cpath + (k,))
            else:
                out[k] = _copy(c[k])
                self.record(out[k], rpath + (k,), CHILD, cpath + (k,))
        return out

    def _drop_shadowed(self, p: dict, c: dict, shared: tuple, t: Struct) -> dict:
        """Remove parent entries that a child entry of another list in the same
        keyspace replaces (a child link at a parent file's path removes the file)."""
        if not shared:
            return p
        p = dict(p)
        for name in shared:
            if not isinstance(p.get(name), list):
                continue
            item_type = self.field(t, name).type.item
            child_keys = {
                _key(item, self.field(t, other).type.item, self.naming)[1]
                for other in shared if other != name and isinstance(c.get(other), list)
                for item in c[other]
            }
            kept = [(i, item) for i, item in enumerate(p[name])
                    if _key(item, item_type, self.naming)[1] not in child_keys]
            if len(kept) != len(p[name]):
                # Keep original indexes for the transcript by marking removed slots.
                p[name] = _Sparse(kept)
        return p

    def list(self, name, p: list, c: list, item_type, rpath, ppath, cpath) -> list:
        self.transcript[rpath] = (CHILD, cpath)
        parent_items = p.items if isinstance(p, _Sparse) else list(enumerate(p))
        out: list = []
        origins: list[tuple[str, int]] = []
        if name in _APPEND:
            for i, item in parent_items:
                out.append(_copy(item))
                origins.append((PARENT, i))
            for j, item in enumerate(c):
                out.append(_copy(item))
                origins.append((CHILD, j))
            for r, (side, i) in enumerate(origins):
                self.record(out[r], rpath + (r,), side, (ppath if side == PARENT else cpath) + (i,))
            return out
        position: dict = {}
        merged_from: dict[int, tuple[int, object]] = {}
        for i, item in parent_items:
            position[_key(item, item_type, self.naming)] = len(out)
            out.append(item)
            origins.append((PARENT, i))
        for j, item in enumerate(c):
            k = _key(item, item_type, self.naming)
            if k in position and k[0] != "index":
                # A header whose child value is null deletes the parent header.
                if isinstance(item_type, Struct) and item_type.name == "HTTPHeader" \
                        and item.get("value") is None:
                    out[position[k]] = None
                    continue
                merged_from[position[k]] = (j, item)
            else:
                position[k] = len(out)
                out.append(item)
                origins.append((CHILD, j))
        result = []
        for r, item in enumerate(out):
            if item is None:
                continue
            side, i = origins[r]
            dest = rpath + (len(result),)
            if r in merged_from:
                j, citem = merged_from[r]
                if isinstance(item_type, Struct):
                    result.append(self.struct(item, citem, item_type, dest, ppath + (i,),
                                              cpath + (j,)))
                else:
                    result.append(_copy(citem))
                    self.record(citem, dest, CHILD, cpath + (j,))
            else:
                result.append(_copy(item))
                self.record(item, dest, side, (ppath if side == PARENT else cpath) + (i,))
        return result


class _Sparse(list):
    """A parent list with some entries removed, remembering the original indexes."""

    def __init__(self, items: list[tuple[int, object]]):
        super().__init__(item for _, item in items)
        self.items = items


def merge_with_transcript(parent: dict, child: dict, *, naming: str = "ign"):
    """Merge two configs; naming is "ign" (camelCase Ignition) or "butane" (snake_case)."""
    merger = _Merger(naming)
    root = OUTPUT if naming == "ign" else CONFIG
    result = merger.struct(parent or {}, child or {}, root, (), (), ())
    return result, merger.transcript


def merge_ignition(parent: dict, child: dict) -> dict:
    """Merge two Ignition configs (camelCase keys) by Ignition's rules."""
    return merge_with_transcript(parent, child, naming="ign")[0]


def merge_butane(parent: dict, child: dict) -> dict:
    """Merge two Butane documents (snake_case keys) by Ignition's rules.

    `variant` and `version` are taken from the child when set.
    """
    return merge_with_transcript(parent, child, naming="butane")[0]
