"""The Ignition config that goes to a server as user-data.

The bytes of `build/<vm>.ign` are deployed as they are (the fleet renderer may
already have wrapped them in a compressed `config.replace`); their sha256 is
the config's identity. For reading a config as an operator would, wrappers
are unwrapped (see `effective_config`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..butane.resources import decode_data_url
from ..errors import StokerError

# Nova takes user_data base64-encoded and restricted to 65,535 bytes (Nova user
# docs, "Provide user data to instances"); larger requests are rejected with 400.
NOVA_USER_DATA_LIMIT = 65535


@dataclass(frozen=True)
class Config:
    path: Path | None
    raw: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def user_data(self) -> str:
        """What Nova expects in `user_data`: the config base64-encoded."""
        return base64.b64encode(self.raw).decode("ascii")

    @property
    def document(self) -> dict:
        return json.loads(self.raw)


def load_config(path: Path) -> Config:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise StokerError(f"cannot read Ignition config {path}: {exc.strerror}") from None
    return parse_config(raw, path)


def parse_config(raw: bytes, path: Path | None = None) -> Config:
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise StokerError(f"{path or 'config'}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or not str((doc.get("ignition") or {}).get("version", "")).startswith("3."):
        raise StokerError(f"{path or 'config'}: not an Ignition 3.x config (no ignition.version)")
    return Config(path, raw)


def effective_config(doc: dict) -> dict:
    """The config Ignition ends up applying when `doc` is a `config.replace`
    wrapper with an inline source (how compressed configs are shipped)."""
    for _ in range(4):  # wrappers do not nest deeper in practice
        replace = ((doc.get("ignition") or {}).get("config") or {}).get("replace") or {}
        inner = decode_data_url(replace.get("source") or "", replace.get("compression"))
        if inner is None:
            return doc
        doc = json.loads(inner)
    return doc


ROOT_DEVICES = re.compile(r"^/dev/disk/by-(partlabel|label)/(root|boot|EFI-SYSTEM|BIOS-BOOT)$|^/dev/[sv]da\d*$")


def data_devices(doc: dict) -> list[dict]:
    """Filesystems the config puts on devices other than the boot disk."""
    fs = (doc.get("storage") or {}).get("filesystems") or []
    return [f for f in fs if f.get("device") and not ROOT_DEVICES.match(f["device"])]


DEV_SECRET_PREFIX = "dev-insecure-"  # what the fleet renderer puts in for unset secrets in dev mode


def dev_secret_places(doc: dict) -> list[str]:
    """Where a config carries the fleet renderer's throwaway dev secrets."""
    places = []
    for entry in (doc.get("storage") or {}).get("files") or []:
        contents = entry.get("contents") or {}
        try:
            data = decode_data_url(contents.get("source") or "", contents.get("compression")) or b""
        except (ValueError, OSError):
            data = b""
        if DEV_SECRET_PREFIX.encode() in data:
            places.append(entry["path"])
    for unit in (doc.get("systemd") or {}).get("units") or []:
        texts = [unit.get("contents") or ""] + [d.get("contents") or "" for d in unit.get("dropins") or []]
        if any(DEV_SECRET_PREFIX in t for t in texts):
            places.append(unit["name"])
    return places


def bind_volume(config: Config, placement, volume_id: str) -> Config:
    """`config` with the placeholder serial of the placement's data volume bound
    to the volume `volume_id` (stoker.volumes); `config` itself when it pins
    the disk by name or has no data volume. RefusedError when the placeholder
    cannot be rewritten."""
    from ..volumes import bind_serial
    from .errors import RefusedError

    try:
        raw = bind_serial(config.raw, placement.volume.name, volume_id)
    except ValueError as exc:
        raise RefusedError(str(exc), vm=placement.vm, step="bind volume",
                           hint="name the data volume only in its filesystem (data_volume:), not in file contents") \
            from None
    return config if raw == config.raw else Config(config.path, raw)
