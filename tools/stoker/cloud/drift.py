"""Placement drift: how the live server differs from its placement, and what
applying each difference takes (the rebuild, stoker through the API, or the
operator by hand)."""

from __future__ import annotations

from dataclasses import dataclass

from .live import CloudState, _image_id
from .placement import Placement


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


