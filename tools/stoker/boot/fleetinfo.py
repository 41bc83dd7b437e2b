"""Expectations for a fleet VM: derived from its Ignition config, cross-checked with its definition.

The definition (vms/<name>.yaml) says what the operators declared; the config says
what was rendered. Anything declared but missing from the config becomes an
expectation too, so the boot test fails on it instead of never looking. A
definition that does not load stops the boot test with its problems: checking
the config alone would check less than was declared, and still pass.
"""

from __future__ import annotations

from .errors import ConfigError
from .expect import Expectations, Port, Service, Timer, derive


def expectations_for(name: str, cfg: dict, root=None) -> Expectations:
    """What the booted VM `name` must show: its config's expectations plus what its definition declares.

    `root`: the repository (default: found from the working directory); with no fleet there, or no
    VM `name` in it, the config alone decides. Raises FleetError (broken fleet.yaml) or ConfigError
    (the VM's definition does not load, or declares a port that is not [ADDRESS:]HOST:CONTAINER),
    each naming file:line:column."""
    exp = derive(cfg)
    vm = _fleet_vm(name, root)
    if vm is None:
        return exp
    have = {s.name for s in exp.services}
    for svc in vm.services.values():
        if svc.enabled is not False and svc.unit not in have:
            exp.services.append(Service(svc.unit, svc.name, svc.image))
    timers = {t.name for t in exp.timers}
    for t in vm.timers.values():
        if t.unit not in timers:
            exp.timers.append(Timer(t.unit, f"{t.job}.service", (f"OnCalendar={t.on_calendar}",)))
    ports = {p.port for p in exp.ports}
    for port in _declared_tcp_ports(vm):
        if port.port not in ports:
            exp.ports.append(port)
    return exp


def _declared_tcp_ports(vm) -> list[Port]:
    """The host TCP ports the VM's services publish; ConfigError at the entry that does not parse."""
    from ..fleet.checks import _problem
    from ..fleet.values import parse_port
    found = []
    for svc in vm.services.values():
        for i, spec in enumerate(svc.ports):
            mapping, why = parse_port(str(spec))
            if why:
                raise ConfigError(f"{_problem(vm, svc.path + ('ports', i), why)}\n"
                                  f"(the boot test expects {vm.name}'s declared ports; fix the definition)")
            if mapping.protocol == "tcp":
                found.append(Port(mapping.host, svc.unit))
    return found


def definition_error(names: list[str], problems) -> ConfigError:
    """The error for VMs whose vms/<name>.yaml does not load: every problem, as file:line:col: message."""
    text = "\n".join(str(p) for p in sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.column or 0)))
    which = (f"the definition of {names[0]} does not load" if len(names) == 1 else
             f"the definitions of {', '.join(names)} do not load")
    return ConfigError(f"{which}, so the boot test cannot check what it declares:\n{text}")


def _fleet_vm(name: str, root=None):
    """The VM's definition, or None when there is no fleet here (no fleet.yaml with a vms/ directory in
    `root` or above the working directory) or no VM `name` in it. FleetError when fleet.yaml does not
    load; ConfigError (definition_error) when the VM's own definition does not."""
    from pathlib import Path

    from ..fleet.definitions import find_root, load_fleet
    from ..fleet.errors import FleetError
    try:
        found = find_root(Path(root) if root is not None else None)
    except FleetError:  # no fleet here: the config alone decides
        return None
    fleet = load_fleet(found)
    if name in fleet.broken:
        raise definition_error([name], fleet.broken[name])
    return fleet.vms.get(name)
