"""Taking over a server stoker did not create, on purpose.

The operators are moving off long-lived hand-made servers with the names the
VMs have, so a deploy refuses a server without stoker's metadata
(live.check_owner). `stoker adopt VM` reads such a server (GET only), says
what the next deploy's rebuild destroys and what it keeps, and, once the
operator agrees, records `stoker_vm` (and the time) in the server's metadata;
the next deploy then rebuilds it as usual.

Facts: a rebuild replaces the server's root disk from the image
(Nova API reference, "Rebuild Server (rebuild Action)"); attached volumes stay
attached and keep their data; the server keeps its id, ports and addresses.
A server booted from a volume (no image in its record) has that volume
re-imaged by a rebuild only at compute microversion 2.93 and later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .connection import Cloud, find_or_none
from .errors import RefusedError
from .placement import Placement
from .state import META_VM

META_ADOPTED = "stoker_adopted_at"


@dataclass
class Adoption:
    placement: Placement
    server: Any
    kept: list[str] = field(default_factory=list)      # what a rebuild keeps, one line each
    destroyed: list[str] = field(default_factory=list)  # what it destroys
    notes: list[str] = field(default_factory=list)


def read_adoption(cloud: Cloud, placement: Placement) -> Adoption:
    """The server a VM would take over, and what a rebuild would do to it.
    RefusedError when there is none, it is already this VM's, or it is another VM's."""
    vm, conn = placement.vm, cloud.conn
    server = cloud.call("find server", lambda: find_or_none(conn.compute.find_server, placement.server_name), vm=vm)
    if server is None:
        raise RefusedError(f"there is no server named {placement.server_name} to adopt", vm=vm, step="adopt",
                           hint=f"`stoker deploy {vm}` creates it")
    server = cloud.call("read server", lambda: conn.compute.get_server(server.id), vm=vm, server=server.id)
    owner = (server.metadata or {}).get(META_VM)
    if owner == vm:
        raise RefusedError(f"server {placement.server_name} ({server.id}) is already VM {vm}'s", vm=vm,
                           server=server.id, step="adopt", hint=f"`stoker plan {vm}` shows what a deploy changes")
    if owner:
        raise RefusedError(f"server {placement.server_name} ({server.id}) belongs to VM {owner!r}", vm=vm,
                           server=server.id, step="adopt",
                           hint="adopting it would take it from that VM; fix the placement's server_name")
    adoption = Adoption(placement, server)
    image = server.image or {}
    image_id = image.get("id") if isinstance(image, dict) else getattr(image, "id", None)
    if image_id:
        adoption.destroyed.append(f"its root disk (booted from image {image_id}): everything written there since "
                                  f"{getattr(server, 'created_at', 'it was created')} — packages, files, "
                                  "containers and their data outside volumes")
    else:
        adoption.destroyed.append("its root volume is re-imaged by the rebuild (the server boots from a volume)")
        adoption.notes.append("a server that boots from a volume is rebuilt only at compute microversion 2.93+")
    attachments = cloud.call("read attachments", lambda: list(conn.compute.volume_attachments(server.id)), vm=vm,
                             server=server.id)
    data_volume = placement.volume.name if placement.volume else None
    for attachment in attachments:
        volume = cloud.call("read volume", lambda: conn.block_storage.get_volume(attachment.volume_id), vm=vm,
                            server=server.id)
        role = ("the placement's data volume: the config mounts it" if volume.name == data_volume else
                "not in the placement: it stays attached, but the config does not mount it")
        adoption.kept.append(f"volume {volume.name or volume.id} ({volume.id}, {volume.size} GiB): {role}")
    if data_volume and not any(data_volume in line for line in adoption.kept):
        adoption.notes.append(f"the placement's data volume {data_volume} is not attached to this server: "
                              "the deploy attaches it (or creates it when it does not exist)")
    adoption.kept.append(f"the server's id {server.id}, its ports and addresses")
    return adoption


def adopt(cloud: Cloud, adoption: Adoption) -> None:
    """Record the server as this VM's (its other metadata is kept)."""
    vm, server = adoption.placement.vm, adoption.server
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    cloud.call("adopt", lambda: cloud.conn.compute.set_server_metadata(server.id, **{META_VM: vm, META_ADOPTED: when}),
               vm=vm, server=server.id)
