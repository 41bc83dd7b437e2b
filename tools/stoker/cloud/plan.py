"""Deciding a deploy: read the cloud (GET only), compare with what was
deployed, and list the steps with the API calls each makes, so that a dry run
can print exactly what a deploy would do."""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import StokerError
from . import steps as run_steps
from .config import Config, data_devices, dev_secret_places, effective_config, parse_config
from .connection import Cloud, Timings
from .diff import ConfigDiff, Masker, diff_configs
from .drift import Drift, _wanted_groups, placement_drift
from .errors import CloudError, RefusedError, VolumeSafetyError
from .filesystems import check_filesystem_change
from .live import CloudState
from .losses import Loss, lost_on_rebuild
from .placement import Placement
from .ports import port_warnings
from .safety import check_volume_device, preflight
from .state import META_IGNITION, META_SHA, read_state, server_metadata

REBUILD_MICROVERSION = (2, 57)  # first compute microversion whose rebuild takes user_data


@dataclass(frozen=True)
class ApiCall:
    method: str
    service: str
    path: str
    body: Any = None
    note: str = ""
    mask: Callable[[str], str] = field(default=str, compare=False, repr=False)  # the plan's Masker

    def text(self) -> str:
        """One line for the dry run, with every secret value of the configs masked."""
        body = f"  {json.dumps(self.body, ensure_ascii=False)}" if self.body is not None else ""
        note = f"  ({self.note})" if self.note else ""
        return self.mask(f"{self.method:<6} {self.service:<13} {self.path}{body}{note}")


@dataclass
class Step:
    name: str
    calls: list[ApiCall]
    run: Callable[["run_steps.Run"], None]


@dataclass
class DeployPlan:
    placement: Placement
    config: Config
    action: str                      # create | rebuild | attach | update | refused | none
    reason: str
    diff: ConfigDiff
    previous_sha: str | None
    previous_source: str             # where the old config came from
    state: CloudState
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    intended: str | None = None      # for action "refused": what the deploy would otherwise have done
    mask: Masker = field(default_factory=Masker)  # every line shown of this plan goes through it
    losses: list[Loss] = field(default_factory=list)  # state the rebuild loses (stoker.cloud.losses)
    losses_of: str = ""              # which config the losses were read from
    accept_loss: bool = False        # the operator accepted them (--accept-loss)

    @property
    def rebuilds(self) -> bool:
        return self.action == "rebuild" or (self.action == "refused" and self.intended == "rebuild")

    @property
    def blocked_by_loss(self) -> bool:
        """A rebuild that would lose state the operator has not accepted losing."""
        return self.rebuilds and bool(self.losses) and not self.accept_loss

    @property
    def changes(self) -> bool:
        return self.action != "none"

    def api_calls(self) -> list[ApiCall]:
        return [c for s in self.steps for c in s.calls]


def redact_user_data(config: Config) -> str:
    return f"<redacted: {len(config.user_data):,} base64 chars, sha256 {config.sha256[:12]}…>"


def previous_config(state: CloudState, placement: Placement, state_dir: Path) -> tuple[dict | None, str]:
    """The config the server was last deployed with: state/<vm>.ign when its hash
    matches the server's metadata, else the server's own user_data (readable at
    compute 2.3+ where policy allows), else unknown."""
    deployed = state.metadata.get(META_SHA)
    local = read_state(state_dir, placement.vm)
    # state/<vm>.ign is this server's only when the server says it runs it (an adopted
    # server, or the same VM in another cloud, runs something else).
    if local is not None and deployed is not None and local.sha256 == deployed:
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
    if server is not None and placement.volume:
        others = [v.get("id") for v in getattr(server, "attached_volumes", None) or []
                  if isinstance(v, dict) and v.get("id") != getattr(volume, "id", None)]
        if others:
            warnings.append(f"volume {', '.join(others)} is attached to the server, and the placement's data volume "
                            f"is {placement.volume.name}: it stays attached but the config does not mount it; "
                            "its data is not copied (detach it by hand once it is no longer needed)")
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
        from ..volumes import placeholder_serial

        placeholder = f"/dev/disk/by-id/virtio-{placeholder_serial(placement.volume.name)}"
        virtio = sorted({d["device"] for d in data_devices(doc) if d["device"].startswith("/dev/disk/by-id/virtio-")})
        if virtio == [placeholder]:
            warnings.append(f"volume {placement.volume.name} will be created, and the config bound to its disk "
                            "(/dev/disk/by-id/virtio- + the first 20 characters of its id) before the server is")
        elif virtio:
            warnings.append(f"volume {placement.volume.name} will be created; the config pins its disk at "
                            f"{', '.join(virtio)}, which names the disk by the volume's id: the deploy stops "
                            "after creating the volume (set fleet.yaml volumes."
                            f"{placement.volume.name}: null to let stoker bind it)")
    return warnings


def mask_error(exc: CloudError, mask: Callable[[str], str]) -> CloudError:
    """`exc` with its message and hint passed through `mask` (errors built from
    config content, and cloud answers that echo a request, leave no secret)."""
    exc.detail = mask(exc.detail)
    if exc.hint:  # stoker's own words: only known values (`secrets=FILE` is not a secret)
        exc.hint = getattr(mask, "values_only", mask)(exc.hint)
    exc.args = (exc.text(),)
    return exc


def make_plan(placement: Placement, config: Config, state: CloudState, state_dir: Path,
              cloud: Cloud | None = None, force: bool = False, accept_loss: bool = False) -> DeployPlan:
    """The plan for one deploy. Every refusal raised here, and every line the
    plan later shows, is masked with the secret values of the new config and
    of the one deployed before."""
    old_doc, source = (None, "none") if state.server is None else previous_config(state, placement, state_dir)
    # A config's whole user_data is a secret too: it holds every value, and a
    # cloud error may quote it (Nova's validation errors quote the rejected
    # value: nova/api/validation/validators.py).
    whole = [config.user_data, getattr(state.server, "user_data", None) or ""]
    mask = Masker.for_configs(old_doc, config.document, literal=whole)
    try:
        plan = _make_plan(placement, config, state, state_dir, cloud, force, old_doc, source, mask)
    except CloudError as exc:
        raise mask_error(exc, mask) from None
    plan.accept_loss = accept_loss
    if plan.rebuilds:
        # What is on the root disk now was written under the deployed config.
        plan.losses_of = "the deployed config" if old_doc is not None else \
            "the new config (the deployed one is unknown)"
        plan.losses = lost_on_rebuild(old_doc if old_doc is not None else config.document)
        kept_now = {loss.what for loss in plan.losses}
        plan.warnings += [f"not kept across rebuilds: {loss.line()}; the next rebuild loses it"
                          for loss in lost_on_rebuild(config.document) if loss.what not in kept_now]
    elif plan.action == "create":
        plan.losses_of = "the new config"
        plan.losses = lost_on_rebuild(config.document)
    try:
        plan.steps = _steps(plan, cloud.timings if cloud else Timings())
        return plan
    except CloudError as exc:
        raise mask_error(exc, mask) from None


def _make_plan(placement: Placement, config: Config, state: CloudState, state_dir: Path, cloud: Cloud | None,
               force: bool, old_doc: dict | None, source: str, mask: Masker) -> DeployPlan:
    vm, server, volume = placement.vm, state.server, state.volume
    preflight(placement, config, allow_dev_secrets=True)
    doc = effective_config(config.document)
    warnings: list[str] = []
    if dev := dev_secret_places(doc):
        warnings.append(f"rendered with throwaway dev secrets ({', '.join(dev)}): `stoker deploy` will refuse it")
    warnings += _volume_warnings(placement, config, state, doc)
    deployed_sha = state.metadata.get(META_SHA)
    same_config = server is not None and deployed_sha == config.sha256
    if old_doc is not None and not same_config:
        check_filesystem_change(placement, state, old_doc, doc)
    drift, notes = placement_drift(placement, state)
    warnings += notes
    missing = [g for g, found in (state.security_groups or {}).items() if found is None]
    if missing and server is None:
        # Nova answers 400 to a create that names a missing group, after stoker made the volume.
        raise RefusedError(f"security group {', '.join(missing)} of the placement does not exist in the cloud: "
                           "Nova would refuse to create the server", vm=vm, step="plan",
                           hint=f"create it (`openstack security group create {missing[0]}`, then its rules), or "
                                f"remove it from fleet.yaml placement for {vm}, and deploy again")
    warnings += [f"security group {g} does not exist in the cloud" for g in missing]
    warnings += port_warnings(placement, state, doc)
    by_rebuild = [d for d in drift if d.applied_by == "rebuild"]
    diff = diff_configs(old_doc, config.document, mask)
    if server is None:
        action, reason = "create", f"server {placement.server_name} does not exist"
    elif same_config and not force and server.status != "ERROR" and not by_rebuild:
        diff = ConfigDiff([], mask)
        action, reason = "none", f"server {server.id} already runs config {config.sha256[:12]}"
        if state.metadata.get(META_IGNITION) == "pending":
            # The deploy that rebuilt it stopped (interrupted, timed out) before Ignition's verdict.
            action, reason = "verdict", (f"server {server.id} runs config {config.sha256[:12]}, but the deploy "
                                         "that put it there ended before Ignition's verdict (stoker_ignition: "
                                         "pending)")
        elif state.metadata.get(META_IGNITION) == "failed":
            warnings.append("Ignition failed on the last deploy of this config; --force rebuilds anyway")
        if server.status != "ACTIVE":
            warnings.append(f"server is {server.status}; a deploy with an unchanged config does not touch it")
    else:
        if server.status not in ("ACTIVE", "SHUTOFF", "ERROR"):
            raise RefusedError(f"server is {server.status} (task {getattr(server, 'task_state', None) or '-'}); "
                               "Nova rebuilds only an ACTIVE, SHUTOFF or ERROR server", vm=vm, server=server.id,
                               step="plan", hint="wait until the server has settled, then deploy again")
        action = "rebuild"
        reason = ("--force given" if force and same_config else
                  "the server is in ERROR" if same_config and server.status == "ERROR" else
                  f"the server runs another image than {placement.image} now is" if same_config else
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
    if action == "none" and any(d.applied_by == "stoker" for d in drift):
        action, reason = "update", "the server's security groups differ from the placement's"
    plan = DeployPlan(placement, config, action, reason, diff, deployed_sha, source, state, warnings=warnings,
                      drift=drift, mask=mask)
    refused = [d for d in drift if d.applied_by == "refused"]
    if refused:
        plan.intended, plan.action = action, "refused"
        plan.reason = (f"the placement changes the server's {', '.join(d.item for d in refused)}, which a deploy "
                       "does not apply")
    return plan


def refusal(plan: DeployPlan) -> RefusedError:
    """The error a refused plan's deploy stops with, before any change."""
    refused = [d for d in plan.drift if d.applied_by == "refused"]
    what = "; ".join(f"{d.item} {d.old} → {d.new}: {d.how}" for d in refused)
    return RefusedError(f"the placement changes what a deploy cannot apply: {what}", vm=plan.placement.vm,
                        server=getattr(plan.state.server, "id", None), step="plan",
                        hint="; ".join(d.hint for d in refused))


def _refuse(run: "run_steps.Run") -> None:
    raise refusal(run.plan)


def loss_refusal(plan: DeployPlan) -> RefusedError:
    """The error a rebuild stops with, before any change, when it would lose
    state the operator has not accepted losing."""
    what = "; ".join(loss.line() for loss in plan.losses)
    return RefusedError(f"the rebuild replaces the root disk and loses what containers wrote there: {what}",
                        vm=plan.placement.vm, server=getattr(plan.state.server, "id", None), step="plan",
                        hint="keep that state on the data volume (mount it from a data_volume directory) and "
                             "deploy again; or, if it is worth nothing, run the same command with --accept-loss "
                             "(make: accept_loss=1)")


def _group_changes(plan: DeployPlan) -> tuple[list[str], list[str]]:
    """(groups to add, groups to remove) for a "stoker" security-group drift."""
    if not any(d.item == "security groups" and d.applied_by == "stoker" for d in plan.drift):
        return [], []
    have = {g.get("name") for g in getattr(plan.state.server, "security_groups", None) or [] if isinstance(g, dict)}
    want = _wanted_groups(plan.placement, plan.state)
    return [g for g in want if g not in have], sorted(g for g in have if g and g not in want)


def apply_security_groups(run: "run_steps.Run") -> None:
    """Add, then remove, security groups on the live server (Compute API
    reference: addSecurityGroup and removeSecurityGroup server actions, body
    {"name": NAME}; openstacksdk add_security_group_to_server and
    remove_security_group_from_server). Adding first means the server's ports
    never go without a group. A retried call (after a 5xx or a lost answer)
    first reads the server's groups, so a change that was made is not made again."""
    conn = run.cloud.conn
    add, remove = _group_changes(run.plan)

    def current() -> set[str]:
        server = conn.compute.get_server(run.server_id)
        return {g.get("name") for g in server.security_groups or []}

    for name, adding in [(g, True) for g in add] + [(g, False) for g in remove]:
        attempts = 0

        def change(name=name, adding=adding):
            nonlocal attempts
            attempts += 1
            if attempts > 1 and (name in current()) == adding:
                return None
            if adding:
                return conn.compute.add_security_group_to_server(run.server_id, name)
            return conn.compute.remove_security_group_from_server(run.server_id, name)
        run.call("security groups", change,
                 hint=f"the server's security groups are partly changed; fix them with `openstack server "
                      f"{'add' if adding else 'remove'} security group`, or run the deploy again")
        run.emit(run_steps.Event("note", "security groups", f"{'added' if adding else 'removed'} {name}"))


def _guarded(fn: Callable[["run_steps.Run"], None], mask: Masker) -> Callable[["run_steps.Run"], None]:
    """A step that leaves no secret value in what it reports: its progress
    events, the retries it notes and the error it stops with go through `mask`
    (cloud errors can echo a request: Nova's validation errors quote the value
    they reject, nova/api/validation/validators.py)."""
    def run(r: "run_steps.Run") -> None:
        if not getattr(r, "masked_events", False):
            emit = r.emit
            r.emit = lambda event: emit(dataclasses.replace(event, message=mask(event.message)))
            r.masked_events = True
        try:
            fn(r)
        except CloudError as exc:
            raise mask_error(exc, mask) from None
        finally:
            r.cloud.retried[:] = [mask(line) for line in r.cloud.retried]
    return run


def _steps(plan: DeployPlan, timings: Timings) -> list[Step]:
    steps = _plan_steps(plan, timings)
    for step in steps:
        step.run = _guarded(step.run, plan.mask)
    return steps


def _plan_steps(plan: DeployPlan, timings: Timings) -> list[Step]:
    p, st, cfg = plan.placement, plan.state, plan.config
    sid = getattr(st.server, "id", None) or "<new server id>"
    vid = getattr(st.volume, "id", None) or "<new volume id>"
    shown_metadata = server_metadata(st.metadata, p.vm, cfg, "<deploy time>")
    steps: list[Step] = []
    if plan.action == "refused":
        return [Step("refused", [], _refuse)]  # before any change: nothing else runs
    if plan.action == "none":
        return steps

    def call(*args, **kw) -> ApiCall:
        return ApiCall(*args, mask=plan.mask, **kw)
    if p.volume and st.volume is None:
        steps.append(Step("create volume", [
            call("POST", "block-storage", "/volumes", {"volume": {"name": p.volume.name, "size": p.volume.size}}),
            call("GET", "block-storage", f"/volumes/{vid}",
                 note=f"poll until available, up to {timings.volume_timeout:g}s")], run_steps.create_volume))
    if plan.action == "create":
        body = {"server": run_steps.create_request(plan, redact_user_data(cfg), vid, shown_metadata)}
        steps.append(Step("create server", [call("POST", "compute", "/servers", body)], run_steps.create_server))
    else:
        if p.volume and st.volume_server is None:
            steps.append(Step("attach volume", [call(
                "POST", "compute", f"/servers/{sid}/os-volume_attachments", {"volumeAttachment": {"volumeId": vid}}),
                call("GET", "block-storage", f"/volumes/{vid}",
                     note=f"poll until in-use, up to {timings.volume_timeout:g}s")],
                run_steps.attach_volume))
        add, remove = _group_changes(plan)
        if add or remove:
            steps.append(Step("security groups", [
                call("POST", "compute", f"/servers/{sid}/action", {"addSecurityGroup": {"name": g}}) for g in add] + [
                call("POST", "compute", f"/servers/{sid}/action", {"removeSecurityGroup": {"name": g}})
                for g in remove], apply_security_groups))
        if plan.action in ("attach", "update"):
            return steps
    if plan.action == "verdict":
        pass  # the config is on the server: wait for it to settle and read Ignition's verdict
    elif plan.action != "create":
        steps.append(Step("read console", [call(
            "POST", "compute", f"/servers/{sid}/action", {"os-getConsoleOutput": {}},
            note="console before the rebuild, to tell old boots from new")], run_steps.console_before))
        steps.append(Step("rebuild server", [call(
            "POST", "compute", f"/servers/{sid}/action",
            {"rebuild": run_steps.rebuild_request(plan, redact_user_data(cfg), shown_metadata)},
            note=f"OpenStack-API-Version: compute {st.microversion}")], run_steps.rebuild))
    steps.append(Step("wait active", [call(
        "GET", "compute", f"/servers/{sid}",
        note=f"poll every {timings.poll:g}s until ACTIVE, up to {timings.active_timeout:g}s")], run_steps.wait_active))
    if p.volume:
        steps.append(Step("check volume", [call("GET", "compute", f"/servers/{sid}/os-volume_attachments",
                                                note=f"{p.volume.name} must be attached; attach it if not")],
                          run_steps.check_volume))
    steps.append(Step("watch ignition", [call(
        "POST", "compute", f"/servers/{sid}/action", {"os-getConsoleOutput": {"length": run_steps.CONSOLE_LINES}},
        note=f"poll until Ignition reports success or failure, up to {timings.ignition_timeout:g}s")],
        run_steps.watch_ignition))
    steps.append(Step("record result", [call("POST", "compute", f"/servers/{sid}/metadata",
                                             {"metadata": {META_IGNITION: "success|failed|unknown"}})],
                      run_steps.record_result))
    return steps
