"""Cross-checks of our own over a loaded fleet: what a schema cannot see."""

from __future__ import annotations

import difflib

from .definitions import VM
from .errors import Problem


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
            proto = spec.split("/", 1)[1] if "/" in spec else "tcp"
            parts = spec.split("/", 1)[0].rsplit(":", 2)
            address, host = (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0])
            if not 0 < int(host) < 65536:
                problems.append(_problem(vm, c.path + ("ports", i), f"host port {host} is out of range"))
            key = (int(host), proto)
            # A port on all addresses clashes with the same port on any one address.
            for (other_port, other_proto), owner in published.items():
                if (other_port, other_proto) == key:
                    problems.append(_problem(vm, c.path + ("ports", i),
                                             f"host port {host}/{proto} of {cname} is already published by {owner}"))
                    break
            else:
                published[key] = cname
    return problems
