"""`stoker validate`: every check of one VM or one .ign file, each with a verdict.

Verdicts:
- ok;
- failed: the config would not work (an error of stoker's own checks, or an
  external tool's failure);
- warning: it works, but something is likely wrong (Ignition's warnings,
  unknown keys, findings stoker cannot confirm);
- skipped: the check could not run (a tool is missing, or does not know the
  config's spec version), with the reason.
Under strict mode (`--strict`; `make validate` under CI) warning and skipped
fail too: a gate never says OK on input it did not check.

stoker's own checks (Ignition's rules for every spec, the unit and Quadlet
contents) need no tool and always run. `ignition-validate`, `systemd-analyze
verify` and the Quadlet generator's dry run are extra opinions; their findings
name the file the operator edits (the definition or fragment line for a VM, the
JSON path for a .ign file), never a temporary path.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..report import format_path
from .external import run, write_unit_files
from .unit_contents import UnitFile, problems as unit_problems, unit_files

OK, FAILED, WARNING, SKIPPED = "ok", "failed", "warning", "skipped"

# A unit or Quadlet file name -> where the operator edits it ("vms/tracker.yaml:67:3").
Labels = dict[str, str]


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK, FAILED, WARNING or SKIPPED
    detail: str = ""


def verdict_fails(check: Check, strict: bool) -> bool:
    return check.status == FAILED or (strict and check.status in (WARNING, SKIPPED))


def validate_ignition_bytes(data: bytes, label: str, *, podman: str | None = None,
                            labels: Labels | None = None) -> list[Check]:
    """Every check of one Ignition config. `label` names it in messages (a file
    name); `labels` maps its unit and Quadlet file names to the lines that
    define them; `podman` is the target Podman (default: Fedora CoreOS stable's)."""
    from ..ignition import validate_document
    from ..podman.quadlet_keys import DEFAULT_TARGET_PODMAN

    podman = podman or DEFAULT_TARGET_PODMAN
    labels = labels or {}
    result = validate_document(data)
    checks = [_ignition_check(result, label)]
    if result.config is None or not result.ok:
        reason = "the config is not valid Ignition (see above)"
        return checks + [Check(name, SKIPPED, reason) for name in
                         ("units and Quadlet files (stoker)", "ignition-validate", "systemd-analyze verify",
                          "Quadlet dry run")]
    inner = _replaced_config(result.config)
    if inner is not None:
        checks.append(Check("wrapping", OK, f"outer config of {len(data):,} bytes replaces itself with "
                            f"{len(inner):,} bytes; both are checked"))
        checks += [Check("outer: " + c.name, c.status, c.detail)
                   for c in (_ignition_validate(data, result.version),)]
        return checks + validate_ignition_bytes(inner, label + " (inner)", podman=podman, labels=labels)
    files = unit_files(result.config)
    checks.append(_contents_check(files, podman, label, labels))
    checks.append(_ignition_validate(data, result.version))
    checks.append(_systemd_verify(files, labels))
    checks.append(_quadlet_dryrun(files, podman, labels))
    return checks


def _ignition_check(result, label: str) -> Check:
    name = f"Ignition {result.version or '?'} (stoker)"
    lines = []
    for e in result.entries:
        where = f"{label}:{e.line}:{e.column}" if e.line else label
        lines.append(f"{where}: {e.kind} at {format_path(e.path or ())}: {e.message}")
    if not result.ok:
        return Check(name, FAILED, "\n".join(lines))
    if lines:
        return Check(name, WARNING, "\n".join(lines))
    config = result.config or {}
    files = len((config.get("storage") or {}).get("files") or [])
    units = len((config.get("systemd") or {}).get("units") or [])
    return Check(name, OK, f"Ignition's rules for spec {result.version}: {files} files, {units} units")


def _replaced_config(config: dict) -> bytes | None:
    """The config an `ignition.config.replace` data URL carries (stoker wraps big configs so)."""
    from ..butane.resources import decode_data_url

    replace = ((config.get("ignition") or {}).get("config") or {}).get("replace") or {}
    source = replace.get("source") if isinstance(replace, dict) else None
    if not isinstance(source, str):
        return None
    try:
        return decode_data_url(source, replace.get("compression"))
    except (ValueError, OSError, EOFError):
        return None


def _where(unit: UnitFile, line: int | None, label: str, labels: Labels) -> str:
    inside = f"{unit.name} line {line}" if line else unit.name
    if unit.name in labels:
        return f"{labels[unit.name]} ({inside})"
    return f"{label}: {format_path(unit.path)} ({inside})"


def _contents_check(files: list[UnitFile], podman: str, label: str, labels: Labels) -> Check:
    name = "units and Quadlet files (stoker)"
    found = [f"{_where(u, line, label, labels)}: {message}" for u in files for line, message in unit_problems(u, podman)]
    if found:
        return Check(name, FAILED, "\n".join(found))
    quadlets = sum(u.kind == "quadlet" for u in files)
    return Check(name, OK, f"{len(files) - quadlets} units and drop-ins, {quadlets} Quadlet files "
                           f"(Podman {podman}): names, calendars, time spans, keys, images, capabilities")


def _ignition_validate(data: bytes, version: str | None) -> Check:
    name = "ignition-validate"
    tool = shutil.which("ignition-validate")
    if not tool:
        return Check(name, SKIPPED, "not installed (Debian package: ignition; sudo make deps)")
    with tempfile.TemporaryDirectory(prefix="stoker-validate-") as tmp:
        path = Path(tmp) / "config.ign"
        path.write_bytes(data)
        proc = run([tool, str(path)])
        tool_version = run([tool, "--version"]).stdout.strip() or "ignition-validate"
    output = (proc.stdout + proc.stderr).replace(str(path), "config.ign").strip()
    if "unsupported config version" in output:
        return Check(name, SKIPPED, f"{tool_version} does not know spec {version}")
    if proc.returncode != 0:
        return Check(name, FAILED, output)
    return Check(name, WARNING if output else OK, output or tool_version)


def _systemd_verify(files: list[UnitFile], labels: Labels) -> Check:
    name = "systemd-analyze verify"
    tool = shutil.which("systemd-analyze")
    if not tool:
        return Check(name, SKIPPED, "not installed (Debian package: systemd; sudo make deps)")
    units = [u for u in files if u.kind == "unit"]
    if not units:
        return Check(name, OK, "no plain units to verify")
    with tempfile.TemporaryDirectory(prefix="stoker-units-") as tmp:
        unit_dir = Path(tmp) / "units"
        written = write_unit_files(units, files, unit_dir)
        if not written:
            return Check(name, SKIPPED, "no unit could be written under its own name (see stoker's check)")
        proc = run([tool, "verify", "--man=no", *[str(p) for p in written]],
                   env={"SYSTEMD_UNIT_PATH": f"{unit_dir}:"})
        lines = _verify_findings(proc.stdout + proc.stderr, str(unit_dir), labels)
    if proc.returncode != 0 and lines:
        return Check(name, FAILED, "\n".join(lines[-20:]))
    return Check(name, OK, f"{len(written)} units" + ("; notes:\n" + "\n".join(lines) if lines else ""))


# Lines of `systemd-analyze verify` about the machine it runs on, not about the units.
_VERIFY_NOISE = ("Cannot add dependency job", "Failed to create", "No such file or directory", "bpf", "audit",
                 "kmod")


def _verify_findings(output: str, unit_dir: str, labels: Labels) -> list[str]:
    where = re.compile(re.escape(unit_dir) + r"/([^:\s]+)(?::(\d+))?")

    def name_it(m: re.Match) -> str:
        unit, line = m.group(1), m.group(2)
        inside = f"{unit} line {line}" if line else unit
        return f"{labels[unit]} ({inside})" if unit in labels else inside

    return [where.sub(name_it, line) for line in output.splitlines()
            if line.strip() and not any(n in line for n in _VERIFY_NOISE)]


def _quadlet_dryrun(files: list[UnitFile], podman: str, labels: Labels) -> Check:
    from ..podman.dryrun import quadlet_dryrun
    from ..podman.quadlet_keys import key_problem, parse_version

    name = "Quadlet dry run"
    quadlets = {u.name: u.text for u in files if u.kind == "quadlet" and "/" not in u.name}
    if not quadlets:
        return Check(name, OK, "no Quadlet files")
    result = quadlet_dryrun(quadlets)
    if result.status == "skipped":
        return Check(name, SKIPPED, result.reason)
    older = result.podman_version and parse_version(result.podman_version) < parse_version(podman)
    errors, notes = [], []
    for f in result.findings:
        text = f"{labels[f.file]} ({f.file}): {f.message}" if f.file in labels else f.message
        m = re.search(r"unsupported key '([^']+)' in group '([^']+)'", f.message)
        if older and f.file and m and key_problem(f.file, m.group(2), m.group(1), podman) is None:
            # The generator at hand is older than the target's: the key is the target's.
            notes.append(f"{text} (Podman {result.podman_version} here; the target's {podman} knows it)")
        elif f.severity == "error":
            errors.append(text)
        else:
            notes.append(text)
    where = f"{result.generator}, Podman {result.podman_version}".strip(", ")
    if errors or (result.status == "failed" and not notes):
        return Check(name, FAILED, "\n".join(errors + notes) or f"the generator failed ({where})")
    if notes:
        return Check(name, WARNING, "\n".join(notes) + f"\n({where})")
    return Check(name, OK, f"{len(quadlets)} files ({where})")


def validate_rendered(rendered, podman: str | None = None) -> list[Check]:
    """Every check of one VM rendered in memory (stoker.fleet.render.Rendered)."""
    files = f"{rendered.vm.file} and its fragments"
    if rendered.warnings:
        checks = [Check("definition", WARNING, "\n".join(str(p) for p in rendered.warnings))]
    else:
        checks = [Check("definition", OK, f"{files}: schema, references, names, calendars, images, "
                                          "capabilities, ports, Quadlet keys, transpiler")]
    b = rendered.budget
    checks.append(Check(f"size ({b.provider})", OK if b.fits else FAILED,
                        f"{b.measured:,} of {b.limit:,} {b.unit} ({b.percent:.0f}%)"
                        + (" after wrapping" if rendered.wrapped else "")))
    labels = _labels(rendered)
    checks += validate_ignition_bytes(rendered.ignition, f"{rendered.vm.name} (rendered)", podman=podman,
                                      labels=labels)
    return checks


def _labels(rendered) -> Labels:
    """Unit and Quadlet file names of a rendered VM -> where the operator edits them."""
    labels: Labels = {}
    for claim in rendered.assembled.claims if rendered.assembled else ():
        if not claim.where:
            continue
        name = claim.key.rsplit("/", 1)[-1] if claim.kind == "path" else claim.key
        labels.setdefault(name, f"{claim.where[0]}:{claim.where[1]}:{claim.where[2]}")
    return labels


def definition_failure(problems) -> list[Check]:
    """The checks of a VM whose definition did not render."""
    return [Check("definition", FAILED, "\n".join(str(p) for p in problems))]

