"""Expectations for a fleet VM: derived from its Ignition config, cross-checked with its definition.

The definition (vms/<name>.yaml) says what the operators declared; the config says
what was rendered. Anything declared but missing from the config becomes an
expectation too, so the boot test fails on it instead of never looking.
"""

from __future__ import annotations

from .expect import Expectations, Port, Service, Timer, derive


def expectations_for(name: str, cfg: dict, root=None) -> Expectations:
    """`root`: the repository (default: found from the working directory)."""
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
    for svc in vm.services.values():
        for spec in svc.ports:
            host = str(spec).split("/")[0].rsplit(":", 2)
            try:
                port = int(host[-2]) if len(host) >= 2 else int(host[0])
            except ValueError:
                continue
            if port not in ports:
                exp.ports.append(Port(port, svc.unit))
    return exp


def _fleet_vm(name: str, root=None):
    """The VM's definition, or None when there is no fleet here or no such VM."""
    try:
        from ..fleet.definitions import load_fleet
        fleet = load_fleet(root)
    except Exception:  # no fleet.yaml here, or the fleet module is not there: the config alone decides
        return None
    return fleet.vms.get(name)
