"""Cross-checks of our own over a loaded fleet: what a schema cannot see."""

from __future__ import annotations

import difflib
import re

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


def check_vm(vm: VM, fleet=None, podman: str | None = None) -> list[Problem]:
    """Every problem of one loaded VM that its schema cannot see, located in its
    definition. `podman`: the target's Podman (default: target_podman(fleet))."""
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

    problems += _updates_problems(vm)
    problems += _name_problems(vm)
    problems += _unit_text_problems(vm)
    problems += _timer_problems(vm)
    problems += _container_value_problems(vm, podman or target_podman(fleet))
    return problems


def target_podman(fleet) -> str:
    """The Podman release of the VMs' Fedora CoreOS stream: fleet.yaml `target.podman`,
    else the one stoker.podman.quadlet_keys knows Fedora CoreOS stable ships."""
    from ..podman.quadlet_keys import DEFAULT_TARGET_PODMAN

    target = (fleet.data.get("target") or {}) if fleet is not None else {}
    return str(target.get("podman") or DEFAULT_TARGET_PODMAN)


def _name_problems(vm: VM) -> list[Problem]:
    """Each name becomes unit and file names: NAME.container -> NAME.service, NAME.timer,
    NAME.network -> NAME-network.service, /etc/stoker/NAME.env (systemd's 255 characters)."""
    from ..systemd.unitname import FILE_NAME_MAX, longest_base_name, unit_name_problem

    def limit_of(suffix: str) -> int:
        # The drop-in directory NAME.SUFFIX.d must fit in a file name too: Quadlet and
        # systemd open it, and Quadlet fails on "file name too long".
        return min(longest_base_name(suffix), FILE_NAME_MAX - len(f".{suffix}.d"))

    problems = []
    named = [(("services", n), n, "container") for n in vm.services]
    named += [(("jobs", n), n, "container") for n in vm.jobs]
    named += [(("timers", n), n, "timer") for n in vm.timers]
    for path, name, suffix in named:
        limit = limit_of(suffix)
        unit = f"{name}.{'service' if suffix == 'container' else suffix}"
        why = unit_name_problem(unit)
        if len(name) > limit:
            why = f"{path[0][:-1]} name {name[:20]}... is {len(name)} characters; at most {limit} fit in " \
                  f"its unit and file names ({name[:8]}...{'.container' if suffix == 'container' else '.' + suffix})"
        if why:
            problems.append(_problem(vm, path, why, key=True))
    for i, net in enumerate(vm.networks):
        limit = limit_of("network")
        if len(net) > limit:
            problems.append(_problem(vm, ("networks", i), f"network name is {len(net)} characters; at most "
                                     f"{limit} fit in {net[:8]}...-network.service"))
    return problems


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# systemd.service(5) "Command lines": prefixes of the executable, each at most once ("!!" is one).
_EXEC_PREFIX = re.compile(r"^(?:[-@:+]|!!?)*")


def _unit_text_problems(vm: VM) -> list[Problem]:
    """Values stoker writes into unit and Quadlet files. A line break would end
    the line and start a directive of its own (a description with
    "\n[Service]\nExecStartPre=..."): refused, as other control characters."""
    problems = []

    def text(path: tuple, value, what: str) -> None:
        if isinstance(value, str) and _CONTROL.search(value):
            ch = _CONTROL.search(value).group()
            problems.append(_problem(vm, path, f"{what} contains the control character {ch!r}, which would "
                                               "break the unit file it is written into"))

    for name, t in sorted(vm.timers.items()):
        text(t.path + ("description",), t.description, f"timer {name!r}: description")
    for cname, c in sorted(vm.containers.items()):
        base = c.path
        text(base + ("description",), c.description, f"{cname}: description")
        text(base + ("image",), c.image, f"{cname}: image")
        text(base + ("user",), c.user, f"{cname}: user")
        for i, arg in enumerate(c.command or []):
            text(base + ("command", i), arg, f"{cname}: command")
        for key, value in c.environment.items():
            text(base + ("environment", key), value, f"{cname}: environment {key}")
        for i, cmd in enumerate(c.exec_start_post):
            at = base + ("exec_start_post", i)
            text(at, cmd, f"{cname}: exec_start_post")
            rest = _EXEC_PREFIX.sub("", cmd.strip(), count=1)
            if not rest or rest[0] in "-@:+!" or rest[0].isspace():
                problems.append(_problem(vm, at, f"{cname}: exec_start_post {cmd!r} is not a command line: "
                                                 "an executable, after at most one each of the prefixes - @ : + !"))
        for i, t in enumerate(c.tmpfs):
            text(base + ("tmpfs", i), t, f"{cname}: tmpfs")
        written = vm.data[base[0]][cname].get("volumes", [])
        for i, m in enumerate(c.volumes):
            for field, value in (("source", written[i]["source"]), ("target", m.target)):
                text(base + ("volumes", i, field), value, f"{cname}: volume {field}")
                if isinstance(value, str) and ("," in value or ":" in value):
                    problems.append(_problem(vm, base + ("volumes", i, field),
                                             f"{cname}: volume {field} {value!r} contains ':' or ',', which "
                                             "Podman reads as the start of the mount's options"))
    return problems


def _timer_problems(vm: VM) -> list[Problem]:
    from ..systemd.calendar import CalendarError, parse_calendar
    from ..systemd.timespan import TimespanError, parse_timespan

    problems = []
    for name, t in sorted(vm.timers.items()):
        try:
            parse_calendar(str(t.on_calendar).strip())
        except CalendarError as exc:
            problems.append(_problem(vm, t.path + ("on_calendar",),
                                     f"timer {name!r}: on_calendar {t.on_calendar!r} is not a systemd calendar "
                                     f"event: {exc}"))
        if t.randomized_delay is not None:
            try:
                parse_timespan(str(t.randomized_delay).strip(), allow_infinity=False)
            except TimespanError as exc:
                problems.append(_problem(vm, t.path + ("randomized_delay",), f"timer {name!r}: {exc}"))
    return problems


# The Quadlet key stoker writes for each definition field (quadlet.container_unit).
QUADLET_KEY_FIELDS = {
    "ContainerName": (), "Image": ("image",), "Exec": ("command",), "Network": ("network",),
    "User": ("user",), "Environment": ("environment",), "EnvironmentFile": ("secrets",),
    "PublishPort": ("ports",), "Volume": ("volumes",), "ReadOnly": ("read_only",), "Tmpfs": ("tmpfs",),
    "DropCapability": ("cap_drop",), "AddCapability": ("cap_add",),
}


def _container_value_problems(vm: VM, podman: str) -> list[Problem]:
    from ..podman.capabilities import add_drop_problems, capability_problem
    from ..podman.quadlet_keys import parse_unit_sections, unit_problems
    from ..podman.reference import ReferenceError, parse_reference
    from .quadlet import container_unit, network_unit

    problems = []
    for cname, c in sorted(vm.containers.items()):
        written = (vm.data.get(c.path[0]) or {}).get(cname, {}).get("image", c.image)
        try:
            parse_reference(c.image)
        except ReferenceError as exc:
            pulled = f" (pulled as {c.image})" if written != c.image else ""
            problems.append(_problem(vm, c.path + ("image",), f"image {written!r}{pulled}: {exc}"))
        for field in ("cap_add", "cap_drop"):
            for i, cap in enumerate(getattr(c, field)):
                why = capability_problem(cap)
                if why:
                    problems.append(_problem(vm, c.path + (field, i), f"{cname} {field}: {why}"))
        for why in add_drop_problems(c.cap_add, c.cap_drop):
            if "cap_drop" not in (vm.data.get(c.path[0]) or {}).get(cname, {}):
                why += " (cap_drop is [all] unless the definition says otherwise)"
            problems.append(_problem(vm, c.path + ("cap_add",), f"{cname}: {why}"))
        # Every key stoker writes must be one the target's Quadlet knows.
        text = container_unit(vm, c)
        keys_by_line = {e.line: e.key for e in parse_unit_sections(text)}
        filename = f"{cname}.container"
        for finding in unit_problems(filename, text, podman):
            # "NAME.container:LINE: message", or "NAME.container: message" for the whole file
            line, _, message = finding[len(filename) + 1:].partition(": ")
            if not line.isdigit():
                line, message = "", finding[len(filename) + 2:]
            field = QUADLET_KEY_FIELDS.get(keys_by_line.get(int(line)) if line else None, ())
            problems.append(_problem(vm, c.path + field, f"{filename}: {message}"))
    for i, net in enumerate(vm.networks):
        for finding in unit_problems(f"{net}.network", network_unit(vm, net), podman):
            problems.append(_problem(vm, ("networks", i), finding))
    return problems


def _updates_problems(vm: VM) -> list[Problem]:
    """Zincati's reboot windows (the VM's own `updates` laid over fleet.yaml's defaults)."""
    zone = (vm.updates or {}).get("time_zone")
    why = zincati_time_zone_problem(str(zone)) if zone is not None else None
    return [_problem(vm, ("updates", "time_zone"), why)] if why else []


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
