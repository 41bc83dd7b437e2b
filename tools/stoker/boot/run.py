"""The one door every host subprocess goes through.

argv lists only, stdin closed, a minimal environment, and failures explained:
a missing program, a signal, or an exit code with the tail of its output.
Every child is known while it runs, so an interrupted run ends them all, from any
thread (request_stop, stop_all).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Sequence

from ..errors import Interrupted
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


# Every child of run() (short commands: ssh, qemu-img, ...) and of spawn() (QEMU, the registry, an
# ssh forward, the VDE switch) while it runs, so an interrupted run can end them all. Sets, not
# locked: add, discard and list() of a set are each atomic under the GIL, so any thread may use them.
_commands: set[subprocess.Popen] = set()
_spawned: set[subprocess.Popen] = set()
_stop = threading.Event()
_stop_signal = ["SIGINT"]
_POLL = 0.2  # seconds between looks at the stop request while a command runs


def request_stop(signame: str = "SIGINT") -> None:
    """End every thread's commands now (the run was interrupted by `signame`): each running run()
    child is killed and its run() raises Interrupted, as does every later run() or spawn(). Spawned
    processes are left to their owners, who stop them as they unwind (stop_all is the safety net)."""
    _stop_signal[0] = signame
    _stop.set()
    for proc in list(_commands):
        proc.kill()


def reset_stop() -> None:
    """Forget a stop request: a new run starts (the CLI calls it when a command begins)."""
    _stop.clear()


def check_stop() -> None:
    """Raise Interrupted if request_stop was called: for loops that wait without a command."""
    if _stop.is_set():
        raise Interrupted(_stop_signal[0])


def stop_all(grace: float = 5.0) -> None:
    """Safety net at the end of a run: kill every run() child still there and stop every spawn()
    child still running (SIGTERM, SIGKILL after `grace` seconds). Owners stop their own children;
    this finds one only when an owner's clean-up was cut short."""
    for proc in list(_commands):
        proc.kill()
    for proc in list(_spawned):
        stop(proc, grace=grace)


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

    `timeout` in seconds. Raises CommandError (a failure with check, a timeout), MissingProgram
    (not installed: a CommandError too), Interrupted (request_stop, from any thread: the child is
    killed within _POLL seconds); on any exception the child is killed and waited for."""
    args = [str(a) for a in argv]
    check_stop()
    log.debug("run: %s", shlex.join(args))
    if log_file is not None:
        log_file.write(f"\n$ {shlex.join(args)}\n")
        log_file.flush()
        stdout, stderr = log_file, subprocess.STDOUT
    else:
        stdout = stderr = subprocess.PIPE if capture else None
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                                stdout=stdout, stderr=stderr, text=True, env=env or minimal_env(), cwd=cwd)
    except FileNotFoundError:
        raise _not_installed(args) from None
    _commands.add(proc)
    try:
        with proc:
            try:
                out, err, timed_out = _communicate(proc, input, timeout)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
    finally:
        _commands.discard(proc)
    if timed_out:
        raise CommandError(explain(args, None, out or ""), args, None, out or "")
    if check and proc.returncode != 0:
        text = (out or "") + (err or "") if log_file is None else _tail_of(log_file)
        raise CommandError(explain(args, proc.returncode, text), args, proc.returncode, text)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _communicate(proc: subprocess.Popen, input: str | None,
                 timeout: float | None) -> tuple[str | None, str | None, bool]:
    """(stdout, stderr, timed out) of `proc`, looking at the stop request every _POLL seconds;
    a child past `timeout` seconds is killed. Interrupted when a stop is requested."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        check_stop()
        left = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
        if left <= 0:
            proc.kill()
            out, err = proc.communicate()
            return out, err, True
        try:
            out, err = proc.communicate(input, timeout=left)
        except subprocess.TimeoutExpired:
            input = None  # sent (or being sent) on the first call; communicate() keeps the rest
            continue
        check_stop()  # killed by request_stop: its output means nothing
        return out, err, False


def _tail_of(log_file: IO[str]) -> str:
    try:
        with open(log_file.name, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-15:])
    except OSError:
        return ""


def spawn(argv: Sequence[str | os.PathLike], *, stdout: IO | int = subprocess.DEVNULL,
          env: dict[str, str] | None = None, stdin: int = subprocess.DEVNULL) -> subprocess.Popen:
    """Start a long-running process (QEMU, a test server) the caller must stop, with stop().

    In a session of its own, so a terminal's Ctrl-C reaches the harness only, which stops it
    (stop_all stops it at the end of the run if its owner did not). MissingProgram when it is not
    installed; Interrupted after request_stop."""
    args = [str(a) for a in argv]
    check_stop()
    log.debug("spawn: %s", shlex.join(args))
    try:
        proc = subprocess.Popen(args, stdin=stdin, stdout=stdout, stderr=subprocess.STDOUT,
                                env=env or minimal_env(), start_new_session=True)
    except FileNotFoundError:
        raise _not_installed(args) from None
    _spawned.add(proc)
    return proc


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a process `spawn` started: SIGTERM, then SIGKILL after `grace` seconds;
    waits for it either way, so no zombie is left."""
    try:
        if proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
    finally:
        if proc.poll() is not None:
            _spawned.discard(proc)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOPPED = "every process this run started is stopped"


@contextlib.contextmanager
def signals_stop_the_run():
    """While the block runs, SIGINT (Ctrl-C), SIGTERM (a CI job cancelled, `kill`) and SIGHUP (the
    terminal closed, the ssh session dropped) unwind it as Ctrl-C does, so QEMU, the test registry,
    the VDE switch and ssh forwards are stopped by their owners, not orphaned.

    The first signal raises Interrupted in the main thread; a later one, or one that comes while the
    run cleans up, ends every thread's commands at once (request_stop) without cutting the
    clean-up short. On the way out stop_all stops any child still running. Once a signal came,
    the block ends in Interrupted(signal, STOPPED), whatever the unwinding raised (writing to a
    hung-up terminal fails) and even if it returned. Outside the main thread: no handlers."""
    received: list[str] = []
    state = {"cleaning": False}

    def handler(signum, frame):
        received.append(signal.Signals(signum).name)
        if len(received) == 1 and not state["cleaning"]:
            raise Interrupted(received[0])
        request_stop(received[0])

    reset_stop()
    installed = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS} if installed else {}
    try:
        try:
            yield
        finally:
            state["cleaning"] = True
            stop_all()
    except BaseException as exc:
        if received or isinstance(exc, Interrupted):
            raise Interrupted(received[0] if received else exc.signame, STOPPED) from None
        raise
    else:
        if received:
            raise Interrupted(received[0], STOPPED)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
