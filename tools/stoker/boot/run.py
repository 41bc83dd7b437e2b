"""The one door every host subprocess goes through.

argv lists only, stdin closed, a minimal environment, and failures explained:
a missing program, a signal, or an exit code with the tail of its output.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
from pathlib import Path
from typing import IO, Sequence

from .errors import CommandError, MissingProgram

log = logging.getLogger("stoker.boot.run")

# Enough for tools that look up locale, home and PATH; nothing from the caller leaks in.
_KEEP_ENV = ("PATH", "HOME", "LANG", "TMPDIR", "XDG_CACHE_HOME", "GNUPGHOME", "USER")


def minimal_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env["LC_ALL"] = "C.UTF-8"
    if extra:
        env.update(extra)
    return env


def explain(argv: Sequence[str], returncode: int | None, output: str = "") -> str:
    cmd = shlex.join(str(a) for a in argv)
    if returncode is None:
        why = "timed out"
    elif returncode == 127:
        why = "exited 127 (program or one of its helpers not found)"
    elif returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        why = f"was killed by {name}"
    else:
        why = f"exited with status {returncode}"
    tail = "\n".join(output.strip().splitlines()[-15:])
    return f"`{cmd}` {why}" + (f":\n{tail}" if tail else "")


def _not_installed(args: list[str]) -> MissingProgram:
    from .tools import PACKAGES, not_found
    package = PACKAGES.get(Path(args[0]).name)
    message = (not_found(args[0], package) if package
               else f"`{args[0]}` is not installed (needed for: {shlex.join(args)})")
    return MissingProgram(message, args, 127)


def run(argv: Sequence[str | os.PathLike], *, check: bool = True, capture: bool = True,
        log_file: IO[str] | None = None, timeout: float | None = None, input: str | None = None,
        env: dict[str, str] | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run argv; with `log_file`, stdout+stderr go there (and the tail into the error).

    Raises CommandError (a failure with check, a timeout), MissingProgram (not installed:
    a CommandError too)."""
    args = [str(a) for a in argv]
    log.debug("run: %s", shlex.join(args))
    if log_file is not None:
        log_file.write(f"\n$ {shlex.join(args)}\n")
        log_file.flush()
    stdin = subprocess.DEVNULL if input is None else None
    try:
        if log_file is not None:
            proc = subprocess.run(args, stdin=stdin, input=input, stdout=log_file, stderr=subprocess.STDOUT,
                                  text=True, timeout=timeout, env=env or minimal_env(), cwd=cwd)
        else:
            proc = subprocess.run(args, stdin=stdin, input=input, capture_output=capture, text=True,
                                  timeout=timeout, env=env or minimal_env(), cwd=cwd)
    except FileNotFoundError:
        raise _not_installed(args) from None
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise CommandError(explain(args, None, out), args, None, out)
    if check and proc.returncode != 0:
        out = (proc.stdout or "") + (proc.stderr or "") if log_file is None else _tail_of(log_file)
        raise CommandError(explain(args, proc.returncode, out), args, proc.returncode, out)
    return proc


def _tail_of(log_file: IO[str]) -> str:
    try:
        with open(log_file.name, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-15:])
    except OSError:
        return ""


def spawn(argv: Sequence[str | os.PathLike], *, stdout: IO | int = subprocess.DEVNULL,
          env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a long-running process (QEMU, a test server) the caller must stop.
    MissingProgram when it is not installed."""
    args = [str(a) for a in argv]
    log.debug("spawn: %s", shlex.join(args))
    try:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT,
                                env=env or minimal_env(), start_new_session=True)
    except FileNotFoundError:
        raise _not_installed(args) from None


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a process `spawn` started: SIGTERM, then SIGKILL after `grace` seconds;
    waits for it either way, so no zombie is left."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)
