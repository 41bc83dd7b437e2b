"""Plan and carry out one VM's deploy: create the server, or rebuild it in
place, from an Ignition config, without ever deleting its data volume.

`preflight` refuses before any call to the cloud; `read_cloud` only reads;
`make_plan` decides (create, rebuild, attach, nothing) and lists the API calls;
`execute` runs them, reporting progress through a callback. Library code: it
never prints; the CLI renders the events.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..errors import StokerError
from .config import (NOVA_USER_DATA_LIMIT, Config, data_devices, dev_secret_places, effective_config,
                     parse_config)
from .connection import Cloud, Timings, find_or_none
from .diff import ConfigDiff, diff_configs
from .errors import (ApiError, CloudError, IgnitionFailed, RefusedError, UserDataTooLarge,
                     VolumeSafetyError, WaitTimeout)
from .placement import Placement
from .state import read_state, write_state

REBUILD_MICROVERSION = (2, 57)  # first compute microversion whose rebuild takes user_data
META_SHA, META_VERSION, META_TIME, META_VM, META_IGNITION = (
    "stoker_config_sha256", "stoker_version", "stoker_deployed_at", "stoker_vm", "stoker_ignition")
CONSOLE_LINES = 400

IGNITION_SUCCESS = re.compile(r"Reached target ignition-complete\.target|ignition\[\d+\]: Ignition finished successfully")
IGNITION_FAILURE = re.compile(r"Failed to start ignition-[\w-]+\.service|Ignition has failed|"
                              r"ignition\[\d+\]: .*\bCRITICAL\b|Entering emergency mode")


@dataclass
class Event:
    kind: str        # step | wait | done | note | warn
    step: str
    message: str = ""
    elapsed: float = 0.0
    timeout: float = 0.0


@dataclass(frozen=True)
class ApiCall:
    method: str
    service: str
    path: str
    body: Any = None
    note: str = ""

    def text(self) -> str:
        body = f"  {json.dumps(self.body, ensure_ascii=False)}" if self.body is not None else ""
        note = f"  ({self.note})" if self.note else ""
        return f"{self.method:<6} {self.service:<13} {self.path}{body}{note}"


@dataclass
class CloudState:
    server: Any | None
    volume: Any | None
    volume_server: str | None     # id of the server the volume is attached to, if any
    image_id: str
    flavor_id: str
    network_id: str
    microversion: str | None

    @property
    def metadata(self) -> dict:
        return dict(getattr(self.server, "metadata", None) or {}) if self.server else {}


@dataclass
class Step:
    name: str
    calls: list[ApiCall]
    run: Callable[["_Run"], None]


@dataclass
class DeployPlan:
    placement: Placement
    config: Config
    action: str                      # create | rebuild | attach | none
    reason: str
    diff: ConfigDiff
    previous_sha: str | None
    previous_source: str             # where the old config came from
    state: CloudState
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return self.action != "none"

    def api_calls(self) -> list[ApiCall]:
        return [c for s in self.steps for c in s.calls]


@dataclass
class DeployResult:
    action: str
    server_id: str | None
    ignition: str                    # success | failed | unknown | skipped
    retried: list[str]
    elapsed: float


def redact_user_data(config: Config) -> str:
    return f"<redacted: {len(config.user_data):,} base64 chars, sha256 {config.sha256[:12]}…>"


# -- before any call to the cloud --------------------------------------------------

def preflight(placement: Placement, config: Config, allow_dev_secrets: bool = False) -> None:
    vm = placement.vm
    dev = dev_secret_places(effective_config(config.document))
    if dev and not allow_dev_secrets:
        raise RefusedError(
            f"the config was rendered with throwaway dev secrets (in {', '.join(dev)})", vm=vm, step="preflight",
            hint=f"render it with the real secrets: make ignition vm={vm} secrets=FILE")
    size = len(config.user_data)
    if size > NOVA_USER_DATA_LIMIT:
        raise UserDataTooLarge(
            f"user-data is {size:,} base64 characters; Nova accepts at most {NOVA_USER_DATA_LIMIT:,}",
            vm=vm, step="preflight",
            hint="shrink the config (compress it, move large files out of Ignition) and build again")
    doc = effective_config(config.document)
    devices = data_devices(doc)
    if devices and placement.volume is None:
        names = ", ".join(sorted({d["device"] for d in devices}))
        raise VolumeSafetyError(
            f"the config puts filesystems on {names} but the placement declares no data volume, "
            "so none would be attached to the server", vm=vm, step="preflight",
            hint=f"add `volume: {{name: ..., size: ...}}` to vms.{vm} in the placement")


# -- reading the cloud (GET only) ----------------------------------------------------

def read_cloud(cloud: Cloud, placement: Placement) -> CloudState:
    vm, conn = placement.vm, cloud.conn
    server = cloud.call("find server", lambda: find_or_none(conn.compute.find_server, placement.server_name),
                        vm=vm)
    if server is not None:
        server = cloud.call("read server", lambda: conn.compute.get_server(server.id), vm=vm, server=server.id)
        owner = (server.metadata or {}).get(META_VM)
        if owner and owner != vm:
            raise RefusedError(f"server {placement.server_name} belongs to VM {owner!r}, not {vm!r}",
                               vm=vm, server=server.id, step="read server")
    volume = volume_server = None
    if placement.volume:
        volume = cloud.call("find volume", lambda: find_or_none(conn.block_storage.find_volume, placement.volume.name), vm=vm)
        if volume is not None:
            attachments = volume.attachments or []
            volume_server = attachments[0].get("server_id") if attachments else None
    image = cloud.call("find image", lambda: conn.image.find_image(placement.image, ignore_missing=False), vm=vm,
                       hint=f"no image {placement.image!r} in cloud {placement.cloud}; upload Fedora CoreOS or fix the placement")
    flavor = cloud.call("find flavor", lambda: conn.compute.find_flavor(placement.flavor, ignore_missing=False), vm=vm)
    network = cloud.call("find network", lambda: conn.network.find_network(placement.network, ignore_missing=False),
                         vm=vm)
    microversion = cloud.call("compute versions", cloud.compute_microversion, vm=vm)
    return CloudState(server, volume, volume_server, image.id, flavor.id, network.id, microversion)


def previous_config(state: CloudState, placement: Placement, state_dir: Path) -> tuple[dict | None, str]:
    """The config the server was last deployed with: state/<vm>.ign when its hash
    matches the server's metadata, else the server's own user_data (readable at
    compute 2.3+ where policy allows), else unknown."""
    deployed = state.metadata.get(META_SHA)
    local = read_state(state_dir, placement.vm)
    if local is not None and (deployed is None or local.sha256 == deployed):
        return local.document, str(state_dir / f"{placement.vm}.ign")
    user_data = getattr(state.server, "user_data", None)
    if user_data:
        try:
            fetched = parse_config(base64.b64decode(user_data))
        except (ValueError, StokerError):  # an unreadable old config only costs detail
            fetched = None
        if fetched is not None and (deployed is None or fetched.sha256 == deployed):
            return fetched.document, "the server's user_data"
    return None, "unknown"


def volume_device(volume_id: str) -> str:
    """Where a Cinder volume shows up in a KVM guest: libvirt gives the virtio
    disk the volume id as serial, and virtio keeps its first 20 characters."""
    return f"/dev/disk/by-id/virtio-{volume_id[:20]}"


def check_volume_device(placement: Placement, config: Config, volume_id: str, step: str) -> None:
    """Refuse when the config mounts a virtio disk by id that is not this volume:
    the server would boot without its data where the config expects it."""
    want = volume_device(volume_id)
    wrong = sorted({d["device"] for d in data_devices(effective_config(config.document))
                    if d["device"].startswith("/dev/disk/by-id/virtio-") and d["device"] != want})
    if wrong:
        raise VolumeSafetyError(
            f"the config expects the data disk at {', '.join(wrong)}, but volume {placement.volume.name} "
            f"({volume_id}) appears as {want}", vm=placement.vm, step=step,
            hint=f"set fleet.yaml volumes.{placement.volume.name}: {want.rsplit('/', 1)[1]}, run "
                 f"`make ignition vm={placement.vm}`, and deploy again (the volume is kept)")


def _mv_tuple(text: str | None) -> tuple[int, int]:
    if not text:
        return (2, 1)
    major, minor = text.split(".")
    return int(major), int(minor)


# -- deciding ------------------------------------------------------------------------------

def make_plan(placement: Placement, config: Config, state: CloudState, state_dir: Path,
              cloud: Cloud | None = None, force: bool = False) -> DeployPlan:
    vm, server, volume = placement.vm, state.server, state.volume
    preflight(placement, config, allow_dev_secrets=True)
    warnings: list[str] = []
    if dev := dev_secret_places(effective_config(config.document)):
        warnings.append(f"rendered with throwaway dev secrets ({', '.join(dev)}): `stoker deploy` will refuse it")
    if volume is not None and state.volume_server and (server is None or state.volume_server != server.id):
        raise VolumeSafetyError(
            f"data volume {placement.volume.name} ({volume.id}) is attached to another server "
            f"{state.volume_server}; it would not be attached to this one", vm=vm,
            server=getattr(server, "id", None), step="plan",
            hint="detach it from the other server (openstack server remove volume) once that server is stopped")
    if volume is not None:
        check_volume_device(placement, config, volume.id, "plan")
        wiping = [f["device"] for f in data_devices(effective_config(config.document)) if f.get("wipeFilesystem")]
        if wiping:
            raise VolumeSafetyError(
                f"the config would wipe the filesystem on {', '.join(wiping)}, and the data volume "
                f"{placement.volume.name} already exists", vm=vm, step="plan",
                hint="set wipe_filesystem: false for the data volume's filesystem")
        if volume.size is not None and placement.volume.size != volume.size:
            warnings.append(f"volume {placement.volume.name} is {volume.size} GiB, placement says "
                            f"{placement.volume.size} GiB; stoker never resizes volumes")
    if placement.volume and volume is None:
        virtio = sorted({d["device"] for d in data_devices(effective_config(config.document))
                         if d["device"].startswith("/dev/disk/by-id/virtio-")})
        if virtio:
            warnings.append(f"volume {placement.volume.name} will be created; the config expects it at "
                            f"{', '.join(virtio)}, which names the disk by the volume's id: the deploy stops "
                            "after creating the volume and says what to put in fleet.yaml")
    old_doc, source = (None, "none") if server is None else previous_config(state, placement, state_dir)
    deployed_sha = state.metadata.get(META_SHA)
    diff = diff_configs(old_doc, config.document)
    if server is None:
        action, reason = "create", f"server {placement.server_name} does not exist"
    elif deployed_sha == config.sha256 and not force:
        diff = ConfigDiff([])
        action, reason = "none", f"server {server.id} already runs config {config.sha256[:12]}"
        if state.metadata.get(META_IGNITION) == "failed":
            warnings.append("Ignition failed on the last deploy of this config; --force rebuilds anyway")
        if server.status != "ACTIVE":
            warnings.append(f"server is {server.status}; a deploy with an unchanged config does not touch it")
    else:
        action = "rebuild"
        reason = ("--force given" if deployed_sha == config.sha256 else
                  f"deployed config {deployed_sha[:12] if deployed_sha else '(not recorded)'} "
                  f"differs from {config.sha256[:12]}")
        if old_doc is None:
            warnings.append(f"the last deployed config ({deployed_sha or 'unknown'}) is not in "
                            f"{state_dir}/{vm}.ign nor readable from the server: every item shows as added")
        if _mv_tuple(state.microversion) < REBUILD_MICROVERSION:
            raise RefusedError(
                f"the cloud's compute API goes up to microversion {state.microversion}; rebuilding with new "
                "user_data needs 2.57 or later", vm=vm, server=server.id, step="plan",
                hint="ask the cloud operators for a newer Nova, or delete and create the server by hand "
                     "(the data volume survives server deletion; stoker never deletes it)")
    attach_needed = placement.volume is not None and (volume is None or state.volume_server is None)
    if action == "none" and attach_needed:
        action, reason = "attach", f"data volume {placement.volume.name} is not attached"
        warnings.append("the volume is attached to a running server: reboot it, or deploy with --force, "
                        "for its mounts to come up")
    plan = DeployPlan(placement, config, action, reason, diff, deployed_sha, source, state, warnings=warnings)
    plan.steps = _steps(plan, cloud.timings if cloud else Timings())
    return plan


# -- the steps ------------------------------------------------------------------------------

class _Run:
    """What one execution carries between steps."""

    def __init__(self, cloud: Cloud, plan: DeployPlan, state_dir: Path, emit: Callable[[Event], None],
                 clock=time.monotonic):
        self.cloud, self.plan, self.state_dir, self.emit, self.clock = cloud, plan, state_dir, emit, clock
        self.vm = plan.placement.vm
        self.server_id = getattr(plan.state.server, "id", None)
        self.volume_id = getattr(plan.state.volume, "id", None)
        self.console_before = ""
        self.ignition = "skipped"

    def call(self, step: str, fn, **kw):
        return self.cloud.call(step, fn, vm=self.vm, server=self.server_id, **kw)


def _metadata(plan: DeployPlan, when: str | None = None) -> dict:
    """The server's metadata after the deploy: the operator's own keys are kept."""
    meta = {k: v for k, v in plan.state.metadata.items() if not k.startswith("stoker_")}
    meta.update({META_VM: plan.placement.vm, META_SHA: plan.config.sha256, META_VERSION: __version__,
                 META_TIME: when or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 META_IGNITION: "pending"})
    return meta


def _steps(plan: DeployPlan, timings: Timings) -> list[Step]:
    p, st, cfg = plan.placement, plan.state, plan.config
    sid = getattr(st.server, "id", None) or "<new server id>"
    vid = getattr(st.volume, "id", None) or "<new volume id>"
    steps: list[Step] = []
    if plan.action == "none":
        return steps
    if p.volume and st.volume is None:
        steps.append(Step("create volume", [
            ApiCall("POST", "block-storage", "/volumes", {"volume": {"name": p.volume.name, "size": p.volume.size}}),
            ApiCall("GET", "block-storage", f"/volumes/{vid}", note=f"poll until available, up to {timings.volume_timeout:g}s")], _create_volume))
    if plan.action == "create":
        body = {"server": {
            "name": p.server_name, "flavorRef": st.flavor_id, "imageRef": st.image_id,
            "networks": [{"uuid": st.network_id, "fixed_ip": p.address}],
            "security_groups": [{"name": g} for g in p.security_groups],
            **({"key_name": p.key_pair} if p.key_pair else {}),
            "user_data": redact_user_data(cfg), "metadata": _metadata(plan, "<deploy time>"),
            **({"block_device_mapping_v2": [{"uuid": vid, "source_type": "volume", "destination_type": "volume",
                                              "boot_index": -1, "delete_on_termination": False}]} if p.volume else {})}}
        steps.append(Step("create server", [ApiCall("POST", "compute", "/servers", body)], _create_server))
    else:
        if p.volume and st.volume_server is None:
            steps.append(Step("attach volume", [ApiCall(
                "POST", "compute", f"/servers/{sid}/os-volume_attachments", {"volumeAttachment": {"volumeId": vid}})],
                _attach_volume))
        if plan.action == "attach":
            return steps
        steps.append(Step("read console", [ApiCall(
            "POST", "compute", f"/servers/{sid}/action", {"os-getConsoleOutput": {}},
            note="console before the rebuild, to tell old boots from new")], _console_before))
        steps.append(Step("rebuild server", [ApiCall(
            "POST", "compute", f"/servers/{sid}/action",
            {"rebuild": {"imageRef": st.image_id, "user_data": redact_user_data(cfg), "metadata": _metadata(plan, "<deploy time>")}},
            note=f"OpenStack-API-Version: compute {st.microversion}")], _rebuild))
    steps.append(Step("wait active", [ApiCall("GET", "compute", f"/servers/{sid}",
                                              note=f"poll every {timings.poll:g}s until ACTIVE, up to {timings.active_timeout:g}s")], _wait_active))
    if p.volume:
        steps.append(Step("check volume", [ApiCall("GET", "compute", f"/servers/{sid}/os-volume_attachments",
                                                   note=f"{p.volume.name} must be attached; attach it if not")],
                          _check_volume))
    steps.append(Step("watch ignition", [ApiCall(
        "POST", "compute", f"/servers/{sid}/action", {"os-getConsoleOutput": {"length": CONSOLE_LINES}},
        note=f"poll until Ignition reports success or failure, up to {timings.ignition_timeout:g}s")], _watch_ignition))
    steps.append(Step("record result", [ApiCall("POST", "compute", f"/servers/{sid}/metadata",
                                                {"metadata": {META_IGNITION: "success|failed|unknown"}})],
                      _record_result))
    return steps


def _wait(run: _Run, step: str, timeout: float, probe: Callable[[], tuple[bool, str]], hint: str) -> str:
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


def _volume_hint(run: _Run) -> str:
    p = run.plan.placement
    if not p.volume:
        return ""
    return f"the data volume {p.volume.name} ({run.volume_id or 'not created'}) was not deleted; "


def _create_volume(run: _Run) -> None:
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


def _create_server(run: _Run) -> None:
    conn, p, st, cfg = run.cloud.conn, run.plan.placement, run.plan.state, run.plan.config
    attrs = dict(name=p.server_name, flavor_id=st.flavor_id, image_id=st.image_id,
                 networks=[{"uuid": st.network_id, "fixed_ip": p.address}],
                 security_groups=[{"name": g} for g in p.security_groups],
                 user_data=cfg.user_data, metadata=_metadata(run.plan))
    if p.key_pair:
        attrs["key_name"] = p.key_pair
    if p.volume:
        # Attached at boot, so Ignition's first run already sees the disk it mounts.
        attrs["block_device_mapping"] = [{"uuid": run.volume_id, "source_type": "volume",
                                          "destination_type": "volume", "boot_index": -1,
                                          "delete_on_termination": False}]

    def create():
        if run.cloud.retried:  # after a 5xx the server may exist anyway: adopt it, never make a twin
            existing = find_or_none(conn.compute.find_server, p.server_name)
            if existing is not None:
                return existing
        return conn.compute.create_server(**attrs)
    server = run.call("create server", create)
    run.server_id = server.id
    write_state(run.state_dir, run.vm, cfg)


def _attach_volume(run: _Run) -> None:
    conn = run.cloud.conn
    run.call("attach volume", lambda: conn.compute.create_volume_attachment(run.server_id, volume=run.volume_id),
             hint=_volume_hint(run) + "attach it with `openstack server add volume` and run the deploy again")


def _console_text(run: _Run, length: int | None) -> str:
    conn = run.cloud.conn
    out = run.call("read console", lambda: conn.compute.get_server_console_output(run.server_id, length=length))
    return (out or {}).get("output") or ""


def _console_before(run: _Run) -> None:
    try:
        run.console_before = _console_text(run, None)
    except ApiError as exc:
        run.emit(Event("warn", "read console", f"console not readable before the rebuild: {exc.detail}"))


def _rebuild(run: _Run) -> None:
    conn, st, cfg = run.cloud.conn, run.plan.state, run.plan.config

    def rebuild():
        if run.cloud.retried:  # a 5xx may hide an accepted rebuild: do not issue a second one
            current = conn.compute.get_server(run.server_id)
            if current.status == "REBUILD" or (current.metadata or {}).get(META_SHA) == cfg.sha256:
                return current
        return conn.compute.rebuild_server(run.server_id, image=st.image_id, user_data=cfg.user_data,
                                           metadata=_metadata(run.plan))
    run.call("rebuild server", rebuild, hint=_volume_hint(run) + "the server was not rebuilt; run the deploy again")
    write_state(run.state_dir, run.vm, cfg)


def _wait_active(run: _Run) -> None:
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


def _check_volume(run: _Run) -> None:
    conn, p = run.cloud.conn, run.plan.placement
    attached = run.call("check volume", lambda: [a.volume_id for a in conn.compute.volume_attachments(run.server_id)])
    if run.volume_id in attached:
        return
    run.emit(Event("warn", "check volume", f"{p.volume.name} is not attached after the deploy; attaching it"))
    _attach_volume(run)


def _verdict(text: str) -> str | None:
    if IGNITION_FAILURE.search(text):
        return "failed"
    if IGNITION_SUCCESS.search(text):
        return "success"
    return None


def _watch_ignition(run: _Run) -> None:
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
        _record_result(run)
        raise


def _record_result(run: _Run) -> None:
    conn = run.cloud.conn
    run.call("record result", lambda: conn.compute.set_server_metadata(run.server_id, **{META_IGNITION: run.ignition}))
    if run.ignition == "failed":
        raise IgnitionFailed("Ignition reported failure on the console", vm=run.vm, server=run.server_id,
                             step="watch ignition",
                             hint=_volume_hint(run) + "read `openstack console log show`, fix the config, "
                                                      "then `stoker deploy` rebuilds again")


def execute(cloud: Cloud, plan: DeployPlan, state_dir: Path, emit: Callable[[Event], None] = lambda e: None,
            clock=time.monotonic) -> DeployResult:
    start = clock()
    run = _Run(cloud, plan, state_dir, emit, clock)
    for step in plan.steps:
        emit(Event("step", step.name))
        step.run(run)
        emit(Event("done", step.name))
    return DeployResult(plan.action, run.server_id, run.ignition, list(cloud.retried), clock() - start)
