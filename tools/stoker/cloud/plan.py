"""Deciding a deploy: read the cloud (GET only), compare with what was
deployed, and list the steps with the API calls each makes, so that a dry run
can print exactly what a deploy would do."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import StokerError
from . import steps as run_steps
from .config import Config, data_devices, dev_secret_places, effective_config, parse_config
from .connection import Cloud, Timings, find_or_none
from .diff import ConfigDiff, diff_configs
from .errors import RefusedError, VolumeSafetyError
from .placement import Placement
from .safety import check_volume_device, preflight
from .state import META_IGNITION, META_SHA, META_VM, read_state, server_metadata

REBUILD_MICROVERSION = (2, 57)  # first compute microversion whose rebuild takes user_data


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
    run: Callable[["run_steps.Run"], None]


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


def redact_user_data(config: Config) -> str:
    return f"<redacted: {len(config.user_data):,} base64 chars, sha256 {config.sha256[:12]}…>"


def describe_server(server) -> str:
    """What an operator needs to recognise a server: id, status, image, creation time."""
    image = getattr(server, "image", None) or {}
    image_id = image.get("id") if isinstance(image, dict) else getattr(image, "id", None)
    return (f"{server.id}, {server.status}, image {image_id or '?'}, created {getattr(server, 'created_at', '?')}")


def check_owner(server, placement: Placement) -> None:
    """Refuse a server that stoker did not create for this VM: a deploy rebuilds
    its root disk, and the operators are moving off hand-made servers that carry
    the same names. `stoker adopt VM` takes one over on purpose."""
    vm = placement.vm
    owner = (server.metadata or {}).get(META_VM)
    if owner == vm:
        return
    if owner:
        raise RefusedError(f"server {placement.server_name} ({describe_server(server)}) belongs to VM {owner!r}, "
                           f"not {vm!r}", vm=vm, server=server.id, step="read server",
                           hint="fix the placement's server_name, or rename one of the servers")
    raise RefusedError(f"server {placement.server_name} ({describe_server(server)}) was not created by stoker: "
                       f"it has no {META_VM} metadata, and a deploy would rebuild its root disk",
                       vm=vm, server=server.id, step="read server",
                       hint=f"`stoker adopt {vm}` shows what a rebuild destroys and takes the server over on "
                            "purpose; or give the placement another server_name")


def read_cloud(cloud: Cloud, placement: Placement) -> CloudState:
    vm, conn = placement.vm, cloud.conn
    server = cloud.call("find server", lambda: find_or_none(conn.compute.find_server, placement.server_name),
                        vm=vm)
    if server is not None:
        server = cloud.call("read server", lambda: conn.compute.get_server(server.id), vm=vm, server=server.id)
        check_owner(server, placement)
    volume = volume_server = None
    if placement.volume:
        volume = cloud.call("find volume", lambda: find_or_none(conn.block_storage.find_volume,
                                                                placement.volume.name), vm=vm)
        if volume is not None:
            attachments = volume.attachments or []
            volume_server = attachments[0].get("server_id") if attachments else None
    image = cloud.call("find image", lambda: conn.image.find_image(placement.image, ignore_missing=False), vm=vm,
                       hint=f"no image {placement.image!r} in cloud {placement.cloud}; "
                            "upload Fedora CoreOS or fix the placement")
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


def _mv_tuple(text: str | None) -> tuple[int, int]:
    if not text:
        return (2, 1)
    major, minor = text.split(".")
    return int(major), int(minor)


def _volume_warnings(placement: Placement, config: Config, state: CloudState, doc: dict) -> list[str]:
    """Refuse what would leave the data volume unattached or wiped; warn about the rest."""
    vm, server, volume = placement.vm, state.server, state.volume
    warnings: list[str] = []
    if volume is not None and state.volume_server and (server is None or state.volume_server != server.id):
        raise VolumeSafetyError(
            f"data volume {placement.volume.name} ({volume.id}) is attached to another server "
            f"{state.volume_server}; it would not be attached to this one", vm=vm,
            server=getattr(server, "id", None), step="plan",
            hint="detach it from the other server (openstack server remove volume) once that server is stopped")
    if volume is not None:
        check_volume_device(placement, config, volume.id, "plan")
        wiping = [f["device"] for f in data_devices(doc) if f.get("wipeFilesystem")]
        if wiping:
            raise VolumeSafetyError(
                f"the config would wipe the filesystem on {', '.join(wiping)}, and the data volume "
                f"{placement.volume.name} already exists", vm=vm, step="plan",
                hint="set wipe_filesystem: false for the data volume's filesystem")
        if volume.size is not None and placement.volume.size != volume.size:
            warnings.append(f"volume {placement.volume.name} is {volume.size} GiB, placement says "
                            f"{placement.volume.size} GiB; stoker never resizes volumes")
    elif placement.volume:
        virtio = sorted({d["device"] for d in data_devices(doc) if d["device"].startswith("/dev/disk/by-id/virtio-")})
        if virtio:
            warnings.append(f"volume {placement.volume.name} will be created; the config expects it at "
                            f"{', '.join(virtio)}, which names the disk by the volume's id: the deploy stops "
                            "after creating the volume and says what to put in fleet.yaml")
    return warnings


def make_plan(placement: Placement, config: Config, state: CloudState, state_dir: Path,
              cloud: Cloud | None = None, force: bool = False) -> DeployPlan:
    vm, server, volume = placement.vm, state.server, state.volume
    preflight(placement, config, allow_dev_secrets=True)
    doc = effective_config(config.document)
    warnings: list[str] = []
    if dev := dev_secret_places(doc):
        warnings.append(f"rendered with throwaway dev secrets ({', '.join(dev)}): `stoker deploy` will refuse it")
    warnings += _volume_warnings(placement, config, state, doc)
    old_doc, source = (None, "none") if server is None else previous_config(state, placement, state_dir)
    deployed_sha = state.metadata.get(META_SHA)
    diff = diff_configs(old_doc, config.document)
    if server is None:
        action, reason = "create", f"server {placement.server_name} does not exist"
    elif deployed_sha == config.sha256 and not force and server.status != "ERROR":
        diff = ConfigDiff([])
        action, reason = "none", f"server {server.id} already runs config {config.sha256[:12]}"
        if state.metadata.get(META_IGNITION) == "failed":
            warnings.append("Ignition failed on the last deploy of this config; --force rebuilds anyway")
        if server.status != "ACTIVE":
            warnings.append(f"server is {server.status}; a deploy with an unchanged config does not touch it")
    else:
        if server.status not in ("ACTIVE", "SHUTOFF", "ERROR"):
            raise RefusedError(f"server is {server.status} (task {getattr(server, 'task_state', None) or '-'}); "
                               "Nova rebuilds only an ACTIVE, SHUTOFF or ERROR server", vm=vm, server=server.id,
                               step="plan", hint="wait until the server has settled, then deploy again")
        action = "rebuild"
        reason = ("--force given" if force and deployed_sha == config.sha256 else
                  "the server is in ERROR" if deployed_sha == config.sha256 else
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


def _steps(plan: DeployPlan, timings: Timings) -> list[Step]:
    p, st, cfg = plan.placement, plan.state, plan.config
    sid = getattr(st.server, "id", None) or "<new server id>"
    vid = getattr(st.volume, "id", None) or "<new volume id>"
    shown_metadata = server_metadata(st.metadata, p.vm, cfg, "<deploy time>")
    steps: list[Step] = []
    if plan.action == "none":
        return steps
    if p.volume and st.volume is None:
        steps.append(Step("create volume", [
            ApiCall("POST", "block-storage", "/volumes", {"volume": {"name": p.volume.name, "size": p.volume.size}}),
            ApiCall("GET", "block-storage", f"/volumes/{vid}",
                    note=f"poll until available, up to {timings.volume_timeout:g}s")], run_steps.create_volume))
    if plan.action == "create":
        body = {"server": run_steps.create_request(plan, redact_user_data(cfg), vid, shown_metadata)}
        steps.append(Step("create server", [ApiCall("POST", "compute", "/servers", body)], run_steps.create_server))
    else:
        if p.volume and st.volume_server is None:
            steps.append(Step("attach volume", [ApiCall(
                "POST", "compute", f"/servers/{sid}/os-volume_attachments", {"volumeAttachment": {"volumeId": vid}}),
                ApiCall("GET", "block-storage", f"/volumes/{vid}",
                        note=f"poll until in-use, up to {timings.volume_timeout:g}s")],
                run_steps.attach_volume))
        if plan.action == "attach":
            return steps
        steps.append(Step("read console", [ApiCall(
            "POST", "compute", f"/servers/{sid}/action", {"os-getConsoleOutput": {}},
            note="console before the rebuild, to tell old boots from new")], run_steps.console_before))
        steps.append(Step("rebuild server", [ApiCall(
            "POST", "compute", f"/servers/{sid}/action",
            {"rebuild": run_steps.rebuild_request(plan, redact_user_data(cfg), shown_metadata)},
            note=f"OpenStack-API-Version: compute {st.microversion}")], run_steps.rebuild))
    steps.append(Step("wait active", [ApiCall(
        "GET", "compute", f"/servers/{sid}",
        note=f"poll every {timings.poll:g}s until ACTIVE, up to {timings.active_timeout:g}s")], run_steps.wait_active))
    if p.volume:
        steps.append(Step("check volume", [ApiCall("GET", "compute", f"/servers/{sid}/os-volume_attachments",
                                                   note=f"{p.volume.name} must be attached; attach it if not")],
                          run_steps.check_volume))
    steps.append(Step("watch ignition", [ApiCall(
        "POST", "compute", f"/servers/{sid}/action", {"os-getConsoleOutput": {"length": run_steps.CONSOLE_LINES}},
        note=f"poll until Ignition reports success or failure, up to {timings.ignition_timeout:g}s")],
        run_steps.watch_ignition))
    steps.append(Step("record result", [ApiCall("POST", "compute", f"/servers/{sid}/metadata",
                                                {"metadata": {META_IGNITION: "success|failed|unknown"}})],
                      run_steps.record_result))
    return steps
