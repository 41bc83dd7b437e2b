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
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..report import format_path
from .external import run, write_unit_files
from .unit_contents import UnitFile, problems as unit_problems, set_problems, unit_files

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
                            labels: Labels | None = None, depth: int = 0) -> list[Check]:
    """Every check of one Ignition config. `label` names it in messages (a file
    name); `labels` maps its unit and Quadlet file names to the lines that
    define them; `podman` is the target Podman (default: Fedora CoreOS stable's).
    Configs carried inline in `ignition.config.replace`/`merge` are checked too,
    their checks named "replace: ..." and "merge N: ..."."""
    from ..ignition import validate_document
    from ..ignition.inline import inline_configs
    from ..podman.quadlet_keys import DEFAULT_TARGET_PODMAN

    podman = podman or DEFAULT_TARGET_PODMAN
    labels = labels or {}
    result = validate_document(data)
    checks = [_ignition_check(result, label)]
    if result.config is None or not result.ok:
        reason = "the config is not valid Ignition (see above)"
        return checks + [Check(name, SKIPPED, reason) for name in
                         ("files stage (stoker)", "inline data (stoker)", "units and Quadlet files (stoker)", "ignition-validate",
                          "systemd-analyze verify", "Quadlet dry run")]
    checks.append(_boot_check(result, label))
    checks.append(_inline_check(result.config, label))
    children = inline_configs(result.config) if depth < 4 else []  # Ignition follows no deeper in practice
    replace = next((child for path, child in children if path[-1] == "replace"), None)
    if replace is not None:
        others = sorted(k for k in result.config if k != "ignition")
        checks.append(Check("replace", WARNING if others else OK,
                            f"Ignition applies only the replacing config; this config's {', '.join(others)} "
                            "is discarded at boot" if others else
                            f"outer config of {len(data):,} bytes replaces itself with {len(replace):,} bytes; "
                            "both are checked"))
        outer = _ignition_validate(data, result.version)
        checks.append(Check("outer: " + outer.name, outer.status, outer.detail))
        return checks + [Check("replace: " + c.name, c.status, c.detail) for c in
                         validate_ignition_bytes(replace, f"{label} (replace)", podman=podman, labels=labels,
                                                 depth=depth + 1)]
    for path, child in children:
        checks += [Check(f"merge {path[-1]}: {c.name}", c.status, c.detail) for c in
                   validate_ignition_bytes(child, f"{label} (merge {path[-1]})", podman=podman, labels=labels,
                                           depth=depth + 1)]
    files = unit_files(result.config)
    checks.append(_contents_check(files, podman, label, labels, result.config))
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


def _boot_check(result, label: str) -> Check:
    """What Ignition accepts but cannot do at boot (stoker.ignition.bootfail)."""
    name = "files stage (stoker)"
    if result.boot:
        return Check(name, FAILED, "\n".join(
            f"{label}:{e.line}:{e.column}: error at {format_path(e.path)}: {e.message}" if e.line else
            f"{label}: error at {format_path(e.path)}: {e.message}" for e in result.boot))
    return Check(name, OK, "no entry under a file, no NUL in a path, every link has a target, "
                           "ids within 32 bits")


def _inline_check(config: dict, label: str) -> Check:
    """Inline data as Ignition reads it at boot (gzip, hashes), and what comes from elsewhere."""
    from ..ignition.inline import inline_problems, remote_sources

    name = "inline data (stoker)"
    found = inline_problems(config)
    lines = [f"{label}: {e.kind} at {format_path(e.path)}: {e.message}" for e in found]
    remote = [f"{label}: {format_path(path)}: fetched at boot from {source.split('?')[0][:100]}; not checked"
              for path, source in remote_sources(config)]
    if any(e.kind == "error" for e in found):
        return Check(name, FAILED, "\n".join(lines))
    if lines or remote:
        return Check(name, WARNING, "\n".join(lines + remote))
    return Check(name, OK, "every data: URL decompresses and matches its hash")


def _where(unit: UnitFile, line: int | None, label: str, labels: Labels) -> str:
    inside = f"{unit.name} line {line}" if line else unit.name
    if unit.name in labels:
        return f"{labels[unit.name]} ({inside})"
    return f"{label}: {format_path(unit.path)} ({inside})"


def _contents_check(files: list[UnitFile], podman: str, label: str, labels: Labels, config: dict) -> Check:
    from .ordering import ordering_cycles

    name = "units and Quadlet files (stoker)"
    found = [f"{_where(u, line, label, labels)}: {message}" for u in files for line, message in unit_problems(u, podman)]
    found += [f"{_where(u, line, label, labels)}: {message}" for u, line, message in set_problems(files)]
    found += [f"{_where(u, line, label, labels)}: {message}" for u, line, message in ordering_cycles(config, files)]
    if found:
        return Check(name, FAILED, "\n".join(found))
    unchecked = [f"{_where(u, None, label, labels)}: not checked: {u.unchecked}" for u in files if u.unchecked]
    if unchecked:
        return Check(name, WARNING, "\n".join(unchecked))
    quadlets = sum(u.kind.startswith("quadlet") for u in files)
    return Check(name, OK, f"{len(files) - quadlets} units and drop-ins, {quadlets} Quadlet files and drop-ins "
                           f"(Podman {podman}): names, calendars, time spans, keys, images, capabilities")


def _ignition_validate(data: bytes, version: str | None) -> Check:
    name = "ignition-validate"
    tool = shutil.which("ignition-validate")
    if not tool:
        return Check(name, SKIPPED, "not installed (Debian package: ignition; sudo make deps)")
    with tempfile.TemporaryDirectory(prefix="stoker-validate-") as tmp:
        path = Path(tmp) / "config.ign"
        path.write_bytes(data)
        proc, why = _run_tool([tool, str(path)])
        if proc is None:
            return Check(name, SKIPPED, why)
        version_proc, _ = _run_tool([tool, "--version"])
    tool_version = (version_proc.stdout.strip() if version_proc else "") or "ignition-validate"
    output = (proc.stdout + proc.stderr).replace(str(path), "config.ign").strip()
    if proc.returncode < 0:
        return Check(name, SKIPPED, f"ignition-validate crashed (signal {-proc.returncode}): {output[-500:]}")
    if "unsupported config version" in output:
        return Check(name, SKIPPED, f"{tool_version} does not know spec {version}")
    if proc.returncode != 0:
        return Check(name, FAILED, output or f"ignition-validate exited {proc.returncode} without a message")
    return Check(name, WARNING if output else OK, output or tool_version)


TOOL_TIMEOUT = 60  # seconds; these tools answer in well under a second


def _run_tool(argv: list[str], env: dict | None = None):
    """(the finished process, None), or (None, why it did not run) when the tool
    cannot be started or does not answer within TOOL_TIMEOUT: no opinion, not a failure."""
    name = Path(argv[0]).name
    try:
        return run(argv, env=env, timeout=TOOL_TIMEOUT), None
    except subprocess.TimeoutExpired:
        return None, f"{name} did not answer within {TOOL_TIMEOUT}s"
    except OSError as exc:
        return None, f"{name} could not be run: {exc.strerror or exc}"


def _systemd_verify(files: list[UnitFile], labels: Labels) -> Check:
    name = "systemd-analyze verify"
    tool = shutil.which("systemd-analyze")
    if not tool:
        return Check(name, SKIPPED, "not installed (Debian package: systemd; sudo make deps)")
    units = [u for u in files if u.kind == "unit" and u.text is not None]
    if not units:
        return Check(name, OK, "no plain units to verify")
    with tempfile.TemporaryDirectory(prefix="stoker-units-") as tmp:
        unit_dir = Path(tmp) / "units"
        written = write_unit_files(units, files, unit_dir)
        if not written:
            return Check(name, SKIPPED, "no unit could be written under its own name (see stoker's check)")
        proc, why = _run_tool([tool, "verify", "--man=no", *[str(p) for p in written]],
                              env={"SYSTEMD_UNIT_PATH": f"{unit_dir}:"})
        if proc is None:
            return Check(name, SKIPPED, why)
        output = proc.stdout + proc.stderr
        lines = _verify_findings(output, str(unit_dir), labels)
        host = _verify_findings(output, str(unit_dir), labels, host_only=True)
    if proc.returncode < 0:
        return Check(name, SKIPPED, f"systemd-analyze crashed (signal {-proc.returncode})")
    if proc.returncode != 0 and lines:
        return Check(name, FAILED, "\n".join(lines[-20:]))
    if proc.returncode != 0 and not host:
        # It failed, and said nothing stoker can read: not an OK.
        return Check(name, WARNING, f"systemd-analyze exited {proc.returncode} with nothing about the units")
    notes = lines + [f"{line} (on this machine; the VM has its own programs)" for line in host]
    return Check(name, OK, f"{len(written)} units" + ("; notes:\n" + "\n".join(notes) if notes else ""))


# Lines of `systemd-analyze verify` about the machine it runs on, not about the units.
_VERIFY_NOISE = ("Cannot add dependency job", "Failed to create", "No such file or directory", "bpf", "audit",
                 "kmod")
# ... of which these name a program the host lacks (podman on a build machine): notes, not faults.
_VERIFY_HOST = re.compile(r"Command \S+ is not executable: No such file or directory")


def _verify_findings(output: str, unit_dir: str, labels: Labels, host_only: bool = False) -> list[str]:
    """The lines about the units (`host_only`: the lines about programs this machine lacks),
    each naming the definition or fragment line of its unit."""
    where = re.compile(re.escape(unit_dir) + r"/([^:\s]+)(?::(\d+))?")

    def name_it(m: re.Match) -> str:
        unit, line = m.group(1), m.group(2)
        inside = f"{unit} line {line}" if line else unit
        return f"{labels[unit]} ({inside})" if unit in labels else inside

    if host_only:
        return [where.sub(name_it, line) for line in output.splitlines() if _VERIFY_HOST.search(line)]
    return [where.sub(name_it, line) for line in output.splitlines()
            if line.strip() and not any(n in line for n in _VERIFY_NOISE)]


def _quadlet_dryrun(files: list[UnitFile], podman: str, labels: Labels) -> Check:
    from ..podman.dryrun import quadlet_dryrun
    from ..podman.quadlet_keys import key_problem, parse_version

    name = "Quadlet dry run"
    quadlets = {u.name: u.text for u in files if u.kind.startswith("quadlet") and u.text is not None}
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

