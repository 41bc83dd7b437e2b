"""`stoker rollout` and `stoker history`: the only place in the rollout package
that prints, asks and picks exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.markup import escape

from ..errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("rollout", help="take a change through the fleet: gates, then one server at a time, "
                                       "each checked on the live server")
    p.add_argument("vms", nargs="*", metavar="VM", help="only these VMs (default with --all: every placed VM)")
    p.add_argument("--all", action="store_true", help="every VM of fleet.yaml placement")
    p.add_argument("--dry-run", action="store_true",
                   help="plan, validate and print the whole sequence; run no boot test, change nothing")
    p.add_argument("--yes", action="store_true", help="roll out without asking")
    p.add_argument("--skip-boot-test", action="store_true",
                   help="do not run the boot and fleet tests (written into the rollout's record)")
    p.add_argument("--auto-rollback", action="store_true",
                   help="when a server fails, redeploy its previous config and check it, without asking")
    p.add_argument("--break-lock", action="store_true", help="take over another rollout's lock (one that died)")
    p.add_argument("--accept-loss", action="store_true",
                   help="rebuild even though containers keep state on the root disk (as stoker deploy)")
    p.add_argument("--identity", type=Path, metavar="FILE",
                   help="SSH private key for the post-deploy checks (default: your agent and ~/.ssh keys)")
    p.add_argument("--cloud", help="clouds.yaml entry; default: OS_CLOUD, then the OS_* variables, "
                                   "then the placement's cloud")
    p.add_argument("--root", type=Path, default=Path("."), help="repository root (fleet.yaml, build/, state/)")
    p.add_argument("--timeout", type=float, help="seconds for each cloud wait (server ACTIVE, Ignition verdict)")
    p.set_defaults(func=cmd_rollout)
    h = sub.add_parser("history", help="the rollouts recorded in state/rollouts/ (who, when, configs, gates, "
                                       "checks, outcome)")
    h.add_argument("vm", nargs="?", metavar="VM", help="only rollouts that planned or touched this VM")
    h.add_argument("--root", type=Path, default=Path("."), help="repository root (state/)")
    h.add_argument("--json", action="store_true", help="the records as a JSON list")
    h.set_defaults(func=cmd_history)


_STYLE = {"step": "bold", "order": "bold cyan", "gate": "cyan", "lock": "magenta", "ok": "green", "fail": "red",
          "error": "bold red", "warn": "yellow", "note": "bold", "sequence": ""}


def cmd_rollout(args) -> int:
    """SIGINT, SIGTERM and SIGHUP stop the rollout as Ctrl-C does: the locks are released, the
    record says `interrupted` (where), and stoker exits 128 + the signal's number."""
    from ..boot.run import signals_stop_the_run

    with signals_stop_the_run():
        return _rollout(args)


def _rollout(args) -> int:
    from ..cloud.cli import _console, _show_plan, _timings
    from .live import live_checker
    from .run import Options, Rollout

    if args.vms and args.all:
        raise UsageError("name VMs or pass --all, not both")
    if not args.vms and not args.all:
        raise UsageError("name the VMs to roll out, or pass --all (make rollout: every VM)")
    if not args.yes and not args.dry_run and not sys.stdin.isatty():  # before minutes of boot tests
        raise UsageError("a rollout needs confirmation: run in a terminal, or pass --yes (make: yes=1)")
    args.root = args.root.absolute()  # the boot tests' --junit paths are given to a process run inside it
    if not args.dry_run:
        _require_ssh(args.identity)
    console = _console()

    def say(kind: str, text: str) -> None:
        label = {"gate": "gate", "lock": "lock", "order": "order", "fail": "FAILED", "error": "error",
                 "warn": "warning", "ok": "ok"}.get(kind)
        style = _STYLE.get(kind, "")
        head = f"[{style}]{label}:[/] " if label and style else (f"{label}: " if label else "")
        body = escape(text)
        console.print(f"{head}[{style}]{body}[/]" if kind in ("step", "note") else head + body,
                      soft_wrap=True, highlight=False)

    def confirm(order: list[str]) -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError("a rollout needs confirmation: run in a terminal, or pass --yes (make: yes=1)")
        answer = console.input(f"Roll out {len(order)} server(s), one at a time: {' → '.join(order)}? "
                               "Each root disk is replaced; data volumes stay. [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    def offer_rollback(vm: str, sha: str) -> bool:
        # asked only in a terminal; elsewhere the halt message names `stoker rollback VM`
        if not sys.stdin.isatty():
            return False
        answer = console.input(f"Roll {vm} back to its previous config {sha[:12]} now, and check it? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    options = Options(vms=args.vms or None, dry_run=args.dry_run, skip_boot_test=args.skip_boot_test,
                      auto_rollback=args.auto_rollback, break_lock=args.break_lock, accept_loss=args.accept_loss,
                      cloud=args.cloud, timings=_timings(args))
    rollout = Rollout(args.root, options, live_checker(args.root, args.identity), say=say,
                      show=lambda plan: _show_plan(console, plan, text_diffs=plan.action != "create"),
                      confirm=confirm, offer_rollback=offer_rollback)
    record = rollout.run()
    print_summary(console, record)
    return 0 if record.outcome in ("done", "nothing to do", "planned") else 1


def _require_ssh(identity: Path | None) -> None:
    """The post-deploy checks' programs and key, before any work (MissingTool/UsageError: exit 2)."""
    import os

    from ..boot.tools import require_tools

    require_tools(("ssh", "ssh-keygen"), "the post-deploy checks")
    if identity is not None and not (identity.is_file() and os.access(identity, os.R_OK)):
        raise UsageError(f"--identity {identity}: no readable key file there")


def print_summary(console, record) -> None:
    console.print(f"[bold]rollout {escape(record.id)}[/]: {escape(record.outcome)}"
                  + (f" — {escape(record.detail)}" if record.detail else ""), soft_wrap=True, highlight=False)
    for s in record.servers:
        line = f"  {s.vm}: {s.outcome}" + (f" ({s.detail})" if s.detail else "")
        console.print(escape(line), soft_wrap=True, highlight=False)
    if not record.dry_run and record.outcome not in ("nothing to do",):
        console.print(f"  record: state/rollouts/{escape(record.id)}.json; `stoker history` shows it",
                      highlight=False)


def cmd_history(args) -> int:
    from dataclasses import asdict

    from ..cloud.cli import _console
    from .record import scan

    records, damaged = scan(args.root / "state", args.vm)
    for path, why in damaged:  # said, and the others still shown
        print(f"stoker: warning: {path} is damaged ({why}); left out, move it aside", file=sys.stderr)
    if args.json:
        print(json.dumps([asdict(r) for r in records], indent=2))
        return 0
    console = _console()
    if not records:
        console.print(f"no rollouts recorded in {args.root / 'state' / 'rollouts'}"
                      + (f" for {args.vm}" if args.vm else ""))
        return 0
    for r in records:
        flags = [f for f, on in (("dry run", r.dry_run), ("--skip-boot-test", r.skip_boot_test),
                                 ("--auto-rollback", r.auto_rollback)) if on]
        console.print(f"[bold]{escape(r.id)}[/] {escape(r.started)} by {escape(r.operator)}: "
                      f"[bold]{escape(r.outcome)}[/]" + (f" [dim]({escape(', '.join(flags))})[/]" if flags else ""),
                      highlight=False, soft_wrap=True)
        if r.detail:
            console.print(f"  {escape(r.detail)}", highlight=False, soft_wrap=True)
        for vm in r.order:
            if args.vm and vm != args.vm:
                continue
            c = r.configs.get(vm, {})
            s = next((s for s in r.servers if s.vm == vm), None)
            passed = sum(1 for x in (s.checks if s else []) if x.get("ok") is True)
            total = len(s.checks) if s else 0
            console.print(escape(f"  {vm}: {c.get('action', '?')} {str(c.get('previous') or 'none')[:12]} → "
                                 f"{str(c.get('sha256') or '?')[:12]}; {s.outcome if s else 'untouched'}"
                                 + (f"; checks {passed}/{total} passed" if total else "")
                                 + (f"; rollback to {str(s.rollback.get('to'))[:12]}: {s.rollback.get('outcome')}"
                                    if s and s.rollback else "")),
                          highlight=False, soft_wrap=True)
        for g in r.gates:
            if args.vm and g.vm not in (None, args.vm):
                continue
            console.print(escape(f"    gate {g.name}{' ' + g.vm if g.vm else ''}: {g.status}"), highlight=False)
    return 0
