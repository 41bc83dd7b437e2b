"""`systemd.quadlets` (level 1.8, base v0_8_exp): Podman Quadlet units written as
files under /etc/containers/systemd, template instances as links to their
template (SPEC-VARIANTS §5)."""

from __future__ import annotations

import posixpath

from .resources import data_url
from .trees import ERR_NODE_EXISTS

QUADLET_EXTENSIONS = (".container", ".volume", ".network", ".kube", ".image", ".build", ".pod",
                      ".artifact")
ROOTFUL_DIR = "/etc/containers/systemd"
ROOTLESS_DIR = "/etc/containers/systemd/users"


def _split(name: str) -> tuple[int, int]:
    return name.find("@"), name.rfind(".")


def is_instance(name: str) -> bool:
    """`web@8080.container` is an instance of `web@.container`; the template itself
    (nothing between the first `@` and the last `.`) is not."""
    at, dot = _split(name)
    return at >= 0 and dot > at + 1


def template_of(name: str) -> str:
    at, dot = _split(name)
    return name[:at + 1] + name[dot:]


def process(tr, value: dict, out: dict) -> None:
    items = (value.get("systemd") or {}).get("quadlets") or []
    if not items:
        return
    storage = out.setdefault("storage", {})
    taken = {node.get("path") for kind in ("files", "links", "directories")
             for node in storage.get(kind, [])}
    for i, q in enumerate(items):
        src = ("systemd", "quadlets", i)
        name = q.get("name") or ""
        # Go's path.Join: the name is appended to the directory even when it starts with "/"
        path = posixpath.normpath((ROOTFUL_DIR if q.get("rootful") else ROOTLESS_DIR) + "/" + name)
        if path in taken:
            tr.report.error(src, ERR_NODE_EXISTS)
        elif is_instance(name):
            _add(tr, storage, taken, "links", {"path": path, "target": template_of(name)}, src)
        else:
            _file(tr, storage, taken, path, q, src)
        for j, d in enumerate(q.get("dropins") or []):
            dsrc = src + ("dropins", j)
            # joined as it is, not cleaned (v0_8_exp translate.go): Ignition's path check then
            # refuses "../x.conf", "a//b.conf" or "" at the drop-in's name
            dpath = path + ".d/" + (d.get("name") or "")
            if dpath in taken:
                tr.report.error(dsrc, ERR_NODE_EXISTS)
            else:
                _file(tr, storage, taken, dpath, d, dsrc)


def _file(tr, storage: dict, taken: set, path: str, q: dict, src: tuple) -> None:
    data = b""
    if q.get("contents_local"):
        data = tr.read(q["contents_local"], src + ("contents_local",))
        if data is None:
            return
    elif q.get("contents"):
        data = q["contents"].encode("utf-8")
    source, compression = data_url(data, compress=tr.auto_compression)
    node = {"path": path, "contents": {"compression": compression, "source": source}, "mode": 0o644}
    _add(tr, storage, taken, "files", node, src)


def _add(tr, storage: dict, taken: set, kind: str, node: dict, src: tuple) -> None:
    items = storage.setdefault(kind, [])
    items.append(node)
    taken.add(node["path"])
    tr.map_new_entry(kind, len(items) - 1, node, src)
    # the path comes from the name (translate.go: AddTranslation(ctxPath.Append("name"), ... "path"))
    tr.table[("storage", kind, len(items) - 1, "path")] = src + ("name",)
