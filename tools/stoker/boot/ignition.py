"""Read and adjust an Ignition config for a boot test.

Everything here is pure: a config (dict) in, a new config out. The harness's
own changes (an SSH key, substituted container images) are returned as notes
so the report can show them; nothing is changed silently.
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
        if parse_version(str(inner["ignition"].get("version", "0"))) < parse_version(str(outer or "0")):
            inner = copy.deepcopy(inner)
            inner["ignition"]["version"] = outer  # the wrapper's version is what the image must read
    return inner


def parse_version(text: str) -> tuple[int, ...]:
    core = text.split("-", 1)[0]
    try:
        return tuple(int(p) for p in core.split("."))
    except ValueError:
        raise ConfigError(f"ignition.version {text!r} is not a version") from None


def check_spec(cfg: dict, max_spec: str, image_name: str) -> str:
    """The config's spec version; refuses one the image's Ignition cannot read."""
    version = cfg.get("ignition", {}).get("version")
    if not isinstance(version, str):
        raise ConfigError("the config has no ignition.version")
    if "-" in version or parse_version(version) > parse_version(max_spec):
        raise ConfigError(
            f"the config is Ignition spec {version}, but the {image_name} image's Ignition reads at most "
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

def inject_ssh_key(cfg: dict, public_key: str, groups: tuple[str, ...] = ()) -> dict:
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
    if groups:
        have = core.setdefault("groups", [])
        have.extend(g for g in groups if g not in have)
    return out


@dataclass(frozen=True)
class Substitution:
    unit: str  # the service the Quadlet file generates
    file: str
    image: str  # what the config asked for
    replacement: str
    ports: tuple[int, ...]  # container ports the test server listens on
    dropped: tuple[str, ...] = ()  # keys removed because the test image cannot honour them
    job: bool = False  # a oneshot job: the test command exits 0 at once


# Keys the busybox test image cannot honour: a named user it has no entry for, a health
# command that needs the real image's tools, an entrypoint that does not exist in it.
_DROP_KEYS = ("HealthCmd", "HealthInterval", "HealthRetries", "HealthStartPeriod", "HealthTimeout",
              "HealthOnFailure", "HealthStartupCmd", "Entrypoint", "User", "Group", "Notify", "AutoUpdate")


def server_command(ports: tuple[int, ...]) -> str:
    """A tiny server on each port; the shell stays PID 1 and exits on SIGTERM, so a stop is quick.

    (A bare `sleep` as PID 1 ignores SIGTERM and every stop would wait for podman's 10 s timeout.)
    """
    servers = "".join(f"httpd -f -p {p} -h /www & " for p in ports)
    return f"/bin/sh -c 'trap \"exit 0\" TERM INT; {servers}sleep 2147483647 & wait'"


JOB_COMMAND = "/bin/sh -c 'echo stoker test image: job ran; exit 0'"


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


def substitute_images(cfg: dict, replacement: str, import_unit: str) -> tuple[dict, list[Substitution]]:
    """Point every Quadlet container at the local test image, serving on its declared ports."""
    out = copy.deepcopy(cfg)
    notes: list[Substitution] = []
    for entry in out.get("storage", {}).get("files", []):
        path = entry.get("path", "")
        if not (path.startswith(QUADLET_DIR) and path.endswith(".container")):
            continue
        text = decode_source(entry.get("contents"))
        if text is None:
            continue
        sections = parse_unit(text)
        image = unit_value(sections, "Container", "Image")
        ports = tuple(sorted({c for _, c, proto in map(container_ports, unit_values(sections, "Container",
                                                                                     "PublishPort"))
                              if c is not None and proto == "tcp"}))
        ports += tuple(p for p in _exposed(sections) if p not in ports)
        oneshot = unit_value(sections, "Service", "Type") == "oneshot"
        extra: list[str] = []
        if any(p < 1024 for p in ports) and unit_value(sections, "Container", "Network") != "host":
            # the real image may bind low ports with its own capabilities; the test server needs this
            extra.append("Sysctl=net.ipv4.ip_unprivileged_port_start=0")
        new_text, dropped = _rewrite(text, replacement, JOB_COMMAND if oneshot else server_command(ports),
                                     import_unit, extra)
        entry["contents"] = encode_source(new_text)
        entry.pop("verification", None)
        stem = Path(path).stem
        notes.append(Substitution(f"{stem}.service", path, image, replacement, ports, dropped, oneshot))
    return out, notes


def _exposed(sections: dict) -> tuple[int, ...]:
    ports = []
    for v in unit_values(sections, "Container", "ExposeHostPort"):
        try:
            ports.append(int(v.split("/")[0]))
        except ValueError:
            pass
    return tuple(ports)


def _rewrite(text: str, image: str, exec_line: str, import_unit: str,
             extra: list[str] = ()) -> tuple[str, tuple[str, ...]]:
    lines: list[str] = []
    dropped: list[str] = []
    section = ""
    seen_unit = False
    skipping = False  # inside the continuation lines of a key we drop
    for raw in text.splitlines():
        stripped = raw.strip()
        if skipping:
            skipping = stripped.endswith("\\")
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            if section == "Container":
                lines += [f"Image={image}", f"Exec={exec_line}", "Pull=never", *extra]
            section = stripped[1:-1]
            lines.append(raw)
            if section == "Unit":
                seen_unit = True
                lines += [f"Requires={import_unit}", f"After={import_unit}"]
            continue
        key = stripped.split("=", 1)[0].strip() if "=" in stripped else ""
        if section == "Container" and key in ("Image", "Exec", "Pull"):
            skipping = stripped.endswith("\\")
            continue
        if section == "Container" and key in _DROP_KEYS:
            dropped.append(key)
            skipping = stripped.endswith("\\")
            continue
        lines.append(raw)
    if section == "Container":
        lines += [f"Image={image}", f"Exec={exec_line}", "Pull=never", *extra]
    if not seen_unit:
        lines = ["[Unit]", f"Requires={import_unit}", f"After={import_unit}", ""] + lines
    return "\n".join(lines) + "\n", tuple(dict.fromkeys(dropped))


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
