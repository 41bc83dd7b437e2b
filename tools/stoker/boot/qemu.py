"""The QEMU command line, built by a pure function from a spec, and the KVM probe."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .run import run, spawn

FW_CFG_IGNITION = "opt/com.coreos/config"
FIRSTBOOT_ARGS = ("ignition.firstboot", "ignition.platform.id=qemu")


@dataclass(frozen=True)
class DataDisk:
    path: Path
    serial: str  # the guest sees /dev/disk/by-id/virtio-<serial> (at most 20 characters)

    def __post_init__(self) -> None:
        if not self.serial or len(self.serial) > 20 or "," in self.serial:
            raise ValueError(f"a virtio disk serial has 1-20 characters and no comma, not {self.serial!r}")


@dataclass(frozen=True)
class QemuSpec:
    disk: Path  # the per-run overlay, never the cached base image
    ignition: Path | None = None
    serial_log: Path | None = None
    kernel: Path | None = None  # direct kernel boot (offline image); None boots the disk's own loader
    initrd: Path | None = None
    kernel_args: tuple[str, ...] = ()
    data_disks: tuple[DataDisk, ...] = ()
    ssh_port: int | None = None
    forwards: tuple[tuple[int, int], ...] = ()  # (host port on 127.0.0.1, guest port), TCP, besides SSH
    accel: str = "tcg"  # "kvm" | "tcg"
    memory_mb: int = 2048
    cpus: int = 2
    pidfile: Path | None = None
    extra: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.accel not in ("kvm", "tcg"):
            raise ValueError(f"accel must be kvm or tcg, not {self.accel!r}")
        if self.initrd is not None and self.kernel is None:
            raise ValueError("an initrd needs a kernel")
        if self.kernel_args and self.kernel is None:
            raise ValueError("kernel arguments need direct kernel boot (a kernel)")


def opt_value(value: object) -> str:
    """`value` (a path, usually) as the value of a key in a QEMU option string such as
    `-drive file=VALUE,format=qcow2`: QEMU splits those at commas and reads ",," as one comma, so
    every comma is doubled. Only for `key=value` option strings; `-kernel`, `-initrd`, `-pidfile`
    and `-serial file:PATH` take the path as it is."""
    return str(value).replace(",", ",,")


def qemu_argv(spec: QemuSpec, binary: str = "qemu-system-x86_64") -> list[str]:
    """The full argv for `spec`; no I/O, so it is unit-tested exhaustively."""
    argv = [binary, "-nodefaults", "-no-user-config", "-machine", "q35",
            "-accel", spec.accel, "-cpu", "host" if spec.accel == "kvm" else "max",
            "-smp", str(spec.cpus), "-m", str(spec.memory_mb),
            "-display", "none", "-monitor", "none",
            "-serial", f"file:{spec.serial_log}" if spec.serial_log else "null"]
    if spec.kernel is not None:
        argv += ["-kernel", str(spec.kernel)]
        if spec.initrd is not None:
            argv += ["-initrd", str(spec.initrd)]
        if spec.kernel_args:
            argv += ["-append", " ".join(spec.kernel_args)]
    # root first, so it is /dev/vda and the data disks /dev/vdb, ... as on a cloud VM
    # (-kernel takes boot index 0 itself; a disk boot names the root disk as the first to try)
    argv += ["-drive", f"if=none,id=root,file={opt_value(spec.disk)},format=qcow2,discard=unmap",
             "-device", "virtio-blk-pci,drive=root,serial=root" + (",bootindex=0" if spec.kernel is None else "")]
    for i, disk in enumerate(spec.data_disks):
        argv += ["-drive", f"if=none,id=data{i},file={opt_value(disk.path)},format=qcow2",
                 "-device", f"virtio-blk-pci,drive=data{i},serial={disk.serial}"]
    if spec.ignition is not None:
        argv += ["-fw_cfg", f"name={FW_CFG_IGNITION},file={opt_value(spec.ignition)}"]
    nic = "user,model=virtio-net-pci"
    if spec.ssh_port is not None:
        nic += f",hostfwd=tcp:127.0.0.1:{spec.ssh_port}-:22"
    for host, guest in spec.forwards:
        nic += f",hostfwd=tcp:127.0.0.1:{host}-:{guest}"
    argv += ["-nic", nic, "-device", "virtio-rng-pci"]
    if spec.pidfile is not None:
        argv += ["-pidfile", str(spec.pidfile)]
    argv += list(spec.extra)
    return argv


def offline_kernel_args(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    return ("root=LABEL=root", "rw", "console=ttyS0,115200", *FIRSTBOOT_ARGS,
            # The serial console is slow under TCG: no audit records, kernel messages from errors up
            # only (the journal, read over SSH, has the rest); the initramfs journal goes to the console
            # so Ignition's own message is there when it fails (it logs at info level)
            "audit=0", "loglevel=4", "rd.systemd.journald.forward_to_console=1",
            # systemd waits 90 s for a device by default; on a host whose cores other VMs share, udev's
            # coldplug under TCG finished later than that and the data volume's mount failed into the
            # emergency shell (seen twice booting ims at load 15-19 on 2 cores): a slow host is not the
            # config's fault. A disk that never appears still fails, after 5 minutes.
            "systemd.default_device_timeout_sec=300", *extra)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_overlay(base: Path, dest: Path) -> Path:
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base.resolve(), "-F", "qcow2", dest])
    return dest


def create_disk(dest: Path, size: str = "1G") -> Path:
    run(["qemu-img", "create", "-q", "-f", "qcow2", dest, size])
    return dest


def probe_argv(kernel: Path, log: Path) -> list[str]:
    # no root disk: a kernel that really runs panics on the missing root fast and exits (-no-reboot)
    return ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-machine", "q35", "-accel", "kvm",
            "-cpu", "host", "-m", "256", "-display", "none", "-monitor", "none", "-serial", f"file:{log}",
            "-kernel", str(kernel), "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent",
            "-no-reboot"]


def probe_kvm(kernel: Path, workdir: Path, timeout: float = 45.0) -> tuple[bool, str]:
    """Whether KVM really boots a kernel here: a present /dev/kvm can still hang or abort.

    The answer is cached per host boot, kernel and QEMU so later runs pay nothing.
    """
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm is missing or not accessible"
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = "unknown"
    cache = workdir / "kvm-probe.json"
    key = f"{boot_id}:{kernel.resolve()}:{kernel.stat().st_mtime_ns}"
    try:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return bool(cached["ok"]), cached["why"] + " (cached)"
    except (OSError, ValueError, KeyError):
        pass
    ok, why = _probe(kernel, workdir, timeout)
    workdir.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "ok": ok, "why": why}))
    return ok, why


def _probe(kernel: Path, workdir: Path, timeout: float) -> tuple[bool, str]:
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "kvm-probe.log"
    log.unlink(missing_ok=True)
    proc = spawn(probe_argv(kernel, log))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "Kernel panic" in text or "VFS: Unable to mount root" in text:
                return True, "a test kernel booted under KVM"
            if proc.poll() is not None:
                return False, f"QEMU with KVM exited with status {proc.returncode} before the kernel ran"
            time.sleep(0.2)
        return False, f"a test kernel under KVM did not reach its root mount within {timeout:.0f}s"
    finally:
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
