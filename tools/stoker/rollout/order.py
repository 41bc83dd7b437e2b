"""The order in which `stoker rollout` deploys, and the rollout settings of fleet.yaml.

Default order (each rule from issue 12):

1. staging before production: a VM that `extends` another (vms/ims-staging.yaml
   `extends: ims`) goes before the VM it extends, when both change;
2. backends before the bastion;
3. the bastion last and alone: it is the only public entry, and the jump host
   of every other server's post-deploy checks.

Ties keep the names' alphabetical order. fleet.yaml `rollout.order` overrides
it: the VMs it lists go first, in its order; changed VMs it does not list follow
in the default order. The names in `rollout.order` and `rollout.bastion` are
checked against vms/ when the fleet loads (stoker.fleet.definitions), so a
misspelt name is an error with its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASTION = "bastion"
DEFAULT_SSH_USER = "core"
DEFAULT_CHECK_TIMEOUT = 600   # seconds a rebuilt server gets for its services to come up
DEFAULT_LOCK_MINUTES = 240


@dataclass(frozen=True)
class Settings:
    """fleet.yaml `rollout` (every field optional; schemas/fleet.schema.json)."""
    order: tuple[str, ...] = ()
    bastion: str | None = DEFAULT_BASTION
    public_address: str | None = None
    ssh_user: str = DEFAULT_SSH_USER
    check_timeout: int = DEFAULT_CHECK_TIMEOUT
    lock_minutes: int = DEFAULT_LOCK_MINUTES


@dataclass(frozen=True)
class FleetFacts:
    """What the rollout needs of the fleet: each VM's `extends`, the sites by
    VM name (fleet.yaml `sites`), and the settings."""
    extends: dict[str, str | None]
    sites: dict[str, str]
    settings: Settings


def load_facts(root: Path) -> FleetFacts:
    """Read fleet.yaml and vms/ (stoker.fleet.definitions.load_fleet: schema and
    name checks with file:line). Raises FleetError on a broken fleet.yaml."""
    from ..fleet.definitions import load_fleet

    fleet = load_fleet(Path(root))
    data = fleet.data.get("rollout") or {}
    names = set(fleet.names)
    bastion = data.get("bastion", DEFAULT_BASTION if DEFAULT_BASTION in names else None)
    settings = Settings(order=tuple(data.get("order") or ()), bastion=bastion,
                        public_address=data.get("public_address"),
                        ssh_user=data.get("ssh_user", DEFAULT_SSH_USER),
                        check_timeout=int(data.get("check_timeout", DEFAULT_CHECK_TIMEOUT)),
                        lock_minutes=int(data.get("lock_minutes", DEFAULT_LOCK_MINUTES)))
    extends = {name: vm.extends for name, vm in fleet.vms.items()}
    for name in fleet.broken:  # a VM with problems still has its place in the order (validation refuses it)
        extends[name] = _raw_extends(Path(fleet.root) / "vms" / f"{name}.yaml")
    sites = {k: v for k, v in (fleet.data.get("sites") or {}).items() if k in names and isinstance(v, str)}
    return FleetFacts(extends, sites, settings)


def _raw_extends(path: Path) -> str | None:
    from ..fleet.located import load

    try:
        data = load(path.read_text(), str(path))[0]
    except Exception:  # unreadable: the fleet's own problems say why
        return None
    value = data.get("extends") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def rollout_order(vms: list[str], extends: dict[str, str | None], settings: Settings) -> list[str]:
    """`vms` in deploy order (see the module docstring). Pure."""
    chosen = set(vms)
    listed = [v for v in settings.order if v in chosen]
    rest = sorted(chosen - set(listed))
    bastion = settings.bastion if settings.bastion in rest else None
    backends = [v for v in rest if v != bastion]
    ordered: list[str] = []
    placed: set[str] = set()

    def place(vm: str, path: tuple[str, ...] = ()) -> None:
        # every changed VM that extends `vm` (directly or not) goes first
        if vm in placed or vm in path:
            return
        for child in backends:
            if extends.get(child) == vm:
                place(child, path + (vm,))
        placed.add(vm)
        ordered.append(vm)

    for vm in backends:
        place(vm)
    return listed + ordered + ([bastion] if bastion else [])
