"""The difference between two Ignition configs, in operator terms: units,
timers, files, directories, links, users and keys, container images.

Pure functions over parsed configs. Secrets never leave this module in clear:
files under /etc/stoker/ (the secret environment files) are reported by size
only, and every text that goes out is masked twice (see `Masker`):

1. by value: every secret value stoker can find in the configs being compared
   (the `NAME=value` lines of /etc/stoker/*.env, password hashes, URL
   credentials, values assigned to secret-looking names) is replaced wherever
   it occurs, in the forms it takes in units, JSON, URLs and base64;
2. by pattern, for what no config declared: secret-looking assignments
   (PASSWORD=, DB_PASS=, PASSPHRASE=, TOKEN=, quoted or not) and credentials
   in URLs.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import quote, quote_plus

from .config import data_devices, decode_data_url, effective_config

SECRET_DIRS = ("/etc/stoker/",)
SECRET_ENV_SUFFIX = ".env"  # /etc/stoker/<container>.env: NAME=value lines (stoker.fleet.quadlet)
MASK = "••••"

# Names whose values are secrets: a word anywhere in the name (MONGO_INITDB_ROOT_PASSWORD),
# or a whole _-separated part of it (DB_PASS, SMTP_PWD), so BYPASS or PASSENGER are not.
_SECRET_NAME = re.compile(r"(?i)[A-Z0-9_]*(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|"
                          r"PRIVATE_?KEY|CREDENTIALS?)[A-Z0-9_]*|(?:[A-Z0-9_]*_)?(?:PASS|PWD|PW)(?:_[A-Z0-9_]*)?")
# Where a value is assigned: NAME=, NAME: (YAML), optionally with the whole
# assignment quoted ("NAME=value", as systemd's Environment= takes values with
# spaces). Names are matched as plain words and tested with _SECRET_NAME
# afterwards, and values stop at the end of the line, so the scan stays linear
# in the text whatever it holds.
_ASSIGNMENT = re.compile(r"([\"']?)\b([A-Za-z0-9_]+)([ \t]*[=:][ \t]*)")
_VALUE = re.compile(r"\"((?:\\.|[^\"\\\n])*)\"|'((?:\\.|[^'\\\n])*)'|([^\s\"']+)")
_TO_QUOTE = {'"': re.compile(r'(?:\\.|[^"\\\n])*(?=")'), "'": re.compile(r"(?:\\.|[^'\\\n])*(?=')")}
_URL_CREDENTIALS = re.compile(r"(\b[A-Za-z][\w+.-]{0,30}://[^/\s:@]+:)([^@\s/]+)@")
_IMAGE_REF = re.compile(
    r"^[a-z0-9][a-z0-9._-]*(?::\d+)?(?:/[a-z0-9._-]+)+(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")


def _is_secret_name(name: str) -> bool:
    return len(name) <= 128 and _SECRET_NAME.fullmatch(name) is not None


def _secret_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every value assigned to a secret-looking name: NAME=value,
    NAME: value and NAME="value" (the value inside the quotes), and "NAME=value"
    or 'NAME=value' quoted whole (the value up to the closing quote)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (m := _ASSIGNMENT.search(text, pos)):
        pos = m.end()
        if not _is_secret_name(m[2]):
            continue
        if m[1] and "=" in m[3]:
            value = _TO_QUOTE[m[1]].match(text, pos)
            span = value.span() if value else None
        else:
            value = _VALUE.match(text, pos)
            group = next((g for g in (1, 2, 3) if value and value[g] is not None), None)
            span = value.span(group) if group else None
        if span and span[1] > span[0]:
            spans.append(span)
            pos = max(pos, span[1])
    return spans


def mask_text(text: str) -> str:
    """The pattern layer alone: secret-looking assignments and URL credentials."""
    out, last = [], 0
    for start, end in _secret_spans(text):
        out += [text[last:start], MASK]
        last = end
    text = "".join(out) + text[last:]
    return _URL_CREDENTIALS.sub(lambda m: f"{m[1]}{MASK}@", text)


SECRET_FILES_MANIFEST = "/etc/stoker/secret-files"  # stoker.fleet.assemble: the paths of the secret files


def is_secret_path(path: str, extra: frozenset | set = frozenset()) -> bool:
    """A file whose contents are a secret: under /etc/stoker/, or listed in the
    config's secret-files manifest (`extra`, see secret_file_paths)."""
    return path in extra or any(path.startswith(d) for d in SECRET_DIRS)


def secret_file_paths(doc: dict | None) -> set[str]:
    """The paths the config's /etc/stoker/secret-files lists (its secret files)."""
    if not doc:
        return set()
    entry = _files(effective_config(doc)).get(SECRET_FILES_MANIFEST)
    if entry is None or not _is_text(entry["data"]):
        return set()
    return {line.strip() for line in entry["data"].decode().splitlines() if line.strip()}


# -- masking by value -----------------------------------------------------------

MIN_VALUE_LEN = 4   # shorter values are masked only as a whole assignment value (see Masker)
MIN_BASE64_CORE = 8  # shorter base64 fragments could match unrelated base64 text by chance


def _unquote(value: str) -> str | None:
    """The value inside matching quotes, backslash escapes undone (as systemd's
    EnvironmentFile= and shells read "…" and '…'); None when it is not quoted."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        return re.sub(r"\\(.)", r"\1", inner) if value[0] == '"' else inner
    return None


def _base64_cores(value: bytes) -> set[str]:
    """What base64 text always contains where `value` was encoded inside other
    bytes: for each of the three alignments (value starting at offset 0, 1 or 2
    of a 3-byte group), the characters whose 6 bits all come from `value`."""
    cores = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + value).decode()
        first = -(-8 * pad // 6)                   # first character with no bit of the padding
        last = (8 * pad + 8 * len(value)) // 6     # characters before this one end inside `value`
        core = encoded[first:last]
        if len(core) >= MIN_BASE64_CORE:
            cores.add(core)
    return cores


def _variants(value: str) -> set[str]:
    """The forms a secret value takes in the texts stoker prints: as written;
    escaped inside "…" or '…' (systemd unit syntax, shells); with systemd's %
    specifiers and $ expansion escaped (%% and $$); JSON-escaped (the dry run
    prints request bodies as JSON); backslash-escaped as one shell word
    (pa\\ ss\\ word); URL-encoded (credentials in URLs); and the
    stable middle of its base64 encoding at each alignment, of the value and
    of its JSON and unit escapes, once and twice encoded: a config's user_data
    is base64 of JSON whose file contents are base64 data URLs, and a cloud
    error may quote user_data whole (nova/api/validation/validators.py quotes a rejected value)."""
    escaped = {value.replace("\\", "\\\\").replace('"', '\\"'),
               value.replace("\\", "\\\\").replace("'", "\\'"),
               json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]}
    bases = {value, _unquote(value) or value, value.replace("'", "'\\''"),
             re.sub(r"([^\w@%+=:,./-])", r"\\\1", value),  # a shell word with each special character escaped
             quote(value, safe=""), quote(value), quote_plus(value)} | escaped
    out = set()
    for b in bases:
        out |= {b, b.replace("%", "%%"), b.replace("$", "$$"), b.replace("%", "%%").replace("$", "$$")}
    for text in {value} | escaped:
        cores = _base64_cores(text.encode())
        out |= cores
        for core in cores:
            out |= _base64_cores(core.encode())
    return {v for v in out if v}


class Masker:
    """Replaces secret values in any text, then applies the pattern layer.

    Values of MIN_VALUE_LEN characters or more are replaced wherever they occur
    (inside longer words too: over-masking is the safe side), longest first, in
    every form `_variants` lists. Shorter values (a PIN, "abc") would blank out
    ordinary text if replaced everywhere, so they are replaced only where they
    stand as a whole assignment value: after `=` or `: `, optionally quoted, up
    to the end of the line, a space, a quote or , ; &. Values are matched as
    literal text (re.escape), so $, \\, ( or * in a value mean themselves.
    Limits: a value split across lines, or transformed in other ways than the
    ones above (hex, gzip, hashed), is not recognised; the pattern layer still
    catches secret-looking names."""

    def __init__(self, values: Iterable[str] = (), literal: Iterable[str] = ()):
        """`values`: secret values, masked in every form; `literal`: long texts
        masked only as they are (a config's whole base64 user_data)."""
        self.values = sorted({v for v in values if v and v.strip()}, key=len, reverse=True)
        long, short = {v for v in literal if len(v) >= MIN_VALUE_LEN}, set()
        for value in self.values:
            if len(value) >= MIN_VALUE_LEN:
                long |= {v for v in _variants(value) if len(v) >= MIN_VALUE_LEN}
            else:
                short |= {value, value.replace("\\", "\\\\").replace('"', '\\"')}
        by_length = lambda items: "|".join(re.escape(v) for v in sorted(items, key=len, reverse=True))  # noqa: E731
        self._long = re.compile(by_length(long)) if long else None
        self._short = re.compile(rf"(?:(?<==)|(?<=: ))([\"']?)(?:{by_length(short)})\1(?=$|[\s\"',;&])",
                                 re.MULTILINE) if short else None

    @classmethod
    def for_configs(cls, *docs: dict | None, literal: Iterable[str] = ()) -> "Masker":
        values: set[str] = set()
        for doc in docs:
            if doc is not None:
                values |= secret_values(doc)
        return cls(values, literal)

    def __call__(self, text: str) -> str:
        return mask_text(self.values_only(text)) if text else text

    def values_only(self, text: str) -> str:
        """`text` with the known secret values masked, without the pattern layer:
        for stoker's own words (hints such as `make ignition secrets=FILE`),
        which quote no config line a secret-looking name could sit in."""
        if not text:
            return text
        if self._long is not None:
            text = self._long.sub(MASK, text)
        if self._short is not None:
            text = self._short.sub(lambda m: f"{m[1]}{MASK}{m[1]}", text)
        return text


def _texts(doc: dict) -> list[str]:
    """Every text of a config a secret could hide in: unit texts, readable file
    contents (secret files included), and every string of the document."""
    texts = [u["text"] for u in _units(doc).values()]
    for f in _files(doc).values():
        if _is_text(f["data"]):
            texts.append(f["data"].decode())

    def strings(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for v in node.values():
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
    texts += [s for s in strings(doc) if not s.startswith("data:")]
    return texts


def secret_values(doc: dict) -> set[str]:
    """Every secret value in a config: each value of the NAME=value lines of the
    secret environment files (/etc/stoker/*.env, written by stoker.fleet.render
    as `NAME=value` with the value as given; quoted values count both ways),
    user password hashes, the password part of URL credentials, and values
    assigned to secret-looking names anywhere in units and files."""
    doc = effective_config(doc)
    values: set[str] = set()
    files = _files(doc)
    for path in secret_file_paths(doc):
        data = files.get(path, {}).get("data")
        if data and _is_text(data):
            text = data.decode()
            values.add(text)
            values.update(line.strip() for line in text.splitlines() if line.strip())
    for path, f in files.items():
        if not (is_secret_path(path) and path.endswith(SECRET_ENV_SUFFIX)) or not _is_text(f["data"]):
            continue
        for line in f["data"].decode().splitlines():
            line = line.strip()
            if line.startswith("export "):
                line = line[len("export "):].lstrip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            value = line.split("=", 1)[1]
            values.add(value)
            if (inner := _unquote(value.strip())) is not None:
                values.add(inner)
    for user in (doc.get("passwd") or {}).get("users") or []:
        if user.get("passwordHash"):
            values.add(user["passwordHash"])
    exact = sorted(values, key=len, reverse=True)  # known whole: what the pattern layer finds may be a part
    for text in _texts(doc):
        values.update(m[2] for m in _URL_CREDENTIALS.finditer(text))
        for start, end in _secret_spans(text):
            if any(len(v) > end - start and text.startswith(v, start) for v in exact):
                # The first word of a known value with spaces (NAME=two words): the
                # whole value is masked already; the word alone would mask ordinary
                # text elsewhere and tell how the secret begins.
                continue
            values.add(text[start:end])
            values.add(re.sub(r"\\(.)", r"\1", text[start:end]))  # as the unit's reader unescapes it
    return {v for v in values if v.strip() and v != MASK}


@dataclass
class Change:
    kind: str     # unit | timer | file | directory | link | user | image | ignition
    name: str
    action: str   # added | removed | changed
    details: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)  # unified diff, already masked
    summary: str = ""  # shown on the change's own line ("~ directory PATH: owner 184 → 185"), when set


@dataclass
class ConfigDiff:
    changes: list[Change]
    mask: Masker = field(default_factory=Masker)  # what render() passes every line through

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self, extra_changes: int = 0) -> str:
        return (f"{self.count('added')} to add, {self.count('changed') + extra_changes} to change, "
                f"{self.count('removed')} to remove")


def _unified(old: str, new: str, name: str, mask: Masker) -> list[str]:
    sep = "" if name.startswith("/") else "/"
    return list(difflib.unified_diff(mask(old).splitlines(), mask(new).splitlines(),
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
    if data is None:  # a remote source: its identity is the URL and hash (masked when shown)
        return f"<fetched from {source} {contents.get('verification', {}).get('hash', '')}>".encode()
    for part in entry.get("append") or []:
        extra = decode_data_url(part.get("source") or "", part.get("compression"))
        data += extra if extra is not None else f"<append {part.get('source', '')}>".encode()
    return data


def _owner(entry: dict, default: str) -> str:
    """`user` and `group` as the config gives them (name, else id): "184" when
    both are the same, "184:0" when not; `default` for one it leaves out."""
    user = (entry.get("user") or {}).get("name") or (entry.get("user") or {}).get("id")
    group = (entry.get("group") or {}).get("name") or (entry.get("group") or {}).get("id")
    user, group = (default if v is None else str(v) for v in (user, group))
    return user if user == group else f"{user}:{group}"


def _mode(entry: dict) -> str:
    mode = entry.get("mode")
    return f"{mode:04o}" if isinstance(mode, int) else "default"


def _files(doc: dict) -> dict[str, dict]:
    out = {}
    for entry in (doc.get("storage") or {}).get("files") or []:
        # Ignition writes a file as root and then sets the owner it names, root when none (util.SetPermissions).
        out[entry["path"]] = {"data": _file_bytes(entry), "owner": _owner(entry, "root"), "mode": _mode(entry)}
    return out


def _directories(doc: dict) -> dict[str, dict]:
    # An owner or mode the config leaves out keeps what an existing directory has
    # (a new one: root, 0755): coreos/ignition internal/exec/util/file.go SetPermissions.
    return {e["path"]: {"owner": _owner(e, "unset"), "mode": _mode(e)}
            for e in (doc.get("storage") or {}).get("directories") or []}


def _links(doc: dict) -> dict[str, dict]:
    return {e["path"]: {"target": e.get("target", ""), "hard": bool(e.get("hard")), "owner": _owner(e, "root")}
            for e in (doc.get("storage") or {}).get("links") or []}


def _users(doc: dict) -> dict[str, dict]:
    out = {}
    for user in (doc.get("passwd") or {}).get("users") or []:
        out[user["name"]] = {"keys": list(user.get("sshAuthorizedKeys") or []),
                             "groups": sorted(user.get("groups") or []),
                             "password": user.get("passwordHash"), "shell": user.get("shell")}
    return out


def _images(doc: dict) -> set[str]:
    texts = [u["text"] for u in _units(doc).values()]
    secret = secret_file_paths(doc)
    texts += [f["data"].decode("utf-8", "replace") for p, f in _files(doc).items() if not is_secret_path(p, secret)]
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

def diff_configs(old: dict | None, new: dict, mask: Masker | None = None) -> ConfigDiff:
    """What changes when a server running `old` (None: nothing yet) gets `new`.
    `mask` defaults to one that knows the secret values of both configs."""
    mask = mask if mask is not None else Masker.for_configs(old, new)
    old = effective_config(old) if old is not None else {}
    new = effective_config(new)
    changes: list[Change] = []
    old_version = (old.get("ignition") or {}).get("version")
    new_version = (new.get("ignition") or {}).get("version")
    if old and old_version != new_version:
        changes.append(Change("ignition", "spec version", "changed", [f"{old_version} → {new_version}"]))
    changes += _diff_units(_units(old), _units(new), mask)
    changes += _diff_files(_files(old), _files(new), mask, secret_file_paths(old) | secret_file_paths(new))
    data_mounts = [f["path"].rstrip("/") + "/" for doc in (old, new) for f in data_devices(doc) if f.get("path")]
    changes += _diff_directories(_directories(old), _directories(new), data_mounts)
    changes += _diff_links(_links(old), _links(new))
    changes += _diff_users(_users(old), _users(new))
    changes += _diff_images(_images(old), _images(new))
    return ConfigDiff(changes, mask)


def _arrows(before: dict, after: dict, keys: tuple[str, ...]) -> list[str]:
    return [f"{k} {before[k]} → {after[k]}" for k in keys if before[k] != after[k]]


def _diff_directories(before: dict, after: dict, data_mounts: list[str]) -> list[Change]:
    """Directories with their owner and mode. Ignition creates a missing
    directory, and on one that exists (a data volume's, kept across rebuilds)
    sets the owner and mode of the directory itself, never of what is inside
    it (coreos/ignition internal/exec/stages/files/filesystemEntries.go
    dirEntry.create, then util.SetPermissions: one Lchown and one Chmod)."""
    out = []
    for path in sorted(before.keys() | after.keys()):
        if path not in before:
            a = after[path]
            out.append(Change("directory", path, "added", summary=f"owner {a['owner']}, mode {a['mode']}"))
        elif path not in after:
            kept = any(path.startswith(m) for m in data_mounts)
            out.append(Change("directory", path, "removed",
                              ["it stays on the data volume, with its contents: Ignition deletes nothing"] if kept
                              else []))
        elif before[path] != after[path]:
            details = []
            if before[path]["owner"] != after[path]["owner"] and any(path.startswith(m) for m in data_mounts):
                details.append(f"on the data volume: Ignition changes the owner of {path} itself only; what is "
                               f"already inside keeps owner {before[path]['owner']} "
                               f"(chown -R {after[path]['owner']} by hand if the service needs it)")
            out.append(Change("directory", path, "changed", details,
                              summary=", ".join(_arrows(before[path], after[path], ("owner", "mode")))))
    return out


def _diff_links(before: dict, after: dict) -> list[Change]:
    out = []
    for path in sorted(before.keys() | after.keys()):
        if path not in before:
            a = after[path]
            out.append(Change("link", path, "added",
                              summary=f"{'hard link' if a['hard'] else '→'} {a['target']}, owner {a['owner']}"))
        elif path not in after:
            out.append(Change("link", path, "removed"))
        elif before[path] != after[path]:
            out.append(Change("link", path, "changed",
                              summary=", ".join(_arrows(before[path], after[path], ("target", "hard", "owner")))))
    return out


def _diff_units(before: dict, after: dict, mask: Masker) -> list[Change]:
    out = []
    for name in sorted(before.keys() | after.keys()):
        kind = "timer" if name.endswith(".timer") else "unit"
        if name not in before:
            state = "masked" if after[name]["mask"] else "enabled" if after[name]["enabled"] else "not enabled"
            out.append(Change(kind, name, "added", [state], _unified("", after[name]["text"], name, mask)))
        elif name not in after:
            out.append(Change(kind, name, "removed"))
        elif before[name] != after[name]:
            details = [f"{k}: {before[name][k]} → {after[name][k]}" for k in ("enabled", "mask")
                       if before[name][k] != after[name][k]]
            diff = _unified(before[name]["text"], after[name]["text"], name, mask)
            if before[name]["text"] != after[name]["text"] and not diff:
                details.append(f"only secret values changed ({MASK})")
            out.append(Change(kind, name, "changed", details, diff))
    return out


def _diff_files(before: dict, after: dict, mask: Masker, secret_files: set[str] = frozenset()) -> list[Change]:
    out = []
    for path in sorted(before.keys() | after.keys()):
        secret = is_secret_path(path, secret_files)
        if path not in before:
            data = after[path]["data"]
            details = [f"{len(data)} bytes, owner {after[path]['owner']}, mode {after[path]['mode']}"]
            if secret:
                details.append("secret: contents masked")
            diff = [] if secret or not _is_text(data) else _unified("", data.decode(), path, mask)
            out.append(Change("file", path, "added", details, diff))
        elif path not in after:
            out.append(Change("file", path, "removed"))
        elif before[path] != after[path]:
            b, a = before[path], after[path]
            details = [", ".join(arrows)] if (arrows := _arrows(b, a, ("owner", "mode"))) else []
            diff = []
            if b["data"] != a["data"]:
                if secret:
                    details.append(f"secret contents changed ({len(b['data'])} → {len(a['data'])} bytes, masked)")
                elif _is_text(b["data"]) and _is_text(a["data"]):
                    diff = _unified(b["data"].decode(), a["data"].decode(), path, mask)
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
    """Plain-text lines of a diff, the same in the CLI and in tests; every line
    passes through the diff's Masker."""
    sign = {"added": "+", "removed": "-", "changed": "~"}
    lines = []
    for c in diff.changes:
        lines.append(f"{sign[c.action]} {c.kind} {c.name}: {c.summary}" if c.summary else
                     f"{sign[c.action]} {c.kind} {c.name} ({c.action})")
        lines += [f"    {d}" for d in c.details]
        if text_diffs:
            lines += [f"    {d}" for d in c.diff]
    return [diff.mask(line) for line in lines]
