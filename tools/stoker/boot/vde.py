"""A VDE switch: the fleet test's private L2 network, entirely in user space.

`vde_switch` (Debian package vde2) forwards Ethernet frames between the QEMU
processes plugged into its socket directory (`-netdev vde,sock=DIR`). It has no
host network interface, so the fleet's private addresses never reach the host's
network stack, and it needs no root. Why VDE rather than QEMU's own socket
netdevs: `-netdev socket/stream/dgram` join exactly two ends, and multicast on
127.0.0.1 needs the loopback interface to carry multicast (it often does not);
a switch joins any number of VMs.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .errors import BootError, require_tool
from .run import spawn, stop


class VdeSwitch:
    """`with VdeSwitch(dir) as sw:` runs vde_switch on `dir` (its socket directory, `sw.sock`) and
    stops it when the block ends, also on an error. MissingTool without vde_switch; BootError when it
    does not come up within `timeout` seconds."""

    def __init__(self, sock: Path, timeout: float = 10.0):
        self.sock = Path(sock)
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "VdeSwitch":
        program = require_tool("vde_switch", "vde2", "the fleet test's private network")
        self.sock.parent.mkdir(parents=True, exist_ok=True)
        # stdin stays an open pipe: vde_switch reads commands from it and exits at its end
        self.log = self.sock.parent / "vde_switch.log"
        with open(self.log, "w") as log:
            self.proc = spawn([program, "--sock", self.sock], stdout=log, stdin=subprocess.PIPE)
        deadline = time.monotonic() + self.timeout
        while not (self.sock / "ctl").exists():
            if self.proc.poll() is not None:
                out = self.log.read_text(errors="replace")
                raise BootError(f"vde_switch exited with status {self.proc.returncode}: {out.strip()[-300:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise BootError(f"vde_switch did not create {self.sock / 'ctl'} within {self.timeout:.0f}s")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        stop(self.proc)
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc = None

    def __exit__(self, *exc) -> None:
        self.stop()
