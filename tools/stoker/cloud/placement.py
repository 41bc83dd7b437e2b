"""Where each VM runs: cloud, flavor, image, network and fixed address,
security groups, key pair and data volume.

The placement is the `placement` section of the fleet-level `fleet.yaml` (a
`defaults` mapping and one entry per VM under `vms`); a VM's address falls back
to `fleet.yaml`'s `hosts.<vm>.address`, so the two cannot disagree silently.
"""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass
from pathlib import Path


from .errors import PlacementError

FLEET_FILE = Path("fleet.yaml")

FIELDS = {  # name -> (required, description)
    "cloud": (True, "clouds.yaml entry (overridden by --cloud or OS_CLOUD)"),
    "server_name": (False, "Nova server name; defaults to the VM name"),
    "flavor": (True, "flavor name or id"),
    "image": (True, "Fedora CoreOS image name or id in that cloud"),
    "network": (True, "network name or id"),
    "address": (True, "fixed private IPv4 address on that network"),
    "security_groups": (False, "list of security group names"),
    "key_pair": (False, "Nova key pair name, or null"),
    "volume": (False, "data volume: {name, size} in GiB; created if missing, never deleted"),
}


@dataclass(frozen=True)
class Volume:
    name: str
    size: int


@dataclass(frozen=True)
class Placement:
    vm: str
    cloud: str
    server_name: str
    flavor: str
    image: str
    network: str
    address: str
    security_groups: tuple[str, ...]
    key_pair: str | None
    volume: Volume | None


def _near(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_yaml(path: Path) -> dict:
    from ..fleet.located import load  # located errors, no tags, bounded aliases

    try:
        data = load(path.read_text(), str(path))[0] or {}
    except UnicodeDecodeError:
        raise PlacementError(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict):
        raise PlacementError(f"{path}: expected a mapping at the top")
    return data


def _sources(root: Path) -> tuple[dict, dict, Path]:
    """Return (placement document, fleet document, path of the placement used)."""
    fleet_path = root / FLEET_FILE
    fleet = _read_yaml(fleet_path) if fleet_path.exists() else {}
    if isinstance(fleet.get("placement"), dict):
        return fleet["placement"], fleet, fleet_path
    raise PlacementError(f"no placement: {fleet_path} has no 'placement' section")


def known_vms(root: Path) -> list[str]:
    doc, _, _ = _sources(root)
    return sorted((doc.get("vms") or {}).keys())


def load_placement(vm: str, root: Path = Path(".")) -> Placement:
    doc, fleet, path = _sources(root)
    vms = doc.get("vms") or {}
    if vm not in vms:
        raise PlacementError(f"{path}: no placement for VM {vm!r}{_near(vm, vms)}", vm=vm)
    merged = dict(doc.get("defaults") or {})
    merged.update(vms[vm] or {})
    for key in merged:
        if key not in FIELDS:
            raise PlacementError(f"{path}: vms.{vm}: unknown key {key!r}{_near(key, FIELDS)}", vm=vm)
    host_address = ((fleet.get("hosts") or {}).get(vm) or {}).get("address")
    if "address" not in merged and host_address:
        merged["address"] = host_address
    for key, (required, what) in FIELDS.items():
        if required and not merged.get(key):
            raise PlacementError(f"{path}: vms.{vm}.{key} is required ({what})", vm=vm)
    address = str(merged["address"])
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise PlacementError(f"{path}: vms.{vm}.address: {address!r} is not an IPv4 address", vm=vm) from None
    if host_address and host_address != address:
        raise PlacementError(f"{path}: vms.{vm}.address {address} differs from {FLEET_FILE} hosts.{vm}.address "
                             f"{host_address}", vm=vm)
    groups = merged.get("security_groups") or []
    if isinstance(groups, str) or not all(isinstance(g, str) for g in groups):
        raise PlacementError(f"{path}: vms.{vm}.security_groups must be a list of names", vm=vm)
    volume = merged.get("volume")
    if volume is not None:
        if not isinstance(volume, dict) or set(volume) != {"name", "size"}:
            raise PlacementError(f"{path}: vms.{vm}.volume must be {{name: ..., size: <GiB>}}", vm=vm)
        if not isinstance(volume["size"], int) or volume["size"] < 1:
            raise PlacementError(f"{path}: vms.{vm}.volume.size must be a whole number of GiB >= 1", vm=vm)
        volume = Volume(str(volume["name"]), volume["size"])
    return Placement(
        vm=vm, cloud=str(merged["cloud"]), server_name=str(merged.get("server_name") or vm),
        flavor=str(merged["flavor"]), image=str(merged["image"]), network=str(merged["network"]),
        address=address, security_groups=tuple(groups), key_pair=merged.get("key_pair") or None, volume=volume)
