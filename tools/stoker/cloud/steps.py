"""The steps of a deploy, each one call (or one wait) against the cloud, run
in the order the plan lists them. Progress goes out as events; nothing prints."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .config import bind_volume
from .connection import Cloud, find_or_none
from .errors import ApiError, CloudError, IgnitionFailed, WaitTimeout
from .safety import check_volume_device
from .state import META_IGNITION, META_SHA, server_metadata, write_state

if TYPE_CHECKING:
    from .plan import DeployPlan

# Lines asked of os-getConsoleOutput while watching. Nova's libvirt driver returns
# at most the last 100 KiB of the log anyway (MAX_CONSOLE_BYTES in
# nova/virt/libvirt/driver.py, read across virtlogd's rotated files) and only then
# keeps the last `length` lines (nova/compute/manager.py _tail_log). The limit is
# for clouds without such a cap: large, so that a boot's start and its verdict
# stay in view from one poll to the next (a verdict that scrolls out between two
# polls is never seen), yet bounded, since the watch reads it every poll.
CONSOLE_LINES = 5000

# Ignition's verdict on a serial console. Success is only the target: Ignition
# runs once per stage (fetch-offline, fetch, kargs, disks, mount, files: one
# `ignition --stage=…` unit each, coreos/ignition dracut/30ignition) and logs
# "Ignition finished successfully" at the end of every stage (internal/main.go),
# so that line follows a passed fetch stage even when the disks stage then
# fails. ignition-complete.target ("Ignition Complete") is reached after the last
# stage, on a first boot only; systemd shows a unit by its description, its name
# or both, as its StatusUnitFormat= says. A failed stage unit isolates
# emergency.target (OnFailure=).
IGNITION_SUCCESS = re.compile(r"Reached target (?:ignition-complete\.target|Ignition Complete)")
IGNITION_FAILURE = re.compile(r"Failed to start ignition-[\w-]+\.service|Ignition has failed|"
                              r"ignition\[\d+\]: .*\bCRITICAL\b|Entering emergency mode")

# What starts a boot on a Linux serial console: the kernel prints its banner
# ("Linux version <release> (<builder>) (<compiler>) <version>", init/version.c)
# first thing in start_kernel, and the command line a little later ("Kernel
# command line: …", init/main.c; x86 also prints "Command line: …" in
# setup_arch). Fedora CoreOS boots with console=tty0 console=ttyS0,115200n8 and
# no `quiet`, so both reach the serial log; on a first boot GRUB adds
# `ignition.firstboot` (a stamp file in /boot, coreos/bootupd's GRUB snippet).
# Other output can interleave mid-line ("Startin[    2.70] systemd[1]: …", seen
# in fedora-coreos-tracker#896), so the markers are found anywhere in a line.
KERNEL_BANNER = re.compile(r"Linux version \d+\.\d+\S*")
KERNEL_CMDLINE = re.compile(r"(?:Kernel command line|Command line): ")


@dataclass
class Event:
    kind: str        # step | wait | done | note | warn
    step: str
    message: str = ""
    elapsed: float = 0.0
    timeout: float = 0.0


class Run:
    """What one execution carries between steps."""

    def __init__(self, cloud: Cloud, plan: DeployPlan, state_dir: Path, emit: Callable[[Event], None],
                 clock: Callable[[], float]):
        self.cloud, self.plan, self.state_dir, self.emit, self.clock = cloud, plan, state_dir, emit, clock
        self.vm = plan.placement.vm
        self.server_id = getattr(plan.state.server, "id", None)
        self.volume_id = getattr(plan.state.volume, "id", None)
        # the console read before the rebuild: "" for a new server (nothing came
        # before it), None when it could not be read
        self.console_before: str | None = ""
        self.ignition = "skipped"

    def call(self, step: str, fn, **kw):
        return self.cloud.call(step, fn, vm=self.vm, server=self.server_id, **kw)


def _wait(run: Run, step: str, timeout: float, probe: Callable[[], tuple[bool, str]], hint: str) -> str:
    start = run.clock()
    while True:
        done, status = probe()
        elapsed = run.clock() - start
        run.emit(Event("wait", step, status, elapsed, timeout))
        if done:
            return status
        if elapsed >= timeout:
            raise WaitTimeout(f"still {status} after {elapsed:.0f}s (timeout {timeout:.0f}s)",
                              vm=run.vm, server=run.server_id, step=step, hint=hint)
        run.cloud.sleep(run.cloud.timings.poll)


def _volume_hint(run: Run) -> str:
    p = run.plan.placement
    if not p.volume:
        return ""
    return f"the data volume {p.volume.name} ({run.volume_id or 'not created'}) was not deleted; "


def create_volume(run: Run) -> None:
    conn, p = run.cloud.conn, run.plan.placement

    def create():
        existing = find_or_none(conn.block_storage.find_volume, p.volume.name)  # a retried POST may have landed
        return existing or conn.block_storage.create_volume(name=p.volume.name, size=p.volume.size,
                                                            description=f"stoker data volume of {run.vm}")
    volume = run.call("create volume", create)
    run.volume_id = volume.id

    def probe():
        v = run.call("wait volume", lambda: conn.block_storage.get_volume(run.volume_id))
        if v.status == "error":
            raise CloudError(f"volume {p.volume.name} went to status error", vm=run.vm, step="wait volume",
                             hint="inspect it with `openstack volume show`; stoker did not delete it")
        return v.status == "available", v.status
    _wait(run, "wait volume", run.cloud.timings.volume_timeout, probe,
          f"volume {p.volume.name} ({run.volume_id}) is kept; run the deploy again once it is available")
    # The config named the new disk by a placeholder: now that the volume has an id, bind it.
    run.plan.config = bind_volume(run.plan.config, p, run.volume_id)
    check_volume_device(p, run.plan.config, run.volume_id, "create volume")


def create_request(plan: DeployPlan, user_data: str, volume_id: str, metadata: dict) -> dict:
    """The `server` object of POST /servers, in the API's own field names (the
    SDK takes them as they are); the dry run prints it with the user-data redacted."""
    p, st = plan.placement, plan.state
    body = {"name": p.server_name, "flavorRef": st.flavor_id, "imageRef": st.image_id,
            "networks": [{"uuid": st.network_id, "fixed_ip": p.address}],
            "security_groups": [{"name": g} for g in p.security_groups],
            "user_data": user_data, "metadata": metadata}
    if p.key_pair:
        body["key_name"] = p.key_pair
    if p.volume:
        # Attached at boot, so Ignition's first run already sees the disk it mounts.
        body["block_device_mapping_v2"] = [{"uuid": volume_id, "source_type": "volume", "destination_type": "volume",
                                            "boot_index": -1, "delete_on_termination": False}]
    return body


def rebuild_request(plan: DeployPlan, user_data: str, metadata: dict) -> dict:
    """The `rebuild` action's arguments; user_data needs compute microversion 2.57+."""
    return {"imageRef": plan.state.image_id, "user_data": user_data, "metadata": metadata}


def _new_metadata(run: Run) -> dict:
    return server_metadata(run.plan.state.metadata, run.vm, run.plan.config)


def create_server(run: Run) -> None:
    conn, p, cfg = run.cloud.conn, run.plan.placement, run.plan.config
    body = create_request(run.plan, cfg.user_data, run.volume_id, _new_metadata(run))

    attempts = 0

    def create():
        nonlocal attempts
        attempts += 1
        if attempts > 1:  # after a 5xx or a lost answer the server may exist anyway: adopt it, never make a twin
            existing = find_or_none(conn.compute.find_server, p.server_name)
            if existing is not None:
                return existing
        return conn.compute.create_server(**body)
    server = run.call("create server", create)
    run.server_id = server.id
    write_state(run.state_dir, run.vm, cfg)


def attach_volume(run: Run) -> None:
    conn = run.cloud.conn
    run.call("attach volume", lambda: conn.compute.create_volume_attachment(run.server_id, volume=run.volume_id),
             hint=_volume_hint(run) + "attach it with `openstack server add volume` and run the deploy again")

    # Nova attaches asynchronously: the volume API says when it is done.
    def probe():
        v = run.call("attach volume", lambda: conn.block_storage.get_volume(run.volume_id))
        if v.status in ("available", "error_attaching", "error"):
            raise CloudError(f"volume {v.name} did not attach (status {v.status})", vm=run.vm, server=run.server_id,
                             step="attach volume",
                             hint=_volume_hint(run) + "attach it with `openstack server add volume`, then deploy again")
        return v.status == "in-use", v.status
    _wait(run, "attach volume", run.cloud.timings.volume_timeout, probe,
          _volume_hint(run) + "check `openstack volume show`; deploy again once it is in-use")


def _console_text(run: Run, length: int | None) -> str:
    conn = run.cloud.conn
    out = run.call("read console", lambda: conn.compute.get_server_console_output(run.server_id, length=length))
    return (out or {}).get("output") or ""


def console_before(run: Run) -> None:
    try:
        run.console_before = _console_text(run, None)
    except ApiError as exc:
        run.console_before = None
        run.emit(Event("warn", "read console", f"console not readable before the rebuild ({exc.detail}); only "
                                               "what it prints while stoker watches can give Ignition's verdict"))
        return
    run.emit(Event("note", "read console", f"{len(boot_starts(run.console_before))} boot(s) on the console "
                                           "before the rebuild"))


def rebuild(run: Run) -> None:
    conn, cfg = run.cloud.conn, run.plan.config

    attempts = 0

    def rebuild():
        nonlocal attempts
        attempts += 1
        if attempts > 1:  # a 5xx or a lost answer may hide an accepted rebuild: do not issue a second one
            current = conn.compute.get_server(run.server_id)
            if current.status == "REBUILD" or (current.metadata or {}).get(META_SHA) == cfg.sha256:
                return current
        args = rebuild_request(run.plan, cfg.user_data, _new_metadata(run))
        return conn.compute.rebuild_server(run.server_id, image=args.pop("imageRef"), **args)
    run.call("rebuild server", rebuild, hint=_volume_hint(run) + "the server was not rebuilt; run the deploy again")
    write_state(run.state_dir, run.vm, cfg)


def wait_active(run: Run) -> None:
    conn = run.cloud.conn

    def probe():
        s = run.call("wait active", lambda: conn.compute.get_server(run.server_id))
        if s.status == "ERROR":
            fault = (getattr(s, "fault", None) or {}).get("message", "no fault message")
            raise CloudError(f"server went to ERROR: {fault}", vm=run.vm, server=run.server_id, step="wait active",
                             hint=_volume_hint(run) + "fix the cause and run `stoker deploy` again "
                                  "(a server in ERROR can be rebuilt)")
        return s.status == "ACTIVE", s.status
    _wait(run, "wait active", run.cloud.timings.active_timeout, probe,
          _volume_hint(run) + "look at `openstack server show` and the console log; "
                              "run `stoker deploy` again once the server has settled")


def check_volume(run: Run) -> None:
    conn, p = run.cloud.conn, run.plan.placement
    attached = run.call("check volume", lambda: [a.volume_id for a in conn.compute.volume_attachments(run.server_id)])
    if run.volume_id in attached:
        return
    run.emit(Event("warn", "check volume", f"{p.volume.name} is not attached after the deploy; attaching it"))
    attach_volume(run)


def _verdict(text: str) -> str | None:
    if IGNITION_FAILURE.search(text):
        return "failed"
    if IGNITION_SUCCESS.search(text):
        return "success"
    return None


def boot_starts(text: str) -> list[int]:
    """Offsets in `text` (a console log or its tail) where a boot begins: each
    kernel banner and, when the text opens inside a boot whose banner is cut
    off, that boot's kernel command line (the banner comes first, so a command
    line before the first banner belongs to a boot that began out of view)."""
    starts = [m.start() for m in KERNEL_BANNER.finditer(text)]
    cmdline = KERNEL_CMDLINE.search(text, 0, starts[0] if starts else len(text))
    return ([cmdline.start()] if cmdline else []) + starts


def _overlap(before: str, after: str) -> int:
    """The length of the longest head of `after` that is also a tail of
    `before`: where `before` ends inside `after`, if `after` is `before` plus
    newer text with some of its head cut off. When repeated text allows several
    such places this is the latest one, so text past it is newer than `before`
    whichever place is the real one. Knuth-Morris-Pratt; O(len(before) + len(after))."""
    if after.startswith(before):
        return len(before)
    tail = before[-len(after):] if after else ""  # a longer match cannot fit in `after`
    pattern = after[:len(tail)]
    fail = [0] * len(pattern)  # fail[i]: longest proper border of pattern[:i + 1]
    k = 0
    for i in range(1, len(pattern)):
        while k and pattern[i] != pattern[k]:
            k = fail[k - 1]
        if pattern[i] == pattern[k]:
            k += 1
        fail[i] = k
    k = 0
    for ch in tail:
        while k and (k == len(pattern) or pattern[k] != ch):
            k = fail[k - 1]
        if k < len(pattern) and pattern[k] == ch:
            k += 1
    return k


class BootWatch:
    """Tells, from successive reads of a server's console, what the boots that
    began after its rebuild printed, and Ignition's verdict in them.

    What a console read is (facts): the log keeps every boot and grows at its
    end (Nova's libvirt driver logs the guest's serial port to a file, rotated
    by virtlogd, and reads it back across the rotated files); a read returns its
    tail under the cloud's limit (Nova: the last 100 KiB, then the last
    `length` lines); a rebuild may start the log afresh (Nova's libvirt driver
    deletes the instance directory, console.log included, with the old guest)
    or keep it. So each read is the one before plus newer text with some of its
    head cut off, or all new. Two boots of one image can print the very same
    lines, so content cannot date a boot: position does.

    Offsets into the latest read, each carried from read to read through
    `_overlap` (the latest alignment, so an offset can only come out late,
    never early: an ambiguous console costs a timeout, never an old verdict):
    `fresh`, where the text written after the pre-rebuild read begins (the
    boots starting there are the ones beyond those counted before the rebuild);
    `first_new`, where the first boot that began in that text begins (0 once
    it scrolled out of view); `live`, where the text written after the first
    read of the watch begins: that read follows the server's return to ACTIVE,
    when the old guest is gone, so everything after it is the new guest's.
    """

    def __init__(self, before: str | None):
        """`before`: the console read before the rebuild; "" for a new server;
        None when it could not be read (then only boots and text that appear
        after the first read of the watch count)."""
        self.text = before or ""
        self.boots_before = len(boot_starts(self.text))
        self.fresh: int | None = None if before is None else len(self.text)
        self.first_new: int | None = None
        self.live: int | None = None

    def read(self, text: str) -> None:
        """Take the console's current tail, as the cloud returned it."""
        dropped = len(self.text) - _overlap(self.text, text)
        self.fresh, self.first_new, self.live = (None if pos is None else max(0, pos - dropped)
                                                 for pos in (self.fresh, self.first_new, self.live))
        if self.live is None:
            self.live = len(text)
        if self.fresh is None:  # no read from before the rebuild: nothing in this first one can be dated
            self.fresh = len(text)
        new = [start for start in boot_starts(text) if start >= self.fresh]
        if new and (self.first_new is None or new[0] < self.first_new):
            self.first_new = new[0]
        self.text = text

    @property
    def unmarked(self) -> bool:
        """The console shows no boot start at all (a cloud that logs no kernel
        lines, or a limit that cut them off): text written after the pre-rebuild
        read is then judged as it is."""
        return not boot_starts(self.text)

    def verdict(self) -> str | None:
        """"success" or "failed" from the newest boot since the rebuild that shows
        one (a boot can end in a reboot before Ignition's last stage, e.g. to
        apply kernel arguments, and the next boot runs it again), else None."""
        starts = [pos for pos in (self.first_new, self.live, self.fresh if self.unmarked else None)
                  if pos is not None and pos < len(self.text)]
        if not starts:
            return None
        region = self.text[min(starts):]
        cuts = [0] + [pos for pos in boot_starts(region) if pos > 0] + [len(region)]
        for begin, end in reversed(list(zip(cuts, cuts[1:]))):
            if verdict := _verdict(region[begin:end]):
                return verdict
        return None

    def status(self) -> str:
        if self.first_new is not None:
            return "waiting for Ignition (a new boot has started)"
        if self.unmarked:
            return "waiting for Ignition (the console shows no boot start)"
        before = f" ({self.boots_before} before the rebuild)" if self.boots_before else ""
        return f"waiting for Ignition: no new boot on the console yet{before}"


def watch_ignition(run: Run) -> None:
    watch = BootWatch(run.console_before)
    noted = False

    def probe():
        nonlocal noted
        try:
            text = _console_text(run, CONSOLE_LINES)
        except ApiError as exc:
            if exc.status in (404, 409, 501):  # console not ready or not offered: keep polling until timeout
                return False, f"console not available ({exc.status})"
            raise
        if not text:  # a log not written yet says nothing about which boot is which
            return False, "console empty"
        watch.read(text)
        if watch.unmarked and not noted:
            noted = True
            run.emit(Event("warn", "watch ignition", "the console shows no kernel boot line ('Linux version …'), "
                                                     "so its boots cannot be told apart: judging only what it "
                                                     "printed after the rebuild was requested"))
        verdict = watch.verdict()
        return verdict is not None, verdict or watch.status()
    try:
        run.ignition = _wait(run, "watch ignition", run.cloud.timings.ignition_timeout, probe,
                             _volume_hint(run) + "the server is up, but its console showed no Ignition verdict from a "
                                                 "boot since the deploy (recorded as unknown): read `openstack "
                                                 f"console log show {run.server_id}`; if Ignition failed, fix the "
                                                 "config and deploy again; if the boot is only slow, deploy again "
                                                 "with --force and a longer --timeout")
    except WaitTimeout:
        run.ignition = "unknown"
        record_result(run)
        raise


def record_result(run: Run) -> None:
    conn = run.cloud.conn
    run.call("record result", lambda: conn.compute.set_server_metadata(run.server_id, **{META_IGNITION: run.ignition}))
    if run.ignition == "failed":
        raise IgnitionFailed("Ignition reported failure on the console", vm=run.vm, server=run.server_id,
                             step="watch ignition",
                             hint=_volume_hint(run) + "read `openstack console log show`, fix the config, "
                                                      "then `stoker deploy` rebuilds again")
