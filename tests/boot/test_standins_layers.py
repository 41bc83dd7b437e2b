"""The layer diff (stoker.boot.standins.layers): a layer applied on the lower tree gives the upper tree.

Trees are built as tarballs here (no tools needed); `apply` below is the OCI
image-spec's layer semantics (layer.md): entries replace, `.wh.NAME` removes
NAME and everything under it, a non-directory replaces a whole subtree.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stoker.boot.standins import layers
from stoker.boot.standins.layers import PathFilter, index_tar, load_index, save_index, write_layer

# -- building trees -------------------------------------------------------------------------------


def make_tar(path: Path, entries: list[tuple], prefix: str = "./") -> Path:
    """entries: ("dir", name, mode, uid, gid) | ("file", name, data, mode, uid, gid[, xattrs])
    | ("symlink", name, target) | ("hardlink", name, target) | ("char", name, major, minor); "./" prefixed."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        root = tarfile.TarInfo(prefix)
        root.type, root.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(root)
        for e in entries:
            kind, name = e[0], prefix + e[1]
            info = tarfile.TarInfo(name)
            info.mtime = 1000
            data = None
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode, info.uid, info.gid = (e[2], e[3], e[4]) if len(e) > 2 else (0o755, 0, 0)
            elif kind == "file":
                raw = e[2]
                info.size = len(raw)
                info.mode, info.uid, info.gid = (e[3], e[4], e[5]) if len(e) > 3 else (0o644, 0, 0)
                if len(e) > 6:
                    info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in e[6].items()}
                data = io.BytesIO(raw)
            elif kind == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, e[2], 0o777
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, prefix + e[2]
            elif kind == "char":
                info.type, info.devmajor, info.devminor, info.mode = tarfile.CHRTYPE, e[2], e[3], 0o666
            info.uname = info.gname = "someone"
            tar.addfile(info, data)
    return path


def tree_of(path: Path) -> dict[str, tuple]:
    """path -> (type, mode, uid, gid, content digest or link target) of a tarball, hard links resolved."""
    out = {}
    for name, e in index_tar(path).items():
        out[name] = (e.type, e.mode, e.uid, e.gid, e.digest or e.linkname, e.xattrs)
    return out


def apply(lower: dict[str, tuple], layer: Path) -> dict[str, tuple]:
    """The tree a runtime gets by extracting `layer` over `lower` (OCI layer semantics)."""
    tree = dict(lower)

    def drop_subtree(name: str) -> None:
        for p in [p for p in tree if p == name or p.startswith(name + "/")]:
            del tree[p]

    with tarfile.open(layer) as tar:
        seen: dict[str, tuple] = {}
        for m in tar:
            name = layers.normalize(m.name)
            parent, base = name.rpartition("/")[0], name.rpartition("/")[2]
            assert not parent or parent in tree or parent in seen, f"{name}: parent missing"
            if base.startswith(layers.WHITEOUT_PREFIX):
                drop_subtree(f"{parent}/{base[4:]}" if parent else base[4:])
                continue
            if m.islnk():
                target = layers.normalize(m.linkname)
                assert target in seen, f"hard link {name} -> {target}: target not in this layer"
                value = seen[target]
            else:
                digest = ""
                if m.isreg():
                    digest = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
                kind = {tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char"}.get(m.type,
                                                                                                         "file")
                value = (kind, m.mode & 0o7777, m.uid, m.gid, digest or (m.linkname if m.issym() else ""),
                         tuple(sorted((k, v) for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr."))))
                assert m.uname == "" and m.gname == "", "names must not be written"
                assert not m.name.startswith(("./", "/"))
            if not (value[0] == "dir" and tree.get(name, ("",))[0] == "dir"):
                drop_subtree(name)
            tree[name] = value
            seen[name] = value
    return tree


def layer_between(tmp: Path, lower: list[tuple], upper: list[tuple], **kw) -> tuple[Path, layers.LayerStats,
                                                                                      Path, Path]:
    lo = make_tar(tmp / "lower.tar", lower)
    up = make_tar(tmp / "upper.tar", upper)
    out = tmp / "layer.tar"
    stats = write_layer(index_tar(lo), up, out, **kw)
    return out, stats, lo, up


def names(layer: Path) -> list[str]:
    with tarfile.open(layer) as tar:
        return [m.name for m in tar]


BASE = [("dir", "etc"), ("file", "etc/passwd", b"root:x:0:0\n"), ("file", "etc/group", b"root:x:0:\n"),
        ("dir", "usr"), ("dir", "usr/bin"), ("file", "usr/bin/tool", b"\x7fELF tool", 0o755, 0, 0),
        ("symlink", "bin", "usr/bin"), ("dir", "var"), ("dir", "var/lib"), ("dir", "var/lib/thing"),
        ("file", "var/lib/thing/a", b"a"), ("file", "var/lib/thing/b", b"b")]

# -- the changeset --------------------------------------------------------------------------------


def test_only_new_and_changed_entries(tmp_path):
    upper = [e if e[1] != "etc/passwd" else ("file", "etc/passwd", b"root:x:0:0\nnginx:x:101:101\n")
             for e in BASE] + [("dir", "etc/nginx"), ("file", "etc/nginx/nginx.conf", b"user nginx;\n")]
    layer, stats, lo, up = layer_between(tmp_path, BASE, upper)
    assert names(layer) == ["etc/passwd", "etc/nginx", "etc/nginx/nginx.conf"]
    assert (stats.added, stats.changed, stats.whiteouts) == (2, 1, 0)
    assert apply(tree_of(lo), layer) == tree_of(up)


@pytest.mark.parametrize("change", [
    ("file", "usr/bin/tool", b"\x7fELF tool", 0o4755, 0, 0),       # mode (setuid)
    ("file", "usr/bin/tool", b"\x7fELF tool", 0o755, 101, 0),      # owner
    ("file", "usr/bin/tool", b"\x7fELF tool", 0o755, 0, 26),       # group
    ("file", "usr/bin/tool", b"\x7fELF TOOL", 0o755, 0, 0),        # same size, other bytes
    ("file", "usr/bin/tool", b"\x7fELF tool", 0o755, 0, 0, {"security.capability": "x"}),  # xattrs
])
def test_each_kind_of_metadata_change_is_seen(tmp_path, change):
    upper = [change if e[1] == "usr/bin/tool" else e for e in BASE]
    layer, stats, lo, up = layer_between(tmp_path, BASE, upper)
    assert names(layer) == ["usr/bin/tool"]
    assert apply(tree_of(lo), layer) == tree_of(up)


def test_modification_times_alone_change_nothing(tmp_path):
    lo = make_tar(tmp_path / "lower.tar", BASE)
    up = tmp_path / "upper.tar"
    with tarfile.open(lo) as src, tarfile.open(up, "w", format=tarfile.PAX_FORMAT) as dest:
        for m in src:
            m.mtime += 86400
            dest.addfile(m, src.extractfile(m) if m.isreg() else None)
    stats = write_layer(index_tar(lo), up, tmp_path / "layer.tar")
    assert names(tmp_path / "layer.tar") == [] and stats.paths == []


def test_directory_metadata_change_writes_the_directory_only(tmp_path):
    upper = [("dir", "var/lib/thing", 0o700, 26, 26) if e[1] == "var/lib/thing" else e for e in BASE]
    layer, _, lo, up = layer_between(tmp_path, BASE, upper)
    assert names(layer) == ["var/lib/thing"]
    assert apply(tree_of(lo), layer) == tree_of(up)


def test_symlink_target_change(tmp_path):
    upper = [("symlink", "bin", "/usr/local/bin") if e[1] == "bin" else e for e in BASE]
    layer, _, lo, up = layer_between(tmp_path, BASE, upper)
    with tarfile.open(layer) as tar:
        (m,) = tar.getmembers()
        assert (m.name, m.issym(), m.linkname) == ("bin", True, "/usr/local/bin")
    assert apply(tree_of(lo), layer) == tree_of(up)


# -- whiteouts ------------------------------------------------------------------------------------


def test_removed_file_gets_a_whiteout_beside_it(tmp_path):
    upper = [e for e in BASE if e[1] != "var/lib/thing/b"]
    layer, stats, lo, up = layer_between(tmp_path, BASE, upper)
    assert names(layer) == ["var/lib/thing/.wh.b"]
    assert stats.whiteouts == 1
    with tarfile.open(layer) as tar:
        (w,) = tar.getmembers()
        assert w.isreg() and w.size == 0
    assert apply(tree_of(lo), layer) == tree_of(up)


def test_removed_directory_gets_one_whiteout_for_its_subtree(tmp_path):
    upper = [e for e in BASE if not e[1].startswith("var/lib/thing")]
    layer, stats, lo, up = layer_between(tmp_path, BASE, upper)
    assert names(layer) == ["var/lib/.wh.thing"] and stats.whiteouts == 1
    assert apply(tree_of(lo), layer) == tree_of(up)


def test_removed_top_level_entry(tmp_path):
    upper = [e for e in BASE if e[1] != "bin"]
    layer, _, lo, up = layer_between(tmp_path, BASE, upper)
    assert names(layer) == [".wh.bin"]
    assert apply(tree_of(lo), layer) == tree_of(up)


def test_directory_replaced_by_a_file_needs_no_whiteouts_below_it(tmp_path):
    upper = [e for e in BASE if not e[1].startswith("var/lib/thing")] + [("file", "var/lib/thing", b"now a file")]
    layer, stats, lo, up = layer_between(tmp_path, BASE, upper)
    assert names(layer) == ["var/lib/thing"] and stats.whiteouts == 0
    assert apply(tree_of(lo), layer) == tree_of(up)


def test_file_replaced_by_a_directory(tmp_path):
    upper = [e for e in BASE if e[1] != "etc/group"] + [("dir", "etc/group"), ("file", "etc/group/x", b"x")]
    layer, _, lo, up = layer_between(tmp_path, BASE, upper)
    assert names(layer) == ["etc/group", "etc/group/x"]
    assert apply(tree_of(lo), layer) == tree_of(up)


# -- hard links -----------------------------------------------------------------------------------


def test_new_file_and_its_new_hard_link_stay_linked(tmp_path):
    upper = BASE + [("file", "usr/bin/perl5.40", b"perl", 0o755, 0, 0), ("hardlink", "usr/bin/perl", "usr/bin/perl5.40")]
    layer, stats, lo, up = layer_between(tmp_path, BASE, upper)
    with tarfile.open(layer) as tar:
        link = tar.getmember("usr/bin/perl")
        assert link.islnk() and link.linkname == "usr/bin/perl5.40"  # normalized like the member names
    assert stats.links_copied == 0
    assert apply(tree_of(lo), layer) == tree_of(up)


def test_new_hard_link_to_an_unchanged_lower_file_is_written_as_a_file(tmp_path):
    upper = BASE + [("hardlink", "usr/bin/tool2", "usr/bin/tool")]
    layer, stats, lo, up = layer_between(tmp_path, BASE, upper)
    with tarfile.open(layer) as tar:
        (m,) = tar.getmembers()
        assert m.name == "usr/bin/tool2" and m.isreg() and tar.extractfile(m).read() == b"\x7fELF tool"
        assert m.mode == 0o755
    assert stats.links_copied == 1
    assert apply(tree_of(lo), layer) == tree_of(up)


def test_hard_link_whose_target_changed_is_written_again(tmp_path):
    lower = BASE + [("hardlink", "usr/bin/tool2", "usr/bin/tool")]
    upper = [("file", "usr/bin/tool", b"\x7fELF new", 0o755, 0, 0) if e[1] == "usr/bin/tool" else e for e in lower]
    layer, _, lo, up = layer_between(tmp_path, lower, upper)
    assert names(layer) == ["usr/bin/tool", "usr/bin/tool2"]
    assert apply(tree_of(lo), layer) == tree_of(up)


def test_unchanged_hard_link_is_not_written(tmp_path):
    lower = BASE + [("hardlink", "usr/bin/tool2", "usr/bin/tool")]
    layer, _, lo, up = layer_between(tmp_path, lower, list(lower))
    assert names(layer) == []


def test_hard_link_equal_to_a_lower_regular_file_is_unchanged(tmp_path):
    # the same bytes and metadata, once a regular file, now a link to an identical file
    lower = BASE + [("file", "usr/bin/tool2", b"\x7fELF tool", 0o755, 0, 0)]
    upper = BASE + [("hardlink", "usr/bin/tool2", "usr/bin/tool")]
    layer, _, _, _ = layer_between(tmp_path, lower, upper)
    assert names(layer) == []


def test_hard_link_to_a_left_out_file_is_written_as_a_file(tmp_path):
    upper = BASE + [("file", "opt/big", b"big"), ("hardlink", "opt/big2", "opt/big")]
    upper.insert(len(BASE), ("dir", "opt"))
    layer, stats, _, _ = layer_between(tmp_path, BASE, upper, keep=lambda p, in_lower: p != "opt/big")
    with tarfile.open(layer) as tar:
        assert tar.getmember("opt/big2").isreg() and "opt/big" not in tar.getnames()
    assert stats.links_copied == 1


# -- filters and extras ---------------------------------------------------------------------------


def test_keep_false_leaves_new_paths_out_and_whiteouts_lower_ones(tmp_path):
    upper = BASE + [("dir", "usr/share"), ("dir", "usr/share/doc"), ("file", "usr/share/doc/README", b"r")]
    layer, _, _, _ = layer_between(tmp_path, BASE, upper,
                                   keep=lambda p, in_lower: not p.startswith(("usr/share/doc", "etc/group")))
    assert names(layer) == ["usr/share", "etc/.wh.group"]


def test_children_of_a_left_out_directory_are_left_out(tmp_path):
    upper = BASE + [("dir", "opt"), ("dir", "opt/x"), ("file", "opt/x/y", b"y")]
    layer, _, _, _ = layer_between(tmp_path, BASE, upper, keep=lambda p, in_lower: p != "opt/x")
    assert names(layer) == ["opt"]


def test_device_nodes_can_be_dropped(tmp_path):
    upper = BASE + [("dir", "dev"), ("char", "dev/null", 1, 3)]
    layer, _, _, _ = layer_between(tmp_path, BASE, upper,
                                   keep=lambda p, in_lower: not layers.matches_any(p, ("/dev/*",)))
    assert names(layer) == ["dev"]


def test_extras_replace_upper_entries_and_get_parents(tmp_path):
    extra = [layers.file_member("/etc/passwd", b"declared\n", 0o644, 0, 0),
             layers.dir_member("/var/lib/pgsql/data", 0o700, 26, 26),
             layers.symlink_member("/usr/local/bin/run", "stoker-standin")]
    layer, stats, lo, up = layer_between(tmp_path, BASE, BASE, extra=extra)
    assert names(layer) == ["etc/passwd", "usr/local", "usr/local/bin", "usr/local/bin/run", "var/lib/pgsql",
                            "var/lib/pgsql/data"]
    with tarfile.open(layer) as tar:
        data = tar.getmember("var/lib/pgsql/data")
        assert (data.isdir(), data.mode, data.uid, data.gid) == (True, 0o700, 26, 26)
        assert tar.extractfile("etc/passwd").read() == b"declared\n"
    tree = apply(tree_of(lo), layer)
    assert tree["etc/passwd"][4] == hashlib.sha256(b"declared\n").hexdigest()


def test_extra_inside_a_directory_the_upper_tree_removed(tmp_path):
    upper = [e for e in BASE if not e[1].startswith("var/lib/thing")]
    layer, _, lo, _ = layer_between(tmp_path, BASE, upper, extra=[layers.file_member("var/lib/thing/new", b"n")])
    tree = apply(tree_of(lo), layer)
    assert "var/lib/thing/new" in tree and "var/lib/thing/a" not in tree


def test_bad_hard_link_is_a_value_error(tmp_path):
    up = make_tar(tmp_path / "upper.tar", BASE + [("hardlink", "x", "nowhere")])
    with pytest.raises(ValueError, match="lacks"):
        write_layer({}, up, tmp_path / "layer.tar")


def test_index_round_trip(tmp_path):
    lo = make_tar(tmp_path / "lower.tar", BASE + [("file", "x", b"x", 0o600, 5, 6, {"user.a": "b"}),
                                                 ("hardlink", "y", "x"), ("char", "z", 1, 3)])
    index = index_tar(lo)
    save_index(index, tmp_path / "i.json.gz")
    assert load_index(tmp_path / "i.json.gz") == index
    assert index["y"] == index["x"] and index["z"].dev == (1, 3)


def test_names_without_dot_slash_and_root_skipped(tmp_path):
    lo = make_tar(tmp_path / "lower.tar", BASE, prefix="")
    assert "" not in index_tar(lo) and "etc/passwd" in index_tar(lo)
    assert layers.normalize("./") == "" and layers.normalize("/a/b/") == "a/b" and layers.normalize("./a") == "a"


def test_dpkg_path_filter_last_match_wins():
    f = PathFilter((("exclude", "/usr/share/doc/*"), ("include", "/usr/share/doc/*/copyright"),
                    ("exclude", "/usr/share/man/*")))
    assert f.excluded("usr/share/doc/nginx/changelog.gz")
    assert not f.excluded("./usr/share/doc/nginx/copyright")
    assert f.excluded("usr/share/man/man1/x.1.gz") and not f.excluded("usr/bin/x")
    assert f.dpkg_options()[1] == "path-include=/usr/share/doc/*/copyright"
    with pytest.raises(ValueError):
        PathFilter((("drop", "/x"),))


# -- any trees ------------------------------------------------------------------------------------

_names = st.sampled_from(["a", "b", "c"])
_paths = st.lists(_names, min_size=1, max_size=3).map("/".join)
_node = st.one_of(
    st.tuples(st.just("file"), st.binary(max_size=3), st.sampled_from([0o644, 0o755]), st.sampled_from([0, 26])),
    st.tuples(st.just("dir"), st.sampled_from([0o755, 0o700]), st.sampled_from([0, 26])),
    st.tuples(st.just("symlink"), st.sampled_from(["a", "/b"])),
    st.tuples(st.just("hardlink")),
)


def _entries(spec: dict[str, tuple]) -> list[tuple]:
    """A valid tree from random path -> node: parents made directories, hard links to earlier files."""
    tree: dict[str, tuple] = {}
    for path, node in sorted(spec.items()):
        parts = path.split("/")
        if any(tree.get("/".join(parts[:i]), ("dir",))[0] != "dir" for i in range(1, len(parts))):
            continue
        for i in range(1, len(parts)):
            tree.setdefault("/".join(parts[:i]), ("dir", 0o755, 0))
        tree[path] = node
    out, files = [], []
    for path in sorted(tree):
        node = tree[path]
        if node[0] == "file":
            out.append(("file", path, node[1], node[2], node[3], 0))
            files.append(path)
        elif node[0] == "dir":
            out.append(("dir", path, node[1], node[2], 0))
        elif node[0] == "symlink":
            out.append(("symlink", path, node[1]))
        elif files:
            out.append(("hardlink", path, files[0]))
        else:
            out.append(("file", path, b"", 0o644, 0, 0))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lower=st.dictionaries(_paths, _node, max_size=8), upper=st.dictionaries(_paths, _node, max_size=8))
def test_layer_applied_to_lower_gives_upper(tmp_path, lower, upper):
    lo = make_tar(tmp_path / "lower.tar", _entries(lower))
    up = make_tar(tmp_path / "upper.tar", _entries(upper))
    write_layer(index_tar(lo), up, tmp_path / "layer.tar")
    assert apply(tree_of(lo), tmp_path / "layer.tar") == tree_of(up)
