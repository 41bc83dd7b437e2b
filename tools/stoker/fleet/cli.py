"""`stoker list|render|ignition|validate|secrets-example`: the fleet's commands.

Rendering is in the library (render.py); this module only shows progress,
tables and warnings with rich, and decides exit codes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.markup import escape

from ..errors import StokerError, UsageError
from .budget import PROVIDERS
from .definitions import load_fleet
from .errors import ERROR, FleetError

METADATA_WARNING = ("Ignition configs are cloud user-data: any process on the VM can read them "
                    "(with the secrets in them) from the metadata service. Keep the VMs' workloads trusted.")
DEV_BANNER = ("DEV MODE: secrets that are not set were filled with THROWAWAY values "
              "(dev-insecure-...). These configs are for tests and boot checks only; never deploy them.")


def _console(stderr: bool = False):
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped (CI logs, tests): wide enough that a message and its location stay on one line.
    width = None if stream.isatty() else 4096
    return Console(stderr=stderr, highlight=False, width=width, emoji=False)


def _fleet(args):
    return load_fleet(Path(args.root) if args.root else None)


def _names(args, fleet) -> list[str]:
    if getattr(args, "all", False) or not args.vms:
        return fleet.names
    unknown = [n for n in args.vms if n not in fleet.names]
    if unknown:
        raise UsageError(f"no VM named {', '.join(unknown)}; the fleet has {', '.join(fleet.names) or 'none'}")
    return list(dict.fromkeys(args.vms))


def _print_problems(console, problems) -> None:
    for p in sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.column or 0, p.message)):
        colour = "red" if p.kind == ERROR else "yellow"
        console.print(f"[{colour}]{escape(str(p))}[/]", soft_wrap=True, highlight=False)


def _note_other_broken(console, fleet, names) -> None:
    """VMs not asked for whose definitions have problems: shown, but they stop nothing."""
    others = [n for n in fleet.broken if n not in names]
    if others:
        console.print(f"[yellow]note:[/] not rendered this run, with problems: {', '.join(others)} "
                      f"(stoker validate {' '.join(others)})", soft_wrap=True)


def _secrets(args):
    from .secrets import ENV_FILE_VAR, load_secrets

    path = args.secrets or os.environ.get(ENV_FILE_VAR)
    if path and os.path.exists(path) and os.stat(path).st_mode & 0o077:
        _console(stderr=True).print(f"[yellow]warning:[/] {path} can be read by other users; "
                                    f"chmod 600 it", soft_wrap=True)
    return load_secrets(args.secrets, dev=args.dev_secrets)


def _common(p: argparse.ArgumentParser, secrets: bool = True) -> None:
    p.add_argument("--root", help="repository root (default: the nearest directory with fleet.yaml)")
    if secrets:
        p.add_argument("--secrets", metavar="FILE",
                       help="YAML file vm -> NAME -> value, kept outside git (default: $STOKER_SECRETS)")
        p.add_argument("--dev-secrets", action="store_true",
                       help="fill secrets that are not set with throwaway values (also STOKER_DEV_SECRETS=1)")


def cmd_list(args) -> int:
    from rich.table import Table

    fleet = _fleet(args)
    table = Table(title="The fleet", title_justify="left")
    for col in ("VM", "extends", "services", "jobs", "timers", "data volume"):
        table.add_column(col)
    for name, vm in sorted(fleet.vms.items()):
        table.add_row(name, vm.extends or "", "\n".join(sorted(vm.services)),
                      "\n".join(sorted(vm.jobs)),
                      "\n".join(f"{t.name} ({t.on_calendar})" for t in sorted(vm.timers.values(), key=lambda t: t.name)),
                      f"{vm.data_volume.device} → {vm.data_volume.mount}" if vm.data_volume else "")
    for name, problems in sorted(fleet.broken.items()):
        table.add_row(name, "", f"[red]not loaded: {_count(problems)}[/] (stoker validate {name})", "", "", "")
    _console().print(table)
    return 0


def cmd_render(args) -> int:
    from .render import render_vm, write_rendered

    fleet = _fleet(args)
    build = Path(args.build_dir or fleet.root / "build")
    console, err = _console(), _console(stderr=True)
    names = _names(args, fleet)
    results, problems = [], []
    for name in names:
        try:
            results.append(render_vm(fleet, name, None, with_ignition=False))
        except FleetError as exc:
            problems += exc.problems
    _note_other_broken(err, fleet, names)
    if any(p.kind == ERROR for p in problems):
        _print_problems(err, problems)
        raise StokerError(f"nothing written: fix the problems above ({_count(problems)})")
    _print_problems(err, [p for r in results for p in r.warnings])
    for path in write_rendered(results, build):
        console.print(f"wrote {path}")
    return 0


def _count(problems) -> str:
    problems = set(problems)  # a fragment's problem is found once per VM that uses it
    errors = sum(p.kind == ERROR for p in problems)
    warnings = len(problems) - errors
    files = len({p.file for p in problems})
    text = f"{errors} error{'s' if errors != 1 else ''}"
    if warnings:
        text += f", {warnings} warning{'s' if warnings != 1 else ''}"
    return text + f" in {files} file{'s' if files != 1 else ''}"


def cmd_ignition(args) -> int:
    from rich.progress import Progress
    from rich.table import Table

    from .render import render_vm, write_rendered
    from .secrets import unused_secret_problems

    fleet = _fleet(args)
    names = _names(args, fleet)
    secrets = _secrets(args)
    provider = args.provider or fleet.data.get("provider", "openstack")
    build = Path(args.build_dir or fleet.root / "build")
    err = _console(stderr=True)
    results = []
    problems = []
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("rendering", total=len(names))
        for name in names:
            progress.update(task, description=f"rendering {name}")
            try:
                results.append(render_vm(fleet, name, secrets, provider=provider, strict=args.strict))
            except FleetError as exc:
                problems += exc.problems
            progress.advance(task)
    _note_other_broken(err, fleet, names)
    unused = unused_secret_problems(secrets, fleet)
    if problems or (args.strict and unused):
        problems += unused
        # All or nothing: build/ never mixes configs of two different definitions.
        _print_problems(err, problems)
        raise StokerError(f"nothing written: fix the problems above ({_count(problems)})")
    write_rendered(results, build)
    if any(r.dev_secrets for r in results):
        err.print(f"[bold red]{'!' * 78}\n{DEV_BANNER}\n{'!' * 78}[/]", soft_wrap=True)
    if results:
        err.print(f"[yellow]warning:[/] {METADATA_WARNING}", soft_wrap=True)
    table = Table(title=f"Ignition configs in {build} (limit: {provider})", title_justify="left")
    for col, just in (("VM", "left"), ("units", "right"), ("size", "right"), ("user-data", "right"),
                      ("", "left")):
        table.add_column(col, justify=just)
    for r in results:
        b = r.budget
        note = "wrapped (gzip)" if r.wrapped else ""
        if r.dev_secrets:
            note = (note + ", " if note else "") + "[red]dev secrets[/]"
        table.add_row(r.vm.name, str(r.units), f"{len(r.ignition):,} B",
                      f"{b.measured:,}/{b.limit:,} {b.unit} ({b.percent:.0f}%)", note)
    _console().print(table)
    _print_problems(err, [p for r in results for p in r.warnings] + unused)
    return 0


def cmd_validate(args) -> int:
    from rich.table import Table

    from .checks import target_podman
    from .render import render_vm
    from .validation import FAILED, OK, SKIPPED, WARNING, definition_failure, validate_rendered, verdict_fails

    console = _console()
    # A name with .ign or a / is a file, and so is anything that exists on disk (a config named `config`).
    files = [t for t in args.vms if t.endswith(".ign") or os.sep in t or os.path.exists(t)]
    vm_names = [t for t in args.vms if t not in files]
    plan = []
    for f in files:
        plan.append((f, lambda f=f: _validate_file(f, args.podman)))
    if vm_names or args.all or not files:
        fleet = _fleet(args)
        args.vms = vm_names
        if not (args.secrets or os.environ.get("STOKER_SECRETS")):
            # Values do not change what is valid; real ones are only needed to deploy.
            args.dev_secrets = True
            console.print("[dim]validating with throwaway secret values (no --secrets given)[/]")
        secrets = _secrets(args)
        podman = args.podman or target_podman(fleet)

        def vm_checks(name):
            try:
                rendered = render_vm(fleet, name, secrets, provider=args.provider, podman=podman)
            except FleetError as exc:
                return definition_failure(exc.problems)
            return validate_rendered(rendered, podman)

        for name in _names(args, fleet):
            plan.append((name, lambda name=name: vm_checks(name)))
    styles = {OK: "green", FAILED: "bold red", WARNING: "yellow", SKIPPED: "dim"}
    failing: list[str] = []
    for label, fn in plan:
        table = Table(title=label, title_justify="left", show_header=False)
        table.add_column("check")
        table.add_column("result")
        table.add_column("detail", overflow="fold")
        for check in fn():
            if verdict_fails(check, args.strict):
                failing.append(f"{label}: {check.name} {check.status}")
            table.add_row(escape(check.name), f"[{styles[check.status]}]{check.status}[/]", escape(check.detail))
        console.print(table)
    if failing:
        rule = " (--strict: warnings and skipped checks fail too)" if args.strict else ""
        _console(stderr=True).print(f"[bold red]validation failed{rule}:[/] " + escape("; ".join(failing)),
                                    soft_wrap=True)
    return 1 if failing else 0


def _validate_file(path: str, podman: str | None):
    from .validation import validate_ignition_bytes

    if os.path.isdir(path):
        raise StokerError(f"{path} is a directory: give an Ignition config file (build/VM.ign) or a VM name")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise StokerError(f"cannot read {path}: {exc.strerror}") from None
    return validate_ignition_bytes(data, path, podman=podman)


def cmd_secrets_example(args) -> int:
    from ..fileio import write_atomic
    from .secrets import example

    fleet = _fleet(args)
    text = example(fleet)
    path = fleet.root / "secrets.example.yaml"
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != text:
            raise StokerError(f"{path.name} is out of date: run `stoker secrets-example`")
        return 0
    write_atomic(path, text.encode(), make_parents=True)
    _console().print(f"wrote {path}")
    return 0


def _podman_version(text: str) -> str:
    """--podman: a Podman release as MAJOR.MINOR (5.8)."""
    import re

    if not re.fullmatch(r"[0-9]+\.[0-9]+", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Podman release MAJOR.MINOR (for example 5.8)")
    major, minor = text.split(".")
    return f"{int(major)}.{int(minor)}"


def register(subparsers) -> None:
    p = subparsers.add_parser("list", help="list the fleet's VMs and what runs on them")
    _common(p, secrets=False)
    p.set_defaults(func=cmd_list)

    p = subparsers.add_parser("render", help="write build/<vm>.bu (Butane; no secrets needed)")
    p.add_argument("vms", nargs="*", metavar="VM")
    p.add_argument("--all", action="store_true", help="every VM (the default when none is named)")
    p.add_argument("--build-dir", metavar="DIR")
    _common(p, secrets=False)
    p.set_defaults(func=cmd_render)

    p = subparsers.add_parser("ignition", help="write build/<vm>.bu and build/<vm>.ign (0600)")
    p.add_argument("vms", nargs="*", metavar="VM")
    p.add_argument("--all", action="store_true", help="every VM (the default when none is named)")
    p.add_argument("--build-dir", metavar="DIR")
    p.add_argument("--provider", choices=sorted(PROVIDERS), help="user-data limit to check against")
    p.add_argument("--strict", action="store_true", help="fail on any warning (nothing is written)")
    _common(p)
    p.set_defaults(func=cmd_ignition)

    p = subparsers.add_parser("validate", help="check VMs (rendered in memory) or FILE.ign files")
    p.add_argument("vms", nargs="*", metavar="VM|FILE.ign")
    p.add_argument("--all", action="store_true")
    p.add_argument("--provider", choices=sorted(PROVIDERS))
    p.add_argument("--strict", action="store_true",
                   help="fail on warnings and on checks skipped for a missing tool (what CI wants)")
    p.add_argument("--podman", metavar="X.Y", type=_podman_version,
                   help="Podman of the target for Quadlet keys (default: fleet.yaml target.podman)")
    _common(p)
    p.set_defaults(func=cmd_validate)

    p = subparsers.add_parser("secrets-example", help="write secrets.example.yaml: every secret name, no values")
    p.add_argument("--check", action="store_true", help="fail if the file is out of date")
    _common(p, secrets=False)
    p.set_defaults(func=cmd_secrets_example)
