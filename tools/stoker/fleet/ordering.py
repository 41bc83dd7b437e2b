"""Ordering cycles between a config's units.

`A After=B` (or `B Before=A`) makes A start after B (systemd.unit(5),
"After=, Before="). When the orderings of the units started at boot form a
cycle, systemd breaks it at boot by deleting one start job ("Found ordering
cycle ... Job X deleted to break ordering cycle", src/core/transaction.c),
so a unit of the cycle does not start, whichever systemd picks. Quadlet
files order the service they become ([Unit] of NAME.container is NAME.service's),
and a dependency on another Quadlet file by its file name (`After=db.container`)
names that file's service (podman-systemd.unit(5)).

Input: the config and its unit files (stoker.fleet.unit_contents); output:
(unit file, line, message) per cycle, at the first After=/Before= line of the
cycle, so a fleet error names the definition line that wrote it.
"""

from __future__ import annotations

import posixpath

from .unit_contents import UnitFile

_ORDER_KEYS = ("After", "Before")


def _service_of(name: str) -> str:
    """The unit a unit or Quadlet file name stands for: web.container -> web.service."""
    from ..systemd.unitname import quadlet_service_name

    return quadlet_service_name(name) or posixpath.basename(name)


def _owner(unit: UnitFile, config: dict) -> str | None:
    """The unit a file configures: itself, or the unit of its drop-in."""
    if unit.kind in ("unit", "quadlet"):
        return _service_of(unit.name)
    if unit.kind == "quadlet-dropin":
        return _service_of(posixpath.dirname(unit.name)[:-2])
    if unit.path[:2] == ("systemd", "units") and len(unit.path) > 2:
        units = (config.get("systemd") or {}).get("units") or []
        index = unit.path[2]
        if isinstance(index, int) and index < len(units) and isinstance(units[index], dict):
            return str(units[index].get("name"))
    if unit.path[:2] == ("storage", "files"):
        files = (config.get("storage") or {}).get("files") or []
        index = unit.path[2]
        if isinstance(index, int) and index < len(files):
            parent = posixpath.basename(posixpath.dirname(str(files[index].get("path") or "")))
            return parent[:-2] if parent.endswith(".d") else None
    return None


def ordering_cycles(config: dict, files: list[UnitFile]) -> list[tuple[UnitFile, int | None, str]]:
    from ..podman.unitfile import UnitSyntaxError, parse_unit_sections

    # edges[a][b]: a starts after b, and where that was written
    edges: dict[str, dict[str, tuple[UnitFile, int, str]]] = {}
    for unit in files:
        if unit.text is None:
            continue
        owner = _owner(unit, config)
        if owner is None:
            continue
        try:
            entries = parse_unit_sections(unit.text)
        except UnitSyntaxError:
            continue
        for e in entries:
            if e.section != "Unit" or e.key not in _ORDER_KEYS:
                continue
            for other in e.value.split():
                other = _service_of(other)
                a, b = (owner, other) if e.key == "After" else (other, owner)
                edges.setdefault(a, {}).setdefault(b, (unit, e.line, f"{e.key}={e.value.strip()}"))
    found = []
    for cycle in _cycles(edges):
        unit, line, written = edges[cycle[0]][cycle[1 % len(cycle)]]
        chain = " → ".join(cycle + [cycle[0]])
        found.append((unit, line, f"ordering cycle: {chain} (each waits for the next; {written} here): systemd "
                                  "breaks it at boot by dropping a start job, so one of these units does not start"))
    return found


def _cycles(edges: dict[str, dict[str, tuple]]) -> list[list[str]]:
    """One cycle per strongly connected component with a cycle (Tarjan's
    algorithm, iterative), each as the list of its units from its smallest name."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, {}))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, {})))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in edges.get(node, {}):
                        components.append(component)
    return [_walk(sorted(c), edges) for c in components]


def _walk(members: list[str], edges: dict[str, dict[str, tuple]]) -> list[str]:
    """A cycle through the component's members, from the smallest name (breadth-first back to it)."""
    start, inside = members[0], set(members)
    if start in edges.get(start, {}):
        return [start]
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(edges.get(node, {})):
            if child not in inside:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return list(reversed(path))
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return members
