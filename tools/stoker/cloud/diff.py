"""The difference between two Ignition configs, in operator terms: units,
timers, files, directories, links, users and keys, container images.

Pure functions over parsed configs. Secrets never leave this module in clear:
files under /etc/stoker/ (the secret environment files) are reported by size
only, and secret-looking values in any text (PASSWORD=, TOKEN=, credentials in
URLs, password hashes) are masked before a diff is made.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import re
from dataclasses import dataclass, field

from .config import decode_data_url, effective_config

SECRET_DIRS = ("/etc/stoker/",)
MASK = "••••"
_SECRET_ASSIGN = re.compile(
    r"(?i)\b([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)[A-Z0-9_]*)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s\"']+)")
_URL_CREDENTIALS = re.compile(r"(\w+://[^/\s:@]+:)[^@\s/]+@")
_IMAGE_REF = re.compile(
    r"^[a-z0-9][a-z0-9._-]*(?::\d+)?(?:/[a-z0-9._-]+)+(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")


def mask_text(text: str) -> str:
    text = _SECRET_ASSIGN.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    return _URL_CREDENTIALS.sub(lambda m: f"{m[1]}{MASK}@", text)


def is_secret_path(path: str) -> bool:
    return any(path.startswith(d) for d in SECRET_DIRS)


@dataclass
class Change:
    kind: str     # unit | timer | file | directory | link | user | image | ignition
    name: str
    action: str   # added | removed | changed
    details: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)  # unified diff, already masked


@dataclass
class ConfigDiff:
    changes: list[Change]

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> str:
        return f"{self.count('added')} to add, {self.count('changed')} to change, {self.count('removed')} to remove"


def _unified(old: str, new: str, name: str) -> list[str]:
    sep = "" if name.startswith("/") else "/"
    return list(difflib.unified_diff(mask_text(old).splitlines(), mask_text(new).splitlines(),
                                     f"a{sep}{name}", f"b{sep}{name}", lineterm="", n=2))


# -- what a config declares, keyed by name --------------------------------------

def _units(doc: dict) -> dict[str, dict]:
    out = {}
    for unit in (doc.get("systemd") or {}).get("units") or []:
        text = unit.get("contents") or ""
        for dropin in unit.get("dropins") or []:
            text += f"\n# drop-in {dropin.get('name')}\n{dropin.get('contents') or ''}"
        out[unit["name"]] = {"text": text, "enabled": unit.get("enabled"), "mask": bool(unit.get("mask"))}
    return out


def _file_bytes(entry: dict) -> bytes | None:
    contents = entry.get("contents") or {}
    source = contents.get("source")
    if source is None:
        return b""
    data = decode_data_url(source, contents.get("compression"))
    if data is None:  # a remote source: its identity is the URL and hash
        return f"<fetched from {mask_text(source)} {contents.get('verification', {}).get('hash', '')}>".encode()
    for part in entry.get("append") or []:
        extra = decode_data_url(part.get("source") or "", part.get("compression"))
        data += extra if extra is not None else f"<append {mask_text(part.get('source', ''))}>".encode()
    return data


def _owner(entry: dict) -> str:
    user = (entry.get("user") or {}).get("name") or (entry.get("user") or {}).get("id") or "root"
    group = (entry.get("group") or {}).get("name") or (entry.get("group") or {}).get("id") or "root"
    return f"{user}:{group}"


def _files(doc: dict) -> dict[str, dict]:
    out = {}
    for entry in (doc.get("storage") or {}).get("files") or []:
        mode = entry.get("mode")
        out[entry["path"]] = {"data": _file_bytes(entry), "owner": _owner(entry),
                              "mode": f"{mode:04o}" if isinstance(mode, int) else "default"}
    return out


def _users(doc: dict) -> dict[str, dict]:
    out = {}
    for user in (doc.get("passwd") or {}).get("users") or []:
        out[user["name"]] = {"keys": list(user.get("sshAuthorizedKeys") or []),
                             "groups": sorted(user.get("groups") or []),
                             "password": user.get("passwordHash"), "shell": user.get("shell")}
    return out


def _images(doc: dict) -> set[str]:
    texts = [u["text"] for u in _units(doc).values()]
    texts += [f["data"].decode("utf-8", "replace") for p, f in _files(doc).items() if not is_secret_path(p)]
    found = set()
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("Image="):
                found.add(line[len("Image="):].strip())
            elif re.search(r"\b(podman|docker)\b.*\b(run|create|pull)\b", line):
                found.update(tok for tok in line.split() if _IMAGE_REF.match(tok))
    return found


def key_label(key: str) -> str:
    """An SSH public key as an operator recognises it: type, comment, short fingerprint."""
    parts = key.split()
    blob = parts[1] if len(parts) > 1 else key
    try:
        digest = base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode().rstrip("=")
    except ValueError:
        digest = hashlib.sha256(blob.encode()).hexdigest()
    comment = " ".join(parts[2:]) or "(no comment)"
    return f"{parts[0] if parts else '?'} {comment} SHA256:{digest[:16]}…"


def _repo(ref: str) -> str:
    ref = ref.split("@", 1)[0]
    head, _, tail = ref.rpartition("/")
    return f"{head}/{tail.split(':', 1)[0]}" if head else ref.split(":", 1)[0]


# -- the diff -------------------------------------------------------------------

def diff_configs(old: dict | None, new: dict) -> ConfigDiff:
    """What changes when a server running `old` (None: nothing yet) gets `new`."""
    old = effective_config(old) if old is not None else {}
    new = effective_config(new)
    changes: list[Change] = []
    old_version = (old.get("ignition") or {}).get("version")
    new_version = (new.get("ignition") or {}).get("version")
    if old and old_version != new_version:
        changes.append(Change("ignition", "spec version", "changed", [f"{old_version} → {new_version}"]))
    changes += _diff_units(_units(old), _units(new))
    changes += _diff_files(_files(old), _files(new))
    for kind in ("directories", "links"):
        label = kind[:-1] if kind == "links" else "directory"
        before = {e["path"]: e.get("target", "") for e in (old.get("storage") or {}).get(kind) or []}
        after = {e["path"]: e.get("target", "") for e in (new.get("storage") or {}).get(kind) or []}
        for path in sorted(before.keys() | after.keys()):
            if path not in before:
                changes.append(Change(label, path, "added", [f"→ {after[path]}"] if after[path] else []))
            elif path not in after:
                changes.append(Change(label, path, "removed"))
            elif before[path] != after[path]:
                changes.append(Change(label, path, "changed", [f"target {before[path]} → {after[path]}"]))
    changes += _diff_users(_users(old), _users(new))
    changes += _diff_images(_images(old), _images(new))
    return ConfigDiff(changes)


def _diff_units(before: dict, after: dict) -> list[Change]:
    out = []
    for name in sorted(before.keys() | after.keys()):
        kind = "timer" if name.endswith(".timer") else "unit"
        if name not in before:
            state = "masked" if after[name]["mask"] else "enabled" if after[name]["enabled"] else "not enabled"
            out.append(Change(kind, name, "added", [state], _unified("", after[name]["text"], name)))
        elif name not in after:
            out.append(Change(kind, name, "removed"))
        elif before[name] != after[name]:
            details = [f"{k}: {before[name][k]} → {after[name][k]}" for k in ("enabled", "mask")
                       if before[name][k] != after[name][k]]
            diff = _unified(before[name]["text"], after[name]["text"], name)
            if before[name]["text"] != after[name]["text"] and not diff:
                details.append(f"only secret values changed ({MASK})")
            out.append(Change(kind, name, "changed", details, diff))
    return out


def _diff_files(before: dict, after: dict) -> list[Change]:
    out = []
    for path in sorted(before.keys() | after.keys()):
        secret = is_secret_path(path)
        if path not in before:
            data = after[path]["data"]
            details = [f"{len(data)} bytes, mode {after[path]['mode']}, owner {after[path]['owner']}"]
            if secret:
                details.append("secret: contents masked")
            diff = [] if secret or not _is_text(data) else _unified("", data.decode(), path)
            out.append(Change("file", path, "added", details, diff))
        elif path not in after:
            out.append(Change("file", path, "removed"))
        elif before[path] != after[path]:
            b, a = before[path], after[path]
            details = [f"{k} {b[k]} → {a[k]}" for k in ("mode", "owner") if b[k] != a[k]]
            diff = []
            if b["data"] != a["data"]:
                if secret:
                    details.append(f"secret contents changed ({len(b['data'])} → {len(a['data'])} bytes, masked)")
                elif _is_text(b["data"]) and _is_text(a["data"]):
                    diff = _unified(b["data"].decode(), a["data"].decode(), path)
                    if not diff:
                        details.append(f"only secret values changed ({MASK})")
                else:
                    details.append(f"binary contents changed ({len(b['data'])} → {len(a['data'])} bytes)")
            out.append(Change("file", path, "changed", details, diff))
    return out


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\0" not in data


def _diff_users(before: dict, after: dict) -> list[Change]:
    out = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            out.append(Change("user", name, "added", [f"key {key_label(k)}" for k in after[name]["keys"]]))
        elif name not in after:
            out.append(Change("user", name, "removed"))
        elif before[name] != after[name]:
            b, a = before[name], after[name]
            details = [f"+ key {key_label(k)}" for k in a["keys"] if k not in b["keys"]]
            details += [f"- key {key_label(k)}" for k in b["keys"] if k not in a["keys"]]
            if b["groups"] != a["groups"]:
                details.append(f"groups {', '.join(b['groups']) or '-'} → {', '.join(a['groups']) or '-'}")
            if b["password"] != a["password"]:
                details.append(f"password hash changed ({MASK})")
            if b["shell"] != a["shell"]:
                details.append(f"shell {b['shell']} → {a['shell']}")
            out.append(Change("user", name, "changed", details))
    return out


def _diff_images(before: set[str], after: set[str]) -> list[Change]:
    out = []
    gone = {_repo(r): r for r in before - after}
    for ref in sorted(after - before):
        if (old := gone.pop(_repo(ref), None)) is not None:
            out.append(Change("image", _repo(ref), "changed", [f"{old} → {ref}"]))
        else:
            out.append(Change("image", ref, "added"))
    out += [Change("image", ref, "removed") for ref in sorted(gone.values())]
    return out


def render(diff: ConfigDiff, text_diffs: bool = True) -> list[str]:
    """Plain-text lines of a diff, the same in the CLI and in tests."""
    sign = {"added": "+", "removed": "-", "changed": "~"}
    lines = []
    for c in diff.changes:
        lines.append(f"{sign[c.action]} {c.kind} {c.name} ({c.action})")
        lines += [f"    {d}" for d in c.details]
        if text_diffs:
            lines += [f"    {d}" for d in c.diff]
    return lines
