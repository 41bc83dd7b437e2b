"""Cross-checks of our own over a loaded fleet: what a schema cannot see."""

from __future__ import annotations

import difflib

from .definitions import VM
from .errors import WARNING, Problem
from .values import parse_port, zincati_time_zone_problem


def _problem(vm: VM, path: tuple, message: str, key: bool = False) -> Problem:
    w = vm.key_where(path) if key else vm.where(path)
    if not w:
        return Problem(vm.file, None, None, message)
    return Problem(w[0], w[1], w[2], message)


def _hint(word: str, choices) -> str:
    m = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {m[0]!r}?" if m else ""


def check_vm(vm: VM, fleet=None) -> list[Problem]:
    problems: list[Problem] = []
    names = set(vm.containers)

    for name in sorted(set(vm.services) & set(vm.jobs)):
        problems.append(_problem(vm, ("jobs", name),
                                 f"duplicate name {name!r}: it is both a service and a job", key=True))

    for name, t in sorted(vm.timers.items()):
        if t.job not in vm.jobs:
            if t.job in vm.services:
                msg = f"timer {name!r} starts {t.job!r}, which is a long-running service, not a job"
            else:
                msg = f"timer {name!r} starts job {t.job!r}, which does not exist{_hint(t.job, vm.jobs)}"
            problems.append(_problem(vm, t.path + ("job",), msg))

    for cname, c in sorted(vm.containers.items()):
        for field in ("requires", "wants", "after", "binds_to"):
            for i, dep in enumerate(getattr(c, field)):
                if "." in dep:
                    continue  # a systemd unit of the OS (network-online.target, ...)
                if dep == cname:
                    problems.append(_problem(vm, c.path + (field, i), f"{cname} depends on itself"))
                elif dep not in names:
                    problems.append(_problem(vm, c.path + (field, i),
                                             f"{cname} {field.replace('_', '-')} {dep!r}, which is not a service "
                                             f"or job of {vm.name}{_hint(dep, names)}"))
        if c.network and c.network not in vm.networks:
            problems.append(_problem(vm, c.path + ("network",),
                                     f"network {c.network!r} is not in networks of {vm.name}"
                                     f"{_hint(c.network, vm.networks)}"))

    # A private (:Z) relabel gives the files one container's own label: any other
    # container mounting the same host path loses access when one of them starts.
    users: dict[str, list[tuple[str, int, str | None]]] = {}
    for cname, c in sorted(vm.containers.items()):
        for i, m in enumerate(c.volumes):
            users.setdefault(m.source.rstrip("/"), []).append((cname, i, m.relabel))
    for source, mounts in sorted(users.items()):
        owners = sorted({cname for cname, _, _ in mounts})
        if len(owners) < 2:
            continue
        for cname, i, relabel in mounts:
            if relabel == "Z":
                others = ", ".join(o for o in owners if o != cname)
                problems.append(_problem(vm, vm.containers[cname].path + ("volumes", i),
                                         f"{source} is relabelled private (Z) for {cname} but also mounted by "
                                         f"{others}; use z (shared)"))

    published: dict[tuple, str] = {}
    for cname, c in sorted(vm.containers.items()):
        for i, spec in enumerate(c.ports):
            mapping, why = parse_port(spec)
            if why:
                problems.append(_problem(vm, c.path + ("ports", i), why))
                continue
            key = (mapping.host, mapping.protocol)
            # A port on all addresses clashes with the same port on any one address.
            if key in published:
                problems.append(_problem(vm, c.path + ("ports", i),
                                         f"host port {mapping.host}/{mapping.protocol} of {cname} is already "
                                         f"published by {published[key]}"))
            else:
                published[key] = cname

    problems += _updates_problems(vm, fleet)
    return problems


def _updates_problems(vm: VM, fleet) -> list[Problem]:
    """Zincati's reboot windows: from the VM's own `updates`, or fleet.yaml's defaults."""
    zone = (vm.updates or {}).get("time_zone")
    if zone is None:
        return []
    why = zincati_time_zone_problem(zone)
    if not why:
        return []
    if ("updates",) in vm.marks.values or fleet is None:
        return [_problem(vm, ("updates", "time_zone"), why)]
    return [Problem.at(fleet.marks.value(("defaults", "updates", "time_zone")), "fleet.yaml", why)]


def mount_source_warnings(vm: VM, document: dict) -> list[Problem]:
    """Bind-mount sources that neither the data volume nor this config creates.

    Podman refuses to start a container whose `Volume=` source does not exist
    on the host, so such a source works only if something outside the config
    made it. `document` is the VM's merged Butane document; Ignition creates
    the parent directories of every file, directory and link it writes."""
    storage = document.get("storage") or {}
    created: set[str] = set()
    for kind in ("files", "directories", "links"):
        for entry in storage.get(kind) or []:
            path = str((entry or {}).get("path") or "").rstrip("/")
            while path and path not in created:
                created.add(path)
                path = path.rpartition("/")[0]
    for fs in storage.get("filesystems") or []:
        if (fs or {}).get("path"):
            created.add(str(fs["path"]).rstrip("/"))
    volume_root = vm.data_volume.mount + "/" if vm.data_volume else None
    problems = []
    for cname, c in sorted(vm.containers.items()):
        for i, m in enumerate(c.volumes):
            source = m.source.rstrip("/") or "/"
            if (volume_root and source.startswith(volume_root)) or source in created:
                continue
            problems.append(Problem.at(
                vm.where(c.path + ("volumes", i, "source")), vm.file,
                f"{source} is neither a data_volume directory nor a path this config creates: podman "
                f"refuses to start {cname} unless it exists on the host (declare it under directories:)",
                WARNING))
    return problems
