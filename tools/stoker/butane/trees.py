"""`storage.trees`: a local directory copied into files and links (SPEC §7)."""

from __future__ import annotations

import os
import stat

from ..ignition.goformat import join_path
from .resources import ERR_NO_FILES_DIR, LocalFileError, data_url, go_os_error, local_path

ERR_NODE_EXISTS = "matching filesystem node has existing contents or different type"
ERR_FILE_TYPE = "trees may only contain files, directories, and symlinks"


def _walk(root: str):
    """Go's filepath.Walk: the root first, then entries in lexical order, links not
    followed, not even a root that is a symlink (it is yielded alone). Yields
    (path, lstat, None), or (path, None, error text) where a directory cannot be
    read or an entry not stat'ed: Walk hands that error to the tree's walk
    function, which records it and goes on."""
    st = os.lstat(root)
    yield root, st, None
    if stat.S_ISDIR(st.st_mode):
        yield from _walk_dir(root)


def _walk_dir(path: str):
    try:
        names = os.listdir(path)
    except OSError as exc:
        yield path, None, go_os_error("open", path, exc)
        return
    for name in sorted(names, key=lambda n: n.encode("utf-8", "surrogateescape")):
        full = os.path.join(path, name)
        try:
            st = os.lstat(full)
        except OSError as exc:
            yield full, None, go_os_error("lstat", full, exc)
            continue
        yield full, st, None
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(full)


class _Nodes:
    """Index of the output's files, links and directories by path."""

    def __init__(self, storage: dict):
        self.storage = storage
        self.where: dict[str, tuple[str, int]] = {}
        for kind in ("files", "links", "directories"):
            for i, node in enumerate(storage.get(kind, [])):
                self.where.setdefault(node.get("path"), (kind, i))

    def get(self, path: str):
        return self.where.get(path)

    def add(self, kind: str, node: dict) -> int:
        items = self.storage.setdefault(kind, [])
        items.append(node)
        self.where[node["path"]] = (kind, len(items) - 1)
        return len(items) - 1


def process(tr, value: dict, out: dict) -> None:
    tree_list = value.get("storage", {}).get("trees") or []
    if not tree_list:
        return
    storage = out.setdefault("storage", {})
    nodes = _Nodes(storage)
    v17 = tr.version >= (1, 7)
    for i, tree in enumerate(tree_list):
        src = ("storage", "trees", i)
        if not tree.get("local"):
            tr.report.error(src, "local is required")
            continue
        if tr.files_dir is None:
            tr.report.error(src, ERR_NO_FILES_DIR)
            return
        try:
            root = local_path(tr.files_dir, tree["local"])
        except LocalFileError as exc:
            tr.report.error(src, str(exc))
            continue
        try:
            if not stat.S_ISDIR(os.stat(root).st_mode):
                tr.report.error(src, "root of tree must be a directory")
                continue
        except (OSError, ValueError) as exc:
            tr.report.error(src, go_os_error("stat", root, exc))
            continue
        dest = tree.get("path") or "/"
        owner = {k: tree[k] for k in ("user", "group") if v17 and k in tree}
        try:
            entries = list(_walk(root))
        except OSError as exc:
            tr.report.error(src, go_os_error("lstat", root, exc))
            continue
        for full, st, error in entries:
            if error is not None:
                tr.report.error(src, error)
                continue
            rel = os.path.relpath(full, root)
            path = join_path(dest, rel)
            if stat.S_ISREG(st.st_mode):
                _file(tr, nodes, tree, owner, src, path, full, st)
            elif stat.S_ISLNK(st.st_mode):
                _link(tr, nodes, owner, src, path, full)
            elif stat.S_ISDIR(st.st_mode):
                if v17 and ("dir_mode" in tree or owner):
                    if nodes.get(path) is not None:
                        tr.report.error(src, ERR_NODE_EXISTS)
                        continue
                    node = {"path": path, **owner, "mode": tree.get("dir_mode", 0o755)}
                    tr.map_new_entry("directories", nodes.add("directories", node), node, src)
            else:
                tr.report.error(src, ERR_FILE_TYPE)


def _claim(tr, nodes: _Nodes, kind: str, owner: dict, src, path: str, filled):
    """The node of `kind` at `path`: a user entry that `filled` says is still empty is
    reused, a new one is appended; None (and ErrNodeExists) for anything else."""
    existing = nodes.get(path)
    if existing is None:
        node = {"path": path, **owner}
        idx = nodes.add(kind, node)
        tr.map_new_entry(kind, idx, node, src)
        return node, idx
    found, idx = existing
    node = nodes.storage[found][idx]
    if found != kind or filled(node):
        tr.report.error(src, ERR_NODE_EXISTS)
        return None
    return node, idx


def _file(tr, nodes: _Nodes, tree: dict, owner: dict, src, path: str, full: str, st) -> None:
    claimed = _claim(tr, nodes, "files", owner, src, path,
                     lambda n: (n.get("contents") or {}).get("source") is not None)
    if claimed is None:
        return
    node, idx = claimed
    try:
        with open(full, "rb") as f:
            data = f.read()
    except OSError as exc:
        tr.report.error(src, go_os_error("open", full, exc))
        return
    contents = node.setdefault("contents", {})
    user_compression = contents.get("compression") or ""
    contents["source"], compression = data_url(
        data, compress=not user_compression and tr.auto_compression)
    if not user_compression:
        contents["compression"] = compression
    out = ("storage", "files", idx)
    tr.map_new(out + ("contents",), contents, src, overwrite=False)
    tr.table[out + ("contents", "source")] = src
    tr.table[out + ("contents", "compression")] = src
    if "mode" not in node:
        default = 0o755 if st.st_mode & 0o111 else 0o644
        node["mode"] = tree.get("file_mode", default) if tr.version >= (1, 7) else default
        tr.table[out + ("mode",)] = src


def _link(tr, nodes: _Nodes, owner: dict, src, path: str, full: str) -> None:
    claimed = _claim(tr, nodes, "links", owner, src, path, lambda n: n.get("target") is not None)
    if claimed is None:
        return
    node, idx = claimed
    node["target"] = os.readlink(full)
    tr.table[("storage", "links", idx, "target")] = src
