"""The guest's Podman API on a host unix socket, forwarded over the boot test's SSH connection.

The booted config does not enable Podman's API (podman.socket) and is not
changed for the test: at test time, over SSH, the harness starts a transient
socket-activated `podman system service` (systemd-run, unit
`stoker-probe-api`) whose socket `/run/stoker-probe/podman.sock` belongs to
the SSH user (core, mode 0600), and `ssh -L` forwards a host socket to it.
Root's Podman (the one the fleet's Quadlet containers run in) answers there,
so a Docker API client on the host (docker-py, testcontainers) sees the
guest's containers and networks. The transient unit is stopped when the block
ends; nothing of it survives a reboot.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import BootError
from .run import spawn, stop
from .ssh import Guest

UNIT = "stoker-probe-api"
GUEST_SOCKET = "/run/stoker-probe/podman.sock"


def start_script(user: str, guest_socket: str = GUEST_SOCKET, unit: str = UNIT) -> str:
    """The root shell script that starts the API on `guest_socket`, owned by `user`, mode 0600.

    Socket activation (podman-system-service(1): it serves the socket systemd hands it;
    --time=0: never exits for idleness)."""
    return (f"systemctl stop {unit}.socket {unit}.service 2>/dev/null; "
            "systemd-run --quiet --collect --unit=" + shlex.quote(unit) +
            " --socket-property=ListenStream=" + shlex.quote(guest_socket) +
            " --socket-property=SocketUser=" + shlex.quote(user) +
            " --socket-property=SocketMode=0600"
            " /usr/bin/podman system service --time=0")


def stop_script(unit: str = UNIT) -> str:
    return f"systemctl stop {unit}.socket {unit}.service 2>/dev/null; true"


def ping(path: Path, timeout: float = 30.0) -> str:
    """GET /_ping on the unix socket `path`; returns the body ("OK" from Podman), or raises OSError."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n", 1)[0] + b" ":
        raise OSError(f"unexpected answer: {head[:80]!r}")
    return body.decode(errors="replace").strip()


@contextlib.contextmanager
def forwarded_api(guest: Guest, directory: Path, *, timeout: float = 120.0) -> Iterator[str]:
    """Start the guest's API and forward it to a host socket in a fresh /tmp/stoker-api-*/ (ssh's log
    goes to `directory`); yields the DOCKER_HOST URL ("unix:///…/podman.sock"). BootError (naming the step) when the unit does not start or
    the forward does not answer /_ping within `timeout` seconds. Stopped at exit, also on errors."""
    rc, _ = guest.sh(start_script(guest.user), timeout=60)
    if rc != 0:
        raise BootError(f"could not start the Podman API in the guest ({UNIT}, exit {rc}): "
                        f"{guest.last_stderr.strip()[-300:]}")
    # a unix socket path has at most 107 bytes (sun_path): a short directory of its own
    sock_dir = Path(tempfile.mkdtemp(prefix="stoker-api-"))
    local = sock_dir / "podman.sock"
    log = directory / "podman-api-ssh.log"
    proc = None
    try:
        with open(log, "w") as out:
            proc = spawn(guest.forward_argv(local, GUEST_SOCKET), stdout=out)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise BootError(f"ssh -L for the Podman API exited with status {proc.returncode}: "
                                f"{log.read_text(errors='replace').strip()[-300:]}")
            try:
                if local.exists() and ping(local, timeout=min(30.0, timeout)) == "OK":
                    break
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise BootError(f"the guest's Podman API did not answer on {local} within {timeout:.0f}s")
            time.sleep(1)
        yield f"unix://{local}"
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(sock_dir, ignore_errors=True)
        guest.sh(stop_script(), timeout=60)
