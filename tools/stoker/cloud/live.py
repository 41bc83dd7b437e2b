"""What stoker reads of a VM in the cloud before it plans (GET only): the server
and its owner, the data volume, what the placement's names resolve to, and
the placement's security groups with their rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .connection import Cloud, find_or_none
from .errors import ApiError, RefusedError
from .placement import Placement
from .state import META_VM


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


