"""Checks of a rendered Ignition config by other tools, when they are installed.

Every subprocess goes through `run`: argv list, stdin closed, a minimal
environment, a time limit; 127/not-found becomes "skipped", never a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..butane.resources import decode_data_url
from .schemacheck import SCHEMA_DIR

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str = ""


def run(argv: list[str], *, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "SYSTEMD_COLORS": "0"}
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=timeout, check=False)


def file_contents(entry: dict) -> str | None:
    contents = entry.get("contents") or {}
    raw = decode_data_url(contents.get("source") or "data:,")
    if raw is None:
        return None
    if contents.get("compression") == "gzip":
        import gzip

        raw = gzip.decompress(raw)
    return raw.decode("utf-8", "replace")


def ignition_schema(config: dict) -> Check:
    version = (config.get("ignition") or {}).get("version", "")
    candidates = sorted(SCHEMA_DIR.glob(f"ignition-{version}*.json")) + sorted(
        SCHEMA_DIR.glob(f"ignition*{version}*.json"))
    if not candidates:
        try:  # the transpiler's own Ignition validation, if the package has it
            from ..ignition import validate as ign_validate  # type: ignore
        except ImportError:
            return Check("Ignition schema", SKIPPED, f"no schemas/ignition-{version}.json")
        entries = [e for e in ign_validate(config, version) if e.kind == "error"]
        if entries:
            return Check("Ignition schema", FAILED, "\n".join(e.raw() for e in entries))
        return Check("Ignition schema", OK, f"Ignition {version} rules")
    import jsonschema

    schema = json.loads(candidates[0].read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config) if "2020-12" in schema.get(
        "$schema", "") else jsonschema.validators.validator_for(schema)(schema).iter_errors(config),
        key=lambda e: list(e.absolute_path))
    if errors:
        return Check("Ignition schema", FAILED,
                     "\n".join(f"$.{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:10]))
    return Check("Ignition schema", OK, candidates[0].name)


def ignition_validate(path: Path) -> Check:
    tool = shutil.which("ignition-validate")
    if not tool:
        return Check("ignition-validate", SKIPPED, "not installed (Debian package: ignition)")
    proc = run([tool, str(path)])
    if proc.returncode != 0:
        return Check("ignition-validate", FAILED, (proc.stdout + proc.stderr).strip())
    return Check("ignition-validate", OK, (proc.stdout + proc.stderr).strip())


def _write_units(config: dict, directory: Path) -> tuple[list[Path], list[Path]]:
    """systemd units and Quadlet files of a config, written out for the tools below."""
    units, quadlets = [], []
    for u in (config.get("systemd") or {}).get("units") or []:
        if u.get("contents"):
            p = directory / "units" / u["name"]
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(u["contents"])
            units.append(p)
    for f in (config.get("storage") or {}).get("files") or []:
        if f.get("path", "").startswith("/etc/containers/systemd/"):
            text = file_contents(f)
            if text is not None:
                p = directory / "quadlet" / Path(f["path"]).name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text)
                quadlets.append(p)
    return units, quadlets


def _quadlet_tool() -> str | None:
    for candidate in ("/usr/lib/systemd/system-generators/podman-system-generator",
                      "/usr/libexec/podman/quadlet", "/usr/lib/podman/quadlet"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def quadlet_dryrun(config: dict) -> Check:
    tool = _quadlet_tool()
    if not tool:
        return Check("Quadlet dry run", SKIPPED, "podman with Quadlet (4.4+) not installed")
    with tempfile.TemporaryDirectory() as tmp:
        _, quadlets = _write_units(config, Path(tmp))
        if not quadlets:
            return Check("Quadlet dry run", SKIPPED, "no Quadlet files")
        proc = run([tool, "--dryrun"], env={"QUADLET_UNIT_DIRS": str(Path(tmp) / "quadlet")})
        if proc.returncode != 0 or "Error" in proc.stderr:
            return Check("Quadlet dry run", FAILED, proc.stderr.strip()[-2000:])
        return Check("Quadlet dry run", OK, f"{len(quadlets)} files")


def systemd_verify(config: dict) -> Check:
    tool = shutil.which("systemd-analyze")
    if not tool:
        return Check("systemd-analyze verify", SKIPPED, "not installed")
    with tempfile.TemporaryDirectory() as tmp:
        units, quadlets = _write_units(config, Path(tmp))
        if not units:
            return Check("systemd-analyze verify", SKIPPED, "no plain units")
        # Quadlet makes NAME.service on the VM; verify timers against stand-ins of that name.
        for q in quadlets:
            if q.suffix == ".container":
                stub = Path(tmp) / "units" / f"{q.stem}.service"
                if not stub.exists():
                    stub.write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n")
        proc = run([tool, "verify", "--man=no", *[str(u) for u in units]],
                   env={"SYSTEMD_UNIT_PATH": str(Path(tmp) / "units") + ":"})
        noise = ("Cannot add dependency job", "Failed to create", "No such file or directory",
                 "bpf", "audit", "kmod")
        lines = [l for l in (proc.stdout + proc.stderr).splitlines()
                 if l.strip() and not any(n in l for n in noise)]
        if proc.returncode != 0 and lines:
            return Check("systemd-analyze verify", FAILED, "\n".join(lines[-20:]))
        return Check("systemd-analyze verify", OK, f"{len(units)} units" + (f"; {len(lines)} notes" if lines else ""))
