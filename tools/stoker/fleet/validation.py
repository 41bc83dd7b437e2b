"""`stoker validate`: everything we can check about one VM or one .ign file."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from . import budget as budget_mod
from .external import FAILED, OK, Check, ignition_schema, ignition_validate, quadlet_dryrun, systemd_verify
from .render import Rendered


def validate_ignition_bytes(data: bytes, label: str) -> list[Check]:
    try:
        config = json.loads(data)
    except ValueError as exc:
        return [Check("JSON", FAILED, f"{label}: not JSON ({exc.msg} at line {exc.lineno})")]
    checks: list[Check] = []
    inner = budget_mod.unwrap(data)
    if inner is not None:
        checks.append(Check("wrapping", OK, f"outer config of {len(data)} bytes replaces itself with "
                            f"{len(inner)} bytes"))
        outer = ignition_schema(config)
        checks.append(Check("outer: " + outer.name, outer.status, outer.detail))
        checks += _with_file(data, ignition_validate, "outer: ")
        data, config = inner, json.loads(inner)
    checks.append(ignition_schema(config))
    checks += _with_file(data, ignition_validate)
    checks.append(systemd_verify(config))
    checks.append(quadlet_dryrun(config))
    return checks


def _with_file(data: bytes, fn, prefix: str = "") -> list[Check]:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "config.ign"
        p.write_bytes(data)
        c = fn(p)
    return [Check(prefix + c.name, c.status, c.detail)]


def validate_rendered(rendered: Rendered) -> list[Check]:
    checks = [Check("definition schema and cross-checks", OK, rendered.vm.file)]
    warnings = rendered.warnings
    checks.append(Check("transpiler report (strict)", FAILED if warnings else OK,
                        "\n".join(str(p) for p in warnings) or f"build/{rendered.vm.name}.bu"))
    b = rendered.budget
    checks.append(Check(f"size ({b.provider})", OK if b.fits else FAILED,
                        f"{b.measured:,} of {b.limit:,} {b.unit} ({b.percent:.0f}%)"
                        + (" after wrapping" if rendered.wrapped else "")))
    checks += validate_ignition_bytes(rendered.ignition, rendered.vm.name)
    return checks
