"""The steps of a deploy, each one call (or one wait) against the cloud, run
in the order the plan lists them. Progress goes out as events; nothing prints."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .connection import Cloud, find_or_none
from .errors import ApiError, CloudError, IgnitionFailed, WaitTimeout
from .safety import check_volume_device
from .state import META_IGNITION, META_SHA, server_metadata, write_state

if TYPE_CHECKING:
    from .plan import DeployPlan

CONSOLE_LINES = 400

IGNITION_SUCCESS = re.compile(r"Reached target ignition-complete\.target|"
                              r"ignition\[\d+\]: Ignition finished successfully")
IGNITION_FAILURE = re.compile(r"Failed to start ignition-[\w-]+\.service|Ignition has failed|"
                              r"ignition\[\d+\]: .*\bCRITICAL\b|Entering emergency mode")


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
        self.console_before = ""
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

    def create():
        if run.cloud.retried:  # after a 5xx the server may exist anyway: adopt it, never make a twin
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
        run.emit(Event("warn", "read console", f"console not readable before the rebuild: {exc.detail}"))


def rebuild(run: Run) -> None:
    conn, cfg = run.cloud.conn, run.plan.config

    def rebuild():
        if run.cloud.retried:  # a 5xx may hide an accepted rebuild: do not issue a second one
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


def watch_ignition(run: Run) -> None:
    def probe():
        try:
            text = _console_text(run, CONSOLE_LINES)
        except ApiError as exc:
            if exc.status in (404, 409, 501):  # console not ready or not offered: keep polling until timeout
                return False, f"console not available ({exc.status})"
            raise
        anchor = run.console_before[-300:]
        if anchor and anchor in text:  # the log kept the old boot: only what follows it counts
            text = text[text.rindex(anchor) + len(anchor):]
        verdict = _verdict(text)
        return verdict is not None, verdict or "waiting for Ignition"
    try:
        run.ignition = _wait(run, "watch ignition", run.cloud.timings.ignition_timeout, probe,
                             _volume_hint(run) + "the server is up but Ignition did not report; read "
                                                 "`openstack console log show` to see why")
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
