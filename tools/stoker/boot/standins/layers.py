"""One image layer as the difference between two root filesystem tarballs.

`index_tar` reads a tarball (the lower layers, flattened) into a map of path
-> `Entry` (type, mode, owner, size, content digest, link target, xattrs);
`write_layer` walks the upper tarball (the same tree with more installed) and
writes only what differs, as the OCI image spec's layer changeset says
(image-spec layer.md, "Change Types" and "Whiteouts"):

- an entry that is new, or whose type, mode, uid/gid, size, content, link
  target, device numbers or xattrs changed, is written in full (modification
  times are not compared: SOURCE_DATE_EPOCH clamps them, and a file whose
  bytes and metadata are equal is the same file);
- a path of the lower tree that the upper one no longer has gets a whiteout,
  an empty file `.wh.<name>` beside it; one whiteout for a removed directory
  covers its children, and none is written under a path the upper tree
  replaced by a non-directory (that entry replaces the whole subtree);
- a hard link is compared as the file it links to; it is written as a hard
  link when its target is in this layer too, else as a regular file (a layer
  may not link into a lower one);
- `extra` members (files the declaration adds) replace the upper tree's entry
  of the same path; missing parent directories are made 0755 root.

Names are written without "./", uid/gid numeric (no user or group names, so
no extractor maps them through its own /etc/passwd), in the POSIX pax format.
"""

from __future__ import annotations

import copy
import fnmatch
import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

WHITEOUT_PREFIX = ".wh."
_XATTR = "SCHILY.xattr."


@dataclass(frozen=True)
class Entry:
    """What is compared of one path; a hard link is described as the file it links to."""
    type: str  # "file", "dir", "symlink", "char", "block", "fifo"
    mode: int
    uid: int
    gid: int
    size: int = 0
    digest: str = ""
    linkname: str = ""
    dev: tuple[int, int] = (0, 0)
    xattrs: tuple[tuple[str, str], ...] = ()


@dataclass
class LayerStats:
    added: int = 0
    changed: int = 0
    whiteouts: int = 0
    links_copied: int = 0  # hard links written as regular files
    content_bytes: int = 0
    paths: list[str] = field(default_factory=list)  # every path written, in order (whiteouts as .wh.)


Extra = tuple[tarfile.TarInfo, bytes | None]


def normalize(name: str) -> str:
    """"./etc/passwd" and "/etc/passwd" -> "etc/passwd"; "./" and "." -> "" (the root)."""
    name = posixpath.normpath("/" + name).lstrip("/")
    return "" if name == "." else name


def _xattrs(member: tarfile.TarInfo) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in member.pax_headers.items() if k.startswith(_XATTR)))


_TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file", tarfile.DIRTYPE: "dir",
          tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}


def _digest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    h = hashlib.sha256()
    fh = tar.extractfile(member)
    if fh is not None:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def entry_of(member: tarfile.TarInfo, digest: str = "", target: tarfile.TarInfo | None = None) -> Entry:
    """The Entry of `member`; for a hard link, pass the member it links to as `target`."""
    if member.islnk():
        if target is None:
            raise ValueError(f"{member.name}: hard link without its target")
        member = target
    kind = _TYPES.get(member.type, "other")
    return Entry(kind, member.mode & 0o7777, member.uid, member.gid, member.size if kind == "file" else 0,
                 digest if kind == "file" else "", member.linkname if kind == "symlink" else "",
                 (member.devmajor, member.devminor) if kind in ("char", "block") else (0, 0), _xattrs(member))


def index_tar(path: Path | str) -> dict[str, Entry]:
    """path -> Entry for every member of a tarball but the root (later duplicates win)."""
    out: dict[str, Entry] = {}
    with tarfile.open(path) as tar:
        by_name: dict[str, tarfile.TarInfo] = {}
        digests: dict[str, str] = {}
        for m in tar:
            name = normalize(m.name)
            if not name:
                continue
            if m.islnk():
                target = by_name.get(normalize(m.linkname))
                if target is None:
                    raise ValueError(f"{path}: hard link {name} to {m.linkname}, which comes before nothing")
                out[name] = entry_of(m, digests.get(normalize(target.name), ""), target)
                continue
            by_name[name] = m
            d = _digest(tar, m) if m.isreg() else ""
            digests[name] = d
            out[name] = entry_of(m, d)
    return out


def save_index(index: Mapping[str, Entry], path: Path) -> None:
    doc = {k: asdict(v) for k, v in index.items()}
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"), sort_keys=True)


def load_index(path: Path) -> dict[str, Entry]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        doc = json.load(fh)
    return {k: Entry(v["type"], v["mode"], v["uid"], v["gid"], v["size"], v["digest"], v["linkname"],
                     tuple(v["dev"]), tuple(tuple(x) for x in v["xattrs"])) for k, v in doc.items()}


class PathFilter:
    """dpkg's --path-exclude/--path-include rules (dpkg(1)): in order, the last matching one wins.

    Patterns are shell globs on the absolute path where "*" also matches "/"
    (fnmatch without FNM_PATHNAME, as dpkg uses it). A path no rule matches is
    included.
    """

    def __init__(self, rules: Iterable[tuple[str, str]]):
        self.rules = tuple(rules)
        for action, _ in self.rules:
            if action not in ("exclude", "include"):
                raise ValueError(f"path filter action {action!r} is not exclude or include")

    def excluded(self, path: str) -> bool:
        absolute = "/" + normalize(path)
        out = False
        for action, pattern in self.rules:
            if fnmatch.fnmatchcase(absolute, pattern):
                out = action == "exclude"
        return out

    def dpkg_options(self) -> list[str]:
        return [f"path-{action}={pattern}" for action, pattern in self.rules]


def matches_any(path: str, globs: Sequence[str]) -> bool:
    """True when "/"+path matches one of `globs` (fnmatch, "*" crosses "/")."""
    absolute = "/" + normalize(path)
    return any(fnmatch.fnmatchcase(absolute, g) for g in globs)


def _clean(member: tarfile.TarInfo, name: str) -> tarfile.TarInfo:
    info = copy.copy(member)
    info.name = name
    info.uname = info.gname = ""
    info.pax_headers = {k: v for k, v in member.pax_headers.items() if k.startswith(_XATTR)}
    return info


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def write_layer(lower: Mapping[str, Entry], upper: Path | str, out: Path | str, *,
                keep: Callable[[str, bool], bool] = lambda path, in_lower: True,
                extra: Sequence[Extra] = (), whiteout_mtime: int = 0) -> LayerStats:
    """Write to `out` the layer that turns the `lower` tree into `upper` (+ `extra`).

    lower: index_tar() of the layers below (empty for a first layer).
    upper: a tarball of the whole tree the layer must produce.
    keep(path, in_lower): False leaves an upper path out, as if the upper tree did not
      have it (a whiteout follows when the lower tree has it).
    extra: (TarInfo, data) members that replace the upper entry of their path.
    Returns counts and the written paths. ValueError for a malformed upper tarball.
    """
    stats = LayerStats()
    extras = {normalize(info.name): (info, data) for info, data in extra}
    with tarfile.open(upper) as tar, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dest:
        members: dict[str, tarfile.TarInfo] = {}
        order: list[str] = []
        for m in tar.getmembers():
            name = normalize(m.name)
            if not name:
                continue
            if name not in members:
                order.append(name)
            members[name] = m
        present: set[str] = set()
        dropped: set[str] = set()
        for name in order:
            if any(p in dropped for p in _parents(name)) or (name not in extras and not keep(name, name in lower)):
                dropped.add(name)  # and everything under it
            elif name not in extras:
                present.add(name)
        emitted: set[str] = set()

        def emit(info: tarfile.TarInfo, data, size: int = 0) -> None:
            dest.addfile(info, data)
            name = normalize(info.name)
            emitted.add(name)
            stats.paths.append(name)
            stats.content_bytes += size

        digests: dict[str, str] = {}
        for name in order:
            if name not in present:
                continue
            m = members[name]
            target = None
            if m.islnk():
                target = members.get(normalize(m.linkname))
                if target is None:
                    raise ValueError(f"{upper}: hard link {name} to {m.linkname}, which the tarball lacks")
            before = lower.get(name)
            source = target if target is not None else m
            if before is not None and before == entry_of(m, before.digest, target):
                # same metadata; same bytes?
                tname = normalize(source.name)
                if source.isreg() and tname not in digests:
                    digests[tname] = _digest(tar, source)
                if not source.isreg() or digests[tname] == before.digest:
                    continue
            if before is None:
                stats.added += 1
            else:
                stats.changed += 1
            if target is not None:
                tname = normalize(target.name)
                if tname in emitted and tname in present:
                    link = _clean(m, name)
                    link.linkname = tname
                    emit(link, None)
                else:
                    copied = _clean(target, name)
                    emit(copied, tar.extractfile(target), target.size)
                    stats.links_copied += 1
            else:
                emit(_clean(m, name), tar.extractfile(m) if m.isreg() else None, m.size if m.isreg() else 0)

        made: set[str] = set()
        for name in sorted(extras):
            info, data = extras[name]
            for parent in _parents(name):
                if parent not in present and parent not in extras and parent not in made:
                    d = tarfile.TarInfo(parent)
                    d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, info.mtime
                    emit(d, None)
                    made.add(parent)
                    if parent in lower:
                        stats.changed += 1
                    else:
                        stats.added += 1
            info = _clean(info, name)
            if data is not None:
                info.size = len(data)
            if name in lower:
                stats.changed += 1
            else:
                stats.added += 1
            emit(info, io.BytesIO(data) if data is not None else None, len(data or b""))

        after = present | set(extras) | made
        non_dirs = {n for n in present if not members[n].isdir()} | \
                   {n for n, (info, _) in extras.items() if not info.isdir()}
        gone = sorted(n for n in lower if n not in after)
        gone_set = set(gone)
        for name in gone:
            parents = _parents(name)
            if any(p in gone_set or p in non_dirs for p in parents):
                continue  # covered by the parent's whiteout, or replaced with the parent
            parent, base = posixpath.split(name)
            w = tarfile.TarInfo(posixpath.join(parent, WHITEOUT_PREFIX + base))
            w.mode, w.mtime = 0o644, whiteout_mtime
            emit(w, io.BytesIO(b""))
            stats.whiteouts += 1
    return stats


def file_member(path: str, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0, mtime: int = 0) -> Extra:
    info = tarfile.TarInfo(normalize(path))
    info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, mtime
    return info, data


def dir_member(path: str, mode: int = 0o755, uid: int = 0, gid: int = 0, mtime: int = 0) -> Extra:
    info = tarfile.TarInfo(normalize(path))
    info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.DIRTYPE, mode, uid, gid, mtime
    return info, None


def symlink_member(path: str, target: str, mtime: int = 0) -> Extra:
    info = tarfile.TarInfo(normalize(path))
    info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, mtime
    return info, None
