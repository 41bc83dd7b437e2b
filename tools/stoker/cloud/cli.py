"""`stoker plan`, `stoker deploy` and `stoker status`: the only place in the
cloud package that prints, asks and picks exit codes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import StokerError, UsageError
from .config import bind_volume, load_config
from .connection import Cloud, Timings
from .deploy import execute
from .gate import check_config
from .live import describe_server, read_cloud
from .plan import DeployPlan, loss_refusal, make_plan, mask_error
from .safety import preflight, volume_device
from .steps import Event
from .diff import Masker, render
from .errors import CloudError, RefusedError
from .placement import Placement, known_vms, load_placement
from .status import fleet_status

EXIT_NO_CHANGES, EXIT_CHANGES = 0, 2  # as `terraform plan -detailed-exitcode`

_ENV_TIMINGS = {"poll": "STOKER_POLL_SECONDS", "active_timeout": "STOKER_ACTIVE_TIMEOUT",
                "volume_timeout": "STOKER_VOLUME_TIMEOUT", "ignition_timeout": "STOKER_IGNITION_TIMEOUT",
                "retries": "STOKER_RETRIES", "backoff": "STOKER_BACKOFF_SECONDS",
                "lock_settle": "STOKER_LOCK_SETTLE_SECONDS"}


def register(sub) -> None:
    def common(p, vm=True):
        if vm:
            p.add_argument("vm", help="VM name (a key of the placement's `vms`)")
            p.add_argument("--config", type=Path, help="Ignition config to deploy (default: build/<vm>.ign)")
        p.add_argument("--cloud", help="clouds.yaml entry; default: OS_CLOUD, then the OS_* variables, "
                                       "then the placement's cloud")
        p.add_argument("--root", type=Path, default=Path("."), help="repository root (placement, build/, state/)")
        p.add_argument("--timeout", type=float, help="seconds for each wait (server ACTIVE, Ignition verdict)")

    def rebuild_options(p):  # deploy, and rollback (a deploy of a kept config)
        p.add_argument("--yes", action="store_true", help="rebuild without asking")
        p.add_argument("--dry-run", action="store_true", help="print the API calls it would make; change nothing")
        p.add_argument("--accept-loss", action="store_true",
                       help="rebuild even though containers keep state on the root disk, which the rebuild loses")
        p.add_argument("--break-lock", action="store_true",
                       help="change the server even though a rollout's lock is on it (a rollout that died)")

    p = sub.add_parser("plan", help="show what a deploy would change (exit 0: plan shown, 1: error)")
    common(p)
    p.add_argument("--detailed-exitcode", action="store_true",
                   help="exit 0 when nothing would change, 2 when something would, 1 on error "
                        "(as terraform plan -detailed-exitcode)")
    p.add_argument("--json", action="store_true", help="the plan as one JSON object, for scripts (secrets masked)")
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("deploy", help="create or rebuild a VM's server from its Ignition config")
    common(p)
    rebuild_options(p)
    p.add_argument("--force", action="store_true", help="rebuild even when the deployed config is the same")
    p.set_defaults(func=cmd_deploy)
    p = sub.add_parser("adopt", help="take over a server stoker did not create (shows what a rebuild destroys)")
    common(p)
    p.add_argument("--yes", action="store_true", help="adopt without asking")
    p.set_defaults(func=cmd_adopt)
    p = sub.add_parser("rollback", help="redeploy the newest earlier config whose Ignition succeeded")
    common(p)
    p.add_argument("--to", metavar="SHA256", help="the kept config to go back to (a prefix of 8+ digits)")
    rebuild_options(p)
    p.set_defaults(func=cmd_rollback, force=False)
    p = sub.add_parser("status", help="one table for the fleet: servers, deployed configs, drift")
    common(p, vm=False)
    p.add_argument("vms", nargs="*", help="only these VMs")
    p.add_argument("--json", action="store_true", help="the rows as a JSON list, for scripts")
    p.set_defaults(func=cmd_status)


def _console() -> Console:
    # Piped output (logs, CI, README examples) keeps whole lines instead of 80 columns.
    return Console(emoji=False) if sys.stdout.isatty() else Console(width=200, emoji=False)


def _timings(args) -> Timings:
    values = {}
    for name, env in _ENV_TIMINGS.items():
        if env in os.environ:
            values[name] = (int if name == "retries" else float)(os.environ[env])
    if args.timeout is not None:
        values.update(active_timeout=args.timeout, ignition_timeout=args.timeout, volume_timeout=args.timeout)
    return Timings(**values)


def _cloud_name(args, placement: Placement) -> str | None:
    if args.cloud:
        return args.cloud
    if os.environ.get("OS_CLOUD"):
        return os.environ["OS_CLOUD"]
    if os.environ.get("OS_AUTH_URL"):
        return None  # an openrc.sh was sourced: openstacksdk reads the OS_* variables
    return placement.cloud


def _load(args, for_deploy: bool):
    return load_checked(args.vm, args.root, args.config, for_deploy)


def load_checked(vm: str, root: Path, config_path: Path | None, for_deploy: bool):
    """(placement, config, validation notes) of `vm`: build/<vm>.ign or
    `config_path`, refused (CloudError, secrets masked) when it is not this VM's
    or fails validation (strictly when `for_deploy`); no cloud call."""
    placement = load_placement(vm, root)
    path = config_path or root / "build" / f"{vm}.ign"
    if not path.exists() and config_path is None:
        raise StokerError(f"{path} does not exist; run `make ignition vm={vm} secrets=FILE` or pass --config FILE")
    try:
        config = load_config(path)
    except CloudError:
        raise
    except StokerError as exc:
        raise RefusedError(str(exc), vm=vm, step="read config",
                           hint=f"render it (make ignition vm={vm} secrets=FILE), or pass --config with a "
                                f"kept config (state/history/{vm}/SHA256.ign)") from None
    preflight(placement, config, allow_dev_secrets=not for_deploy)  # refusals that need no cloud come first
    # Is it this VM's config, and does it pass validation (strictly, before any change to the cloud)?
    try:
        notes = check_config(placement, config, root, strict=for_deploy)
    except CloudError as exc:  # a tool's finding may quote a unit line, secret value and all
        raise mask_error(exc, Masker.for_configs(config.document)) from None
    return placement, config, notes


def plan_on(cloud: Cloud, placement: Placement, config, notes: list[str], root: Path, force: bool = False,
            accept_loss: bool = False) -> DeployPlan:
    """Read the VM's server and volume from `cloud` (GET only) and plan the deploy of `config`."""
    state = read_cloud(cloud, placement)
    if placement.volume and state.volume is not None:
        # The config names the data disk by a placeholder until its volume exists: bind it now.
        config = bind_volume(config, placement, state.volume.id)
    plan = make_plan(placement, config, state, root / "state", cloud=cloud, force=force, accept_loss=accept_loss)
    plan.warnings += [f"validation: {note}" for note in notes]
    return plan


def check_lock(plan: DeployPlan, command: str, break_lock: bool = False, own=None) -> None:
    """Refuse to change a server a rollout holds (stoker.rollout.lock), naming
    the holder; `own` is the rollout's own Lock (None: `stoker deploy`)."""
    import datetime as dt

    from ..rollout.lock import held_by_other, refusal

    if plan.state.server is None or break_lock:
        return
    lock = held_by_other(plan.state.metadata, own, dt.datetime.now(dt.timezone.utc))
    if lock is not None and plan.changes:
        raise refusal(plan.placement.vm, plan.state.server.id, lock, command)


def _prepare(args, console: Console, force: bool = False, for_deploy: bool = True,
             accept_loss: bool = False) -> tuple[Cloud, DeployPlan]:
    placement, config, notes = _load(args, for_deploy)
    cloud = Cloud.connect(_cloud_name(args, placement), _timings(args), vm=placement.vm)
    with console.status(f"reading {placement.vm} from cloud {cloud.name}…"):
        plan = plan_on(cloud, placement, config, notes, args.root, force=force, accept_loss=accept_loss)
    return cloud, plan


def _show_plan(console: Console, plan: DeployPlan, text_diffs: bool = True) -> None:
    """The plan as the operator reads it: what the deploy does and why, the
    placement drift (each `~` line says what applying it takes), warnings, the
    config diff, and what the deploy refuses. Every line goes through the plan's
    Masker, so no secret value of the old or the new config is printed."""
    p, mask = plan.placement, plan.mask
    server = getattr(plan.state.server, "id", None)
    titles = {"create": f"create server {p.server_name}", "rebuild": f"rebuild server {p.server_name} ({server})",
              "attach": f"attach volume to {p.server_name} ({server})",
              "update": f"update server {p.server_name} ({server}) without a rebuild",
              "verdict": f"read Ignition's verdict on {p.server_name} ({server}); no rebuild", "none": "no changes"}
    title = titles.get(plan.action) or (f"refused (it would {titles[plan.intended]})"
                                        if plan.intended in titles and plan.intended != "none" else
                                        "refused (the config itself is unchanged)")

    def say(text: str, style: str | None = None) -> None:
        text = escape(mask(text))
        console.print(f"[{style}]{text}[/]" if style else text, highlight=False, soft_wrap=True)
    console.print(f"[bold]{escape(p.vm)}[/]: {escape(mask(title))}  [dim]({escape(mask(plan.reason))})[/]",
                  soft_wrap=True)
    say(f"  config {plan.config.sha256[:12]} ({len(plan.config.user_data):,} base64 chars of user-data)"
        + (f", deployed {plan.previous_sha[:12]} (compared with {plan.previous_source})" if plan.previous_sha else ""))
    if p.volume:
        vol = plan.state.volume
        where = ("will be created" if vol is None else
                 "attached" if plan.state.volume_server else "exists, not attached")
        device = f", seen as {volume_device(vol.id)}" if vol is not None else ""
        say(f"  data volume {p.volume.name} ({p.volume.size} GiB): {where}{device}; never deleted")
    for warning in plan.warnings:
        console.print(f"  [yellow]warning:[/] {escape(mask(warning))}", soft_wrap=True, highlight=False)
    if plan.losses:
        heading = "lost on rebuild" if plan.rebuilds else "not kept across rebuilds"
        for loss in plan.losses:
            say(f"  ! {heading}: {loss.line()}", "red" if plan.rebuilds else "yellow")
        if plan.rebuilds:
            say(f"    (read from {plan.losses_of}; " + ("accepted with --accept-loss)" if plan.accept_loss else
                "a deploy needs --accept-loss, or keep that state on the data volume)"), "red")
        else:
            say("    (on the root disk: the next rebuild loses it; keep it on the data volume)", "yellow")
    applied = {"rebuild": "the rebuild applies it", "stoker": "stoker applies it",
               "refused": "the deploy refuses it"}
    for d in plan.drift:
        say(f"{d.line()}  (placement)", "yellow")
        say(f"    {applied[d.applied_by]}: {d.how}")
    styles = {"+": "green", "-": "red", "~": "yellow"}
    for line in render(plan.diff, text_diffs):
        head = line.lstrip()
        style = styles.get(line[0]) if not line.startswith("    ") else (
            "green" if head.startswith("+") and not head.startswith("+++") else
            "red" if head.startswith("-") and not head.startswith("---") else "cyan" if head.startswith("@@") else None)
        say(line, style)
    if plan.diff.changed or plan.drift:
        console.print(f"[bold]Plan:[/] {escape(plan.diff.summary(extra_changes=len(plan.drift)))}.")
    for d in plan.drift:
        if d.applied_by == "refused":
            console.print(f"[bold red]refused:[/] {escape(mask(f'{d.item} {d.old} → {d.new}'))}; how to recover: "
                          f"{escape(mask(d.hint))}", soft_wrap=True, highlight=False)


def cmd_plan(args) -> int:
    # With --json, stdout holds the JSON object alone; progress goes to stderr.
    console = Console(stderr=True, emoji=False) if args.json else _console()
    try:
        _, plan = _prepare(args, console, for_deploy=False)
    except CloudError as exc:
        if args.json:  # scripts read stdout: the refusal as JSON too (the message also goes to stderr)
            print(json.dumps({"vm": args.vm, "action": "error", "error": exc.detail, "step": exc.step,
                              "server": exc.server, "hint": exc.hint}, indent=2, ensure_ascii=False))
        raise
    if args.json:
        from .report import plan_report
        print(json.dumps(plan_report(plan), indent=2, ensure_ascii=False))
    else:
        _show_plan(console, plan)
    if not args.detailed_exitcode:
        return EXIT_NO_CHANGES
    return EXIT_CHANGES if plan.changes else EXIT_NO_CHANGES


def cmd_deploy(args) -> int:
    console = _console()
    cloud, plan = _prepare(args, console, force=args.force, accept_loss=args.accept_loss)
    # A new server's plan lists what it gets; the text of every file is for `stoker plan`.
    _show_plan(console, plan, text_diffs=plan.action != "create")
    if args.dry_run:
        console.print("[bold]API calls this deploy would make[/] (dry run; nothing was changed):")
        for call in plan.api_calls():
            console.print("  " + escape(call.text()), highlight=False, soft_wrap=True)
        if plan.blocked_by_loss:
            console.print("[bold red]A deploy would be refused[/] before any of these calls: the rebuild loses "
                          "the state listed above; --accept-loss allows it.", soft_wrap=True)
        return 0
    if plan.blocked_by_loss:
        raise mask_error(loss_refusal(plan), plan.mask)
    check_lock(plan, f"stoker {getattr(args, 'command', None) or 'deploy'} {plan.placement.vm}", args.break_lock)
    if not plan.changes:
        console.print("Nothing to do: the server already runs this config.")
        return 0
    if plan.action == "rebuild" and not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(f"rebuilding {plan.placement.vm} needs confirmation: run in a terminal, or pass "
                             "--yes (make: yes=1)")
        answer = console.input(f"Rebuild {plan.placement.server_name}? Its root disk is replaced; "
                               "the data volume stays. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            console.print("Not deployed.")
            return 1
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        tasks: dict[str, int] = {}

        def emit(event: Event) -> None:
            if event.kind == "step":
                tasks[event.step] = progress.add_task(event.step, total=1)
            elif event.kind == "wait" and event.step in tasks:
                progress.update(tasks[event.step], description=f"{event.step}: {escape(event.message)} "
                                f"[dim]({event.elapsed:.0f}s of {event.timeout:.0f}s)[/]")
            elif event.kind == "wait":
                tasks[event.step] = progress.add_task(f"{event.step}: {escape(event.message)}", total=1)
            elif event.kind == "done":  # the step and any wait inside it are over
                for task in tasks.values():
                    progress.update(task, completed=1)
            elif event.kind == "warn":
                progress.console.print(f"[yellow]warning:[/] {escape(event.message)}")
        try:
            result = execute(cloud, plan, args.root / "state", emit)
        except KeyboardInterrupt:
            step = next(reversed(tasks), "plan")
            progress.console.print(
                f"[red]interrupted[/]: vm {escape(plan.placement.vm)}, server "
                f"{escape(str(getattr(plan.state.server, 'id', None) or '(new)'))}, step {escape(step)}. "
                f"`stoker deploy {escape(plan.placement.vm)}` again picks up from what the cloud shows: it "
                "creates or rebuilds what is missing, or reads Ignition's verdict if only that is left.",
                soft_wrap=True)
            raise
    for retry in result.retried:
        console.print(f"[dim]retried after {escape(retry)}[/]")
    console.print(f"[green]Deployed[/] {plan.placement.vm}: {result.action} of server {result.server_id} in "
                  f"{result.elapsed:.0f}s; Ignition: {result.ignition}.")
    return 0


def cmd_adopt(args) -> int:
    from .adopt import adopt, read_adoption

    console = _console()
    placement = load_placement(args.vm, args.root)
    cloud = Cloud.connect(_cloud_name(args, placement), _timings(args), vm=placement.vm)
    adoption = read_adoption(cloud, placement)
    s = adoption.server
    console.print(f"[bold]{escape(placement.vm)}[/]: adopt server {escape(placement.server_name)} "
                  f"({escape(describe_server(s))})", soft_wrap=True)
    console.print("The next `stoker deploy` rebuilds it from the Fedora CoreOS image. It [bold red]destroys[/]:")
    for line in adoption.destroyed:
        console.print(f"  [red]-[/] {escape(line)}", soft_wrap=True)
    console.print("It keeps:")
    for line in adoption.kept:
        console.print(f"  [green]=[/] {escape(line)}", soft_wrap=True)
    for line in adoption.notes:
        console.print(f"  [yellow]note:[/] {escape(line)}", soft_wrap=True)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("adopting needs confirmation: run in a terminal or pass --yes")
        answer = console.input(f"Adopt {placement.server_name} as VM {placement.vm}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            console.print("Not adopted.")
            return 1
    adopt(cloud, adoption)
    console.print(f"[green]Adopted[/] {placement.server_name} as VM {placement.vm}: "
                  f"`stoker plan {placement.vm}` shows what the next deploy changes.")
    return 0


def cmd_rollback(args) -> int:
    from .connection import find_or_none
    from .state import META_SHA, history, kept_config, rollback_target

    state_dir = args.root / "state"
    placement = load_placement(args.vm, args.root)
    # The configs this server ran: the history may also hold the same VM's deploys elsewhere.
    cloud = Cloud.connect(_cloud_name(args, placement), _timings(args), vm=placement.vm)
    server = cloud.call("find server", lambda: find_or_none(cloud.conn.compute.find_server, placement.server_name),
                        vm=placement.vm)
    if server is None:
        raise StokerError(f"{args.vm}: server {placement.server_name} does not exist in cloud {cloud.name}; "
                          "there is nothing to roll back (`stoker deploy` creates it)")
    server = cloud.call("read server", lambda: cloud.conn.compute.get_server(server.id), vm=placement.vm,
                        server=server.id)
    current = (server.metadata or {}).get(META_SHA)
    if args.to:
        config = kept_config(state_dir, args.vm, args.to)
        if config is None:
            raise StokerError(f"no kept config of {args.vm} matches {args.to!r} in {state_dir}/history/{args.vm}/ "
                              "(give 8 or more digits of its sha256)")
    else:
        target = rollback_target(state_dir, args.vm, current, server.id)
        if target is None:
            mine = [d for d in history(state_dir, args.vm) if d.server == server.id]
            known = ", ".join(f"{d.sha256[:12]} {d.time} {d.outcome}" for d in mine) or "none"
            raise StokerError(f"no earlier config of {args.vm} whose Ignition succeeded on server {server.id} "
                              f"(its history: {known})")
        config = kept_config(state_dir, args.vm, target.sha256)
        _console().print(f"rolling {args.vm} back to config {target.sha256[:12]}, deployed {target.time} "
                         f"(Ignition {target.outcome})")
    args.config = config.path
    return cmd_deploy(args)


def cmd_status(args) -> int:
    from dataclasses import asdict

    from ..fleet.definitions import VMS_DIR, definition_files
    from .status import unplaced_row

    console = _console()
    placed = known_vms(args.root)
    defined = sorted(p.stem for p in definition_files(args.root)) if (args.root / VMS_DIR).is_dir() else []
    names = args.vms or sorted(set(placed) | set(defined))
    placements = [load_placement(vm, args.root) for vm in names if vm in placed or vm not in defined]
    clouds: dict[str | None, Cloud] = {}

    def cloud_for(placement_cloud: str) -> Cloud:
        name = args.cloud or os.environ.get("OS_CLOUD") or (None if os.environ.get("OS_AUTH_URL") else placement_cloud)
        if name not in clouds:
            clouds[name] = Cloud.connect(name, _timings(args))
        return clouds[name]
    rows = {r.vm: r for r in fleet_status(placements, cloud_for, args.root / "build")}
    rows.update({vm: unplaced_row(vm, args.root / "build") for vm in names if vm not in rows})
    rows = [rows[vm] for vm in names]
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    table = Table(title="stoker fleet status")
    for col in ("VM", "server", "status", "address", "deployed", "build", "drift", "deployed at", "ignition",
                "data volume"):
        table.add_column(col)
    colour = {"in sync": "green", "drift": "yellow", "not deployed": "red", "no build": "dim", "unrecorded": "yellow",
              "not stoker's": "red", "no placement": "dim"}
    for r in rows:
        table.add_row(r.vm, r.server, r.status, r.address, (r.deployed_sha or "-")[:12], (r.build_sha or "-")[:12],
                      f"[{colour[r.drift]}]{r.drift}[/]", r.deployed_at, r.ignition, r.volume)
    console.print(table)
    if any(r.drift == "no placement" for r in rows):
        console.print("[dim]no placement: the VM is defined in vms/ but fleet.yaml placement.vms does not list it, "
                      "so it has no server to deploy to[/]")
    if any(r.drift == "not stoker's" for r in rows):
        console.print("[dim]not stoker's: a server with the VM's name that stoker did not create; "
                      "`stoker adopt VM` takes it over[/]")
    return 0