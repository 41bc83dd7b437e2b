"""Put built stand-ins into a local registry under the paths the fleet pulls them from.

The fleet's registry (fleet.yaml `registry`, e.g. registry.ebisc.org/ebisc)
is a host and a path; a stand-in for `nginx:latest` goes to
<local registry>/ebisc/nginx:latest, so a registries.conf mirror for the host
(stoker.boot.registry.mirror_dropin) serves registry.ebisc.org/ebisc/nginx:latest.
"""

from __future__ import annotations

from ..errors import ImageError
from ..registry import LocalRegistry, split_reference
from .build import Built


def fleet_reference(fleet_registry: str, image: str) -> str:
    """registry.ebisc.org/ebisc + nginx:latest -> registry.ebisc.org/ebisc/nginx:latest."""
    return f"{fleet_registry.rstrip('/')}/{image}"


def publish(built: list[Built], registry: LocalRegistry, fleet_registry: str) -> dict[str, str]:
    """Push every built image (not the base) into `registry`; {fleet reference: local reference}.

    ImageError when fleet_registry has no host part or a push fails;
    MissingTool without skopeo.
    """
    out = {}
    for b in built:
        if b.name == "base":
            continue
        ref = fleet_reference(fleet_registry, b.name)
        try:
            _, repo_and_tag = split_reference(ref)
        except ImageError as exc:
            raise ImageError(f"fleet registry {fleet_registry!r}: {exc}") from None
        registry.push(b.oci_ref, repo_and_tag)
        out[ref] = registry.reference(repo_and_tag)
    return out
