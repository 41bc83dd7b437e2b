"""Read and adjust an Ignition config for a boot test.

Everything here is pure: a config (dict) in, a new config out. The harness's
own additions (an SSH key, a registry mirror) are returned as notes so the
report can show them; nothing is changed silently.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from pathlib import Path

from ..butane.resources import decode_data_url
from ..cloud.config import effective_config
from .errors import ConfigError
from .registry import mirror_dropin, split_reference

QUADLET_DIR = "/etc/containers/systemd/"


def load_config(path: Path) -> dict:
    try:
        cfg = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(cfg, dict) or not isinstance(cfg.get("ignition"), dict):
        raise ConfigError(f"{path} is not an Ignition config (no \"ignition\" section)")
    return unwrap(cfg)


def unwrap(cfg: dict) -> dict:
    """The config Ignition applies when `cfg` is a compressed `config.replace` wrapper (as the fleet
    ships large configs): its services, files and spec version are the inner config's."""
    inner = effective_config(cfg)
    if inner is not cfg:
        outer = cfg["ignition"].get("version")
        if not isinstance(inner.get("ignition"), dict):
            raise ConfigError("the config.replace source is not an Ignition config")
        own = parse_version(str(inner["ignition"].get("version", "0")))
        # the wrapper's version is what the image must read, but an inner spec 2.x stays to be refused
        if parse_version(MIN_SPEC) <= own < parse_version(str(outer or "0")):
            inner = copy.deepcopy(inner)
            inner["ignition"]["version"] = outer
    return inner


def parse_version(text: str) -> tuple[int, ...]:
    core = text.split("-", 1)[0]
    try:
        return tuple(int(p) for p in core.split("."))
    except ValueError:
        raise ConfigError(f"ignition.version {text!r} is not a version") from None


# The oldest spec either image reads: both run Ignition 2.x or later, which reads only spec 3.x
# configs (spec 2.x was read by Ignition 0.x, and is not translated).
MIN_SPEC = "3.0.0"


def check_spec(cfg: dict, max_spec: str, image_name: str, source: str | None = None) -> str:
    """The config's spec version (e.g. "3.3.0"); ConfigError, prefixed with `source` (the config's
    file, or a VM's name) when given, for a config the image's Ignition cannot read: no
    ignition.version, a version below MIN_SPEC (spec 2.x), or above `max_spec`."""
    where = f"{source}: " if source else ""
    version = cfg.get("ignition", {}).get("version")
    if not isinstance(version, str):
        raise ConfigError(f"{where}the config has no ignition.version")
    if parse_version(version) < parse_version(MIN_SPEC):
        raise ConfigError(
            f"{where}the config is Ignition spec {version}, but the {image_name} image's Ignition reads spec "
            f"{MIN_SPEC} to {max_spec} only (spec 2.x configs are not read); render it for spec 3 with Butane "
            f"(Butane spec 1.4.0 gives Ignition spec 3.3.0)")
    if "-" in version or parse_version(version) > parse_version(max_spec):
        raise ConfigError(
            f"{where}the config is Ignition spec {version}, but the {image_name} image's Ignition reads at most "
            f"{max_spec}; render it for spec {max_spec} (Butane spec 1.4.0) or boot with --image fcos")
    return version


# --- data URLs -------------------------------------------------------------

def decode_source(contents: dict | None) -> str | None:
    """The text of a file's `contents`, for data URLs; None for remote sources."""
    if not contents or contents.get("source") is None:
        return ""
    raw = decode_data_url(contents["source"], contents.get("compression"))
    return None if raw is None else raw.decode("utf-8", errors="replace")


def encode_source(text: str) -> dict:
    return {"source": "data:;base64," + base64.b64encode(text.encode()).decode()}


# --- unit files ------------------------------------------------------------

def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a systemd/Quadlet unit; keys may repeat, continuation lines are joined."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif "=" in line and current is not None:
            k, _, v = line.partition("=")
            current.append((k.strip(), v.strip()))
    return sections


def unit_values(sections: dict, section: str, key: str) -> list[str]:
    return [v for k, v in sections.get(section, []) if k == key]


def unit_value(sections: dict, section: str, key: str, default: str = "") -> str:
    values = unit_values(sections, section, key)
    return values[-1] if values else default


# --- the harness's changes --------------------------------------------------
# The config boots as deployed: its units, Quadlet files and files are never changed. The harness
# may add only what a test needs to reach the guest and to give it the fleet's images offline,
# and every addition is listed in the report and the JUnit output.

@dataclass(frozen=True)
class Addition:
    what: str  # "SSH key", "registry mirror", ...
    where: str  # the config path or guest file it adds
    detail: str


def inject_ssh_key(cfg: dict, public_key: str) -> tuple[dict, Addition]:
    """A copy of `cfg` where user core also accepts `public_key` (as kola does)."""
    out = copy.deepcopy(cfg)
    users = out.setdefault("passwd", {}).setdefault("users", [])
    core = next((u for u in users if u.get("name") == "core"), None)
    if core is None:
        core = {"name": "core"}
        users.append(core)
    keys = core.setdefault("sshAuthorizedKeys", [])
    if public_key not in keys:
        keys.append(public_key)
    return out, Addition("SSH key", "passwd.users[core].sshAuthorizedKeys",
                         "a throwaway key for this run, deleted with its run directory")


def container_ports(value: str) -> tuple[int | None, int | None, str]:
    """(host port, container port, proto) from a PublishPort= value like [ip:]host:container[/proto]."""
    spec, _, proto = value.partition("/")
    parts = spec.rsplit(":", 2) if not spec.startswith("[") else [spec]
    try:
        if len(parts) == 1:
            return None, int(parts[0]), proto or "tcp"
        host, ctr = parts[-2], parts[-1]
        return (int(host) if host else None), int(ctr), proto or "tcp"
    except ValueError:
        return None, None, proto or "tcp"


def image_references(cfg: dict) -> list[str]:
    """The `Image=` of every Quadlet `.container` and `.image` file, in config order, once each."""
    refs: list[str] = []
    for entry in cfg.get("storage", {}).get("files", []):
        path = entry.get("path", "")
        if not (path.startswith(QUADLET_DIR) and path.endswith((".container", ".image"))):
            continue
        text = decode_source(entry.get("contents"))
        section = "Container" if path.endswith(".container") else "Image"
        image = unit_value(parse_unit(text or ""), section, "Image")
        if image and image not in refs:
            refs.append(image)
    return refs


MIRROR_DROPIN = "/etc/containers/registries.conf.d/99-stoker-boot-test.conf"


def add_registry_mirror(cfg: dict, location: str) -> tuple[dict, Addition | None]:
    """A copy of `cfg` with a registries.conf.d drop-in that mirrors every registry its Quadlet
    files pull from to `location` (host:port as the guest sees the test registry, plain HTTP).

    Per containers-registries.conf(5), a `[[registry.mirror]]` of a `[[registry]]` whose
    `prefix` is the registry host is tried first for tags and digests alike
    (`mirror-by-digest-only` defaults to false), with the rest of the reference after the
    prefix: registry.example.org/team/app:1 is pulled as LOCATION/team/app:1. None when the
    config runs no container. ImageError for an image without a registry host or by digest."""
    hosts = list(dict.fromkeys(split_reference(ref)[0] for ref in image_references(cfg)))
    if not hosts:
        return cfg, None
    text = "\n".join(mirror_dropin(host, location) for host in hosts)
    out = copy.deepcopy(cfg)
    files = out.setdefault("storage", {}).setdefault("files", [])
    if any(f.get("path") == MIRROR_DROPIN for f in files):
        raise ConfigError(f"the config already writes {MIRROR_DROPIN}, the file the boot test adds")
    files.append({"path": MIRROR_DROPIN, "mode": 0o644, "contents": encode_source(text)})
    return out, Addition("registry mirror", MIRROR_DROPIN,
                         f"{', '.join(hosts)} pulled from the test registry at {location}")


def selinux_requested(cfg: dict) -> str | None:
    """The SELinux mode a config sets in /etc/selinux/config, if any (the offline image cannot enforce it)."""
    for entry in cfg.get("storage", {}).get("files", []):
        if entry.get("path") == "/etc/selinux/config":
            text = decode_source(entry.get("contents")) or ""
            for line in text.splitlines():
                if line.strip().startswith("SELINUX="):
                    return line.split("=", 1)[1].strip()
    return None


def data_disk_serials(cfg: dict) -> list[str]:
    """virtio serials of the disks the config formats or mounts by id, so the VM gets matching disks."""
    serials: list[str] = []
    for fs in cfg.get("storage", {}).get("filesystems", []):
        device = fs.get("device", "")
        prefix = "/dev/disk/by-id/virtio-"
        if device.startswith(prefix) and device[len(prefix):] not in serials:
            serials.append(device[len(prefix):])
    return serials
