"""Run commands in the guest as root over SSH (user core + passwordless sudo)."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import BootError, CommandError, MissingProgram
from .run import run


# ssh's own messages when no session was set up (the remote command never ran)
_NOT_CONNECTED = ("banner exchange", "kex_exchange_identification", "Connection refused", "Connection reset",
                  "Connection timed out", "Connection closed by", "No route to host")


def _not_connected(stderr: str) -> bool:
    return any(m in stderr for m in _NOT_CONNECTED)


def make_key(directory: Path) -> tuple[Path, str]:
    """A throwaway ed25519 key pair for one run; returns (private key path, public key).

    The private key is mode 0600 (only its owner reads it), whatever the umask."""
    key = directory / "id_ed25519"
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "stoker-boot-test", "-f", key])
    key.chmod(0o600)
    return key, (directory / "id_ed25519.pub").read_text().strip()


@dataclass
class Guest:
    port: int
    key: Path
    user: str = "core"
    host: str = "127.0.0.1"
    last_stderr: str = ""

    def options(self, connect_timeout: int = 10) -> list[str]:
        return ["-i", str(self.key), "-p", str(self.port), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "IdentitiesOnly=yes", "-o", f"ConnectTimeout={connect_timeout}",
                "-o", "LogLevel=ERROR", "-o", "ServerAliveInterval=10"]

    def argv(self, remote: str, connect_timeout: int = 10) -> list[str]:
        return ["ssh", *self.options(connect_timeout), f"{self.user}@{self.host}", remote]

    def env(self) -> dict[str, str] | None:
        """ssh's environment; None: run's minimal one (no agent: the boot test uses its own key)."""
        return None

    def forward_argv(self, local_socket: Path, remote_socket: str) -> list[str]:
        """ssh that forwards the host's unix socket `local_socket` to the guest's `remote_socket`
        (connected to as `user`, so it must be that user's to open) until it is killed; it exits
        at once when the forward cannot be set up."""
        return ["ssh", *self.options(), "-N", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes",
                "-L", f"{local_socket}:{remote_socket}", f"{self.user}@{self.host}"]

    def sh_as_user(self, script: str, timeout: float = 120) -> tuple[int, str, str]:
        """Run a shell script as the SSH user itself (core), without sudo: what a non-root user
        on the VM can do. Returns (exit status, stdout, stderr); 255 = SSH itself failed."""
        try:
            proc = run(self.argv("/bin/sh -c " + shlex.quote(script)), check=False, timeout=timeout)
        except MissingProgram:
            raise
        except CommandError:
            return 255, "", f"timed out after {timeout:.0f}s"
        return proc.returncode, proc.stdout or "", proc.stderr or ""

    def sh(self, script: str, timeout: float = 120, attempts: int = 3) -> tuple[int, str]:
        """Run a shell script as root; returns (exit status, stdout). 255 = SSH itself failed.

        A connection SSH could not set up (a busy TCG guest: "Connection timed out during
        banner exchange") is tried again, up to `attempts` times 5 s apart: the script never
        ran, so running it again is safe. A script that ran past `timeout` is not.
        stderr (sudo's and ssh's warnings) is kept apart in `last_stderr` so parsers see clean output;
        scripts that want a command's errors redirect them with 2>&1 themselves.
        """
        remote = "sudo -n /bin/sh -c " + shlex.quote(script)
        for attempt in range(1, attempts + 1):
            try:
                proc = run(self.argv(remote), check=False, timeout=timeout, env=self.env())
            except MissingProgram:
                raise
            except CommandError:
                self.last_stderr = f"timed out after {timeout:.0f}s"
                return 255, ""
            self.last_stderr = proc.stderr or ""
            if not (proc.returncode == 255 and _not_connected(self.last_stderr)) or attempt == attempts:
                return proc.returncode, proc.stdout or ""
            time.sleep(5)
        raise AssertionError("unreachable")

    def reachable(self) -> bool:
        try:
            proc = run(self.argv("true", connect_timeout=5), check=False, timeout=30)
        except MissingProgram:  # no ssh here: not a guest that does not answer yet
            raise
        except CommandError:
            return False
        return proc.returncode == 0

    def wait(self, deadline: float, alive=lambda: True, interval: float = 2.0) -> None:
        """Poll until SSH answers; `alive` says whether the VM is still worth waiting for."""
        while time.monotonic() < deadline:
            if not alive():
                raise BootError("the VM stopped before SSH answered")
            if self.reachable():
                return
            time.sleep(interval)
        raise BootError("SSH did not answer before the deadline")
