"""Boot one Ignition config in a disposable VM and run the guest checks.

Helpers that hold resources (the QEMU process, the run directory) are context
managers on one ExitStack, so a failure anywhere still stops the VM.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import checks as checks_mod
from .checks import Results
from .console import Finding, clean, scan
from .errors import BootError
from .expect import Expectations, derive
from .ignition import Addition, add_registry_mirror, check_spec, data_disk_serials, inject_ssh_key, selinux_requested
from .fleetnet import PrivateNic, add_private_address
from .image import Image
from .qemu import DataDisk, QemuSpec, create_disk, create_overlay, free_port, offline_kernel_args, probe_kvm, qemu_argv
from .run import check_stop, spawn, stop
from .probes import ProbeSpec, run_probes, skipped
from .ssh import Guest, make_key

Event = Callable[[str], None]


@dataclass
class BootOptions:
    timeout: float = 420.0  # QEMU start → SSH answers, generous for TCG
    memory_mb: int = 2048
    cpus: int = 2
    accel: str = "auto"  # auto | kvm | tcg
    data_disk: Path | None = None  # keep one across boots (data-survival); else a fresh one per run
    data_disk_size: str = "1G"
    keep: bool = False  # keep the run directory (else removed when the boot ends, however it ends)
    run_dir: Path | None = None
    retries: int = 1  # once more on a kernel panic/oops (TCG flakiness)
    # host:port of the test registry as the guest reaches it (QEMU's user-mode gateway, 10.0.2.2);
    # None: the guest pulls from the registries the config names
    registry_mirror: str | None = None
    # the fleet test: a second NIC on its private network, its address added to the config (fleetnet.py)
    private_nic: PrivateNic | None = None
    # more TCP ports forwarded from 127.0.0.1 to the guest: {guest port: host port}
    forwards: dict[int, int] = field(default_factory=dict)
    # more kernel arguments for the offline image (the harness's, never the config's)
    kernel_args: tuple[str, ...] = ()
    # set by another thread (the fleet test interrupted): the boot stops waiting and powers the VM off
    cancel: threading.Event | None = None
    # seconds a published port may take to accept connections once the system settled
    port_wait: float = checks_mod.PORT_WAIT
    # container probes after the checks (probes.py); None: not asked for
    probes: "ProbeSpec | None" = None


SLOWEST = 5  # units listed from `systemd-analyze blame`: where a slow boot's time went


@dataclass
class BootResult:
    name: str
    results: Results
    expectations: Expectations
    additions: list[Addition]
    timings: dict[str, float] = field(default_factory=dict)
    accel: str = "tcg"
    accel_reason: str = ""
    run_dir: Path | None = None
    console_log: Path | None = None
    attempts: int = 1
    retryable: list[Finding] = field(default_factory=list)  # a kernel panic/oops: TCG's fault, boot again
    slowest: list[str] = field(default_factory=list)  # `systemd-analyze blame` top lines: "12min 9.2s x.service"

    @property
    def ok(self) -> bool:
        return self.results.ok


def prepare_config(cfg: dict, public_key: str, registry_mirror: str | None,
                   private_nic: PrivateNic | None = None, image_kind: str = "offline") -> tuple[dict, list[Addition]]:
    """The config as booted: unchanged but for the test SSH key, with a test registry a
    registries.conf.d drop-in that mirrors the config's registries to it, and in the fleet test
    the private NIC's address (fleetnet.add_private_address). Raises ConfigError when an image
    names no registry or the config writes an added file's path itself."""
    booted, key = inject_ssh_key(cfg, public_key)
    additions = [key]
    if registry_mirror:
        booted, mirror = add_registry_mirror(booted, registry_mirror)
        if mirror:
            additions.append(mirror)
    if private_nic is not None:
        booted, address = add_private_address(booted, private_nic, image_kind)
        additions.append(address)
    return booted, additions


def image_limits(cfg: dict, image: Image) -> list[tuple[str, str, str]]:
    """What the config asks for that the image cannot exercise: (name, asked, what happens)."""
    limits = []
    mode = selinux_requested(cfg)
    if image.offline and mode and mode.lower() != "disabled":
        limits.append(("SELinux", f"SELINUX={mode}",
                       "NOT EXERCISED: the offline image has no SELinux; setenforce is a no-op there"))
    return limits


class VM:
    """One running QEMU; `stop()` powers it off cleanly, or kills it after a grace period."""

    def __init__(self, argv: list[str], serial: Path, output: Path):
        self.argv = argv
        self.serial = serial
        self.output = output
        self.started = time.monotonic()
        with open(output, "w") as out:  # QEMU's own messages, shown when it exits early
            self.proc = spawn(argv, stdout=out)

    def messages(self) -> str:
        try:
            return self.output.read_text(errors="replace").strip()
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def console(self) -> str:
        try:
            return self.serial.read_text(errors="replace")
        except OSError:
            return ""

    def wait_exit(self, timeout: float) -> bool:
        """Whether QEMU exited within `timeout` seconds; Interrupted when the run is stopped meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            check_stop()
            try:
                self.proc.wait(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
                return True
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    return False

    def kill(self) -> None:
        """Stop QEMU: SIGTERM (it closes its disk images cleanly and exits), SIGKILL after 10 s."""
        stop(self.proc, grace=10)


def boot_test(name: str, cfg: dict, image: Image, options: BootOptions | None = None,
              event: Event | None = None, expectations: Expectations | None = None,
              after_checks: Callable[[Guest], None] | None = None) -> BootResult:
    """Boot `cfg` on `image`, run every check, power off. Retries once on a kernel panic/oops."""
    options = options or BootOptions()
    event = event or (lambda msg: None)
    check_spec(cfg, image.ignition_max_spec, image.kind)
    exp = expectations or derive(cfg)
    attempt = 0
    while True:
        attempt += 1
        result = _boot_once(name, cfg, image, options, event, exp, None, after_checks)
        result.attempts = attempt
        if result.ok or not result.retryable or attempt > options.retries:
            return result
        event(f"{result.retryable[0].what} on the console ({result.retryable[0].line}); retrying once")


def _boot_once(name: str, cfg: dict, image: Image, options: BootOptions, event: Event, exp: Expectations,
               keep_running: Callable[[Guest, VM], None] | None = None,
               after_checks: Callable[[Guest], None] | None = None) -> BootResult:
    with contextlib.ExitStack() as stack:
        run_dir = options.run_dir or Path(tempfile.mkdtemp(prefix=f"stoker-boot-{name}-"))
        run_dir.mkdir(parents=True, exist_ok=True)
        run_dir.chmod(0o700)  # it holds the throwaway private key
        if options.run_dir is None:  # a caller's own run_dir is the caller's to remove
            stack.callback(drop_run_dir, run_dir, options.keep, event)
        key, public = make_key(run_dir)
        booted, additions = prepare_config(cfg, public, options.registry_mirror, options.private_nic, image.kind)
        limits = image_limits(cfg, image)
        ign = run_dir / "config.ign"
        ign.write_text(json.dumps(booted))
        overlay = run_dir / "root.qcow2"
        overlay.unlink(missing_ok=True)
        create_overlay(image.root, overlay)
        disks = []
        for i, serial in enumerate(data_disk_serials(cfg) or ["data0"]):
            path = options.data_disk if (i == 0 and options.data_disk) else run_dir / f"data{i}.qcow2"
            if not path.exists():
                create_disk(path, options.data_disk_size)
            disks.append(DataDisk(path, serial))
        accel, why = _choose_accel(options.accel, image, run_dir)
        event(f"accelerator: {accel} ({why})")
        serial = run_dir / "console.log"
        serial.unlink(missing_ok=True)
        port = free_port()
        spec = QemuSpec(disk=overlay, ignition=ign, serial_log=serial, kernel=image.kernel, initrd=image.initrd,
                        kernel_args=offline_kernel_args(options.kernel_args) if image.kernel else (),
                        data_disks=tuple(disks),
                        ssh_port=port, forwards=tuple((h, g) for g, h in options.forwards.items()),
                        accel=accel, memory_mb=options.memory_mb, cpus=options.cpus,
                        extra=options.private_nic.qemu_args() if options.private_nic else ())
        vm = VM(qemu_argv(spec), serial, run_dir / "qemu.log")
        result = BootResult(name, Results(), exp, additions, accel=accel, accel_reason=why, run_dir=run_dir,
                            console_log=serial)

        def finish() -> None:
            vm.kill()
            result.retryable = [f for f in scan(vm.console()) if f.retryable]
        stack.callback(finish)
        event(f"QEMU started (console: {serial}, ssh: 127.0.0.1:{port})")
        guest = Guest(port, key)
        deadline = vm.started + options.timeout
        try:
            _wait_boot(vm, guest, deadline, result, event, options.cancel)
        except BootError as exc:
            result.results = Results()
            checks_mod.note_additions(additions, result.results, limits)
            result.results.add("boot", "guest reachable over SSH", False, "SSH answers", str(exc),
                               _console_tail(vm.console()))
            checks_mod.check_console(vm.console(), None, result.results)
            checks_mod.not_run(result.results, "journal clean", "no kola failure pattern in this boot's journal",
                               "the guest never answered over SSH, so its journal was not read")
            result.timings["total"] = round(time.monotonic() - vm.started, 1)
            return result
        if keep_running is not None:  # an interactive boot: the user looks for themselves
            keep_running(guest, vm)
            guest.sh("systemctl --no-block poweroff", timeout=30)
            vm.wait_exit(120)
            return result
        event("running checks in the guest")
        result.results = checks_mod.run_all(
            guest, exp, vm.console, additions, limits=limits, timeout=max(60.0, deadline - time.monotonic()),
            port_wait=options.port_wait, mark=lambda m: result.timings.setdefault(m, round(time.monotonic() - vm.started, 1)))
        result.timings["checks done"] = round(time.monotonic() - vm.started, 1)
        _, blame = guest.sh(f"systemd-analyze blame --no-pager 2>/dev/null | head -n {SLOWEST}", timeout=60)
        result.slowest = [" ".join(line.split()) for line in blame.splitlines() if line.strip()][:SLOWEST]
        if options.probes is not None:
            spec = options.probes
            if spec.image is None:
                skipped(result.results, spec.skip or "no probe image is served to the guest")
            else:
                run_probes(guest, cfg, result.results, probe_image=spec.image, standins=spec.standins,
                           fleet_registry=spec.fleet_registry, directory=run_dir, event=event)
            result.timings["probes done"] = round(time.monotonic() - vm.started, 1)
        if after_checks is not None:  # a caller's own look inside, before the clean poweroff
            after_checks(guest)
        event("powering off")
        guest.sh("systemctl --no-block poweroff", timeout=30)
        if vm.wait_exit(120):
            result.timings["powered off"] = round(time.monotonic() - vm.started, 1)
        result.timings["total"] = round(time.monotonic() - vm.started, 1)
        return result


KEPT = "run directory kept: "  # an event: "run directory kept: /tmp/stoker-boot-x-abc123"


def drop_run_dir(run_dir: Path, keep: bool, event: Event) -> None:
    """At the end of a boot (passed, failed, an error, interrupted): remove the run directory
    (console log, config, the throwaway SSH key), or with `keep` say where it is."""
    if keep:
        event(f"{KEPT}{run_dir}")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)


def _choose_accel(wanted: str, image: Image, run_dir: Path) -> tuple[str, str]:
    if wanted in ("kvm", "tcg"):
        return wanted, "chosen with --accel"
    if image.kernel is None:
        return "tcg", "no kernel to probe KVM with"
    from .image import cache_root
    ok, why = probe_kvm(image.kernel, cache_root())
    return ("kvm" if ok else "tcg"), why


_MARKS = (
    ("ignition done", ("Finished ignition-files.service", "Reached target ignition-complete.target")),
    ("switch root", ("Switching root.", "Reached target initrd-switch-root.target")),
)


def _wait_boot(vm: VM, guest: Guest, deadline: float, result: BootResult, event: Event,
               cancel: threading.Event | None = None) -> None:
    """Poll the console and SSH until the guest answers; fail fast on a console failure or `cancel`."""
    fatal = ("emergency shell", "Ignition failure", "kernel panic", "dracut fatal")
    next_ssh = time.monotonic()
    while True:
        now = time.monotonic()
        text = "\n".join(clean(vm.console()))
        for mark, needles in _MARKS:
            if mark not in result.timings and any(n in text for n in needles):
                result.timings[mark] = round(now - vm.started, 1)
                event(f"{mark} after {result.timings[mark]:.0f}s")
        for finding in scan(text):
            if finding.what in fatal:
                raise BootError(f"{finding.what} on the console: {finding.line}")
        if not vm.alive():
            raise BootError(f"QEMU exited with status {vm.proc.returncode}: {vm.messages()[-500:]}")
        check_stop()
        if cancel is not None and cancel.is_set():
            raise BootError("cancelled before SSH answered")
        if now >= deadline:
            raise BootError(f"SSH did not answer within {deadline - vm.started:.0f}s of QEMU start")
        # before switch-root nothing can answer; after it, try every few seconds
        if ("switch root" in result.timings or now - vm.started > 60) and now >= next_ssh:
            if guest.reachable():
                result.timings["ssh up"] = round(time.monotonic() - vm.started, 1)
                event(f"SSH up after {result.timings['ssh up']:.0f}s")
                return
            next_ssh = time.monotonic() + 3
        time.sleep(1)


def _console_tail(text: str, lines: int = 40) -> str:
    return "\n".join([line for line in clean(text) if line.strip()][-lines:])


def boot_interactive(name: str, cfg: dict, image: Image, options: BootOptions, event: Event,
                     ready: Callable[[str, Path], None]) -> None:
    """Boot and keep the VM running until it powers off or the user interrupts.

    Ctrl-C (KeyboardInterrupt, SIGINT) while it runs powers the guest off cleanly, then is raised
    again; any other interruption (SIGTERM, SIGHUP: Interrupted) stops QEMU at once. The run
    directory is removed at the end unless `options.keep`."""
    interrupted: list[KeyboardInterrupt] = []

    def hold(guest: Guest, vm: VM) -> None:
        ready(" ".join(guest.argv("")[:-1]), vm.serial.parent)
        try:
            while vm.alive():
                time.sleep(1)
        except KeyboardInterrupt as exc:
            if getattr(exc, "signame", "SIGINT") != "SIGINT":
                raise
            event("interrupted: powering the VM off")
            interrupted.append(exc)
    result = _boot_once(name, cfg, image, options, event, derive(cfg), hold)
    if interrupted:
        raise interrupted[0]
    if "ssh up" not in result.timings:
        why = "; ".join(c.seen for c in result.results.failed) or "SSH did not answer"
        where = f"; console log: {result.console_log}" if options.keep else " (--keep keeps its console log)"
        raise BootError(f"{name} did not come up: {why}{where}")
