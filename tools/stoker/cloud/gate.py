"""The checks a config passes before stoker plans it or changes the cloud for it.

1. It is this VM's config: its /etc/hostname is the VM's host name, and the
   VM name stoker records in /etc/stoker/vm (every rendered config has it) is
   this VM. `stoker deploy tracker --config build/bastion.ign` is refused.
2. It passes `stoker validate` (stoker.fleet.validation): for `plan`, no check
   may fail (warnings and skipped checks are shown); for `deploy` and
   `rollback`, strictly: a warning or a check skipped for a missing tool
   refuses the deploy too, since every deploy replaces a root disk.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StokerError
from ..fleet.located import load
from .config import Config, effective_config
from .errors import RefusedError
from .placement import Placement

VM_RECORD = "/etc/stoker/vm"  # written by stoker.fleet.render (render.VM_RECORD)


def _file_text(doc: dict, path: str) -> str | None:
    from ..fleet.external import file_contents

    for entry in (doc.get("storage") or {}).get("files") or []:
        if isinstance(entry, dict) and entry.get("path") == path:
            try:
                return file_contents(entry)
            except (ValueError, OSError, EOFError):
                return None
    return None


def _read_yaml(path: Path, label: str) -> dict:
    """A repository YAML file as a mapping; {} when it is missing or unreadable
    (the fleet's own checks report those)."""
    try:
        data = load(path.read_text(), label)[0]
    except (OSError, StokerError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _fleet_facts(root: Path, vm: str, fleet: dict) -> tuple[str, str | None]:
    """(the VM's host name, the target Podman) from vms/<vm>.yaml and `fleet`
    (fleet.yaml); the VM name and the default Podman when they do not say."""
    definition = _read_yaml(root / "vms" / f"{vm}.yaml", f"vms/{vm}.yaml")
    hostname = definition["hostname"] if isinstance(definition.get("hostname"), str) else vm
    target = fleet.get("target")
    podman = str(target["podman"]) if isinstance(target, dict) and target.get("podman") else None
    return hostname, podman


def check_belongs(placement: Placement, config: Config, hostname: str) -> None:
    vm = placement.vm
    doc = effective_config(config.document)
    recorded = (_file_text(doc, VM_RECORD) or "").strip()
    if not recorded:
        raise RefusedError(f"{config.path or 'the config'} has no {VM_RECORD}, which every config `stoker ignition` "
                           "renders carries: stoker cannot tell which VM it is for", vm=vm, step="check config",
                           hint=f"deploy build/{vm}.ign as rendered: make ignition vm={vm} secrets=FILE")
    if recorded != vm:
        raise RefusedError(f"{config.path or 'the config'} is the config of VM {recorded!r}, not {vm!r}", vm=vm,
                           step="check config", hint=f"deploy build/{vm}.ign (make ignition vm={vm} secrets=FILE)")
    actual = (_file_text(doc, "/etc/hostname") or "").strip()
    if actual != hostname:
        what = f"sets host name {actual!r}" if actual else "sets no /etc/hostname"
        raise RefusedError(f"{config.path or 'the config'} {what}; VM {vm} is {hostname!r}", vm=vm,
                           step="check config", hint=f"deploy the config rendered for {vm}: make ignition vm={vm} secrets=FILE")


def check_volume_name(placement: Placement, config: Config, fleet: dict) -> None:
    """Refuse a config whose data disk is another fleet volume than the one the
    placement attaches (the config names a volume by its placeholder serial,
    stoker.volumes): the deploy would attach one volume and mount none."""
    from ..volumes import uses_placeholder

    volumes = fleet.get("volumes")
    names = [n for n in volumes if isinstance(n, str)] if isinstance(volumes, dict) else []
    used = [n for n in names if uses_placeholder(config.raw, n)]
    want = placement.volume.name if placement.volume else None
    other = [n for n in used if n != want]
    if other:
        placed = f"attaches volume {want}" if want else "attaches no volume"
        raise RefusedError(f"the config's data disk is volume {other[0]} (vms/{placement.vm}.yaml data_volume "
                           f"device by_volume), but the placement {placed}", vm=placement.vm, step="check config",
                           hint=f"make them the same volume: data_volume.device.by_volume in vms/{placement.vm}.yaml "
                                f"and volume.name in fleet.yaml placement for {placement.vm}, then render again "
                                f"(make ignition vm={placement.vm} secrets=FILE); a new volume starts empty, "
                                "copy the data across by hand")


def check_config(placement: Placement, config: Config, root: Path, *, strict: bool) -> list[str]:
    """Refuse a config that is not this VM's or does not pass validation;
    return what the operator should still read (warnings, skipped checks)."""
    from ..fleet.validation import FAILED, validate_ignition_bytes, verdict_fails

    fleet = _read_yaml(Path(root) / "fleet.yaml", "fleet.yaml")
    hostname, podman = _fleet_facts(Path(root), placement.vm, fleet)
    check_belongs(placement, config, hostname)
    check_volume_name(placement, config, fleet)
    label = str(config.path or f"{placement.vm}.ign")
    checks = validate_ignition_bytes(config.raw, label, podman=podman)
    failing = [c for c in checks if verdict_fails(c, strict)]
    if failing:
        lines = "; ".join(f"{c.name} {c.status}: {c.detail.splitlines()[0] if c.detail else ''}" for c in failing)
        skipped = any(c.status != FAILED for c in failing)
        hint = f"`stoker validate --strict {label}` shows every check"
        if skipped:
            hint += "; a deploy needs every check to run: sudo make deps (tools), make image (Quadlet dry run)"
        raise RefusedError(f"the config does not pass validation{' (strict)' if strict else ''}: {lines}",
                           vm=placement.vm, step="validate", hint=hint)
    return [f"{c.name} {c.status}: {c.detail.splitlines()[0] if c.detail else ''}"
            for c in checks if verdict_fails(c, True)]
