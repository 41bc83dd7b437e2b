"""A second opinion on Quadlet files: the real Quadlet generator's dry run.

    run = quadlet_dryrun({"web.container": text, "app.network": text2})
    run.status     -> "ok" | "failed" | "skipped"
    run.reason     -> why it was skipped, with the command that fixes it ("" otherwise)
    run.findings   -> (Finding(file="web.container", severity="error", message='converting "web.container":
                               unsupported key 'Foo' in group 'Container' in web.container'), ...)
    run.generator, run.podman_version  -> which generator gave the opinion

Which generator: the host's own first (HOST_GENERATORS), else the one inside
stoker's cached offline boot-test image (stoker.podman.fromimage; Debian trixie's
Podman, which may be older than the fleet's target: a key newer than it is
reported as unsupported by it, so weigh `podman_version` against the target).
Nothing installed, no image: "skipped", never an error.

How it runs (podman cmd/quadlet/main.go): `-dryrun` prints every generated
service on stdout and logs to stderr, each line "quadlet-generator[PID]: ...";
it reads the files from the directories in $QUADLET_UNIT_DIRS instead of
/etc/containers/systemd, and exits 1 when a file fails to convert (4.4 logged
"Error converting ..., ignoring" and exited 0: any message that is neither
progress nor a "Warning" counts as an error, whatever the exit code). The files are
written to a private temporary directory; messages name the file only
("web.container"), never that directory. Every subprocess goes through
stoker.boot.run (argv list, stdin closed, minimal environment) with a timeout.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..boot.errors import CommandError
from ..boot.run import minimal_env, run
from .fromimage import Unavailable, image_generator

# Where distributions install the generator (Fedora/Debian/Ubuntu: /usr/libexec; Arch: /usr/lib/podman;
# every one links it as systemd's podman-system-generator).
HOST_GENERATORS = (
    "/usr/libexec/podman/quadlet",
    "/usr/lib/podman/quadlet",
    "/usr/lib/systemd/system-generators/podman-system-generator",
    "/lib/systemd/system-generators/podman-system-generator",
)
TIMEOUT = 60.0

# Log lines that are progress, not opinion (cmd/quadlet/main.go's Debugf calls and its closing summary).
_CHATTER = re.compile(r"^(Loading source (unit|drop-in) file |Starting quadlet-generator|"
                      r"No files (parsed|to parse) from |writing |Creating symlink |"
                      r"processing encountered some errors)")
_PREFIX = re.compile(r"^quadlet-generator\[\d+\]: ")
_SERVICE = re.compile(r"^---(.*)---$")


@dataclass(frozen=True)
class Finding:
    """One message of the generator; `file` is the Quadlet file it names, or None."""
    file: str | None
    message: str
    severity: str  # "error" | "warning"


@dataclass(frozen=True)
class DryRun:
    status: str                                   # "ok" | "failed" | "skipped"
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    generator: str = ""
    podman_version: str = ""
    services: dict[str, str] = field(default_factory=dict)  # generated unit name -> its text
    seconds: float = 0.0


def quadlet_dryrun(files: dict[str, str], *, cache_root: Path | None = None,
                   host_generators: Sequence[str] = HOST_GENERATORS, timeout: float = TIMEOUT) -> DryRun:
    """Run the generator's dry run over `files` (path relative to the unit directory -> text;
    a drop-in is "web.container.d/10-x.conf", a file of a subdirectory "web/web.container").

    `cache_root` is where stoker's image cache lives (default: stoker.boot.image.cache_root());
    `host_generators=()` ignores the host's own generator. Raises ValueError for a name with a "/".
    """
    for name in files:
        parts = Path(name).parts
        if not name or name.startswith("/") or ".." in parts or "." in parts or "\0" in name:
            raise ValueError(f"a Quadlet file path relative to the unit directory is needed, not {name!r}")
    t0 = time.monotonic()
    host = next((p for p in host_generators if _executable(p)), None)
    if host is not None:
        result = _run([host], files, timeout, f"the host's Quadlet ({host})", _host_version(host))
    else:
        try:
            with image_generator(cache_root) as gen:
                result = _run(gen.argv(), files, timeout, gen.where, gen.podman_version)
        except Unavailable as exc:
            looked = ", ".join(host_generators) if host_generators else "not looked for"
            result = DryRun("skipped", reason=f"no Quadlet generator on this host ({looked}), "
                                              f"and the image's cannot be used: {exc}")
        except OSError as exc:  # e.g. no room for the raw disk: still no opinion, not a failure
            result = DryRun("skipped", reason=f"could not extract the image's Quadlet generator: {exc}")
    return dataclasses.replace(result, seconds=round(time.monotonic() - t0, 3))


def _run(argv: list[str], files: dict[str, str], timeout: float, where: str, version: str) -> DryRun:
    with tempfile.TemporaryDirectory(prefix="stoker-quadlet-units-") as tmp:
        units = os.path.realpath(tmp)  # the generator reports paths with symlinks resolved
        for name, text in files.items():
            path = Path(units) / name
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                path.chmod(0o644)  # whatever the umask: as Ignition writes them
            except OSError as exc:  # a name too long for a file name: stoker's own checks report it
                return DryRun("skipped", reason=f"cannot hand {name[:60]}{'...' if len(name) > 60 else ''} to the "
                                                f"generator: {exc.strerror}", generator=where, podman_version=version)
        try:
            proc = run([*argv, "-dryrun"], check=False, timeout=timeout,
                       env=minimal_env({"QUADLET_UNIT_DIRS": units}))
        except CommandError as exc:  # not runnable here, or timed out: no opinion
            return DryRun("skipped", reason=f"the Quadlet generator did not run: {exc}", generator=where,
                          podman_version=version)
        findings = parse_log(proc.stderr, units, list(files))
    failed = proc.returncode != 0 or any(f.severity == "error" for f in findings)
    if proc.returncode != 0 and not any(f.severity == "error" for f in findings):
        findings.append(Finding(None, f"the generator exited with status {proc.returncode}", "error"))
    return DryRun("failed" if failed else "ok", findings=tuple(findings), generator=where,
                  podman_version=version, services=_services(proc.stdout))


def parse_log(stderr: str, unit_dir: str, names: list[str]) -> list[Finding]:
    """The generator's stderr as findings, `unit_dir` removed from every message."""
    findings = []
    for line in stderr.splitlines():
        # since 5.6 each error is its own log line; before, errors came joined by newlines in one
        message = _PREFIX.sub("", line).replace(unit_dir.rstrip("/") + "/", "").strip()
        if not message or _CHATTER.match(message):
            continue
        severity = "warning" if message.startswith("Warning") else "error"
        findings.append(Finding(_file_named(message, names), message, severity))
    return findings


def _file_named(message: str, names: list[str]) -> str | None:
    # prefer the file a message is about ('converting "x.container": ...') over one it mentions later
    quoted = re.search(r'"([^"]+)"', message)
    if quoted and quoted.group(1) in names:
        return quoted.group(1)
    positions = [(message.find(n), n) for n in names if re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w.-])", message)]
    return min(positions)[1] if positions else None


def _services(stdout: str) -> dict[str, str]:
    """Generated units from the dry run's stdout: "---name.service---" then the unit text."""
    services: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        m = _SERVICE.match(line)
        if m:
            current = services.setdefault(m.group(1).lstrip("/"), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip() + "\n" for name, lines in services.items()}


def _executable(path: str) -> bool:
    p = Path(path)
    return p.is_file() and bool(p.stat().st_mode & 0o111)


def _host_version(program: str) -> str:
    try:
        proc = run([program, "-version"], check=False, timeout=10)
    except CommandError:
        return ""
    # Quadlet before 4.7 has no -version flag and prints its usage instead
    return proc.stdout.strip() if proc.returncode == 0 else ""
