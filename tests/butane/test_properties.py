"""Property tests for every registered spec: generated VALID Butane configs of every
fcos spec (1.0.0-1.7.0 and 1.8.0-experimental) translate, and the output keeps the
promises of SPEC §2, §3, §6-§10 and SPEC-VARIANTS §4-§5; a field of a later fcos
version is an unused key in the earlier ones; the same documents as openshift ones
(4.8.0-4.22.0, 4.23.0-experimental) translate as SPEC-VARIANTS §7 says, and as
flatcar, r4e and fiot ones (every version) as the fcos release with the same Ignition
spec plus the variant's field filters (SPEC-VARIANTS §3, §6). The tests run once per
spec version, so every version is generated in every run.

Each example is a Python dict dumped with yaml.safe_dump (every string scalar gets a
randomly chosen style: plain where PyYAML allows it, single, double or literal), plus
a temporary files directory with local files, ssh key files, unit files and trees. A
case uses a field only from the fcos version that introduced it (SINCE).
The properties:

- translation succeeds, and the CLI agrees with the library;
- the output names its Ignition spec version and validates against that version's JSON
  Schema (stoker.ignition.check_schema);
- every data URL decodes (percent or base64, gunzip when compression is gzip) to
  exactly the input bytes (1.0.0: always percent-encoded, no compression field); unit
  and dropin contents and ssh keys are carried over;
- trees and quadlets give the files, links and directories SPEC §7 and SPEC-VARIANTS §5
  describe, with their modes; mount units, boot_device and grub give the units, disks,
  RAIDs, LUKS volumes and filesystems SPEC §6, §8 and §9 describe, before the user's;
- translation is deterministic, and compact and pretty outputs parse the same;
- every path the CLI's --raw-errors reports (warnings only: the configs are valid)
  exists in the input document;
- the output is written as Go's encoding/json writes it; other YAML scalar styles give
  the same JSON; --strict fails exactly when there are report entries.

STOKER_PROPERTY_SCALE=N multiplies the number of examples (the default keeps the file
well under 30 s).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
import tempfile
import urllib.parse
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stoker.butane import translate
from stoker.cli import main

try:
    from stoker.ignition import check_schema
except ImportError:  # the Ignition module is written separately
    check_schema = None

# Every fcos spec and the Ignition spec it produces (SPEC §0.2, SPEC-VARIANTS §1).
EXP = "3.7.0-experimental"
IGNITION = {"1.0.0": "3.0.0", "1.1.0": "3.1.0", "1.2.0": "3.2.0", "1.3.0": "3.2.0",
            "1.4.0": "3.3.0", "1.5.0": "3.4.0", "1.6.0": "3.5.0", "1.7.0": "3.6.0",
            "1.8.0-experimental": EXP}
VERSIONS = list(IGNITION)

# The fcos minor that introduced each input field or behaviour the cases use, written
# from SPEC-VARIANTS §1 (what each base adds) and §4.1, SPEC §14 (not from stoker's
# tables): the strategy uses a field only from there on, and
# test_later_fields_are_unused_keys puts each one into the versions before it.
SINCE = {
    "local": 1,  # contents/append/key_file local, and merge/replace/CA as full Resources
    "proxy": 1, "trees": 1, "mount_options": 1, "with_mount_unit": 1, "http_headers": 1,
    "luks": 2, "resize": 2, "should_exist": 2,  # and Tang mounts are remote
    "boot_device": 3,
    "kernel_arguments": 4, "swap_units": 4,
    "contents_local": 5, "ssh_authorized_keys_local": 5, "grub": 5, "discard": 5,
    "open_options": 5, "advertisement": 5,
    "cex": 6, "boot_luks_device": 6,
    "tree_owner": 7,  # trees: user, group, file_mode, dir_mode
    "quadlets": 8,
}

# STOKER_PROPERTY_SCALE=20 runs twenty times as many examples (a longer hunt for bugs).
SCALE = float(os.environ.get("STOKER_PROPERTY_SCALE", "1"))


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


def per_version(n: int) -> settings:
    """Settings for a test run once per spec version (pytest parametrize): n examples
    each, so that every version is generated in every run."""
    return settings(max_examples=examples(n), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------- strategies

# Any text YAML can carry: no surrogates (not UTF-8 encodable).
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
# Text that compresses well, so the gzip branch of SPEC §3 is taken too.
REPEATED_TEXT = st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=6), st.integers(20, 200))
INLINE_TEXT = st.one_of(ANY_TEXT, REPEATED_TEXT, st.just(""))
BINARY = st.one_of(st.binary(max_size=600),
                   st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=8),
                             st.integers(20, 300)))
NAME_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_.@+ é")
SEGMENT = st.text(NAME_CHARS, min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
WORD = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=10)
# One line of a unit file: printable, no backslash at the end, no leading "[".
UNIT_LINE = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                                  blacklist_characters="\\[#;"), max_size=40).map(str.strip)
MODE = st.one_of(st.integers(0, 0o7777), st.sampled_from([0o644, 0o755, 0o600, 0o400, 644, 755]))
STYLES = [None, None, "'", '"', "|"]


@dataclass
class Case:
    version: str
    doc: dict = field(default_factory=dict)
    local: dict[str, bytes] = field(default_factory=dict)  # files dir: relative path -> bytes
    trees: dict[str, dict] = field(default_factory=dict)  # files dir: tree dir -> structure
    files: dict[str, dict] = field(default_factory=dict)  # output path -> expectations
    links: dict[str, str] = field(default_factory=dict)  # output path -> target
    dirs: dict[str, int | None] = field(default_factory=dict)  # output path -> mode
    units: dict[str, dict] = field(default_factory=dict)  # name -> expectations
    keys: dict[str, list[str]] = field(default_factory=dict)  # user -> ssh keys
    resources: dict[tuple, bytes] = field(default_factory=dict)  # output path -> bytes
    # storage.disks/raid/filesystems/luks as output (luks without keyFile), in order
    storage: dict[str, list] = field(default_factory=lambda: {
        "disks": [], "raid": [], "filesystems": [], "luks": []})
    should_exist: dict[str, bool | None] = field(default_factory=dict)  # user -> shouldExist
    gzipped: list[bytes] = field(default_factory=list)  # local files the user marked gzip
    styles: int = 0  # seed for the scalar styles

    @property
    def minor(self) -> int:
        return int(self.version.split(".")[1])

    def has(self, feature: str) -> bool:
        return self.minor >= SINCE[feature]


def _owner(draw):
    return draw(st.one_of(st.none(), st.builds(lambda n: {"name": n}, st.one_of(
        st.sampled_from(["core", "root", "user0"]), ANY_TEXT.filter(bool))),
        st.builds(lambda i: {"id": i}, st.integers(0, 2**31 - 1))))


def _resource(draw, case: Case, label: str, with_local: bool) -> tuple[dict, bytes]:
    """An inline or local resource and the bytes it must decode to (1.0.0: inline
    only, and no compression field: SPEC-VARIANTS §4)."""
    with_local = with_local and case.has("local")
    kind = draw(st.sampled_from(["inline", "local", "local-gzip"] if with_local else ["inline"]))
    if kind == "inline":
        text = draw(INLINE_TEXT)
        res = {"inline": text}
        if case.has("local") and draw(st.booleans()) and draw(st.booleans()):
            res["compression"] = ""
        return res, text.encode("utf-8")
    data = draw(BINARY)
    name = draw(st.sampled_from([f"{label}.bin", f"sub/{label}", f"./{label}.x", f"/{label}"]))
    rel = os.path.normpath(name.lstrip("/"))
    if kind == "local-gzip":  # the user's compression is kept; nothing is compressed again
        case.local[rel] = gzip.compress(data)
        case.gzipped.append(case.local[rel])
        return {"local": name, "compression": "gzip"}, data
    case.local[rel] = data
    return {"local": name}, data


def _unit_text(draw, install: bool) -> str:
    lines = ["[Unit]", "Description=" + draw(UNIT_LINE), "", "[Service]", "Type=oneshot",
             "ExecStart=/usr/bin/echo " + draw(WORD)]
    if install:
        lines += ["", "[Install]", "WantedBy=multi-user.target"]
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


def _tree_structure(draw, depth: int) -> dict:
    """name -> bytes+mode (file) | ("link", target) | dict (subdirectory)."""
    out = {}
    for _ in range(draw(st.integers(0 if depth else 1, 3))):
        name = draw(SEGMENT)
        choice = draw(st.sampled_from(["file", "file", "link", "dir"] if depth < 2
                                      else ["file", "link"]))
        if choice == "file":
            out[name] = (draw(BINARY), draw(st.sampled_from([0o644, 0o600, 0o755, 0o700, 0o640,
                                                             0o744])))
        elif choice == "link":
            out[name] = ("link", draw(st.sampled_from(["../x", "/etc/hostname", "target",
                                                        "a/b c", "/nonexistent/é"])))
        else:
            out[name] = _tree_structure(draw, depth + 1)
    return out


@st.composite
def cases(draw, versions=tuple(VERSIONS)) -> Case:
    case = Case(draw(st.sampled_from(versions)))
    case.styles = draw(st.integers(0, 2**32))
    doc = case.doc
    doc["variant"] = "fcos"
    doc["version"] = case.version
    storage: dict = {}
    files: list = []

    # storage.files: inline or local contents, appends, modes, owners.
    for i in range(draw(st.integers(0, 5))):
        path = f"/etc/stoker/f{i}-{draw(SEGMENT)}"
        entry: dict = {"path": path}
        want = {"contents": None, "append": [], "mode": None}
        if draw(st.booleans()):
            entry["contents"], want["contents"] = _resource(draw, case, f"f{i}", True)
            if draw(st.booleans()):
                entry["overwrite"] = draw(st.booleans())
        for j in range(draw(st.integers(0, 2))):
            res, data = _resource(draw, case, f"f{i}a{j}", True)
            entry.setdefault("append", []).append(res)
            want["append"].append(data)
        if draw(st.booleans()):
            entry["mode"] = want["mode"] = draw(MODE)
        for key in ("user", "group"):
            owner = _owner(draw)
            if owner:
                entry[key] = owner
        files.append(entry)
        case.files[path] = want

    directories = []
    for i in range(draw(st.integers(0, 3))):
        path = f"/var/lib/stoker/d{i}-{draw(SEGMENT)}"
        entry = {"path": path}
        if draw(st.booleans()):
            entry["mode"] = draw(MODE)
        owner = _owner(draw)
        if owner:
            entry["user"] = owner
        directories.append(entry)
        case.dirs[path] = entry.get("mode")

    links = []
    for i in range(draw(st.integers(0, 3))):
        path = f"/etc/stoker-links/l{i}-{draw(SEGMENT)}"
        target = draw(st.sampled_from(["/etc/stoker/x", "../relative", "/usr/bin/bash"]))
        entry = {"path": path, "target": target}
        if draw(st.booleans()):
            entry["hard"] = False
        links.append(entry)
        case.links[path] = target

    # LUKS (1.2.0+): key file, clevis (tpm2 or Tang), 1.6.0+ cex (SPEC-VARIANTS §1 v0_3).
    luks, tang_luks = [], set()
    if case.has("luks"):
        for i in range(draw(st.sampled_from([0, 0, 1, 2]))):
            name = f"stoker-luks{i}"
            entry = {"name": name, "device": f"/dev/disk/by-partlabel/luks{i}"}
            want = dict(entry)
            method = draw(st.sampled_from(["none", "tpm2", "tang", "tang"]
                                          + (["cex"] if case.has("cex") else [])))
            if method != "cex" and draw(st.booleans()):
                entry["key_file"], data = _resource(draw, case, f"luks{i}-key", True)
                # by name: boot_device's volume may come first (SPEC §10)
                case.resources[("storage", "luks", ("name", name), "keyFile")] = data
            if method == "tpm2":  # a set false is a set clevis too (SPEC-VARIANTS §3)
                entry["clevis"] = {"tpm2": draw(st.booleans())}
                want["clevis"] = {"tpm2": entry["clevis"]["tpm2"]}
            elif method == "tang":
                tangs = []
                for j in range(draw(st.integers(1, 2))):
                    tang = {"url": f"https://tang{j}.example.com", "thumbprint": draw(WORD)}
                    if case.has("advertisement") and draw(st.booleans()):
                        tang["advertisement"] = '{"payload": "e30", "signatures": []}'
                    tangs.append(tang)
                entry["clevis"] = {"tang": tangs}
                want["clevis"] = {"tang": [dict(t) for t in tangs]}
                if draw(st.booleans()):
                    entry["clevis"]["threshold"] = want["clevis"]["threshold"] = 1
                tang_luks.add(name)
            elif method == "cex":
                entry["cex"] = {"enabled": draw(st.booleans())}
                want["cex"] = dict(entry["cex"])
            if draw(st.booleans()):
                entry["label"] = want["label"] = f"luks-data{i}"
            if draw(st.booleans()):
                entry["options"] = want["options"] = draw(st.sampled_from(
                    [["--type", "luks2"], ["--cipher", "aes-xts-plain64"],
                     ["--cipher=aes-xts-plain64"], ["-c", "aes-xts-plain64"]]))
            if case.has("discard") and draw(st.booleans()):
                entry["discard"] = want["discard"] = draw(st.booleans())
            if case.has("open_options") and draw(st.booleans()):
                entry["open_options"] = want["openOptions"] = ["--allow-discards"]
            if draw(st.booleans()):
                entry["wipe_volume"] = want["wipeVolume"] = draw(st.booleans())
            luks.append(entry)
            case.storage["luks"].append(want)

    # Filesystems under /var, some (1.1.0+) with a mount unit (SPEC §6), on a LUKS volume
    # with Tang a remote one (1.2.0+); maybe a swap (1.1.0-1.3.0: a .mount unit of
    # Type=swap that needs a path, SPEC-VARIANTS §4.2).
    filesystems, overrides = [], []
    for i in range(draw(st.integers(0, 2))):
        where = draw(st.sampled_from([f"/var/mnt/data{i}", f"/var/mnt/d{i}-{draw(SEGMENT)}",
                                      f"/var/d{i}/{draw(SEGMENT)}/x"]))
        devices = [f"/dev/disk/by-label/data{i}", f"/dev/vd{'bcd'[i]}",
                   f"/dev/disk/by-partlabel/data-{i}"]
        if i < len(luks) and draw(st.booleans()):  # on a LUKS volume
            devices = [f"/dev/mapper/{luks[i]['name']}",
                       f"/dev/disk/by-id/dm-name-{luks[i]['name']}"]
        device = draw(st.sampled_from(devices))
        remote = any(device in (f"/dev/mapper/{n}", f"/dev/disk/by-id/dm-name-{n}")
                     for n in tang_luks)
        fs = {"device": device, "format": draw(st.sampled_from(["ext4", "xfs"])),
              "path": where, "label": f"data{i}"}
        want = {"device": device, "format": fs["format"], "label": fs["label"], "path": where}
        options = []
        if case.has("mount_options") and draw(st.booleans()):
            fs["mount_options"] = options = draw(st.lists(
                st.sampled_from(["noatime", "nodev", "ro", "x-systemd.device-timeout=0"]),
                max_size=2))
            if options:
                want["mountOptions"] = list(options)
        if draw(st.booleans()):
            fs["options"] = want["options"] = ["-m", "reflink=1"] if fs["format"] == "xfs" \
                else ["-E", "lazy_itable_init=0"]
        mount = draw(st.sampled_from([True, True, False, None])) \
            if case.has("with_mount_unit") else None
        if mount is not None:
            fs["with_mount_unit"] = mount
        if draw(st.booleans()):
            fs["wipe_filesystem"] = want["wipeFilesystem"] = draw(st.booleans())
        filesystems.append(fs)
        case.storage["filesystems"].append(want)
        if mount:
            options = options + ["_netdev"] if remote else options
            fsck = f"systemd-fsck@{_escape(device)}.service"
            contents = ("# Generated by Butane\n[Unit]\n"
                        f"Requires={fsck}\nAfter={fsck}\n\n[Mount]\n"
                        f"Where={where}\nWhat={device}\nType={fs['format']}\n"
                        + (f"Options={','.join(options)}\n" if options else "")
                        + "\n[Install]\nRequiredBy="
                        + ("remote-fs.target" if remote else "local-fs.target"))
            name = _escape(where) + ".mount"
            case.units[name] = {"generated": True, "contents": contents, "enabled": True}
            if draw(st.integers(0, 3)) == 0:  # the user's unit merges into the generated one
                overrides.append({"name": name, "enabled": False})
                case.units[name]["enabled"] = False
    if case.has("with_mount_unit") and draw(st.booleans()):
        dev = "/dev/disk/by-partlabel/swap-1"
        fs = {"device": dev, "format": "swap", "with_mount_unit": True}
        if draw(st.booleans()):
            fs["mount_options"] = ["pri=10"]
        opts = "Options=pri=10\n" if "mount_options" in fs else ""
        if case.has("swap_units"):
            case.units[_escape(dev) + ".swap"] = {"generated": True, "enabled": True, "contents": (
                f"# Generated by Butane\n[Swap]\nWhat={dev}\n{opts}"
                "\n[Install]\nRequiredBy=swap.target")}
        else:
            fs["path"] = where = "/var/swap-1"
            fsck = f"systemd-fsck@{_escape(dev)}.service"
            case.units[_escape(where) + ".mount"] = {
                "generated": True, "enabled": True, "contents": (
                    f"# Generated by Butane\n[Unit]\nRequires={fsck}\nAfter={fsck}\n\n"
                    f"[Mount]\nWhere={where}\nWhat={dev}\nType=swap\n{opts}"
                    "\n[Install]\nRequiredBy=local-fs.target")}
        filesystems.append(fs)
        case.storage["filesystems"].append(
            {"device": dev, "format": "swap", **({"path": fs["path"]} if "path" in fs else {}),
             **({"mountOptions": ["pri=10"]} if "mount_options" in fs else {})})

    # A data disk (partitions numbered, so no fcos partition warning) and a RAID.
    disks, raid = [], []
    if draw(st.integers(0, 2)) == 0:
        disk: dict = {"device": "/dev/vde"}
        want = {"device": "/dev/vde"}
        if draw(st.booleans()):
            disk["wipe_table"] = want["wipeTable"] = draw(st.booleans())
        for j in range(draw(st.integers(0, 2))):
            part = {"number": j + 1, "label": f"data-part{j}"}
            out = dict(part)
            if draw(st.booleans()):
                part["size_mib"] = out["sizeMiB"] = draw(st.sampled_from(
                    [0, 512, 10240, 2_000_000]))
            if case.has("resize") and draw(st.booleans()):
                part["resize"] = out["resize"] = draw(st.booleans())
            disk.setdefault("partitions", []).append(part)
            want.setdefault("partitions", []).append(out)
        disks.append(disk)
        case.storage["disks"].append(want)
    if draw(st.integers(0, 3)) == 0:
        array = {"name": "md-stoker", "level": "raid1", "devices": ["/dev/vdf", "/dev/vdg"]}
        if draw(st.booleans()):
            array["options"] = ["--assume-clean"]
        raid.append(array)
        case.storage["raid"].append(dict(array))

    # Trees: a local directory tree copied in (1.1.0+; 1.7.0+: owner and modes).
    trees = []
    for i in range(draw(st.integers(0, 2)) if case.has("trees") else 0):
        local = f"tree{i}"
        case.trees[local] = structure = _tree_structure(draw, 0)
        tree: dict = {"local": local}
        rooted = i == 0 and draw(st.booleans())  # no path: the tree lands at "/"
        dest = "/" if rooted else f"/opt/tree{i}"
        if rooted:
            structure.clear()
            structure[f"stoker-root-{draw(WORD)}"] = _tree_structure(draw, 1) or {
                "f": (b"x", 0o644)}
        else:
            tree["path"] = dest
        file_mode = dir_mode = None
        if case.has("tree_owner"):
            if draw(st.booleans()):
                tree["file_mode"] = file_mode = draw(st.sampled_from([0o600, 0o644, 0o640]))
            if draw(st.booleans()):
                tree["dir_mode"] = dir_mode = draw(st.sampled_from([0o700, 0o755, 0o750]))
            if draw(st.booleans()):
                tree["user"] = {"name": "core"}
            if draw(st.booleans()):
                tree["group"] = {"id": 1000}
        with_dirs = any(k in tree for k in ("dir_mode", "user", "group"))
        _expect_tree(draw, case, structure, dest, files, file_mode, dir_mode, with_dirs,
                     root=True)
        trees.append(tree)

    # boot_device (1.3.0+): LUKS root and/or a mirrored boot disk (SPEC §8), rendered
    # before the user's storage (the merge parent, SPEC §10).
    if case.has("boot_device") and draw(st.integers(0, 3)) == 0:
        doc["boot_device"] = _boot_device(draw, case)

    # grub.users (1.5.0+): a /boot filesystem and an appended user.cfg (SPEC §9), the
    # parent of everything else.
    if case.has("grub") and draw(st.integers(0, 3)) == 0:
        grub = [{"name": name, "password_hash": f"grub.pbkdf2.sha512.10000.{draw(WORD)}"}
                for name in draw(st.lists(st.sampled_from(["root", "admin", "ops"]),
                                          min_size=1, max_size=3, unique=True))]
        doc["grub"] = {"users": grub}
        cfg = ("# Generated by Butane\n\nset superusers=\""
               + " ".join(u["name"] for u in grub) + "\"\n"
               + "\n".join(f"password_pbkdf2 {u['name']} {u['password_hash']}" for u in grub)
               + "\n")
        case.files["/boot/grub2/user.cfg"] = {"contents": None, "append": [cfg.encode()],
                                              "mode": None}
        case.storage["filesystems"].insert(0, {"device": "/dev/disk/by-label/boot",
                                               "format": "ext4", "path": "/boot"})

    # ignition: a merge or replace config (inline ones are parsed and validated) and a
    # CA bundle. 1.0.0 has no inline there: a source, copied as is (SPEC-VARIANTS §4.1).
    ign: dict = {}
    if draw(st.integers(0, 3)) == 0:
        child = draw(st.sampled_from(['{"ignition":{"version":"%s"}}',
                                      '{\n  "ignition": {"version": "%s"}\n}\n',
                                      '{"ignition":{"version":"%s"},"storage":{"files":'
                                      '[{"path":"/etc/child"}]}}'])) % IGNITION[case.version]
        ref = {"inline": child} if case.has("local") else {"source": _data_url(child.encode())}
        if draw(st.booleans()):
            ign["config"] = {"replace": ref}
            case.resources[("ignition", "config", "replace")] = child.encode()
        else:
            ign["config"] = {"merge": [ref]}
            case.resources[("ignition", "config", "merge", 0)] = child.encode()
    if draw(st.integers(0, 3)) == 0:
        if case.has("local"):
            entry, data = _resource(draw, case, "ca", True)
        else:
            data = draw(INLINE_TEXT).encode("utf-8")
            entry = {"source": _data_url(data)}
        ign["security"] = {"tls": {"certificate_authorities": [entry]}}
        case.resources[("ignition", "security", "tls", "certificateAuthorities", 0)] = data
    if case.has("proxy") and draw(st.integers(0, 4)) == 0:
        ign["proxy"] = {"https_proxy": "https://proxy.example.com:3128",
                        "no_proxy": ["localhost", ".example.com"]}
    if ign:
        doc["ignition"] = ign

    for key, value in (("files", files), ("directories", directories), ("links", links),
                       ("disks", disks), ("raid", raid), ("filesystems", filesystems),
                       ("luks", luks), ("trees", trees)):
        if value:
            storage[key] = value
    if storage:
        doc["storage"] = storage

    # passwd: users with keys (1.5+: also from a local file), groups.
    users, groups = [], []
    for i in range(draw(st.integers(0, 3))):
        name = f"user{i}"
        user: dict = {"name": name}
        keys = [f"ssh-ed25519 AAAA{draw(WORD)} {name}-k{j}" for j in range(draw(
            st.integers(0, 2)))]
        if keys:
            user["ssh_authorized_keys"] = list(keys)
        if case.minor >= 5 and draw(st.booleans()):
            rel = f"keys/{name}.pub"
            more = [f"ssh-rsa AAAB{draw(WORD)} {name}-local{j}" for j in range(draw(
                st.integers(1, 3)))]
            sep = draw(st.sampled_from(["\n", "\r\n"]))
            blank = sep if draw(st.booleans()) else ""
            case.local[rel] = (sep.join(more) + sep + blank).encode()
            user["ssh_authorized_keys_local"] = [rel]
            keys += more
        case.keys[name] = keys
        case.should_exist[name] = None
        if case.has("should_exist") and draw(st.integers(0, 3)) == 0:
            user["should_exist"] = case.should_exist[name] = True
        for key, value in (("uid", st.integers(1000, 60000)), ("gecos", ANY_TEXT),
                           ("password_hash", st.just("$y$j9T$abc$def")),
                           ("home_dir", st.just(f"/home/{name}")),
                           ("shell", st.just("/bin/bash")), ("system", st.booleans()),
                           ("no_create_home", st.booleans()),
                           ("groups", st.lists(st.sampled_from(["wheel", "sudo", "docker"]),
                                               max_size=2, unique=True))):
            if draw(st.booleans()) and draw(st.booleans()):
                user[key] = draw(value)
        users.append(user)
    for i in range(draw(st.integers(0, 2))):
        group: dict = {"name": f"grp{i}"}
        if draw(st.booleans()):
            group["gid"] = draw(st.integers(1000, 60000))
        if draw(st.booleans()):
            group["system"] = draw(st.booleans())
        if case.has("should_exist") and draw(st.integers(0, 3)) == 0:
            group["should_exist"] = True
        groups.append(group)
    if users or groups:
        doc["passwd"] = {k: v for k, v in (("users", users), ("groups", groups)) if v}

    # systemd units with dropins, contents inline or (1.5+) local.
    units = []
    for i in range(draw(st.integers(0, 4))):
        name = f"stoker-u{i}.{draw(st.sampled_from(['service', 'service', 'timer', 'path']))}"
        unit: dict = {"name": name}
        want: dict = {"generated": False, "contents": None, "dropins": {}}
        if draw(st.booleans()):
            text = _unit_text(draw, install=draw(st.booleans()))
            want["contents"] = text
            if case.minor >= 5 and draw(st.booleans()):
                case.local[f"units/{name}"] = text.encode()
                unit["contents_local"] = f"units/{name}"
            else:
                unit["contents"] = text
        choice = draw(st.sampled_from(["enabled", "mask", None]))
        if choice:
            unit[choice] = want[choice] = draw(st.booleans())
        for j in range(draw(st.integers(0, 2))):
            dname = f"{j}-{draw(WORD)}.conf"
            text = f"[Service]\nEnvironment=STOKER={draw(WORD)}\n"
            dropin: dict = {"name": dname}
            if case.minor >= 5 and draw(st.booleans()):
                case.local[f"units/{name}.d/{dname}"] = text.encode()
                dropin["contents_local"] = f"units/{name}.d/{dname}"
            else:
                dropin["contents"] = text
            unit.setdefault("dropins", []).append(dropin)
            want["dropins"][dname] = text
        units.append(unit)
        case.units[name] = want
    units += overrides
    rnd_units = draw(st.randoms(use_true_random=False))
    rnd_units.shuffle(units)  # the generated units come first whatever the input order
    user_order = [u["name"] for u in units if not case.units[u["name"]]["generated"]]
    case.units = {**{k: v for k, v in case.units.items() if v["generated"]},
                  **{k: case.units[k] for k in user_order}}
    systemd = {"units": units} if units else {}
    if case.has("quadlets"):
        quadlets = _quadlets(draw, case)
        if quadlets:
            systemd["quadlets"] = quadlets
    if systemd:
        doc["systemd"] = systemd

    # Kernel arguments (1.4.0+): one keyspace for both lists.
    kargs = draw(st.lists(st.one_of(st.sampled_from(["quiet", "console=ttyS0,115200n8",
                                                     "mitigations=auto,nosmt"]),
                                    st.builds(lambda w: f"stoker.k={w}", WORD),
                                    st.text(st.characters(blacklist_categories=("Cs",)),
                                            min_size=1, max_size=20)),
                          max_size=4, unique=True)) if case.has("kernel_arguments") else []
    if kargs:
        cut = draw(st.integers(0, len(kargs)))
        ka = {}
        if kargs[:cut]:
            ka["should_exist"] = kargs[:cut]
        if kargs[cut:]:
            ka["should_not_exist"] = kargs[cut:]
        doc["kernel_arguments"] = ka
    return case


BIOS_GUID = "21686148-6449-6E6F-744E-656564454649"
PREP_GUID = "9E1A2D38-C612-4316-AA26-8B49521E5A8B"
RESERVED_GUID = "8DA63339-0007-60C0-C436-083AC8230908"
ESP_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"


def _boot_device(draw, case: Case) -> dict:
    """A boot_device section; its rendered disks, RAIDs, LUKS volume and filesystems
    (SPEC §8, written from the text) go before the user's in case.storage."""
    bd: dict = {}
    luks = {}
    if draw(st.booleans()):
        method = draw(st.sampled_from(["tpm2", "tang", "both"]))
        if method != "tang":
            luks["tpm2"] = True
        if method != "tpm2":
            tang = {"url": "https://tang.example.com", "thumbprint": draw(WORD)}
            if case.has("advertisement") and draw(st.booleans()):
                tang["advertisement"] = '{"payload": "e30"}'
            luks["tang"] = [tang]
        if draw(st.booleans()):
            luks["threshold"] = 1
        if case.has("discard") and draw(st.booleans()):
            luks["discard"] = draw(st.booleans())
        bd["luks"] = luks
    devices = draw(st.sampled_from([[], ["/dev/sda", "/dev/sdb"],
                                    ["/dev/sda", "/dev/sdb", "/dev/sdc"]]))
    if devices:
        bd["mirror"] = {"devices": devices}
    layout = draw(st.sampled_from([None, "x86_64", "aarch64", "ppc64le"]))
    if devices and case.minor >= 7 and layout is None:  # an error from 1.7.0 on
        layout = "x86_64"
    if layout is not None:
        bd["layout"] = layout
    layout = layout or "x86_64"

    disks, raid, filesystems = [], [], []
    for n, device in enumerate(devices, start=1):
        first = {"x86_64": {"label": f"bios-{n}", "sizeMiB": 1, "typeGuid": BIOS_GUID},
                 "ppc64le": {"label": f"prep-{n}", "sizeMiB": 4, "typeGuid": PREP_GUID}}.get(
            layout, {"label": f"reserved-{n}", "sizeMiB": 1, "typeGuid": RESERVED_GUID})
        efi = layout in ("x86_64", "aarch64")
        second = {"label": f"esp-{n}", "sizeMiB": 127, "typeGuid": ESP_GUID} if efi else \
            {"label": f"reserved-{n}", "sizeMiB": 1, "typeGuid": RESERVED_GUID}
        disks.append({"device": device, "partitions": [
            first, second, {"label": f"boot-{n}", "sizeMiB": 384}, {"label": f"root-{n}"}],
            "wipeTable": True})
        if efi:
            filesystems.append({"device": f"/dev/disk/by-partlabel/esp-{n}", "format": "vfat",
                                "label": f"esp-{n}", "wipeFilesystem": True})
    if devices:
        by = "/dev/disk/by-partlabel/"
        raid = [{"devices": [f"{by}boot-{n}" for n in range(1, len(devices) + 1)],
                 "level": "raid1", "name": "md-boot", "options": ["--metadata=1.0"]},
                {"devices": [f"{by}root-{n}" for n in range(1, len(devices) + 1)],
                 "level": "raid1", "name": "md-root"}]
        filesystems.append({"device": "/dev/md/md-boot", "format": "ext4", "label": "boot",
                            "wipeFilesystem": True})
    if luks:
        clevis = {k: luks[k] for k in ("tang", "threshold", "tpm2") if k in luks}
        volume = {"name": "root", "label": "luks-root", "wipeVolume": True, "clevis": clevis,
                  "device": "/dev/md/md-root" if devices else "/dev/disk/by-partlabel/root"}
        if "discard" in luks:
            volume["discard"] = luks["discard"]
        case.storage["luks"].insert(0, volume)
    if luks or devices:
        filesystems.append({"device": "/dev/mapper/root" if luks else "/dev/md/md-root",
                            "format": "xfs", "label": "root", "wipeFilesystem": True})
    case.storage["disks"][:0] = disks
    case.storage["raid"][:0] = raid
    case.storage["filesystems"][:0] = filesystems
    return bd


QUADLET_TYPES = [".container", ".volume", ".network", ".kube", ".image", ".build", ".pod",
                 ".artifact"]


def _quadlets(draw, case: Case) -> list:
    """systemd.quadlets (1.8.0-experimental): files of mode 0644 under
    /etc/containers/systemd[/users], template instances as links to their template,
    drop-ins under <path>.d/ (SPEC-VARIANTS §5)."""
    quadlets = []
    for i in range(draw(st.sampled_from([0, 0, 1, 2, 3]))):
        ext = draw(st.sampled_from(QUADLET_TYPES))
        kind = draw(st.sampled_from(["plain", "template", "instance"]))
        name = {"plain": f"q{i}-{draw(WORD)}{ext}", "template": f"q{i}@{ext}",
                "instance": f"q{i}@{draw(WORD)}{ext}"}[kind]
        quadlet: dict = {"name": name}
        rootful = draw(st.sampled_from([True, False, None]))
        if rootful is not None:
            quadlet["rootful"] = rootful
        path = ("/etc/containers/systemd/" if rootful else "/etc/containers/systemd/users/") + name
        if kind == "instance":
            case.links[path] = f"q{i}@{ext}"
        else:
            case.files[path] = {"contents": _quadlet_contents(draw, case, quadlet, name),
                                "append": [], "mode": 0o644, "quadlet": True}
        for j in range(draw(st.integers(0, 2))):
            dropin = {"name": f"{j}-{draw(WORD)}.conf"}
            case.files[f"{path}.d/{dropin['name']}"] = {
                "contents": _quadlet_contents(draw, case, dropin, f"{name}.d/{dropin['name']}",
                                              empty=False),
                "append": [], "mode": 0o644, "quadlet": True}
            quadlet.setdefault("dropins", []).append(dropin)
        quadlets.append(quadlet)
    return quadlets


def _quadlet_contents(draw, case: Case, entry: dict, name: str, empty: bool = True) -> bytes:
    how = draw(st.sampled_from(["inline", "inline", "local"] + (["none"] if empty else [])))
    if how == "none":  # neither field: an empty file
        return b""
    if how == "local":
        data = draw(BINARY)
        case.local[f"quadlets/{name}"] = data
        entry["contents_local"] = f"quadlets/{name}"
        return data
    text = draw(st.one_of(INLINE_TEXT, st.builds(
        lambda w: f"[Container]\nImage=registry.example.com/{w}\n", WORD)))
    entry["contents"] = text
    return text.encode("utf-8")


def _data_url(data: bytes) -> str:
    """A percent-encoded data URL (SPEC §3 step 1)."""
    return "data:," + urllib.parse.quote(data, safe="-_.!~*'()")


def _expect_tree(draw, case, structure, dest, files, file_mode, dir_mode, with_dirs, root,
                 rel=""):
    here = dest if not rel else _join(dest, rel)
    if with_dirs:
        case.dirs[here] = dir_mode if dir_mode is not None else 0o755
    for name, item in structure.items():
        sub = f"{rel}/{name}" if rel else name
        out_path = _join(dest, sub)
        if isinstance(item, dict):
            _expect_tree(draw, case, item, dest, files, file_mode, dir_mode, with_dirs,
                         root=False, rel=sub)
        elif item[0] == "link":
            case.links[out_path] = item[1]
        else:
            data, mode = item
            want_mode = 0o755 if mode & 0o111 else 0o644
            if file_mode is not None:
                want_mode = file_mode
            # Sometimes an explicit storage.files entry without contents is reused.
            if draw(st.integers(0, 4)) == 0:
                want_mode = draw(st.sampled_from([0o600, 0o640]))
                files.append({"path": out_path, "mode": want_mode})
            case.files[out_path] = {"contents": data, "append": [], "mode": want_mode}


def _join(a: str, b: str) -> str:
    return os.path.normpath(os.path.join(a, b)).replace("//", "/")


def _escape(path: str) -> str:
    """go-systemd's UnitNamePathEscape (SPEC §6), for the expected mount unit names."""
    path = "/".join(p for p in path.split("/") if p)
    out = []
    for i, b in enumerate(path.encode()):
        c = chr(b)
        if c == "/":
            out.append("-")
        elif (c.isascii() and (c.isalnum() or c in ":_.")) and not (i == 0 and c == "."):
            out.append(c)
        else:
            out.append(f"\\x{b:x}")
    return "".join(out) or "-"


# --------------------------------------------------------------------------- helpers

def dump(case: Case, seed: int | None = None) -> str:
    """YAML text with a random style per string scalar."""
    import random

    rnd = random.Random(case.styles if seed is None else seed)

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper, value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                       style=safe_style(value, rnd.choice(STYLES)))

    Dumper.add_representer(str, represent_str)
    return yaml.dump(case.doc, Dumper=Dumper, sort_keys=False, allow_unicode=rnd.random() < .5,
                     width=rnd.choice([80, 10**6]))


def safe_style(value: str, style):
    """PyYAML's emitter writes NEL, LS and PS raw outside double quotes, where its own
    reader (and yaml.v3) then take them as line breaks: not a Butane matter."""
    if any(c in value for c in "\x85\u2028\u2029"):
        return '"'
    return style


def materialize(case: Case, root: str) -> str:
    """Write the files dir (local files and trees); return its path."""
    files_dir = os.path.join(root, "files")
    os.makedirs(files_dir)
    for rel, data in case.local.items():
        full = os.path.join(files_dir, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)

    def build(where, structure):
        os.makedirs(where, exist_ok=True)
        for name, item in structure.items():
            full = os.path.join(where, name)
            if isinstance(item, dict):
                build(full, item)
            elif item[0] == "link":
                os.symlink(item[1], full)
            else:
                with open(full, "wb") as f:
                    f.write(item[0])
                os.chmod(full, item[1])

    for local, structure in case.trees.items():
        build(os.path.join(files_dir, local), structure)
    return files_dir


def go_quote(text: str) -> str:
    """A JSON string as Go's encoding/json writes it (SPEC §2)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif ord(ch) < 0x20 or ch in "<>&\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def go_json(value, indent: int | None = None) -> str:
    """json.Marshal (indent None) or json.MarshalIndent with two spaces, keeping key order."""
    nl = "" if indent is None else "\n" + "  " * (indent + 1)
    end = "" if indent is None else "\n" + "  " * indent
    deeper = None if indent is None else indent + 1
    if isinstance(value, dict):
        if not value:
            return "{}"
        colon = ":" if indent is None else ": "
        return "{" + ",".join(nl + go_quote(k) + colon + go_json(v, deeper)
                              for k, v in value.items()) + end + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[" + ",".join(nl + go_json(v, deeper) for v in value) + end + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    return go_quote(value)


def decode_data_url(source: str) -> bytes:
    assert source.startswith("data:"), source
    header, sep, payload = source[5:].partition(",")
    assert sep, source
    if header.endswith(";base64"):
        return base64.b64decode(payload, validate=True)
    assert header == "", source
    return urllib.parse.unquote_to_bytes(payload)


def resource_bytes(res: dict) -> bytes:
    data = decode_data_url(res["source"])
    if res.get("compression") == "gzip":
        data = gzip.decompress(data)
    else:
        assert res.get("compression") in ("", None), res
    return data


def all_keys(value):
    if isinstance(value, dict):
        yield from value
        for v in value.values():
            yield from all_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from all_keys(v)


def all_resources(value):
    if isinstance(value, dict):
        if isinstance(value.get("source"), str):
            yield value
        for v in value.values():
            yield from all_resources(v)
    elif isinstance(value, list):
        for v in value:
            yield from all_resources(v)


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = main(["butane", *args])
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


RAW_LINE = re.compile(r"^(error|warning|info) at (\$[^ ,:]*)(?:, line (\d+) col (\d+))?: ", re.M)


def lookup(doc, path: str) -> bool:
    node = doc
    for part in path.split(".")[1:]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


# --------------------------------------------------------------------------- properties

@pytest.mark.parametrize("version", VERSIONS)
@per_version(25)
@given(data=st.data())
def test_valid_configs_translate_faithfully(version, data):
    case = data.draw(cases(versions=(version,)), label="case")
    text = dump(case)
    assert yaml.safe_load(text) == case.doc  # the dump itself round-trips
    with tempfile.TemporaryDirectory() as tmp:
        files_dir = materialize(case, tmp)
        result = translate(text, files_dir=files_dir)
        assert result.ok, (result.error, [e.raw() for e in result.report])
        assert result.ignition_version == IGNITION[case.version]
        config = result.config
        compact = result.to_json()

        # Deterministic: a second run gives the same text.
        again = translate(text.encode("utf-8"), files_dir=files_dir)
        assert again.ok and again.to_json() == compact
        # Compact and pretty are the same JSON, written as Go writes it (SPEC §2).
        pretty = result.to_json(pretty=True)
        assert json.loads(compact) == json.loads(pretty) == config
        assert compact == go_json(config)
        assert pretty == go_json(config, indent=0)
        # The YAML's form does not matter: other scalar styles, the same JSON.
        other = translate(dump(case, seed=case.styles + 1), files_dir=files_dir)
        assert other.ok and other.to_json() == compact
        # --strict fails exactly when there is something to report.
        strict = translate(text, files_dir=files_dir, strict=True)
        assert strict.ok == (not result.report), [e.raw() for e in result.report]
        for entry in result.report:
            assert entry.path is not None and entry.line and entry.column, entry

        # The CLI agrees, and every reported path exists in the document.
        src = os.path.join(tmp, "config.bu")
        with open(src, "w", encoding="utf-8") as f:
            f.write(text)
        rc, out, err = run_cli(["--raw-errors", "-d", files_dir, src])
        assert rc == 0, err
        assert out == compact + "\n"
        reported = RAW_LINE.findall(err)
        assert len(reported) == len(err.splitlines()), err
        nlines = len(text.split("\n"))
        for kind, path, line, _col in reported:
            assert kind != "error", err
            assert lookup(case.doc, path), f"{path} is not in the document:\n{err}\n{text}"
            assert not line or 1 <= int(line) <= nlines, err

    assert config["ignition"]["version"] == IGNITION[case.version]
    if check_schema is not None:
        assert list(check_schema(config, result.ignition_version)) == []

    # Every data URL decodes; 1.0.0 writes no compression field (SPEC-VARIANTS §4.2).
    for res in all_resources(config):
        if res["source"].startswith("data:"):
            resource_bytes(res)
        if not case.has("local"):
            assert "compression" not in res, res

    # Other resources: the merge/replace config, CA bundles, LUKS key files.
    for where, data in case.resources.items():
        node = config
        for part in where:
            if isinstance(part, tuple):  # the list item with this name
                node = next(x for x in node if x[part[0]] == part[1])
            else:
                node = node[part]
        assert resource_bytes(node) == data, where

    storage = config.get("storage", {})
    # Files: one per expected path, contents and appends byte-exact, modes as expected.
    out_files = storage.get("files", [])
    assert sorted(f["path"] for f in out_files) == sorted(case.files)
    for f in out_files:
        want = case.files[f["path"]]
        if want["contents"] is None:
            assert "contents" not in f
        else:
            assert resource_bytes(f["contents"]) == want["contents"]
            if case.has("local"):
                assert "compression" in f["contents"]  # "" is always emitted (SPEC §3)
            else:  # 1.0.0: always percent-encoded
                assert f["contents"] == {"source": _data_url(want["contents"])}
        assert [resource_bytes(a) for a in f.get("append", [])] == want["append"]
        if not case.has("local"):
            assert [a["source"] for a in f.get("append", [])] == \
                [_data_url(a) for a in want["append"]]
        assert f.get("mode") == want["mode"]
        if want.get("quadlet"):  # no overwrite, user or group (SPEC-VARIANTS §5)
            assert sorted(f) == ["contents", "mode", "path"]
    # Disks, RAIDs, filesystems and LUKS volumes: boot_device's and grub's first.
    for kind, want_list in case.storage.items():
        got = storage.get(kind, [])
        if kind == "luks":
            got = [{k: v for k, v in x.items() if k != "keyFile"} for x in got]
        assert got == want_list, kind
    # Links and directories.
    assert {x["path"]: x["target"] for x in storage.get("links", [])} == case.links
    assert {x["path"]: x.get("mode") for x in storage.get("directories", [])} == case.dirs
    sugar = {"trees", "with_mount_unit", "local", "inline", "contents_local",
             "ssh_authorized_keys_local", "quadlets", "boot_device", "grub", "rootful"}
    assert not sugar & set(all_keys(config))

    # Units: generated mount units first, then the user's, contents verbatim.
    out_units = config.get("systemd", {}).get("units", [])
    assert [u["name"] for u in out_units] == list(case.units)
    for u in out_units:
        want = case.units[u["name"]]
        if want["generated"]:
            assert u == {"contents": want["contents"], "enabled": want["enabled"],
                         "name": u["name"]}
            continue
        assert u.get("contents") == want["contents"]
        for key in ("enabled", "mask"):
            assert u.get(key) == want.get(key)
        assert {d["name"]: d.get("contents") for d in u.get("dropins", [])} == want["dropins"]

    # Users: inline keys first, then the local file's non-empty lines.
    out_users = config.get("passwd", {}).get("users", [])
    assert {u["name"]: u.get("sshAuthorizedKeys", []) for u in out_users} == case.keys
    assert {u["name"]: u.get("shouldExist") for u in out_users} == case.should_exist

    if "kernel_arguments" in case.doc:
        ka = case.doc["kernel_arguments"]
        assert config["kernelArguments"] == {
            k2: ka[k1] for k1, k2 in (("should_exist", "shouldExist"),
                                      ("should_not_exist", "shouldNotExist")) if k1 in ka}


@settings(max_examples=examples(150), deadline=None)
@given(version=st.sampled_from(VERSIONS), text=INLINE_TEXT, style=st.sampled_from(STYLES),
       allow_unicode=st.booleans(), compression=st.sampled_from([None, ""]))
def test_inline_text_round_trips(version, text, style, allow_unicode, compression):
    """SPEC §3 on its own: any text, in any scalar style, comes back byte for byte."""
    if version == "1.0.0":
        compression = None  # the cases do not set it there

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, lambda d, v: d.represent_scalar(
        "tag:yaml.org,2002:str", v, style=safe_style(v, style if v == text else None)))
    contents = {"inline": text}
    if compression is not None:
        contents["compression"] = compression
    doc = {"variant": "fcos", "version": version,
           "storage": {"files": [{"path": "/etc/x", "contents": contents}]}}
    src = yaml.dump(doc, Dumper=Dumper, allow_unicode=allow_unicode, sort_keys=False)
    assert yaml.safe_load(src) == doc
    result = translate(src)
    assert result.ok, (result.error, [e.raw() for e in result.report])
    res = result.config["storage"]["files"][0]["contents"]
    assert resource_bytes(res) == text.encode("utf-8")
    data = text.encode("utf-8")
    if version == "1.0.0":  # always percent-encoded, no compression (SPEC-VARIANTS §4.2)
        assert res == {"source": _data_url(data)}
        return
    # The shortest encoding was picked (SPEC §3 steps 1-2).
    pct = len("," + urllib.parse.quote(data, safe="-_.!~*'()"))
    b64 = len(";base64,") + len(base64.b64encode(data))
    if res["compression"] == "":
        assert len(res["source"]) - len("data:") == min(pct, b64)
    else:  # gzip only when it saves more than 4 characters (SPEC §3 step 3)
        assert compression is None or compression == ""
        assert len(res["source"]) - len("data:") + 4 < min(pct, b64)


@settings(max_examples=examples(60), deadline=None)
@given(data=BINARY, mode=st.sampled_from([0o600, 0o644, 0o700, 0o755, 0o711, 0o604]),
       version=st.sampled_from(VERSIONS[1:]))  # local and trees: 1.1.0+
def test_local_binary_and_tree_file_agree(data, mode, version):
    """The same bytes via contents.local and via a tree give the same contents."""
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "t"))
        with open(os.path.join(tmp, "blob"), "wb") as f:
            f.write(data)
        with open(os.path.join(tmp, "t", "blob"), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(tmp, "t", "blob"), mode)
        doc = {"variant": "fcos", "version": version, "storage": {
            "files": [{"path": "/a", "contents": {"local": "blob"}}],
            "trees": [{"local": "t", "path": "/b"}]}}
        result = translate(yaml.safe_dump(doc), files_dir=tmp)
    assert result.ok, (result.error, [e.raw() for e in result.report])
    a, b = result.config["storage"]["files"]
    assert (a["path"], b["path"]) == ("/a", "/b/blob")
    assert a["contents"] == b["contents"]
    assert resource_bytes(a["contents"]) == data
    assert b["mode"] == (0o755 if mode & 0o111 else 0o644)
    assert "mode" not in a


MUTATIONS = st.lists(st.tuples(
    st.sampled_from(["delete", "insert", "repeat", "swap-lines"]), st.integers(0, 10**6),
    st.sampled_from(list(":-[]{}|>'\"&*!#%@`, \n\t?~\\") + [
        "  ", "\n- ", ": ", "0x", "1e9", "null", "<<: ", "&a ", "*a", "!!str ", "!!binary ",
        "\ufeff", "\x85", "\u2028", "\x00", "\udcff", '"\\U0011FFFF"', '"\\uDC00"',
        "\\'", "\\/"])), min_size=1, max_size=4)


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases(), MUTATIONS, st.data())
def test_mutated_configs_never_raise(case: Case, mutations, data):
    """Broken variants of valid configs, as fcos or as any spec built on the same fcos
    release: a result (never an exception), and each report entry has a path and a
    position; both report formats render."""
    from stoker.butane import render

    variant, version = data.draw(st.sampled_from(
        [("fcos", case.version)]
        + [spec for spec, base in VARIANTS.items() if base == case.version]
        + [("openshift", v) for v in OPENSHIFT.get(case.version, [])]), label="spec")
    case.doc["variant"], case.doc["version"] = variant, version
    raw = False
    if variant == "openshift":
        case.doc["metadata"] = {"name": "99-x", "labels": {ROLE: "worker"}}
        raw = data.draw(st.booleans(), label="raw")
    text = dump(case)
    for op, pos, chunk in mutations:
        pos %= len(text) + 1
        if op == "delete":
            text = text[:pos] + text[pos + len(chunk):]
        elif op == "insert":
            text = text[:pos] + chunk + text[pos:]
        elif op == "repeat":
            text = text[:pos] + text[pos:pos + 20] + text[pos:]
        else:
            lines = text.split("\n")
            i, j = pos % len(lines), (pos // 7) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    with tempfile.TemporaryDirectory() as tmp:
        files_dir = materialize(case, tmp)
        result = translate(text.encode("utf-8", "surrogatepass"), files_dir=files_dir, raw=raw)
    if result.ok:
        json.loads(result.to_json())
        result.output()
    else:
        assert result.error
    for entry in result.report:
        assert entry.path is not None and entry.line and entry.column, entry
    render.pretty(result.report.entries, text, "in.bu")
    render.raw(result.report.entries)


# --------------------------------------------------------------------------- later fields

def _new(item):
    return ("+", item)


_LUKS = [("storage", {}), ("luks", []),
         _new({"name": "later", "device": "/dev/disk/by-partlabel/later"})]
_TREE = [("storage", {}), ("trees", []), _new({"local": "later-tree", "path": "/opt/later"})]
_BOOT_LUKS = [("boot_device", {}), ("luks", {"tpm2": True})]
# A field one fcos version introduced, put where it belongs: (the way there, each step
# a key and the value to create if it is missing, or a new list item; the key; its
# value; the SINCE feature that introduced it; the feature its parent needs).
LATER = [
    ([("ignition", {})], "proxy", {"https_proxy": "https://proxy.example.com"}, "proxy", None),
    ([("ignition", {}), ("security", {}), ("tls", {}), ("certificate_authorities", []),
      _new({"source": "https://ca.example.com/later.pem"})], "inline", "x", "local", None),
    ([("ignition", {}), ("config", {}), ("merge", []),
      _new({"source": "https://config.example.com/later.ign"})], "compression", "", "local",
     None),
    ([("storage", {}), ("files", []),
      _new({"path": "/etc/later", "contents": {"source": "https://example.com/later"}}),
      ("contents", None)], "local", "later.txt", "local", None),
    ([("storage", {}), ("files", []),
      _new({"path": "/etc/later", "contents": {"source": "https://example.com/later"}}),
      ("contents", None)], "http_headers", [{"name": "X-Later", "value": "1"}],
     "http_headers", None),
    ([("storage", {})], "trees", [{"local": "later-tree"}], "trees", None),
    ([("storage", {}), ("filesystems", []),
      _new({"device": "/dev/vdz", "format": "xfs", "path": "/var/later"})],
     "mount_options", ["ro"], "mount_options", None),
    ([("storage", {}), ("filesystems", []),
      _new({"device": "/dev/vdz", "format": "xfs", "path": "/var/later"})],
     "with_mount_unit", True, "with_mount_unit", None),
    ([("storage", {})], "luks", [{"name": "later", "device": "/dev/vdx"}], "luks", None),
    ([("storage", {}), ("disks", []),
      _new({"device": "/dev/vdy", "partitions": [{"number": 1, "label": "later"}]}),
      ("partitions", None), (0, None)], "resize", True, "resize", None),
    ([("passwd", {}), ("users", []), _new({"name": "later"})], "should_exist", True,
     "should_exist", None),
    ([("passwd", {}), ("groups", []), _new({"name": "later"})], "should_exist", False,
     "should_exist", None),
    ([], "boot_device", {"luks": {"tpm2": True}}, "boot_device", None),
    ([], "kernel_arguments", {"should_exist": ["quiet"]}, "kernel_arguments", None),
    ([("passwd", {}), ("users", []), _new({"name": "later"})], "ssh_authorized_keys_local",
     ["later.pub"], "ssh_authorized_keys_local", None),
    ([("systemd", {}), ("units", []), _new({"name": "later.service"})], "contents_local",
     "later.service", "contents_local", None),
    ([("systemd", {}), ("units", []),
      _new({"name": "later.service", "dropins": [{"name": "later.conf"}]}), ("dropins", None),
      (0, None)], "contents_local", "later.conf", "contents_local", None),
    ([], "grub", {"users": [{"name": "root", "password_hash": "grub.pbkdf2.sha512.10000.x"}]},
     "grub", None),
    (_LUKS, "discard", True, "discard", "luks"),
    (_LUKS, "open_options", ["--allow-discards"], "open_options", "luks"),
    ([*_LUKS[:2], _new({"name": "later", "device": "/dev/disk/by-partlabel/later",
                        "clevis": {"tang": [{"url": "https://tang.example.com",
                                             "thumbprint": "x"}]}}),
      ("clevis", None), ("tang", None), (0, None)],
     "advertisement", '{"payload": "e30"}', "advertisement", "luks"),
    (_BOOT_LUKS, "discard", True, "discard", "boot_device"),
    (_LUKS, "cex", {"enabled": True}, "cex", "luks"),
    (_BOOT_LUKS, "cex", {"enabled": True}, "cex", "boot_device"),
    (_BOOT_LUKS, "device", "/dev/dasda", "boot_luks_device", "boot_device"),
    (_TREE, "file_mode", 0o600, "tree_owner", "trees"),
    (_TREE, "dir_mode", 0o700, "tree_owner", "trees"),
    (_TREE, "user", {"name": "core"}, "tree_owner", "trees"),
    (_TREE, "group", {"id": 1000}, "tree_owner", "trees"),
    ([("systemd", {})], "quadlets", [{"name": "a.container", "contents": "[Container]\n"}],
     "quadlets", None),
]


def _minor(version: str) -> int:
    return int(version.split(".")[1])


@st.composite
def later_field_cases(draw, version: str):
    """(case, the document with the way to a later field, the same with the field,
    the field's path): a valid case of `version`, and a field of a later one whose
    parent `version` has."""
    import copy

    minor = _minor(version)
    steps, key, value, feature, needs = draw(st.sampled_from([
        entry for entry in LATER
        if minor < SINCE[entry[3]] and (entry[4] is None or minor >= SINCE[entry[4]])]))
    case = draw(cases(versions=(version,)))
    base = copy.deepcopy(case.doc)
    node, path = base, ()
    for step, default in steps:
        if step == "+":
            node.append(copy.deepcopy(default))
            step = len(node) - 1
        elif isinstance(node, dict) and step not in node:
            node[step] = copy.deepcopy(default)
        node, path = node[step], path + (step,)
    later = copy.deepcopy(base)
    node = later
    for step in path:
        node = node[step]
    node[key] = value
    case.trees["later-tree"] = {"later.txt": (b"later", 0o644)}
    return case, base, later, path + (key,)


@pytest.mark.parametrize("version", VERSIONS[:-1])  # 1.8.0-experimental is the last
@per_version(10)
@given(data=st.data())
def test_later_fields_are_unused_keys(version, data):
    """A field that a later fcos version introduced is, in an earlier one, the
    warning `unused key <key>` at that key (SPEC §0.4; SPEC-VARIANTS §1, §4.1): the
    output is that of the document without it, and --strict fails."""
    from collections import Counter

    case, base, later, path = data.draw(later_field_cases(version), label="example")
    text = dump(Case(case.version, later, styles=case.styles))
    with tempfile.TemporaryDirectory() as tmp:
        files_dir = materialize(case, tmp)
        want = translate(dump(Case(case.version, base, styles=case.styles)),
                         files_dir=files_dir)
        got = translate(text, files_dir=files_dir)
        strict = translate(text, files_dir=files_dir, strict=True)
    assert want.ok, (want.error, [e.raw() for e in want.report])
    assert got.ok, (got.error, [e.raw() for e in got.report])
    assert got.config == want.config
    unused = ("warning", path, f"unused key {path[-1]}")
    assert Counter((e.kind, e.path, e.message) for e in got.report) == \
        Counter([(e.kind, e.path, e.message) for e in want.report] + [unused])
    entry = next(e for e in got.report if (e.kind, e.path, e.message) == unused)
    assert (entry.line, entry.column) == key_position(text, path)
    assert not strict.ok


def key_position(text: str, path: tuple) -> tuple[int, int]:
    """The 1-based line and column of the key that ends `path` in the YAML text."""
    node = yaml.compose(text)
    for step in path[:-1]:
        node = node.value[step] if isinstance(step, int) else \
            next(v for k, v in node.value if k.value == step)
    key = next(k for k, _ in node.value if k.value == path[-1])
    return key.start_mark.line + 1, key.start_mark.column + 1


def node_position(text: str, path: tuple) -> tuple[int, int]:
    """The 1-based line and column where the value at `path` starts: a mapping's first
    key, a block list's first `-` (PyYAML's start marks, as yaml.v3's)."""
    node = yaml.compose(text)
    for step in path:
        node = node.value[step] if isinstance(step, int) else \
            next(v for k, v in node.value if k.value == step)
    return node.start_mark.line + 1, node.start_mark.column + 1


# --------------------------------------------------------------------------- openshift

# The openshift versions built on each fcos release (SPEC-VARIANTS §1).
OPENSHIFT = {"1.3.0": [f"4.{m}.0" for m in range(8, 14)],
             "1.5.0": [f"4.{m}.0" for m in range(14, 19)],
             "1.6.0": [f"4.{m}.0" for m in range(19, 23)],
             "1.8.0-experimental": ["4.23.0-experimental"]}
ROLE = "machineconfiguration.openshift.io/role"
LABEL_KEYS = st.one_of(st.sampled_from(["example.com/zone", "example.com/Zone", "a-b", "a_b",
                                        "node9", "node09", "node10", "1a", "true", ""]),
                       ANY_TEXT)
USER_FIELDS_OK = {"name", "sshAuthorizedKeys"}
FILTERS = {"groups": "groups are not supported in this spec version",
           "user": 'fields other than "name", "ssh_authorized_keys", and "password_hash" '
                   "(4.13.0+) are not supported in this spec version",
           "directories": "directories are not supported in this spec version",
           "append": "appending to files is not supported in this spec version",
           "links": "links are not supported in this spec version",
           "kernelArguments": "this section cannot be used for kernel arguments in this spec "
                              "version; use openshift.kernel_arguments instead",
           "compression": "file compression is not supported in this spec version"}


@st.composite
def openshift_cases(draw, version: str):
    """A valid case of the fcos release openshift `version` builds on, sometimes
    stripped of what openshift forbids, and the same document as an openshift one
    (metadata and openshift sections last, so the common lines keep their numbers)."""
    case = draw(cases(versions=tuple(v for v, os in OPENSHIFT.items() if version in os)))
    minor = int(version.split(".")[1])
    doc = case.doc
    users = (doc.get("passwd") or {}).get("users") or []
    if users:  # the MCO knows only "core"
        users[0]["name"] = "core"
        case.keys["core"] = case.keys.pop("user0")
    if draw(st.booleans()):
        doc.pop("kernel_arguments", None)
        if minor < 23:  # 4.23 writes grub's user.cfg as contents (SPEC-VARIANTS §7.3)
            doc.pop("grub", None)
        passwd = doc.pop("passwd", {})
        allowed = ("name", "ssh_authorized_keys", "ssh_authorized_keys_local") + (
            ("password_hash",) if minor >= 13 else ())
        if passwd.get("users"):
            doc["passwd"] = {"users": [{k: v for k, v in passwd["users"][0].items()
                                        if k in allowed}]}
        storage = doc.get("storage", {})
        for key in ("directories", "links"):
            storage.pop(key, None)
        for f in storage.get("files", []):
            f.pop("append", None)
            if "mode" in f:
                f["mode"] &= 0o777
            if minor <= 9 and (f.get("contents") or {}).get("compression") == "gzip":
                del f["contents"]["compression"]  # 4.8/4.9: no compression
        for tree in storage.get("trees", []):  # directories from trees (4.23)
            for key in ("dir_mode", "user", "group"):
                tree.pop(key, None)
        for structure in case.trees.values():
            _drop_links(structure)
        systemd = doc.get("systemd", {})
        if systemd.get("quadlets"):  # template instances are links (4.23)
            systemd["quadlets"] = [q for q in systemd["quadlets"]
                                   if not re.fullmatch(r"q\d+@[^.]+\..*", q["name"])]
    labels = {ROLE: draw(st.sampled_from(["worker", "master"]))}
    labels.update(draw(st.dictionaries(LABEL_KEYS, ANY_TEXT, max_size=4)))
    section = {}
    if draw(st.booleans()):
        section["kernel_arguments"] = draw(st.lists(st.sampled_from(
            ["nosmt", "audit=1", "yes", "12:30", "1.10", "console=ttyS0,115200n8"]), max_size=3,
            unique=True))  # a repeat is a duplicate entry (test_openshift.py)
    if draw(st.booleans()):
        section["extensions"] = draw(st.lists(st.sampled_from(["usbguard", "kernel-devel"]),
                                              max_size=2, unique=True))
    if draw(st.booleans()):
        section["fips"] = draw(st.booleans())
    if draw(st.booleans()):
        section["kernel_type"] = draw(st.sampled_from(["", "default", "realtime"]))
    os_doc = {"variant": "openshift", "version": version,
              **{k: v for k, v in doc.items() if k not in ("variant", "version")},
              "metadata": {"name": f"99-{draw(WORD)}", "labels": labels}}
    if section:
        os_doc["openshift"] = section
    if minor <= 13 and draw(st.booleans()):  # not in fcos 1.3.0: unused keys (§7.7)
        os_doc["kernel_arguments"] = {"should_exist": ["quiet"]}
    if minor <= 13 and draw(st.booleans()):
        os_doc["grub"] = {"users": [{"name": "root", "password_hash": "grub.pbkdf2.x"}]}
    return case, os_doc


def _drop_links(structure: dict) -> None:
    for name, item in list(structure.items()):
        if isinstance(item, dict):
            _drop_links(item)
        elif item[0] == "link":
            del structure[name]


def _expected_raw(config: dict, os_doc: dict, gzipped: list[bytes]) -> dict:
    """The fcos config with openshift's changes (SPEC-VARIANTS §7.3): no automatic
    gzip in 4.8/4.9 (the user's own gzip files stay), the FIPS cipher up to 4.19, and
    in 4.23 grub's user.cfg append as contents."""
    out = json.loads(json.dumps(config))
    minor = int(os_doc["version"].split(".")[1])
    if minor <= 9:
        for res in all_resources(out):
            if res.get("compression") == "gzip" and \
                    decode_data_url(res["source"]) not in gzipped:
                res["source"], res["compression"] = _shortest(resource_bytes(res)), ""
    if (os_doc.get("openshift") or {}).get("fips") is True and minor <= 19:
        for luks in out.get("storage", {}).get("luks", []):
            options = luks.get("options", [])
            if not any(o in ("--cipher", "-c") or o.startswith("--cipher=") for o in options):
                luks["options"] = options + ["--cipher", "aes-cbc-essiv:sha256"]
    if minor >= 23:
        for f in out.get("storage", {}).get("files", []):
            if f["path"] == "/boot/grub2/user.cfg" and len(f.get("append", [])) == 1:
                f["contents"] = f.pop("append")[0]
    return out


def _shortest(data: bytes) -> str:
    """The data URL without gzip: base64 if strictly shorter, else percent (SPEC §3)."""
    b64 = "data:;base64," + base64.b64encode(data).decode()
    pct = _data_url(data)
    return b64 if len(b64) < len(pct) else pct


def _snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), name)


def _expected_errors(config: dict, minor: int, doc: dict) -> tuple[list, list]:
    """The errors the expected raw config must give (SPEC-VARIANTS §7.3 step 5, §7.4):
    the MCO checks' (path, --raw path, message), where --raw keeps the output path
    below spec.config; the field filters' (path, message), the path None where a
    list holds sugar's entries too (trees, quadlets)."""
    storage = config.get("storage", {})
    source = {f["path"]: j for j, f in enumerate((doc.get("storage") or {}).get("files", []))}
    users = config.get("passwd", {}).get("users", [])
    mco = [(("storage", "files", source[f["path"]], "mode"),
            ("spec", "config", "storage", "files", i, "mode"),
            "special mode bits are not supported in this spec version")
           for i, f in enumerate(storage.get("files", []))
           if f.get("mode", 0) & ~0o777 and minor >= 10]
    mco += [(("passwd", "users", i, "name"), ("spec", "config", "passwd", "users", i, "name"),
             'users other than "core" are not supported in this spec version')
            for i, u in enumerate(users) if u["name"] != "core"]

    def written(kind):  # the path of a list only the user's entries fill
        mine = (doc.get("storage") or {}).get(kind, [])
        return ("storage", kind) if len(mine) == len(storage.get(kind, [])) else None

    filters = [(("passwd", "groups"), FILTERS["groups"])] \
        if config.get("passwd", {}).get("groups") else []
    allowed = USER_FIELDS_OK | ({"passwordHash"} if minor >= 13 else set())
    filters += [(("passwd", "users", i, _snake(k)), FILTERS["user"])
                for i, u in enumerate(users) for k in u if k not in allowed]
    filters += [(written("directories"), FILTERS["directories"])] \
        if storage.get("directories") else []
    filters += [(("grub", "users") if f["path"] == "/boot/grub2/user.cfg" else
                 ("storage", "files", source[f["path"]], "append"), FILTERS["append"])
                for f in storage.get("files", []) if f.get("append")]
    filters += [(("storage", "files", source[f["path"]], "contents", "compression"),
                 FILTERS["compression"]) for f in storage.get("files", [])
                if minor <= 9 and (f.get("contents") or {}).get("compression")]
    filters += [(written("links"), FILTERS["links"])] if storage.get("links") else []
    filters += [(("kernel_arguments",), FILTERS["kernelArguments"])] \
        if config.get("kernelArguments") and minor >= 14 else []
    return mco, filters


@pytest.mark.parametrize("version", [v for vs in OPENSHIFT.values() for v in vs])
@per_version(8)
@given(data=st.data())
def test_openshift_is_fcos_plus_its_rules(version, data):
    """Every openshift version translates as the fcos release it builds on: --raw
    gives the fcos config (no automatic gzip in 4.8/4.9, the FIPS cipher up to 4.19,
    grub's user.cfg as contents in 4.23), valid for its Ignition version, and the same
    report plus one "field ignored" warning per openshift field (and in 4.8-4.13 an
    unused key for a top-level kernel_arguments or grub); the MCO checks and
    field filters reject exactly what SPEC-VARIANTS §7 lists; the MachineConfig holds
    the same config and reads back as its YAML says (yaml.v3's key order and
    styles)."""
    from collections import Counter

    from yaml_readback import expected as yaml_expected, read_back

    case, os_doc = data.draw(openshift_cases(version), label="pair")
    fcos_text = dump(case)
    case_os = Case(case.version, os_doc, styles=case.styles)
    os_text = dump(case_os)
    with tempfile.TemporaryDirectory() as tmp:
        files_dir = materialize(case, tmp)
        fcos = translate(fcos_text, files_dir=files_dir)
        raw = translate(os_text, files_dir=files_dir, raw=True)
        mc = translate(os_text, files_dir=files_dir)
    assert fcos.ok, (fcos.error, [e.raw() for e in fcos.report])
    minor = int(os_doc["version"].split(".")[1])
    want_raw = _expected_raw(fcos.config, os_doc, case.gzipped)
    mco, filters = _expected_errors(want_raw, minor, os_doc)
    ignored = [("openshift", k) for k in ("kernel_arguments", "extensions", "fips", "kernel_type")
               if k in os_doc.get("openshift", {})]

    if mco:  # in the order of the checks: files, then users
        assert raw.error == mc.error == "source config is invalid"
        assert [(e.path, e.message) for e in mc.report if e.kind == "error"] == \
            [(path, message) for path, _, message in mco]
        assert [(e.path, e.message, e.line, e.column) for e in raw.report if e.kind == "error"] \
            == [(path, message, 1, 1) for _, path, message in mco]
        return
    assert raw.ok, (raw.error, [e.raw() for e in raw.report])
    assert raw.config == want_raw
    assert raw.ignition_version == raw.config["ignition"]["version"] == IGNITION[case.version]
    if check_schema is not None:
        assert list(check_schema(raw.config, raw.ignition_version)) == []
    # Stage 1 first: 4.8-4.13's unused top-level keys, in either order (Go map order).
    unused = {("warning", (k,), f"unused key {k}") for k in ("kernel_arguments", "grub")
              if k in os_doc and minor <= 13}
    entries = [e for e in raw.report if e.message != "field ignored in raw mode"]
    assert {(e.kind, e.path, e.message) for e in entries[:len(unused)]} == unused
    assert entries[len(unused):] == list(fcos.report)
    assert [e.path for e in raw.report if e.message == "field ignored in raw mode"] == ignored
    if filters:
        assert mc.error == "source config is invalid"
        errors = [e for e in mc.report if e.kind == "error"]
        assert Counter(e.message for e in errors) == Counter(m for _, m in filters)
        for path, message in filters:
            assert path is None or (path, message) in [(e.path, e.message) for e in errors]
        return
    assert mc.ok, (mc.error, [e.raw() for e in mc.report])
    assert mc.config == raw.config
    machine = mc.machine_config
    assert machine["spec"]["config"] == raw.config
    assert machine["metadata"] == os_doc["metadata"]
    text = mc.to_yaml()
    assert text.startswith("# Generated by Butane; do not edit\n") and not text.endswith("\n")
    read_back(yaml.compose(text + "\n"), yaml_expected(_without_final_newlines(machine)))


def _without_final_newlines(machine: dict) -> dict:
    """The official output trims the document's trailing newlines, so a |+ block that
    ends the document loses its extra ones (SPEC-VARIANTS §7.5): the last scalar."""
    out = json.loads(json.dumps(machine))
    spec = out["spec"]
    last = sorted(spec, key=lambda k: k)[-1] if spec else None  # ASCII keys: same order
    if last in ("kernelArguments", "extensions") and isinstance(spec[last][-1], str) \
            and spec[last][-1].endswith("\n\n"):
        spec[last][-1] = spec[last][-1].rstrip("\n") + "\n"
    return out


# --------------------------------------------------------------------------- flatcar, r4e, fiot

# Each spec and the fcos release with the same Ignition spec and base schema
# (SPEC-VARIANTS §1: flatcar/r4e 1.0.0 base v0_4, flatcar/r4e 1.1.0 and fiot 1.0.0
# v0_5, the experimental ones v0_8_exp).
VARIANTS = {("flatcar", "1.0.0"): "1.4.0", ("flatcar", "1.1.0"): "1.5.0",
            ("flatcar", "1.2.0-experimental"): "1.8.0-experimental",
            ("r4e", "1.0.0"): "1.4.0", ("r4e", "1.1.0"): "1.5.0",
            ("r4e", "1.2.0-experimental"): "1.8.0-experimental",
            ("fiot", "1.0.0"): "1.5.0", ("fiot", "1.1.0-experimental"): "1.8.0-experimental"}
FCOS_ONLY = ("boot_device", "grub")  # unused keys in these variants (SPEC-VARIANTS §1)
# r4e and fiot: (input path, message), in the output's order (SPEC-VARIANTS §3)
EDGE_FILTERS = [
    (("kernel_arguments",), "kernel argument customization is not supported in this spec version"),
    (("storage", "disks"), "disk customization is not supported in this spec version"),
    (("storage", "filesystems"), "filesystem customization is not supported in this spec version"),
    (("storage", "luks"), "luks is not supported in this spec version"),
    (("storage", "raid"), "raid is not supported in this spec version"),
]
CLEVIS_FILTER = "clevis is not supported in this spec version"  # flatcar 1.0.0, 1.1.0
CEX_FILTER = "cex is not currently supported on the target platform"  # flatcar 1.2.0-exp


def _is_empty(value) -> bool:
    """The filters' "empty" (SPEC-VARIANTS §3): absent, an empty list, or a mapping of
    empty fields; a scalar that is set (even false, 0 or "") is not empty."""
    if value is None:
        return True
    if isinstance(value, list):
        return not value
    if isinstance(value, dict):
        return all(_is_empty(v) for v in value.values())
    return False


def _get(doc: dict, path: tuple):
    for step in path:
        doc = doc[step] if isinstance(doc, list) else (doc or {}).get(step)
    return doc


def _forbidden(variant: str, version: str, doc: dict) -> list[tuple[tuple, str]]:
    """(path, message) of each forbidden field the document sets, in the output's order."""
    if variant in ("r4e", "fiot"):
        return [(path, message) for path, message in EDGE_FILTERS
                if not _is_empty(_get(doc, path))]
    field, message = ("cex", CEX_FILTER) if version.endswith("-experimental") else \
        ("clevis", CLEVIS_FILTER)
    return [(("storage", "luks", i, field), message)
            for i, luks in enumerate(_get(doc, ("storage", "luks")) or [])
            if not _is_empty(luks.get(field))]


@st.composite
def variant_cases(draw, variant: str, version: str):
    """A valid case of the fcos release with the same Ignition spec, sometimes stripped
    of what the variant forbids, given one more forbidden field (flatcar) or empty
    forbidden sections (r4e, fiot); (case, the fcos
    document without the fcos-only sections, the variant's document with them last,
    so the common lines keep their numbers)."""
    case = draw(cases(versions=(VARIANTS[(variant, version)],)))
    doc = case.doc
    storage = doc.get("storage", {})
    choice = draw(st.sampled_from(["strip", "as is", "add"]))
    if variant == "flatcar" and choice != "as is":
        field = "cex" if version.endswith("-experimental") else "clevis"
        for luks in storage.get("luks", []):
            luks.pop(field, None)
        if choice == "add":  # one more volume with it (a set false counts too)
            value = {"enabled": draw(st.booleans())} if field == "cex" else draw(
                st.sampled_from([{"tpm2": False}, {"tpm2": True}, {"tang": [
                    {"url": "https://tang.example.com", "thumbprint": "x"}]}]))
            at = draw(st.integers(0, len(storage.get("luks", []))))
            storage.setdefault("luks", []).insert(at, {
                "name": "stoker-filtered", "device": "/dev/disk/by-partlabel/filtered",
                field: value})
            doc["storage"] = storage
    elif variant != "flatcar" and choice == "strip":
        doc.pop("kernel_arguments", None)
        for key in ("disks", "filesystems", "luks", "raid"):
            storage.pop(key, None)
    if variant != "flatcar" and draw(st.booleans()):  # empty is allowed
        doc.setdefault("kernel_arguments", draw(st.sampled_from([{}, {"should_exist": []}])))
        for key in ("disks", "raid"):
            storage.setdefault(key, [])
        doc["storage"] = storage
    common = {k: v for k, v in doc.items() if k not in FCOS_ONLY + ("variant", "version")}
    fcos_doc = {"variant": "fcos", "version": case.version, **common}
    var_doc = {"variant": variant, "version": version, **common,
               **{k: doc[k] for k in FCOS_ONLY if k in doc}}
    return case, fcos_doc, var_doc


@pytest.mark.parametrize("variant,version", list(VARIANTS))
@per_version(12)
@given(data=st.data())
def test_variant_is_fcos_plus_its_filters(variant, version, data):
    """flatcar, r4e and fiot translate as the fcos release with the same Ignition spec
    (SPEC-VARIANTS §1, §3, §6): boot_device and grub are unused keys; without a
    forbidden field the output and report are fcos's; with them, one error per
    forbidden field at its path and position, in the output's order, with the
    official message."""
    from collections import Counter

    case, fcos_doc, var_doc = data.draw(variant_cases(variant, version), label="case")
    fcos_text = dump(Case(case.version, fcos_doc, styles=case.styles))
    var_text = dump(Case(case.version, var_doc, styles=case.styles))
    with tempfile.TemporaryDirectory() as tmp:
        files_dir = materialize(case, tmp)
        fcos = translate(fcos_text, files_dir=files_dir)
        got = translate(var_text, files_dir=files_dir)
        strict = translate(var_text, files_dir=files_dir, strict=True)
    assert fcos.ok, (fcos.error, [e.raw() for e in fcos.report])
    assert strict.ok == (got.ok and not got.report)

    # Stage 1 first: the fcos-only sections, in either order (Go map order).
    unused = {("warning", (k,), f"unused key {k}") for k in FCOS_ONLY if k in var_doc}
    entries = list(got.report)
    head, rest = entries[:len(unused)], entries[len(unused):]
    assert {(e.kind, e.path, e.message) for e in head} == unused
    for e in head:
        assert (e.line, e.column) == key_position(var_text, e.path)

    forbidden = _forbidden(variant, version, var_doc)
    if forbidden:
        assert got.error == "source config is invalid"
        errors = [e for e in rest if e.kind == "error"]
        assert [(e.path, e.message) for e in errors] == forbidden
        for e in errors:
            assert (e.line, e.column) == node_position(var_text, e.path), e
        # warnings of the stages before: fcos's, less Ignition's own (never reached)
        warnings = Counter(e for e in rest if e.kind != "error")
        assert not warnings - Counter(fcos.report), warnings
        return
    assert got.ok, (got.error, [e.raw() for e in got.report])
    assert got.ignition_version == IGNITION[case.version]
    assert got.config == fcos.config
    assert got.to_json() == fcos.to_json()
    assert rest == list(fcos.report)
    if check_schema is not None:
        assert list(check_schema(got.config, got.ignition_version)) == []


def test_schema_check_available():
    """Says so plainly when the JSON Schema check above could not run."""
    if check_schema is None:
        pytest.skip("stoker.ignition.check_schema is not importable: the property tests "
                    "ran without the JSON Schema assertion")
    result = translate("variant: fcos\nversion: 1.7.0\n")
    assert result.ok
    assert list(check_schema(result.config, result.ignition_version)) == []


def test_escape_helper():
    """The expectation helper itself, on SPEC §6's examples."""
    assert _escape("/var/srv") == "var-srv"
    assert _escape("/dev/disk/by-partlabel/swap") == "dev-disk-by\\x2dpartlabel-swap"
    assert _escape("/.hidden//a b/") == "\\x2ehidden-a\\x20b"


# --------------------------------------------------------------------------- modes, exhaustively

def _typical_mode(mode: int, directory: bool) -> bool:
    """SPEC §12 "typical" mode, written from Butane's rules (checked other -> group -> user)."""
    if mode == 0:
        return True
    had_r = had_w = had_x = False
    for perm in (mode & 7, (mode >> 3) & 7, (mode >> 6) & 7):
        r, w, x = bool(perm & 4), bool(perm & 2), bool(perm & 1)
        if (had_r and not r) or (had_w and not w) or (had_x and not x):
            return False  # a more specific class lacks a bit a less specific one has
        if x and had_r and not had_x:
            return False
        if (w or x) and not r:
            return False
        had_r, had_w, had_x = had_r or r, had_w or w, had_x or x
    if not had_r:
        return False
    if directory:
        return had_x and not mode & 0o4000 and (had_w or not mode & 0o3000)
    if mode & 0o6000 and (not had_x or mode & 0o2):
        return False
    return not mode & 0o1000


def _decimal_suspect(mode: int, directory: bool) -> bool:
    digits = f"{mode:04d}"
    if not 0 <= mode <= 7777 or any(d > "7" for d in digits):
        return False
    return not _typical_mode(mode, directory) and _typical_mode(int(digits, 8), directory)


@pytest.mark.parametrize("version", ["1.0.0", "1.4.0", "1.7.0", "1.8.0-experimental"])
def test_mode_warnings_for_every_mode(version):
    """Every legal mode (0..0o7777) on a file and a directory: the decimal-mode warning
    (SPEC §12) and Ignition's special-bits warning before 3.6 (SPEC §13) exactly where
    the rules say, each at its own entry's mode."""
    modes = range(0o7777 + 1)
    doc = {"variant": "fcos", "version": version, "storage": {
        "files": [{"path": f"/f/{m}", "mode": m} for m in modes],
        "directories": [{"path": f"/d/{m}", "mode": m} for m in modes]}}
    result = translate(yaml.safe_dump(doc))
    assert result.ok, result.error
    kinds = (("files", False), ("directories", True))
    decimal = {("storage", kind, m, "mode") for kind, directory in kinds for m in modes
               if _decimal_suspect(m, directory)}
    special = {("storage", kind, m, "mode") for kind, _ in kinds for m in modes
               if m & 0o7000} if IGNITION[version] < "3.6.0" else set()  # 3.0.0-3.5.0
    got_decimal = {e.path for e in result.report if "specified in octal" in e.message}
    got_special = {e.path for e in result.report if "setuid/setgid/sticky" in e.message}
    assert got_decimal == decimal
    assert got_special == special
    assert len(result.report) == len(decimal) + len(special)
    assert all(e.kind == "warning" for e in result.report)
