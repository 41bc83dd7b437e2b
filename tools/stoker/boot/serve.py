"""Serve a config's container images to the booted guest from a local registry.

The config's Quadlet files are booted unchanged: they pull the fleet's images
by their fleet names (registry.ebisc.org/ebisc/nginx:latest). Offline, each
name is served by its stand-in (standins/catalog.py), pushed into Debian's
docker-registry on 127.0.0.1; the guest reaches it through QEMU's user-mode
gateway (10.0.2.2, QEMU's `-netdev user` default) and a registries.conf.d
mirror the harness adds (ignition.add_registry_mirror).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from .errors import ImageError
from .registry import LocalRegistry, cache_storage, split_reference
from .standins import STANDINS, build_all, publish
from .standins.model import StandIn

GUEST_GATEWAY = "10.0.2.2"  # the host as a QEMU user-mode guest sees it

Event = Callable[[str], None]


def standins_for(refs: Iterable[str], fleet_registry: str,
                 standins: tuple[StandIn, ...] = STANDINS) -> tuple[StandIn, ...]:
    """The stand-ins that serve `refs` (full references), in catalog order.

    ImageError naming every reference that no stand-in serves: one outside the fleet's
    registry, or one the catalog does not declare."""
    prefix = fleet_registry.rstrip("/") + "/"
    by_name = {s.image: s for s in standins}
    wanted: set[str] = set()
    missing: list[str] = []
    for ref in refs:
        host, rest = split_reference(ref)  # ImageError for a short name or a digest; ":latest" filled in
        full = f"{host}/{rest}"
        name = full[len(prefix):] if full.startswith(prefix) else None
        if name in by_name:
            wanted.add(name)
        else:
            missing.append(ref)
    if missing:
        raise ImageError(
            f"no stand-in image for {', '.join(missing)}: the offline boot test serves only the images of "
            f"the fleet's registry {fleet_registry} that tools/stoker/boot/standins/catalog.py declares; "
            "declare one there, or boot with --registry real where the real registry is reachable")
    return tuple(s for s in standins if s.image in wanted)


@contextlib.contextmanager
def serve_images(refs: Iterable[str], fleet_registry: str, *, standins: tuple[StandIn, ...] = STANDINS,
                  event: Event | None = None, extra: tuple[StandIn, ...] = ()) -> Iterator[str | None]:
    """Build (or take from the cache) the stand-ins for `refs`, start a local registry, push
    them under their fleet paths, and yield the mirror location the guest pulls from
    ("10.0.2.2:PORT"); None when `refs` and `extra` are empty (no registry is started). `extra`:
    images served besides the config's (the probe image, catalog.PROBE), under the fleet's path
    too. The registry stops
    when the block ends, also on an exception. Raises ImageError (no stand-in, a failed build
    or push) and MissingTool (docker-registry, skopeo, umoci or mmdebstrap not installed)."""
    event = event or (lambda msg: None)
    refs = list(dict.fromkeys(refs))
    if not refs and not extra:
        yield None
        return
    needed = standins_for(refs, fleet_registry, standins) + tuple(extra)

    def progress(what: str, state: str) -> None:
        if state != "cached":
            event(f"stand-in {what}: {state}")
    built = build_all(needed, registry=fleet_registry, progress=progress)
    with LocalRegistry(cache_storage()) as registry:
        publish(built, registry, fleet_registry)
        event(f"test registry on 127.0.0.1:{registry.port} serves {', '.join(s.image for s in needed)}")
        yield f"{GUEST_GATEWAY}:{registry.port}"
