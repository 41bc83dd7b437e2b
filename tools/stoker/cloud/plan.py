"""Deciding a deploy: read the cloud (GET only), compare with what was
deployed, and list the steps with the API calls each makes, so that a dry run
can print exactly what a deploy would do."""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import StokerError
from . import steps as run_steps
from .config import Config, data_devices, dev_secret_places, effective_config, parse_config
from .connection import Cloud, Timings, find_or_none
from .diff import ConfigDiff, Masker, _files, _is_text, _units, diff_configs
from .errors import ApiError, CloudError, RefusedError, VolumeSafetyError
from .placement import Placement
from .safety import check_volume_device, preflight, volume_device
from .state import META_IGNITION, META_SHA, META_VM, read_state, server_metadata

REBUILD_MICROVERSION = (2, 57)  # first compute microversion whose rebuild takes user_data


@dataclass(frozen=True)
class ApiCall:
    method: str
    service: str
    path: str
    body: Any = None
    note: str = ""
    mask: Callable[[str], str] = field(default=str, compare=False, repr=False)  # the plan's Masker

    def text(self) -> str:
        """One line for the dry run, with every secret value of the configs masked."""
        body = f"  {json.dumps(self.body, ensure_ascii=False)}" if self.body is not None else ""
        note = f"  ({self.note})" if self.note else ""
        return self.mask(f"{self.method:<6} {self.service:<13} {self.path}{body}{note}")


@dataclass(frozen=True)
class Rule:
    """An ingress or egress rule of a Neutron security group, in the API's terms
    (Networking API reference, "Security group rules"): protocol None is any
    protocol; port_range_min None is every port; no remote_ip_prefix and no
    remote group is any source; remote_group_id admits only ports that are in
    that group."""
    group: str
    direction: str
    ethertype: str | None
    protocol: str | None
    port_min: int | None
    port_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None


@dataclass
class SecurityGroup:
    id: str
    name: str
    rules: list[Rule]


@dataclass
class CloudState:
    server: Any | None
    volume: Any | None
    volume_server: str | None     # id of the server the volume is attached to, if any
    image_id: str
    flavor_id: str
    network_id: str
    microversion: str | None
    # What the placement's names resolve to now, and what the live server runs
    # (read by _read_live, for placement drift and the published-port check):
    image_name: str = ""
    flavor_name: str = ""
    network_name: str = ""
    server_image: Any | None = None      # the Glance image the server runs, when it differs and still exists
    server_flavor_name: str | None = None  # the server's flavor by name, when Nova gave only its id (< 2.47)
    # placement group name -> the group and its rules (None: no such group);
    # None altogether when the groups could not be read (security_groups_error says why)
    security_groups: dict[str, SecurityGroup | None] | None = None
    security_groups_error: str | None = None

    @property
    def metadata(self) -> dict:
        return dict(getattr(self.server, "metadata", None) or {}) if self.server else {}


@dataclass
class Step:
    name: str
    calls: list[ApiCall]
    run: Callable[["run_steps.Run"], None]


@dataclass
class Drift:
    """One way the live server differs from its placement, and what applying it
    takes: "rebuild" (the rebuild does it: the image), "stoker" (stoker changes
    the live server through the API before any rebuild: security groups) or
    "refused" (neither a rebuild nor stoker does it: the deploy stops before any
    change and `hint` says what the operator does)."""
    item: str          # flavor | image | network | address | security groups | key pair
    old: str
    new: str
    applied_by: str    # rebuild | stoker | refused
    how: str
    hint: str = ""

    def line(self) -> str:
        return f"~ {self.item}: {self.old} → {self.new}"


@dataclass
class DeployPlan:
    placement: Placement
    config: Config
    action: str                      # create | rebuild | attach | update | refused | none
    reason: str
    diff: ConfigDiff
    previous_sha: str | None
    previous_source: str             # where the old config came from
    state: CloudState
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    intended: str | None = None      # for action "refused": what the deploy would otherwise have done
    mask: Masker = field(default_factory=Masker)  # every line shown of this plan goes through it

    @property
    def changes(self) -> bool:
        return self.action != "none"

    def api_calls(self) -> list[ApiCall]:
        return [c for s in self.steps for c in s.calls]


def redact_user_data(config: Config) -> str:
    return f"<redacted: {len(config.user_data):,} base64 chars, sha256 {config.sha256[:12]}…>"


def describe_server(server) -> str:
    """What an operator needs to recognise a server: id, status, image, creation time."""
    image = getattr(server, "image", None) or {}
    image_id = image.get("id") if isinstance(image, dict) else getattr(image, "id", None)
    return (f"{server.id}, {server.status}, image {image_id or '?'}, created {getattr(server, 'created_at', '?')}")


def check_owner(server, placement: Placement) -> None:
    """Refuse a server that stoker did not create for this VM: a deploy rebuilds
    its root disk, and the operators are moving off hand-made servers that carry
    the same names. `stoker adopt VM` takes one over on purpose."""
    vm = placement.vm
    owner = (server.metadata or {}).get(META_VM)
    if owner == vm:
        return
    if owner:
        raise RefusedError(f"server {placement.server_name} ({describe_server(server)}) belongs to VM {owner!r}, "
                           f"not {vm!r}", vm=vm, server=server.id, step="read server",
                           hint="fix the placement's server_name, or rename one of the servers")
    raise RefusedError(f"server {placement.server_name} ({describe_server(server)}) was not created by stoker: "
                       f"it has no {META_VM} metadata, and a deploy would rebuild its root disk",
                       vm=vm, server=server.id, step="read server",
                       hint=f"`stoker adopt {vm}` shows what a rebuild destroys and takes the server over on "
                            "purpose; or give the placement another server_name")


def read_cloud(cloud: Cloud, placement: Placement) -> CloudState:
    vm, conn = placement.vm, cloud.conn
    server = cloud.call("find server", lambda: find_or_none(conn.compute.find_server, placement.server_name),
                        vm=vm)
    if server is not None:
        server = cloud.call("read server", lambda: conn.compute.get_server(server.id), vm=vm, server=server.id)
        check_owner(server, placement)
    volume = volume_server = None
    if placement.volume:
        volume = cloud.call("find volume", lambda: find_or_none(conn.block_storage.find_volume,
                                                                placement.volume.name), vm=vm)
        if volume is not None:
            attachments = volume.attachments or []
            volume_server = attachments[0].get("server_id") if attachments else None
    image = cloud.call("find image", lambda: conn.image.find_image(placement.image, ignore_missing=False), vm=vm,
                       hint=f"no image {placement.image!r} in cloud {placement.cloud}; "
                            "upload Fedora CoreOS or fix the placement")
    flavor = cloud.call("find flavor", lambda: conn.compute.find_flavor(placement.flavor, ignore_missing=False), vm=vm)
    network = cloud.call("find network", lambda: conn.network.find_network(placement.network, ignore_missing=False),
                         vm=vm)
    microversion = cloud.call("compute versions", cloud.compute_microversion, vm=vm)
    return CloudState(server, volume, volume_server, image.id, flavor.id, network.id, microversion,
                      **_read_live(cloud, placement, server, image, flavor, network))


def previous_config(state: CloudState, placement: Placement, state_dir: Path) -> tuple[dict | None, str]:
    """The config the server was last deployed with: state/<vm>.ign when its hash
    matches the server's metadata, else the server's own user_data (readable at
    compute 2.3+ where policy allows), else unknown."""
    deployed = state.metadata.get(META_SHA)
    local = read_state(state_dir, placement.vm)
    if local is not None and (deployed is None or local.sha256 == deployed):
        return local.document, str(state_dir / f"{placement.vm}.ign")
    user_data = getattr(state.server, "user_data", None)
    if user_data:
        try:
            fetched = parse_config(base64.b64decode(user_data))
        except (ValueError, StokerError):  # an unreadable old config only costs detail
            fetched = None
        if fetched is not None and (deployed is None or fetched.sha256 == deployed):
            return fetched.document, "the server's user_data"
    return None, "unknown"


def _mv_tuple(text: str | None) -> tuple[int, int]:
    if not text:
        return (2, 1)
    major, minor = text.split(".")
    return int(major), int(minor)


def _volume_warnings(placement: Placement, config: Config, state: CloudState, doc: dict) -> list[str]:
    """Refuse what would leave the data volume unattached or wiped; warn about the rest."""
    vm, server, volume = placement.vm, state.server, state.volume
    warnings: list[str] = []
    if volume is not None and state.volume_server and (server is None or state.volume_server != server.id):
        raise VolumeSafetyError(
            f"data volume {placement.volume.name} ({volume.id}) is attached to another server "
            f"{state.volume_server}; it would not be attached to this one", vm=vm,
            server=getattr(server, "id", None), step="plan",
            hint="detach it from the other server (openstack server remove volume) once that server is stopped")
    if volume is not None:
        check_volume_device(placement, config, volume.id, "plan")
        wiping = [f["device"] for f in data_devices(doc) if f.get("wipeFilesystem")]
        if wiping:
            raise VolumeSafetyError(
                f"the config would wipe the filesystem on {', '.join(wiping)}, and the data volume "
                f"{placement.volume.name} already exists", vm=vm, step="plan",
                hint="set wipe_filesystem: false for the data volume's filesystem")
        if volume.size is not None and placement.volume.size != volume.size:
            warnings.append(f"volume {placement.volume.name} is {volume.size} GiB, placement says "
                            f"{placement.volume.size} GiB; stoker never resizes volumes")
    elif placement.volume:
        from ..volumes import placeholder_serial

        placeholder = f"/dev/disk/by-id/virtio-{placeholder_serial(placement.volume.name)}"
        virtio = sorted({d["device"] for d in data_devices(doc) if d["device"].startswith("/dev/disk/by-id/virtio-")})
        if virtio == [placeholder]:
            warnings.append(f"volume {placement.volume.name} will be created, and the config bound to its disk "
                            "(/dev/disk/by-id/virtio- + the first 20 characters of its id) before the server is")
        elif virtio:
            warnings.append(f"volume {placement.volume.name} will be created; the config pins its disk at "
                            f"{', '.join(virtio)}, which names the disk by the volume's id: the deploy stops "
                            "after creating the volume (set fleet.yaml volumes."
                            f"{placement.volume.name}: null to let stoker bind it)")
    return warnings


# -- the live server: what the placement drift and the port check read (GET only) --

def _image_id(server) -> str | None:
    image = getattr(server, "image", None) or {}
    return (image.get("id") if isinstance(image, dict) else getattr(image, "id", None)) or None


def _rules(group) -> list[Rule]:
    """A group's rules as Neutron embeds them in the group (a list of JSON
    objects under security_group_rules: Networking API reference, "Show
    security group")."""
    name = group.name or group.id
    return [Rule(name, r.get("direction") or "", r.get("ethertype"),
                 str(r["protocol"]).lower() if r.get("protocol") is not None else None,
                 r.get("port_range_min"), r.get("port_range_max"), r.get("remote_ip_prefix"),
                 r.get("remote_group_id") or r.get("remote_address_group_id"))
            for r in getattr(group, "security_group_rules", None) or [] if isinstance(r, dict)]


def _read_live(cloud: Cloud, placement: Placement, server, image, flavor, network) -> dict:
    """What CloudState needs beyond the ownership reads: names of what the
    placement resolves to; the server's own image when it is not that one
    (Glance GET /v2/images/{id}; None when it is gone); the server's flavor name
    when Nova answers below microversion 2.47, which embeds only the flavor's id
    in a server (2.47+ embeds original_name, vcpus, ram...: Compute API
    reference, "Show Server Details"); and the placement's security groups with
    their rules (Neutron GET /v2.0/security-groups, rules embedded). A failure
    to read the groups (a policy that forbids it) is kept as a note, not an error."""
    vm, conn = placement.vm, cloud.conn
    out: dict[str, Any] = {"image_name": image.name or image.id, "flavor_name": flavor.name or flavor.id,
                           "network_name": network.name or network.id}
    if server is not None:
        running = _image_id(server)
        if running and running != image.id:
            out["server_image"] = cloud.call("read server image",
                                             lambda: find_or_none(conn.image.find_image, running),
                                             vm=vm, server=server.id)
        live = getattr(server, "flavor", None)
        if live is not None and not getattr(live, "original_name", None) and live.id and live.id != flavor.id:
            old = cloud.call("read server flavor", lambda: find_or_none(conn.compute.find_flavor, live.id),
                             vm=vm, server=server.id)
            out["server_flavor_name"] = old.name if old is not None else live.id
    groups: dict[str, SecurityGroup | None] = {}
    try:
        for name in placement.security_groups or ("default",):
            found = cloud.call("read security groups",
                               lambda name=name: find_or_none(conn.network.find_security_group, name), vm=vm)
            groups[name] = None if found is None else SecurityGroup(found.id, found.name or found.id, _rules(found))
    except ApiError as exc:
        out["security_groups_error"] = exc.detail
    else:
        out["security_groups"] = groups
    return out


# -- placement drift ---------------------------------------------------------------

def _wanted_groups(placement: Placement, state: CloudState) -> list[str]:
    """The group names the server should have: the placement's, by name (an id
    in the placement counts by the name it resolves to); Nova gives a server
    the project's "default" group when the create request names none."""
    names = []
    for g in placement.security_groups or ("default",):
        found = (state.security_groups or {}).get(g)
        names.append(found.name if found is not None else g)
    return sorted(set(names))


def placement_drift(placement: Placement, state: CloudState) -> tuple[list[Drift], list[str]]:
    """How the live server differs from its placement (nothing for a server
    still to create), and notes that are not changes. Read from the server as
    Nova shows it (Compute API reference, "Show Server Details"): `flavor`
    (embedded by original_name at 2.47+, by id below), `image.id` (empty when it
    boots from a volume), `addresses` (network name -> fixed and floating
    addresses), `security_groups` (names) and `key_name`.

    What a deploy does with each (a rebuild replaces the root disk from the
    image with the new user_data and keeps everything else, "Rebuild Server"):
    - image: the rebuild boots the image the placement's name resolves to now;
    - security groups: stoker adds and removes them on the live server
      (addSecurityGroup / removeSecurityGroup actions) before any rebuild;
    - flavor: a resize (the server moves, then waits for a confirmation);
      stoker refuses rather than resize silently;
    - network, fixed address: the rebuild keeps the server's ports; refused;
    - key pair set in the placement and different: stoker's rebuild names no
      key pair (Nova changes it only when the rebuild request carries key_name,
      2.54+); refused. A key pair on the server when the placement has none is
      a note only: servers adopted from hand-made ones keep theirs."""
    server = state.server
    if server is None:
        return [], []
    drift: list[Drift] = []
    notes: list[str] = []
    name, vm = placement.server_name, placement.vm

    live = getattr(server, "flavor", None)
    if live is not None:
        original = getattr(live, "original_name", None)
        old = original or state.server_flavor_name or live.id
        differs = original != state.flavor_name if original else bool(live.id) and live.id != state.flavor_id
        if differs:
            drift.append(Drift(
                "flavor", str(old), state.flavor_name, "refused",
                "a resize; a rebuild keeps the flavor, and stoker does not resize: Nova moves the server to "
                "another host and waits for a confirmation",
                f"resize it by hand: `openstack server resize --flavor {state.flavor_name} {name}`, then "
                f"`openstack server resize confirm {name}` once it is VERIFY_RESIZE (the data volume stays "
                f"attached), and deploy again; or set vms.{vm}.flavor back to {old}"))

    running = _image_id(server)
    if running and running != state.image_id:
        old_image = state.server_image
        old_name = getattr(old_image, "name", None)
        how = f"the rebuild boots {state.image_name} ({state.image_id}); the data volume stays"
        if old_image is None or old_name == state.image_name:
            gone = "is no longer in the image service" if old_image is None else "still has that name"
            how = (f"the Fedora CoreOS image itself changed: {placement.image} now resolves to another image "
                   f"than the server runs (which {gone}); " + how)
        drift.append(Drift("image", f"{old_name or 'image'} {running}", f"{state.image_name} {state.image_id}",
                           "rebuild", how))

    addresses = getattr(server, "addresses", None) or {}
    if addresses and state.network_name not in addresses:
        old = ", ".join(sorted(addresses))
        drift.append(Drift(
            "network", old, state.network_name, "refused",
            "a rebuild keeps the server's ports, so it stays on its network",
            f"attach it by hand (`openstack server add network {name} {state.network_name}`, then remove the old "
            f"one), or delete the server and deploy to create it on {state.network_name} (the data volume "
            f"survives server deletion; stoker never deletes it); or set vms.{vm}.network back to {old}"))
    elif addresses:
        fixed = [a.get("addr") for a in addresses[state.network_name]
                 if a.get("version", 4) == 4 and a.get("OS-EXT-IPS:type", "fixed") == "fixed"]
        if placement.address not in fixed:
            old = ", ".join(a for a in fixed if a) or "none"
            drift.append(Drift(
                "address", old, placement.address, "refused",
                "a rebuild keeps the server's port and its fixed address",
                f"change the port's address by hand (`openstack port set --no-fixed-ip --fixed-ip "
                f"subnet=SUBNET,ip-address={placement.address} PORT`, PORT from `openstack port list --server "
                f"{name}`) and reboot the server, or delete the server and deploy to create it at "
                f"{placement.address} (the data volume survives; stoker never deletes it); or set the address "
                f"back to {old}"))

    groups = getattr(server, "security_groups", None)
    if groups is not None:
        have = sorted({g.get("name") for g in groups if isinstance(g, dict) and g.get("name")})
        want = _wanted_groups(placement, state)
        if set(have) != set(want):
            missing = [g for g, found in (state.security_groups or {}).items() if found is None]
            if missing:
                drift.append(Drift(
                    "security groups", ", ".join(have) or "none", ", ".join(want), "refused",
                    f"security group {', '.join(missing)} does not exist, so it cannot be added",
                    f"create it (`openstack security group create {missing[0]}` and its rules) or fix "
                    f"vms.{vm}.security_groups"))
            else:
                add = [g for g in want if g not in have]
                remove = [g for g in have if g not in want]
                what = "; ".join(part for part in (f"adds {', '.join(add)}" if add else "",
                                                   f"removes {', '.join(remove)}" if remove else "") if part)
                drift.append(Drift(
                    "security groups", ", ".join(have) or "none", ", ".join(want), "stoker",
                    f"a rebuild keeps the server's groups: stoker {what} on the live server, before any "
                    "rebuild (no reboot needed)"))

    key = getattr(server, "key_name", None)
    if placement.key_pair and placement.key_pair != key:
        drift.append(Drift(
            "key pair", key or "none", placement.key_pair, "refused",
            "stoker's rebuild keeps the server's key pair (on Fedora CoreOS, Afterburn installs its public "
            "key for core from the metadata service)",
            f"rebuild it by hand with the new key pair (`openstack --os-compute-api-version 2.54 server rebuild "
            f"--key-name {placement.key_pair} {name}`, which keeps its config), then deploy again; or set "
            f"vms.{vm}.key_pair back to {key or 'null'}"))
    elif key and not placement.key_pair:
        notes.append(f"server {name} has key pair {key} and the placement names none: a rebuild keeps it, "
                     "and Afterburn keeps installing its public key for core at every boot; if that key should "
                     "lose access, rebuild the server by hand with its key pair unset (compute API 2.54+, "
                     "key_name null), then deploy")
    return drift, notes


# -- the data volume's filesystem ------------------------------------------------------

def _canonical_uuid(fmt: str | None, uuid: str) -> str:
    """As Ignition compares UUIDs: lower case; a vfat volume id without its dash
    (coreos/ignition internal/exec/stages/disks/filesystems.go canonicalizeFilesystemUUID)."""
    uuid = uuid.lower()
    if fmt == "vfat" and len(uuid) >= 5 and uuid[4] == "-":
        uuid = uuid[:4] + uuid[5:]
    return uuid


def filesystem_mismatch(before: dict, after: dict) -> list[str]:
    """Why Ignition would refuse the filesystem that `before` (the previous
    config's entry, which made the filesystem now on the device) left, when it
    applies `after` with wipeFilesystem false; [] when it reuses it.

    Ignition's rule (coreos/ignition internal/exec/stages/disks/filesystems.go,
    createFilesystem; docs/operator-notes.md "Filesystem Reuse Semantics"): a
    filesystem entry without `format` is not touched. Otherwise, without
    wipeFilesystem, the existing filesystem is reused when its type equals
    `format` ("none" meaning no filesystem), its label equals `label` if the
    config sets one, and its UUID equals `uuid` if the config sets one (lower
    case; vfat ids without the dash). If a filesystem exists and does not match,
    the disks stage fails and the boot stops; only a device with no filesystem
    at all gets a new one (wipefs, mkfs). Mount options and mkfs `options` are
    not compared.

    What the device holds is inferred from `before`: a filesystem of its format,
    with its label and UUID when it set them, else the ones mkfs gave it when it
    was created (no label; a random UUID). A previous entry with no format or
    format "none" made no filesystem, so nothing is known to clash."""
    new_format = after.get("format")
    old_format = before.get("format")
    if new_format is None or old_format in (None, "none"):
        return []
    problems = []
    if new_format != old_format:
        problems.append(f"format {old_format} → {new_format}")
    new_label, old_label = after.get("label"), before.get("label")
    if new_label is not None and new_label != old_label:
        problems.append(f"label {old_label!r} → {new_label!r}" if old_label is not None else
                        f"label {new_label!r} where the previous config set none (mkfs made the filesystem "
                        "without a label)")
    new_uuid, old_uuid = after.get("uuid"), before.get("uuid")
    if new_uuid is not None and (old_uuid is None or _canonical_uuid(new_format, new_uuid)
                                 != _canonical_uuid(old_format, old_uuid)):
        problems.append(f"uuid {old_uuid} → {new_uuid}" if old_uuid is not None else
                        f"uuid {new_uuid} where the previous config set none (mkfs gave it a random one)")
    return problems


def check_filesystem_change(placement: Placement, state: CloudState, old_doc: dict, doc: dict) -> None:
    """Refuse a config whose data-volume filesystem Ignition would refuse on the
    existing volume (see filesystem_mismatch): the rebuilt server would stop in
    its first boot. Judged against the previous config, and only while the
    volume is attached to this server (so the previous config's filesystem is
    the one on it). The filesystem compared is the one on the placement's
    volume device; a config that names the disk otherwise (/dev/vdb) is paired
    with the previous config's when each has one data filesystem and the
    previous one is not on another volume's disk."""
    volume, server = state.volume, state.server
    if volume is None or server is None or state.volume_server != server.id:
        return
    device = volume_device(volume.id)
    new = [f for f in data_devices(doc) if not f.get("wipeFilesystem")]
    old = {f["device"]: f for f in data_devices(effective_config(old_doc))}
    mine = [f for f in new if f["device"] == device] or new
    for fs in mine:
        before = old.get(fs["device"])
        if before is None and len(mine) == 1 and len(old) == 1:
            (other,) = old.values()
            if not (other["device"].startswith("/dev/disk/by-id/virtio-") and other["device"] != device):
                before = other
        if before is None:
            continue
        problems = filesystem_mismatch(before, fs)
        if problems:
            kept = ", ".join(f"{k} {before[k]}" for k in ("format", "label", "uuid") if before.get(k) is not None)
            raise VolumeSafetyError(
                f"the config changes the filesystem of data volume {placement.volume.name} ({fs['device']}): "
                f"{'; '.join(problems)}, without wiping it. Ignition reuses an existing filesystem only when "
                "its format, and any label and UUID the config sets, match; otherwise its disks stage fails "
                "and the rebuilt server does not boot", vm=placement.vm, server=server.id, step="plan",
                hint=f"keep the volume's filesystem as deployed ({kept}; a label or UUID left out is not "
                     "checked); to move the data to another filesystem, give the placement a new data volume "
                     "(stoker creates it empty and Ignition makes the new filesystem) and copy the data across "
                     f"by hand from {placement.volume.name}, which stays. stoker never wipes a data volume")


# -- ports the config publishes and the security groups --------------------------

@dataclass(frozen=True)
class Published:
    """A host port range a container publishes (podman-run(1) --publish,
    podman-systemd.unit(5) PublishPort=): [[ip:][hostPort]:]containerPort[/protocol],
    hostPort a number or a range, IPv6 addresses in brackets."""
    container: str
    first: int
    last: int
    protocol: str
    address: str   # "" for every address


def parse_publish(value: str, container: str) -> list[Published]:
    """The host ports of one --publish / PublishPort= value; [] when it binds a
    loopback address (nothing outside the server reaches it), leaves the host
    port to Podman (containerPort alone, or ip::containerPort) or does not parse."""
    value = value.strip().strip("\"'")
    protocols = ["tcp"]
    if "/" in value:
        value, proto = value.rsplit("/", 1)
        protocols = [p for p in proto.lower().split(",") if p] or ["tcp"]
    address = ""
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or not value[end + 1:].startswith(":"):
            return []
        address, parts = value[1:end], value[end + 2:].split(":")
        if len(parts) != 2:
            return []
        host = parts[0]
    else:
        parts = value.split(":")
        if len(parts) == 2:
            host = parts[0]
        elif len(parts) == 3:
            address, host = parts[0], parts[1]
        else:
            return []
    if address == "localhost":
        return []
    if address:
        try:
            if ipaddress.ip_address(address).is_loopback:
                return []
        except ValueError:
            return []
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", host)
    if not m:
        return []
    first, last = int(m[1]), int(m[2] or m[1])
    return [Published(container, first, last, p, address) for p in protocols]


_QUADLET_FILE = re.compile(r"/containers/systemd/(?:users/)?(?:[^/]+/)*?([^/]+)\.(container|pod)(?:\.d/[^/]+\.conf)?$")


def published_ports(doc: dict) -> list[Published]:
    """Host ports the config's containers publish: PublishPort= in the
    [Container] or [Pod] section of Quadlet files (…/containers/systemd/NAME.container
    or .pod, and their NAME.container.d/*.conf drop-ins), and -p / --publish of
    `podman run` / `docker run` command lines in units. A container is named by
    ContainerName= or --name, else by its Quadlet file."""
    found: list[Published] = []
    for path, f in sorted(_files(doc).items()):
        m = _QUADLET_FILE.search(path)
        if not m or not _is_text(f["data"]):
            continue
        name, section, ports = m[1], None, []
        for line in f["data"].decode().splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif section in ("Container", "Pod") and "=" in line:
                key, value = (x.strip() for x in line.split("=", 1))
                if key == "ContainerName" and value:
                    name = value
                elif key == "PublishPort":
                    ports.append(value)
        found += [pub for value in ports for pub in parse_publish(value, name)]
    for unit in _units(doc).values():
        text = re.sub(r"\\\n", " ", unit["text"])
        for line in text.splitlines():
            if not re.search(r"\b(podman|docker)\b.*\b(run|create)\b", line):
                continue
            try:
                words = shlex.split(line.split("=", 1)[1] if line.lstrip().startswith("Exec") else line)
            except ValueError:
                continue
            name, values = "", []
            for i, word in enumerate(words):
                nxt = words[i + 1] if i + 1 < len(words) else ""
                if word in ("-p", "--publish"):
                    values.append(nxt)
                elif word.startswith("--publish="):
                    values.append(word.split("=", 1)[1])
                elif word.startswith("-p") and not word.startswith("--") and len(word) > 2:
                    values.append(word[2:])  # -p8080:80, the value attached to the short flag
                elif word == "--name":
                    name = nxt
                elif word.startswith("--name="):
                    name = word.split("=", 1)[1]
            found += [pub for value in values for pub in parse_publish(value, name or "container")]
    return list(dict.fromkeys(found))


_PROTOCOL_NUMBERS = {"tcp": "6", "udp": "17", "sctp": "132"}


def rule_admits(rule: Rule, port: int, protocol: str, ipv6: bool = False) -> bool:
    """Whether an ingress rule lets `protocol` traffic to `port` in (from some
    source): direction ingress; ethertype IPv4 (IPv6 for an IPv6-bound port);
    protocol any (None) or the same (by name or IANA number); no port range
    (every port) or one that holds `port`."""
    if rule.direction != "ingress" or (rule.ethertype or "IPv4") != ("IPv6" if ipv6 else "IPv4"):
        return False
    if rule.protocol not in (None, "", "any"):
        if rule.protocol not in (protocol, _PROTOCOL_NUMBERS.get(protocol)):
            return False
        if rule.port_min is not None:
            high = rule.port_max if rule.port_max is not None else rule.port_min
            if not rule.port_min <= port <= high:
                return False
    return True


def port_warnings(placement: Placement, state: CloudState, doc: dict) -> list[str]:
    """One warning per published host port (range) that no ingress rule of the
    placement's security groups opens to an address range. A rule with a
    remote_ip_prefix (any, or a narrower one chosen on purpose) opens the port;
    a rule with only a remote group opens it only to servers in that group (the
    "default" group's own rules are of that kind), which the warning says. A
    port bound to a loopback address needs no rule and is not listed."""
    ports = published_ports(doc)
    if not ports:
        return []
    names = ", ".join(placement.security_groups or ("default",))
    if state.security_groups is None:
        return [f"the security groups could not be read ({state.security_groups_error}); "
                f"the ports the config publishes were not checked against {names}"]
    groups = {g.id: g for g in state.security_groups.values() if g is not None}
    rules = [r for g in groups.values() for r in g.rules]
    out = []
    for pub in ports:
        ipv6 = ":" in pub.address
        closed, only_groups = [], set()
        for port in range(pub.first, pub.last + 1):
            admitting = [r for r in rules if rule_admits(r, port, pub.protocol, ipv6)]
            if not any(r.remote_group_id is None for r in admitting):
                closed.append(port)
                only_groups |= {groups[r.remote_group_id].name if r.remote_group_id in groups
                                else r.remote_group_id for r in admitting}
        for first, last in _runs(closed):
            what = f"port {first}" if first == last else f"ports {first}-{last}"
            verb = "is" if first == last else "are"
            line = f"{what}/{pub.protocol} ({pub.container}) {verb} not opened by security groups {names}"
            if only_groups:
                line += f" (only to servers in security group {', '.join(sorted(only_groups))})"
            out.append(line)
    return out


def _runs(ports: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for p in ports:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs


def mask_error(exc: CloudError, mask: Callable[[str], str]) -> CloudError:
    """`exc` with its message and hint passed through `mask` (errors built from
    config content, and cloud answers that echo a request, leave no secret)."""
    exc.detail = mask(exc.detail)
    if exc.hint:
        exc.hint = mask(exc.hint)
    exc.args = tuple(mask(a) if isinstance(a, str) else a for a in exc.args)
    return exc


def make_plan(placement: Placement, config: Config, state: CloudState, state_dir: Path,
              cloud: Cloud | None = None, force: bool = False) -> DeployPlan:
    """The plan for one deploy. Every refusal raised here, and every line the
    plan later shows, is masked with the secret values of the new config and
    of the one deployed before."""
    old_doc, source = (None, "none") if state.server is None else previous_config(state, placement, state_dir)
    # A config's whole user_data is a secret too: it holds every value, and a
    # cloud error may quote it (Nova's validation errors quote the rejected
    # value: nova/api/validation/validators.py).
    whole = [config.user_data, getattr(state.server, "user_data", None) or ""]
    mask = Masker.for_configs(old_doc, config.document, literal=whole)
    try:
        return _make_plan(placement, config, state, state_dir, cloud, force, old_doc, source, mask)
    except CloudError as exc:
        raise mask_error(exc, mask) from None


def _make_plan(placement: Placement, config: Config, state: CloudState, state_dir: Path, cloud: Cloud | None,
               force: bool, old_doc: dict | None, source: str, mask: Masker) -> DeployPlan:
    vm, server, volume = placement.vm, state.server, state.volume
    preflight(placement, config, allow_dev_secrets=True)
    doc = effective_config(config.document)
    warnings: list[str] = []
    if dev := dev_secret_places(doc):
        warnings.append(f"rendered with throwaway dev secrets ({', '.join(dev)}): `stoker deploy` will refuse it")
    warnings += _volume_warnings(placement, config, state, doc)
    deployed_sha = state.metadata.get(META_SHA)
    same_config = server is not None and deployed_sha == config.sha256
    if old_doc is not None and not same_config:
        check_filesystem_change(placement, state, old_doc, doc)
    drift, notes = placement_drift(placement, state)
    warnings += notes
    if state.security_groups is not None:
        warnings += [f"security group {g} does not exist in the cloud" for g, found in state.security_groups.items()
                     if found is None]
    warnings += port_warnings(placement, state, doc)
    by_rebuild = [d for d in drift if d.applied_by == "rebuild"]
    diff = diff_configs(old_doc, config.document, mask)
    if server is None:
        action, reason = "create", f"server {placement.server_name} does not exist"
    elif same_config and not force and server.status != "ERROR" and not by_rebuild:
        diff = ConfigDiff([], mask)
        action, reason = "none", f"server {server.id} already runs config {config.sha256[:12]}"
        if state.metadata.get(META_IGNITION) == "failed":
            warnings.append("Ignition failed on the last deploy of this config; --force rebuilds anyway")
        if server.status != "ACTIVE":
            warnings.append(f"server is {server.status}; a deploy with an unchanged config does not touch it")
    else:
        if server.status not in ("ACTIVE", "SHUTOFF", "ERROR"):
            raise RefusedError(f"server is {server.status} (task {getattr(server, 'task_state', None) or '-'}); "
                               "Nova rebuilds only an ACTIVE, SHUTOFF or ERROR server", vm=vm, server=server.id,
                               step="plan", hint="wait until the server has settled, then deploy again")
        action = "rebuild"
        reason = ("--force given" if force and same_config else
                  "the server is in ERROR" if same_config and server.status == "ERROR" else
                  f"the server runs another image than {placement.image} now is" if same_config else
                  f"deployed config {deployed_sha[:12] if deployed_sha else '(not recorded)'} "
                  f"differs from {config.sha256[:12]}")
        if old_doc is None:
            warnings.append(f"the last deployed config ({deployed_sha or 'unknown'}) is not in "
                            f"{state_dir}/{vm}.ign nor readable from the server: every item shows as added")
        if _mv_tuple(state.microversion) < REBUILD_MICROVERSION:
            raise RefusedError(
                f"the cloud's compute API goes up to microversion {state.microversion}; rebuilding with new "
                "user_data needs 2.57 or later", vm=vm, server=server.id, step="plan",
                hint="ask the cloud operators for a newer Nova, or delete and create the server by hand "
                     "(the data volume survives server deletion; stoker never deletes it)")
    attach_needed = placement.volume is not None and (volume is None or state.volume_server is None)
    if action == "none" and attach_needed:
        action, reason = "attach", f"data volume {placement.volume.name} is not attached"
        warnings.append("the volume is attached to a running server: reboot it, or deploy with --force, "
                        "for its mounts to come up")
    if action == "none" and any(d.applied_by == "stoker" for d in drift):
        action, reason = "update", "the server's security groups differ from the placement's"
    plan = DeployPlan(placement, config, action, reason, diff, deployed_sha, source, state, warnings=warnings,
                      drift=drift, mask=mask)
    refused = [d for d in drift if d.applied_by == "refused"]
    if refused:
        plan.intended, plan.action = action, "refused"
        plan.reason = (f"the placement changes the server's {', '.join(d.item for d in refused)}, which a deploy "
                       "does not apply")
    plan.steps = _steps(plan, cloud.timings if cloud else Timings())
    return plan


def refusal(plan: DeployPlan) -> RefusedError:
    """The error a refused plan's deploy stops with, before any change."""
    refused = [d for d in plan.drift if d.applied_by == "refused"]
    what = "; ".join(f"{d.item} {d.old} → {d.new}: {d.how}" for d in refused)
    return RefusedError(f"the placement changes what a deploy cannot apply: {what}", vm=plan.placement.vm,
                        server=getattr(plan.state.server, "id", None), step="plan",
                        hint="; ".join(d.hint for d in refused))


def _refuse(run: "run_steps.Run") -> None:
    raise refusal(run.plan)


def _group_changes(plan: DeployPlan) -> tuple[list[str], list[str]]:
    """(groups to add, groups to remove) for a "stoker" security-group drift."""
    if not any(d.item == "security groups" and d.applied_by == "stoker" for d in plan.drift):
        return [], []
    have = {g.get("name") for g in getattr(plan.state.server, "security_groups", None) or [] if isinstance(g, dict)}
    want = _wanted_groups(plan.placement, plan.state)
    return [g for g in want if g not in have], sorted(g for g in have if g and g not in want)


def apply_security_groups(run: "run_steps.Run") -> None:
    """Add, then remove, security groups on the live server (Compute API
    reference: addSecurityGroup and removeSecurityGroup server actions, body
    {"name": NAME}; openstacksdk add_security_group_to_server and
    remove_security_group_from_server). Adding first means the server's ports
    never go without a group. A retried call (after a 5xx or a lost answer)
    first reads the server's groups, so a change that was made is not made again."""
    conn = run.cloud.conn
    add, remove = _group_changes(run.plan)

    def current() -> set[str]:
        server = conn.compute.get_server(run.server_id)
        return {g.get("name") for g in server.security_groups or []}

    for name, adding in [(g, True) for g in add] + [(g, False) for g in remove]:
        attempts = 0

        def change(name=name, adding=adding):
            nonlocal attempts
            attempts += 1
            if attempts > 1 and (name in current()) == adding:
                return None
            if adding:
                return conn.compute.add_security_group_to_server(run.server_id, name)
            return conn.compute.remove_security_group_from_server(run.server_id, name)
        run.call("security groups", change,
                 hint=f"the server's security groups are partly changed; fix them with `openstack server "
                      f"{'add' if adding else 'remove'} security group`, or run the deploy again")
        run.emit(run_steps.Event("note", "security groups", f"{'added' if adding else 'removed'} {name}"))


def _guarded(fn: Callable[["run_steps.Run"], None], mask: Masker) -> Callable[["run_steps.Run"], None]:
    """A step that leaves no secret value in what it reports: its progress
    events, the retries it notes and the error it stops with go through `mask`
    (cloud errors can echo a request: Nova's validation errors quote the value
    they reject, nova/api/validation/validators.py)."""
    def run(r: "run_steps.Run") -> None:
        if not getattr(r, "masked_events", False):
            emit = r.emit
            r.emit = lambda event: emit(dataclasses.replace(event, message=mask(event.message)))
            r.masked_events = True
        try:
            fn(r)
        except CloudError as exc:
            raise mask_error(exc, mask) from None
        finally:
            r.cloud.retried[:] = [mask(line) for line in r.cloud.retried]
    return run


def _steps(plan: DeployPlan, timings: Timings) -> list[Step]:
    steps = _plan_steps(plan, timings)
    for step in steps:
        step.run = _guarded(step.run, plan.mask)
    return steps


def _plan_steps(plan: DeployPlan, timings: Timings) -> list[Step]:
    p, st, cfg = plan.placement, plan.state, plan.config
    sid = getattr(st.server, "id", None) or "<new server id>"
    vid = getattr(st.volume, "id", None) or "<new volume id>"
    shown_metadata = server_metadata(st.metadata, p.vm, cfg, "<deploy time>")
    steps: list[Step] = []
    if plan.action == "refused":
        return [Step("refused", [], _refuse)]  # before any change: nothing else runs
    if plan.action == "none":
        return steps

    def call(*args, **kw) -> ApiCall:
        return ApiCall(*args, mask=plan.mask, **kw)
    if p.volume and st.volume is None:
        steps.append(Step("create volume", [
            call("POST", "block-storage", "/volumes", {"volume": {"name": p.volume.name, "size": p.volume.size}}),
            call("GET", "block-storage", f"/volumes/{vid}",
                 note=f"poll until available, up to {timings.volume_timeout:g}s")], run_steps.create_volume))
    if plan.action == "create":
        body = {"server": run_steps.create_request(plan, redact_user_data(cfg), vid, shown_metadata)}
        steps.append(Step("create server", [call("POST", "compute", "/servers", body)], run_steps.create_server))
    else:
        if p.volume and st.volume_server is None:
            steps.append(Step("attach volume", [call(
                "POST", "compute", f"/servers/{sid}/os-volume_attachments", {"volumeAttachment": {"volumeId": vid}}),
                call("GET", "block-storage", f"/volumes/{vid}",
                     note=f"poll until in-use, up to {timings.volume_timeout:g}s")],
                run_steps.attach_volume))
        add, remove = _group_changes(plan)
        if add or remove:
            steps.append(Step("security groups", [
                call("POST", "compute", f"/servers/{sid}/action", {"addSecurityGroup": {"name": g}}) for g in add] + [
                call("POST", "compute", f"/servers/{sid}/action", {"removeSecurityGroup": {"name": g}})
                for g in remove], apply_security_groups))
        if plan.action in ("attach", "update"):
            return steps
        steps.append(Step("read console", [call(
            "POST", "compute", f"/servers/{sid}/action", {"os-getConsoleOutput": {}},
            note="console before the rebuild, to tell old boots from new")], run_steps.console_before))
        steps.append(Step("rebuild server", [call(
            "POST", "compute", f"/servers/{sid}/action",
            {"rebuild": run_steps.rebuild_request(plan, redact_user_data(cfg), shown_metadata)},
            note=f"OpenStack-API-Version: compute {st.microversion}")], run_steps.rebuild))
    steps.append(Step("wait active", [call(
        "GET", "compute", f"/servers/{sid}",
        note=f"poll every {timings.poll:g}s until ACTIVE, up to {timings.active_timeout:g}s")], run_steps.wait_active))
    if p.volume:
        steps.append(Step("check volume", [call("GET", "compute", f"/servers/{sid}/os-volume_attachments",
                                                note=f"{p.volume.name} must be attached; attach it if not")],
                          run_steps.check_volume))
    steps.append(Step("watch ignition", [call(
        "POST", "compute", f"/servers/{sid}/action", {"os-getConsoleOutput": {"length": run_steps.CONSOLE_LINES}},
        note=f"poll until Ignition reports success or failure, up to {timings.ignition_timeout:g}s")],
        run_steps.watch_ignition))
    steps.append(Step("record result", [call("POST", "compute", f"/servers/{sid}/metadata",
                                             {"metadata": {META_IGNITION: "success|failed|unknown"}})],
                      run_steps.record_result))
    return steps
