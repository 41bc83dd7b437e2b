"""The host programs a boot needs, checked all at once before anything starts.

`stoker boot`, `boot-test` and `fleet-test` call `require_tools` before the image is
built or QEMU starts, so a missing program is named at once (with its Debian package)
instead of showing up later: a missing `ssh` looked like a guest that never answered
and cost the whole SSH timeout.
"""

from __future__ import annotations

import shutil

from .errors import MissingTool

# program -> the Debian package that has it (.ci/apt-packages installs them all: `sudo make deps`)
PACKAGES = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "docker-registry": "docker-registry",
    "skopeo": "skopeo",
    "umoci": "umoci",
    "mmdebstrap": "mmdebstrap",
    "mke2fs": "e2fsprogs",
    "vde_switch": "vde2",
    "gpgv": "gpgv",
    "xz": "xz-utils",
}

VM = ("qemu-system-x86_64", "qemu-img", "ssh-keygen", "ssh")  # every boot
REGISTRY = ("docker-registry", "skopeo")  # the test registry (--registry local, a config with containers)
NETWORK = ("vde_switch",)  # the fleet test's private network


def not_found(program: str, package: str) -> str:
    """The one form every missing program is reported in."""
    return f"{program} not found: install Debian package {package} (or `sudo make deps`)"


def boot_tools(local_registry: bool) -> tuple[str, ...]:
    """What `stoker boot|boot-test` runs: QEMU, qemu-img, ssh, ssh-keygen, and with a test
    registry (`local_registry`) docker-registry and skopeo."""
    return VM + (REGISTRY if local_registry else ())


def fleet_tools() -> tuple[str, ...]:
    """What `stoker fleet-test` runs: a boot's, the test registry's and the VDE switch."""
    return VM + REGISTRY + NETWORK


def require_tools(programs: tuple[str, ...], needed_for: str = "the boot test") -> None:
    """Return if every program is on PATH; else MissingTool naming each missing one and its package."""
    missing = [(p, PACKAGES[p]) for p in programs if shutil.which(p) is None]
    if missing:
        (program, package), *rest = missing
        raise MissingTool(program, package, needed_for, also=tuple(rest))
