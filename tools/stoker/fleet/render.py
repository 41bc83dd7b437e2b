"""definition → build/<vm>.bu → build/<vm>.ign: the fleet's one rendering pipeline.

Secrets never reach the .bu: its secrets files hold only the variable names.
After translation, each secrets file of the Ignition config gets its real
contents (a data URL), so values exist only in memory and in the .ign, which is
written 0600. Files are written to a temporary file and renamed, so a failed
render never leaves a half-written output.
"""

from __future__ import annotations

import posixpath

from dataclasses import dataclass, field
from pathlib import Path

from ..butane.resources import data_url as butane_data_url
from ..fileio import write_all_atomic
from . import budget as budget_mod
from .assemble import Assembled, assemble, claim_problems, to_yaml
from .checks import check_vm, mount_source_warnings, target_podman
from .definitions import VM, Fleet
from .errors import ERROR, WARNING, FleetError, Problem
from .quadlet import env_file_contents
from .secrets import DEV_MARKER, Secrets, file_values_for, values_for

VM_RECORD = "/etc/stoker/vm"  # read by stoker.cloud.gate


@dataclass
class Rendered:
    vm: VM
    butane: str
    ignition: bytes | None = None  # what the cloud gets (wrapped when over the limit)
    full_ignition: bytes | None = None
    wrapped: bool = False
    budget: budget_mod.Budget | None = None
    full_budget: budget_mod.Budget | None = None
    warnings: list[Problem] = field(default_factory=list)  # located in the files the operator edits
    units: int = 0
    dev_secrets: bool = False
    assembled: Assembled | None = None


def data_url(text: str) -> str:
    return butane_data_url(text.encode("utf-8"), compress=False)[0]


def count_units(config: dict) -> int:
    units = len((config.get("systemd") or {}).get("units") or [])
    quadlets = [f for f in (config.get("storage") or {}).get("files") or []
                if f.get("path", "").startswith("/etc/containers/systemd/")]
    return units + len(quadlets)


def _translation_problems(result, assembled: Assembled) -> list[Problem]:
    """The transpiler's findings, each at the line of the fragment or definition it came from."""
    vm = assembled.vm
    problems = []
    for entry in result.report:
        unused = entry.message.startswith("unused key ")
        where = assembled.origins.locate(entry.path, key=unused)
        problems.append(Problem.at(where, vm.file, entry.message,
                                   ERROR if entry.kind == "error" else WARNING))
    if result.error and not any(p.kind == ERROR for p in problems):
        # A failure with no entry of its own (the YAML stoker generated did not parse).
        problems.append(Problem(vm.file, None, None, f"Butane translation failed: {result.error}"))
    return problems


def fragment_unit_problems(fleet: Fleet, assembled: Assembled, podman: str) -> list[Problem]:
    """The units and Quadlet files that fragments write, checked as `stoker validate`
    checks them (stoker's own parts are checked from the definition), each at its
    line in the fragment."""
    from .unit_contents import butane_unit_files, problems as unit_problems, set_problems

    document, vm = assembled.document, assembled.vm
    units = (document.get("systemd") or {}).get("units") or []
    files = (document.get("storage") or {}).get("files") or []

    def generated(unit) -> bool:
        entry = (units if unit.path[0] == "systemd" else files)[unit.path[2]]
        key = ("unit", entry.get("name")) if unit.path[0] == "systemd" else ("path", entry.get("path"))
        return key in assembled.generated

    def problem(unit, line, message) -> Problem:
        where = assembled.origins.locate(unit.path)
        at = _line_of_block(fleet, where, line) if line else where
        return Problem.at(at, vm.file, f"{unit.name}{f' line {line}' if line else ''}: {message}")

    all_units = butane_unit_files(document)
    found = [problem(u, line, message) for u in all_units if not generated(u)
             for line, message in unit_problems(u, podman)]
    found += [problem(u, line, message) for u, line, message in set_problems(all_units) if not generated(u)]
    found += ordering_problems(vm, all_units, document, generated, problem)
    return found


def ordering_problems(vm, all_units, document: dict, generated, problem) -> list[Problem]:
    """Ordering cycles between the VM's units (stoker.fleet.ordering): at the
    `after:` of the service or job that wrote the cycle's first ordering, or at
    the fragment line."""
    from .ordering import ordering_cycles

    found = []
    for unit, line, message in ordering_cycles(document, all_units):
        if not generated(unit):
            found.append(problem(unit, line, message))
            continue
        base = posixpath.splitext(posixpath.basename(unit.name))[0]
        where = None
        for section in ("services", "jobs"):
            if isinstance((vm.data.get(section) or {}).get(base), dict):
                where = vm.marks.value((section, base, "after")) or vm.marks.value((section, base))
        found.append(Problem.at(where, vm.file, message) if where else problem(unit, line, message))
    return found


def boot_failure_problems(assembled: Assembled) -> list[Problem]:
    """What Ignition's files stage cannot do at boot (stoker.ignition.bootfail),
    found in the assembled Butane document, whose storage and passwd entries
    keep their paths and ids in the Ignition config: each at the line that
    wrote it (fragment or definition)."""
    from ..ignition.bootfail import boot_failures

    return [Problem.at(assembled.origins.locate(e.path), assembled.vm.file, e.message)
            for e in boot_failures(assembled.document)]


def _line_of_block(fleet: Fleet, where, line: int):
    """The position of line `line` of a YAML block scalar (`contents: |`) whose
    value starts at `where`; `where` itself for any other style."""
    if not where:
        return where
    try:
        text = (fleet.root / where[0]).read_text(encoding="utf-8").splitlines()
        start = text[where[1] - 1][where[2] - 1:]
    except (OSError, UnicodeDecodeError, IndexError):
        return where
    if not start.startswith(("|", ">")) or where[1] + line > len(text):
        return where
    target = text[where[1] - 1 + line]
    return (where[0], where[1] + line, len(target) - len(target.lstrip()) + 1)


def render_vm(fleet: Fleet, name: str, secrets: Secrets | None, *, provider: str | None = None,
              strict: bool = False, with_ignition: bool = True, podman: str | None = None) -> Rendered:
    """Render one VM: its Butane document and, with secrets, its Ignition config.

    Every problem of every stage (definition checks, fragments, translation,
    secrets, size) is collected and raised together as one FleetError, each at
    its file, line and column; warnings ride along in `Rendered.warnings`, or
    fail the render under `strict`. Without `secrets` (or with_ignition false)
    only the Butane text is made. `podman` overrides fleet.yaml `target.podman`."""
    from ..butane import translate

    if name not in fleet.vms:
        if name in fleet.broken:
            raise FleetError(fleet.broken[name])
        raise FleetError(Problem("vms/", None, None, f"no VM named {name!r}; the fleet has "
                                 f"{', '.join(fleet.names)}"))
    vm = fleet.vms[name]
    podman = podman or target_podman(fleet)
    problems: list[Problem] = list(vm.warnings) + check_vm(vm, fleet, podman)
    assembled = assemble(fleet, vm)
    problems += assembled.problems + claim_problems(assembled.claims, vm)
    problems += mount_source_warnings(vm, assembled.document)
    problems += fragment_unit_problems(fleet, assembled, podman)
    problems += boot_failure_problems(assembled)
    text = to_yaml(vm, assembled.document)
    out = Rendered(vm, text, assembled=assembled)
    result = translate(text, files_dir=fleet.root, strict=False, filename=f"build/{name}.bu")
    problems += _translation_problems(result, assembled)
    values, file_values = None, {}
    if with_ignition:
        if secrets is None:
            problems.append(Problem(vm.file, None, None, "rendering Ignition needs secrets (or --dev-secrets)"))
        else:
            try:
                values = values_for(secrets, vm, list(assembled.secret_files.values()))
            except FleetError as exc:
                problems += exc.problems
            try:
                file_values = file_values_for(secrets, vm)
            except FleetError as exc:
                problems += exc.problems
    errors = [p for p in problems if p.kind == ERROR]
    warnings = [p for p in problems if p.kind == WARNING]
    if errors or (strict and warnings):
        raise FleetError(problems)
    out.warnings = warnings
    if not with_ignition:
        return out
    config = result.config
    files = config.setdefault("storage", {}).setdefault("files", [])
    for entry in files:
        c = assembled.secret_files.get(entry.get("path"))
        if c is not None:
            # Replace the placeholder wholesale; drop any compression/hash of the placeholder.
            entry["contents"] = {"source": data_url(env_file_contents(c, values[c.name]))}
        if entry.get("path") in file_values:
            entry["contents"] = {"source": data_url(file_values[entry["path"]])}
    # The VM this config is for: `stoker deploy` refuses it for any other VM.
    files.append({"path": VM_RECORD, "mode": 0o644, "overwrite": True, "contents": {"source": data_url(vm.name + "\n")}})
    out.dev_secrets = secrets.uses_dev_values(vm.name, vm.secret_names())
    if out.dev_secrets:
        files.append({"path": DEV_MARKER, "mode": 0o644, "overwrite": True, "contents": {
            "source": data_url("This VM was rendered with throwaway dev secrets (stoker --dev-secrets).\n"
                               "Do not deploy it.\n")}})
    out.full_ignition = (result.to_json(pretty=False) + "\n").encode()
    out.units = count_units(config)
    provider = provider or fleet.data.get("provider", "openstack")
    out.full_budget = out.budget = budget_mod.measure(out.full_ignition, provider)
    out.ignition = out.full_ignition
    if not out.budget.fits:
        wrapped = budget_mod.wrap(out.full_ignition, result.ignition_version)
        out.budget = budget_mod.measure(wrapped, provider)
        if not out.budget.fits:
            raise FleetError(Problem(vm.file, None, None,
                                     f"the Ignition config is {out.full_budget.measured} {out.full_budget.unit} "
                                     f"and still {out.budget.measured} when wrapped; {provider} allows "
                                     f"{out.budget.limit}"))
        out.ignition, out.wrapped = wrapped, True
    return out


def outputs(rendered: Rendered, build_dir: Path) -> tuple[list[tuple[Path, bytes, int]], list[Path]]:
    """The files one rendered VM writes (.bu 0644; .ign and .full.ign 0600,
    they hold secrets) and the stale ones it removes."""
    name = rendered.vm.name
    files = [(build_dir / f"{name}.bu", rendered.butane.encode(), 0o644)]
    stale = []
    if rendered.ignition is not None:
        files.append((build_dir / f"{name}.ign", rendered.ignition, 0o600))
        full = build_dir / f"{name}.full.ign"
        if rendered.wrapped:
            files.append((full, rendered.full_ignition, 0o600))
        else:
            stale.append(full)
    return files, stale


def write_rendered(results: list[Rendered], build_dir: Path) -> list[Path]:
    """Write every rendered VM's files at once, or none (see fileio.write_all_atomic);
    FleetError naming the file when the build directory cannot take them."""
    files, stale = [], []
    for rendered in results:
        f, s = outputs(rendered, build_dir)
        files += f
        stale += s
    try:
        write_all_atomic(files, make_parents=True, remove=stale)
    except OSError as exc:
        where = exc.filename or build_dir
        raise FleetError(Problem(str(where), None, None, f"cannot write: {exc.strerror or exc}; "
                                 f"nothing in {build_dir} was changed")) from None
    return [path for path, _, _ in files]
