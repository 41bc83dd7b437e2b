"""definition → build/<vm>.bu → build/<vm>.ign: the fleet's one rendering pipeline.

Secrets never reach the .bu: its secrets files hold only the variable names.
After translation, each secrets file of the Ignition config gets its real
contents (a data URL), so values exist only in memory and in the .ign, which is
written 0600. Files are written to a temporary file and renamed, so a failed
render never leaves a half-written output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..butane.resources import data_url as butane_data_url
from ..fileio import write_atomic
from ..report import Report
from . import budget as budget_mod
from .assemble import assemble, claim_problems, to_yaml
from .checks import check_vm
from .definitions import VM, Fleet
from .errors import FleetError, Problem
from .quadlet import env_file_contents
from .secrets import DEV_MARKER, Secrets, values_for


@dataclass
class Rendered:
    vm: VM
    butane: str
    ignition: bytes | None = None  # what the cloud gets (wrapped when over the limit)
    full_ignition: bytes | None = None
    wrapped: bool = False
    budget: budget_mod.Budget | None = None
    full_budget: budget_mod.Budget | None = None
    report: Report = field(default_factory=Report)
    units: int = 0
    dev_secrets: bool = False


def data_url(text: str) -> str:
    return butane_data_url(text.encode("utf-8"), compress=False)[0]


def butane_for(fleet: Fleet, vm: VM):
    """The merged Butane document of one VM and its YAML text; FleetError on any problem."""
    problems = check_vm(vm)
    assembled = assemble(fleet, vm)
    problems += assembled.problems
    problems += claim_problems(assembled.claims, vm)
    if problems:
        raise FleetError(problems)
    return assembled, to_yaml(vm, assembled.document)


def count_units(config: dict) -> int:
    units = len((config.get("systemd") or {}).get("units") or [])
    quadlets = [f for f in (config.get("storage") or {}).get("files") or []
                if f.get("path", "").startswith("/etc/containers/systemd/")]
    return units + len(quadlets)


def render_vm(fleet: Fleet, name: str, secrets: Secrets | None, *, provider: str | None = None,
              strict: bool = False, with_ignition: bool = True) -> Rendered:
    """Render one VM. Without `secrets` (or with_ignition false) only the Butane text is made."""
    from ..butane import translate

    if name not in fleet.vms:
        raise FleetError(Problem("vms/", None, None, f"no VM named {name!r}; the fleet has "
                                 f"{', '.join(sorted(fleet.vms))}"))
    vm = fleet.vms[name]
    assembled, text = butane_for(fleet, vm)
    out = Rendered(vm, text)
    if not with_ignition:
        return out
    if secrets is None:
        raise FleetError(Problem(vm.file, None, None, "rendering Ignition needs secrets (or --dev-secrets)"))
    values = values_for(secrets, vm, list(assembled.secret_files.values()))
    result = translate(text, files_dir=fleet.root, strict=strict, filename=f"build/{name}.bu")
    out.report = result.report
    if not result.ok or result.config is None:
        lines = [f"build/{name}.bu:{e.line}:{e.column}: {e.kind}: {e.message}" if e.line else
                 f"build/{name}.bu: {e.kind}: {e.message}" for e in result.report]
        raise FleetError(Problem(f"build/{name}.bu", None, None,
                                 f"translation failed: {result.error}" + "".join("\n  " + l for l in lines)))
    config = result.config
    files = config.setdefault("storage", {}).setdefault("files", [])
    for entry in files:
        c = assembled.secret_files.get(entry.get("path"))
        if c is not None:
            # Replace the placeholder wholesale; drop any compression/hash of the placeholder.
            entry["contents"] = {"source": data_url(env_file_contents(c, values[c.name]))}
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
                                     f"build/{name}.ign is {out.full_budget.measured} {out.full_budget.unit} "
                                     f"and still {out.budget.measured} when wrapped; {provider} allows "
                                     f"{out.budget.limit}"))
        out.ignition, out.wrapped = wrapped, True
    return out


def write_rendered(rendered: Rendered, build_dir: Path) -> list[Path]:
    name = rendered.vm.name
    written = []
    bu = build_dir / f"{name}.bu"
    write_atomic(bu, rendered.butane.encode(), 0o644, make_parents=True)
    written.append(bu)
    if rendered.ignition is not None:
        ign = build_dir / f"{name}.ign"
        write_atomic(ign, rendered.ignition, 0o600, make_parents=True)
        written.append(ign)
        full = build_dir / f"{name}.full.ign"
        if rendered.wrapped:
            write_atomic(full, rendered.full_ignition, 0o600, make_parents=True)
            written.append(full)
        elif full.exists():
            full.unlink()
    return written
