"""What Ignition's own validation accepts but its files stage cannot do at
boot: the boot stops in the initramfs (emergency shell), so stoker reports
each as an error.

- An entry under a path the config writes as a regular file (`/etc/foo`
  and `/etc/foo/bar`): creating `/etc/foo/bar` needs a directory
  `/etc/foo`, and a file is there (mkdir fails with ENOTDIR/EEXIST).
- A NUL character in a path: no Linux path can hold one (the kernel reads
  a path up to its first NUL; Go's syscall package refuses such strings
  with EINVAL).
- A symbolic link without a target (specs 3.0.0–3.2.0 accept it; from
  3.3.0 Ignition's validation refuses it itself): symlink(2) with an empty
  target fails with ENOENT.
- A user or group id beyond Linux's 32-bit ids (uid_t, gid_t): chown(2)
  would receive the id cut to its low 32 bits (4294967296 becomes root),
  and useradd/groupadd refuse it; 4294967295 is (uid_t)-1, "no change".

Input: the config as parsed JSON (plain dicts and lists); output: Entry
objects with JSON paths, in document order.
"""

from __future__ import annotations


from ..report import ERROR, Entry

MAX_ID = 4294967294  # the largest uid_t/gid_t that names an owner: (uid_t)-1 means "unchanged"


def _obj(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _items(value: object) -> list:
    return value if isinstance(value, list) else []


def _big_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > MAX_ID


def boot_failures(config: dict) -> list[Entry]:
    entries: list[Entry] = []
    storage = _obj(config.get("storage"))
    files = {}
    for i, node in enumerate(_items(storage.get("files"))):
        path = _obj(node).get("path")
        if isinstance(path, str):
            files.setdefault(path.rstrip("/"), ("storage", "files", i, "path"))
    for kind in ("files", "directories", "links"):
        for i, node in enumerate(_items(storage.get(kind))):
            node = _obj(node)
            at = ("storage", kind, i)
            path = node.get("path")
            if not isinstance(path, str):
                continue
            if "\0" in path:
                entries.append(Entry(ERROR, at + ("path",), "the path holds a NUL character, which no Linux path "
                                     "can: Ignition's files stage fails and the boot stops"))
            parent = path.rstrip("/")
            while "/" in parent.strip("/"):
                parent = parent.rsplit("/", 1)[0]
                if parent in files:
                    entries.append(Entry(ERROR, at + ("path",), (
                        f"{path} is under {parent}, which this config writes as a file "
                        f"({'.'.join(map(str, files[parent]))}): Ignition cannot make a directory where a file "
                        "is, and the boot stops")))
                    break
            if kind == "links" and not node.get("target"):
                entries.append(Entry(ERROR, at + ("target",), "the link has no target: Ignition cannot create a "
                                     "symbolic link to nothing, and the boot stops"))
            for owner in ("user", "group"):
                if _big_id(_obj(node.get(owner)).get("id")):
                    entries.append(Entry(ERROR, at + (owner, "id"), _id_message(_obj(node.get(owner))["id"])))
    passwd = _obj(config.get("passwd"))
    for kind, key in (("users", "uid"), ("groups", "gid")):
        for i, entry in enumerate(_items(passwd.get(kind))):
            if _big_id(_obj(entry).get(key)):
                entries.append(Entry(ERROR, ("passwd", kind, i, key), _id_message(_obj(entry)[key])))
    return entries


def _id_message(value: int) -> str:
    return (f"{value} is beyond Linux's 32-bit user and group ids (at most {MAX_ID:,}): the kernel would read it "
            f"as {value & 0xFFFFFFFF}")
