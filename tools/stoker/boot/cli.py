"""`stoker image build|fetch`, `stoker boot`, `stoker boot-test`: the CLI decides how things are shown."""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import Interrupted, StokerError, UsageError
from .errors import unknown_vms
from .image import Image, build_image, cache_root
from .junit import JunitRun

console = Console(stderr=True, emoji=False)
out = Console(emoji=False)
if not out.is_terminal:  # CI logs: wide enough that expected/seen stay readable
    out.width = 160

STEP_TEXT = {"rootfs": "Debian rootfs (mmdebstrap)", "customize": "patches",
             "initramfs": "initramfs with Ignition (dracut)", "disk": "ext4 root disk → qcow2",
             "image": "offline image"}


FCOS_STREAMS = ("stable", "testing", "next")

# The least guest memory taken (MiB): a floor far under the defaults (2048, 1536 per fleet VM) that
# stops a typo (0, -5) at parse time instead of as a QEMU error or a guest that never answers.
MIN_MEMORY_MB = 512


def _at_least(low: int, unit: str = ""):
    """An argparse `type`: a whole number >= `low` (of `unit`, e.g. "MiB"). Anything else raises
    argparse.ArgumentTypeError, which argparse shows after the option's name (usage error, exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number{' of ' + unit if unit else ''}, "
                                             f"at least {low} (not {text!r})")
        return value
    return parse


def _seconds(text: str) -> float:
    """An argparse `type`: a finite number of seconds > 0; nan, inf, 0 and negatives raise
    argparse.ArgumentTypeError (usage error, exit 2)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds greater than 0 (not {text!r})")
    return value


def register(sub) -> None:
    img = sub.add_parser("image", help="build or fetch the images the boot test boots")
    isub = img.add_subparsers(dest="image_command", metavar="ACTION")
    isub.required = True
    b = isub.add_parser("build", help="build the offline test image (Debian trixie + real Ignition), cached")
    b.add_argument("--force", action="store_true", help="rebuild even when the cache has the image")
    b.set_defaults(func=cmd_image_build)
    st = isub.add_parser("standins", help="build the stand-ins for the fleet's registry images (Debian packages) "
                                          "and the container probes' image, cached")
    st.add_argument("--force", action="store_true", help="rebuild even when the cache has them")
    st.add_argument("images", nargs="*", metavar="NAME:TAG",
                    help="only these images (default: every stand-in and stoker-probe:latest, see "
                         "tools/stoker/boot/standins/catalog.py)")
    st.set_defaults(func=cmd_image_standins)
    f = isub.add_parser("fetch", help="download and verify a Fedora CoreOS QEMU image, cached")
    f.add_argument("--stream", default="stable", choices=FCOS_STREAMS)
    f.add_argument("--keyring", type=Path, metavar="FILE",
                   help="OpenPGP key(s) to verify with (default: Fedora's keys from distribution-gpg-keys)")
    f.add_argument("--stream-url", metavar="URL", help="stream metadata URL template with {stream}")
    f.set_defaults(func=cmd_image_fetch)

    for name, helptext in (("boot", "boot a VM's Ignition config and leave it running for SSH"),
                           ("boot-test", "boot a VM's Ignition config and check every service came up")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("target", metavar="VM|FILE.ign", help="a fleet VM name (build/<vm>.ign) or a config file")
        p.add_argument("--image", choices=("offline", "fcos"), default="offline",
                       help="offline: the Debian image with the real Ignition; fcos: a fetched Fedora CoreOS")
        p.add_argument("--stream", default="stable", choices=FCOS_STREAMS,
                       help="Fedora CoreOS stream for --image fcos (fetched first by `stoker image fetch`); "
                            "not used with --image offline")
        p.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto")
        p.add_argument("--timeout", type=_seconds, default=420.0,
                       help="seconds from QEMU start to SSH (default 420)")
        p.add_argument("--memory", type=_at_least(MIN_MEMORY_MB, "MiB"), default=2048,
                       help=f"guest memory in MiB (default 2048, at least {MIN_MEMORY_MB})")
        p.add_argument("--data-disk", type=Path, metavar="FILE", help="keep the data disk in FILE across boots")
        p.add_argument("--keep", action="store_true",
                       help="keep the run directory (console log, config, throwaway SSH key) and print its path; "
                            "else it is removed when the run ends")
        p.add_argument("--registry", choices=("local", "real"), default="local",
                       help="local (default): serve the config's images from a registry on 127.0.0.1 with the "
                            "stand-ins built from Debian packages; real: pull from the registries the config names")
        if name == "boot-test":
            p.add_argument("--junit", type=Path, metavar="FILE", help="write the results as JUnit XML")
            p.add_argument("--no-probes", action="store_true",
                           help="skip the container probes (reachability by name inside the container networks, "
                                "environment files hidden), which start probe containers through the guest's "
                                "Podman API with testcontainers")
            p.set_defaults(func=cmd_boot_test)
        else:
            p.set_defaults(func=cmd_boot)


    ft = sub.add_parser("fleet-test", help="boot every VM at once on a private network and check every site "
                                           "through the bastion")
    ft.add_argument("vms", nargs="*", metavar="VM", help="only these VMs (default: every VM of vms/); a site whose "
                                                         "VM is not booted fails")
    ft.add_argument("--image", choices=("offline", "fcos"), default="offline")
    ft.add_argument("--stream", default="stable", choices=FCOS_STREAMS,
                    help="Fedora CoreOS stream for --image fcos (fetched first by `stoker image fetch`); "
                         "not used with --image offline")
    ft.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto")
    ft.add_argument("--timeout", type=_seconds, default=1800.0,
                    help="per VM, seconds from its QEMU start until SSH answers and the system settled (default "
                         "1800: the VMs share the cores); a checked VM waits for the others without a limit of "
                         "its own")
    ft.add_argument("--memory", type=_at_least(MIN_MEMORY_MB, "MiB"), default=1536,
                    help=f"guest memory in MiB, per VM (default 1536, at least {MIN_MEMORY_MB})")
    ft.add_argument("--cpus", type=_at_least(1), default=1, help="vCPUs per VM (default 1)")
    ft.add_argument("--keep", action="store_true",
                    help="keep the run directories (console logs, configs, throwaway SSH keys) and print their "
                         "paths; else they are removed when the run ends")
    ft.add_argument("--junit", type=Path, metavar="FILE", help="write the results as JUnit XML")
    ft.set_defaults(func=cmd_fleet_test)


def _build_progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console)


def offline_image(force: bool = False) -> Image:
    with _build_progress() as progress:
        tasks: dict[str, int] = {}

        def step(name: str, state: str) -> None:
            text = STEP_TEXT.get(name, name)
            if state == "start":
                tasks[name] = progress.add_task(text, total=1)
            elif state in ("done", "cached"):
                if name not in tasks:
                    tasks[name] = progress.add_task(f"{text} [dim](cached)[/]", total=1)
                progress.update(tasks[name], completed=1)
        return build_image(progress=step, force=force)


def cmd_image_build(args) -> int:
    t0 = time.monotonic()
    image = offline_image(force=args.force)
    console.print(f"[green]offline image[/] {image.root.parent} "
                  f"(Ignition ≤ {image.ignition_max_spec}, kernel {image.manifest.get('kernel')}) "
                  f"in {time.monotonic() - t0:.1f}s")
    out.print(str(image.root.parent), soft_wrap=True, highlight=False)
    return 0


def cmd_image_standins(args) -> int:
    """Build (or take from the cache) every image the boot test serves: the fleet's stand-ins and the
    container probes' image (catalog.PROBE), or only the NAME:TAG given; UsageError for an unknown one."""
    from .standins import STANDINS, build_all
    from .standins.catalog import PROBE
    from .standins.report import fleet_registry, standins_table
    every = STANDINS + (PROBE,)
    known = {s.image: s for s in every}
    unknown = [name for name in args.images if name not in known]
    if unknown:
        raise UsageError(f"no stand-in for {', '.join(unknown)} (there are: {', '.join(sorted(known))})")
    chosen = tuple(known[name] for name in args.images) or every
    t0 = time.monotonic()
    with _build_progress() as progress:
        tasks: dict[str, int] = {}

        def step(what: str, state: str) -> None:
            if state == "start":
                tasks[what] = progress.add_task(f"stand-in {what}", total=1)
            elif what in tasks:
                progress.update(tasks[what], completed=1)
        built = build_all(chosen, progress=step, force=args.force, registry=fleet_registry())
    out.print(standins_table(built))
    console.print(f"{len(built) - 1} stand-ins in {time.monotonic() - t0:.1f}s")
    return 0


def cmd_image_fetch(args) -> int:
    from .fetch import fetch_fcos
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        tasks: dict[str, int] = {}

        def report(what: str, done: int, total: int | None) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(what, total=total)
            progress.update(tasks[what], completed=done, total=total)
        image = fetch_fcos(args.stream, keyring=args.keyring, url=args.stream_url, progress=report)
    console.print(f"[green]Fedora CoreOS {image.manifest.get('release')}[/] ({args.stream}) verified: {image.root}")
    out.print(str(image.root.parent), soft_wrap=True, highlight=False)
    return 0


def _is_file_target(target: str) -> bool:
    path = Path(target)
    return path.suffix == ".ign" or path.is_file()


def resolve_target(target: str) -> tuple[str, Path]:
    """(name, config path): a file as given, or a fleet VM's rendered build/<vm>.ign."""
    path = Path(target)
    if _is_file_target(target):
        if not path.is_file():
            raise UsageError(f"{target}: no such file")
        return path.stem, path
    rendered = Path("build") / f"{target}.ign"
    if rendered.is_file():
        return target, rendered
    vms = Path("vms")
    if not vms.is_dir():
        raise UsageError(f"{target}: no such file, and no vms/ directory here to find a VM of that name")
    if not (vms / f"{target}.yaml").is_file():
        from ..fleet.definitions import definition_files
        raise unknown_vms([target], sorted(p.stem for p in definition_files(Path("."))))
    raise UsageError(f"{rendered} does not exist: render it first with `make ignition vm={target}`")


def _refuse_unreadable_spec(cfg: dict, kind: str, source: str) -> None:
    """Before any image is built or looked up: a config whose spec the image's Ignition cannot read
    (spec 2.x, or newer than the image's) is refused, ConfigError naming `source` (its file or VM)."""
    from .fetch import FCOS_IGNITION_MAX_SPEC
    from .ignition import check_spec
    from .recipe import offline_recipe
    check_spec(cfg, offline_recipe().ignition_max_spec if kind == "offline" else FCOS_IGNITION_MAX_SPEC, kind,
               source)


def _image(args) -> Image:
    if args.image == "offline":
        return offline_image()
    from .fetch import cached_fcos
    image = cached_fcos(args.stream)
    if image is None:
        raise UsageError(f"no Fedora CoreOS {args.stream} image in {cache_root() / 'images'}: "
                         f"run `stoker image fetch --stream {args.stream}` first")
    return image


def _options(args, registry_mirror: str | None, probes=None):
    from .session import BootOptions
    return BootOptions(timeout=args.timeout, memory_mb=args.memory, accel=args.accel, data_disk=args.data_disk,
                       keep=args.keep, registry_mirror=registry_mirror, probes=probes)


def _images_to_serve(args, cfg: dict) -> tuple[list[str], str] | None:
    """(the image references the config pulls, fleet.yaml's registry), or None for `--registry real`.

    Run before the image is built or looked up, so a broken fleet.yaml fails at once
    with its file, line and cause (FleetError), not after minutes of building."""
    if args.registry == "real":
        return None
    from .ignition import image_references
    from .standins.report import fleet_registry
    refs = image_references(cfg)
    registry = fleet_registry()
    if refs and not registry:
        raise UsageError("the config runs containers but there is no fleet.yaml `registry` here to serve "
                         "them from; boot with --registry real")
    return refs, registry or ""


def _images_served(plan: tuple[list[str], str] | None, event, probes: bool = False):
    """A context yielding the mirror location the guest pulls from, or None (`--registry real`,
    or a config without containers). With `probes`, the probe image is served too."""
    import contextlib
    if plan is None:
        return contextlib.nullcontext(None)
    from .serve import serve_images
    from .standins.catalog import PROBE
    refs, registry = plan
    extra = (PROBE,) if probes and refs and registry else ()
    return serve_images(refs, registry, event=event, extra=extra)


def _probe_spec(args, cfg: dict, mirror: str | None):
    """What the container probes need, or None with --no-probes."""
    if getattr(args, "no_probes", True):
        return None
    from .ignition import image_references
    from .probes import ProbeSpec
    from .standins import STANDINS
    from .standins.catalog import PROBE
    from .standins.publish import fleet_reference
    from .standins.report import fleet_registry
    registry = fleet_registry() or ""
    if not image_references(cfg):
        return ProbeSpec(None, registry, STANDINS, skip="the config runs no containers")
    if mirror is None:
        return ProbeSpec(None, registry, STANDINS,
                         skip="--registry real: the probe image is served only by the local test registry")
    return ProbeSpec(fleet_reference(registry, PROBE.image), registry, STANDINS)


class _Report:
    """What a run hands its --junit file: `suites` = [(name, results, seconds)] once it completed."""
    suites: list | None = None


def _why_ended(exc: BaseException) -> str:
    """One line for the JUnit error of a run that ended with `exc`."""
    if isinstance(exc, Interrupted):
        return f"interrupted by {exc.signame} before the run completed"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C) before the run completed"
    if isinstance(exc, UsageError):
        return f"usage error: {exc}"
    if isinstance(exc, StokerError):
        return f"error: {exc}"
    if isinstance(exc, SystemExit):
        return f"the run exited with status {exc.code} before it completed"
    return f"the run failed: {type(exc).__name__}: {exc}"


@contextlib.contextmanager
def _junit_run(path: Path | None, name: str):
    """A context for one run's --junit file (junit.JunitRun) that yields a _Report.

    Before the run: an unwritable `path` (a directory, no permission, a file where a
    directory should be) is a UsageError (exit 2), else the file is replaced by an error
    that says the run did not complete (so no earlier run's pass stays there). A run that
    ends with an exception (an error, Ctrl-C, SIGTERM) leaves one error saying why; one
    that completes leaves its `report.suites`. Each write is atomic. Without `path`, nothing
    is written. StokerError when the results cannot be written."""
    report = _Report()
    if path is None:
        yield report
        return
    junit = JunitRun(path, name)
    try:
        junit.start()
    except OSError as exc:
        raise UsageError(f"--junit {path}: cannot write a file there: {exc.strerror or exc}") from None
    try:
        yield report
    except BaseException as exc:
        problem = junit.error(_why_ended(exc))
        if problem:
            console.print(f"could not write the JUnit XML to {path}: {problem}", highlight=False)
        raise
    if report.suites is None:
        junit.error("the run ended without results")
        return
    try:
        junit.results(report.suites)
    except OSError as exc:
        raise StokerError(f"cannot write the JUnit XML to {path}: {exc.strerror or exc}") from None
    console.print(f"JUnit XML: {path}", highlight=False)


def _stops_on_signals(cmd):
    """Decorator: the command runs inside run.signals_stop_the_run."""
    from .run import signals_stop_the_run

    @functools.wraps(cmd)
    def wrapped(args) -> int:
        with signals_stop_the_run():
            return cmd(args)
    return wrapped


def _show(msg: str) -> None:
    """A boot's event on stderr, as a log line; a kept run directory's path on a line of its own,
    unbroken, to copy."""
    from .session import KEPT
    if KEPT in msg:
        console.print(msg, soft_wrap=True, highlight=False)
    else:
        console.log(msg, highlight=False)


def _require_boot_tools(plan) -> None:
    """Every host program the boot runs, before anything is built or started (MissingTool, exit 2)."""
    from .tools import boot_tools, require_tools
    require_tools(boot_tools(local_registry=bool(plan and plan[0])))


@_stops_on_signals
def cmd_boot_test(args) -> int:
    name = Path(args.target).stem if _is_file_target(args.target) else args.target
    with _junit_run(args.junit, name) as report:
        return _boot_test(args, report)


def _boot_test(args, report: _Report) -> int:
    from .ignition import load_config
    from .session import boot_test
    from .fleetinfo import expectations_for
    name, path = resolve_target(args.target)
    cfg = load_config(path)
    _refuse_unreadable_spec(cfg, args.image, str(path))
    plan = _images_to_serve(args, cfg)
    exp = expectations_for(name, cfg)  # before the image: a definition that does not load stops at once
    _require_boot_tools(plan)
    image = _image(args)
    t0 = time.monotonic()
    with console.status(f"booting {name} on the {image.kind} image") as status:
        def event(msg: str) -> None:
            _show(msg)
            status.update(f"{name}: {msg}")
        with _images_served(plan, event, probes=not args.no_probes) as mirror:
            result = boot_test(name, cfg, image, _options(args, mirror, _probe_spec(args, cfg, mirror)),
                               event=event, expectations=exp)
    elapsed = time.monotonic() - t0
    render_results(name, result)
    report.suites = [(name, result.results, elapsed)]
    return 0 if result.ok else 1


_NOTE_MARKS = {"added by the test": "[yellow]ADDED[/]", "not exercised": "[yellow]NOT RUN[/]"}


def render_results(name: str, result) -> None:
    table = Table(title=f"boot test: {name} ({result.accel}, attempt {result.attempts})", show_lines=False)
    for col in ("", "check", "expected", "seen"):
        table.add_column(col)
    for c in result.results.checks:
        mark = _NOTE_MARKS.get(c.group) or ("[green]ok[/]" if c.ok else "[red]FAIL[/]")
        table.add_row(mark, f"{c.group}: {c.name}", c.expected, c.seen)
    out.print(table)
    for c in result.results.failed:
        if c.details:
            out.print(f"[red]{c.group}: {c.name}[/]\n{c.details}\n")
    marks = ", ".join(f"{k} {v:.0f}s" for k, v in result.timings.items())
    out.print(f"timings from QEMU start: {marks}")
    if result.slowest:
        out.print(f"slowest units to start (systemd-analyze blame): {', '.join(result.slowest)}")
    if result.run_dir and result.run_dir.exists():
        out.print(f"run directory (console log, config): {result.run_dir}")
    verdict = "[green]PASSED[/]" if result.ok else f"[red]FAILED[/] ({len(result.results.failed)} checks)"
    out.print(f"{name}: {verdict}")


@_stops_on_signals
def cmd_fleet_test(args) -> int:
    with _junit_run(args.junit, "fleet-test") as report:
        return _fleet_test(args, report)


def _fleet_test(args, report: _Report) -> int:
    from .fleettest import FleetOptions, render_fleet, run_fleet
    from .standins.report import fleet_registry
    from ..fleet.definitions import load_fleet
    fleet = load_fleet()
    rendered = render_fleet(args.vms or None, fleet)
    for name, cfg in rendered.configs.items():
        _refuse_unreadable_spec(cfg, args.image, f"{name} (rendered)")
    registry = fleet_registry()
    if not registry:
        raise UsageError("there is no fleet.yaml `registry` here to serve the fleet's images from")
    from .tools import fleet_tools, require_tools
    require_tools(fleet_tools())
    image = _image(args)
    options = FleetOptions(memory_mb=args.memory, cpus=args.cpus, timeout=args.timeout, accel=args.accel,
                           keep=args.keep)
    names = sorted(rendered.configs)
    t0 = time.monotonic()
    with console.status(f"booting {', '.join(names)} on the {image.kind} image") as status:
        def event(msg: str) -> None:
            _show(msg)
            status.update(msg)
        result = run_fleet(rendered, image, fleet.data, registry, options, event)
    elapsed = time.monotonic() - t0
    for name in names:
        render_results(name, result.vms[name])
    render_sites(result)
    render_fleet_summary(result, elapsed)
    report.suites = main_junit_suites(result)
    return 0 if result.ok else 1


def main_junit_suites(result) -> list:
    """JUnit suites of a fleet test: one per VM (boot.<vm>), then boot.fleet-sites."""
    suites = [(name, r.results, r.timings.get("total", 0.0)) for name, r in sorted(result.vms.items())]
    suites.append(("fleet-sites", result.sites,
                   result.timings.get("sites checked", 0.0) - result.timings.get("all checked", 0.0)))
    return suites


def render_sites(result) -> None:
    table = Table(title=f"sites through {result.bastion} (ports 80 and 443 only)")
    for col in ("", "check", "expected", "seen"):
        table.add_column(col)
    for c in result.sites.checks:
        mark = _NOTE_MARKS.get(c.group) or ("[green]ok[/]" if c.ok else "[red]FAIL[/]")
        table.add_row(mark, c.name, c.expected, c.seen)
    out.print(table)


def _passed_of(results) -> str:
    """"passed/checks", and how many did not run: additions are no checks, a check not run no pass."""
    passed, failed, not_run = results.tally()
    return f"{passed}/{passed + failed + not_run}" + (f", {not_run} not run" if not_run else "")


def render_fleet_summary(result, elapsed: float) -> None:
    marks = ("ignition done", "ssh up", "checks done", "powered off")
    table = Table(title="fleet test: seconds from each VM's QEMU start")
    for col in ("VM", *marks, "checks", "verdict"):
        table.add_column(col, justify="left" if col in ("VM", "verdict") else "right")
    for name, r in sorted(result.vms.items()):
        table.add_row(name, *(f"{r.timings[m]:.0f}" if m in r.timings else "-" for m in marks),
                      _passed_of(r.results),
                      "[green]passed[/]" if r.ok else f"[red]FAILED[/] ({len(r.results.failed)})")
    s = result.sites
    table.add_row("sites", "", "", "", "", _passed_of(s),
                  "[green]passed[/]" if s.ok else f"[red]FAILED[/] ({len(s.failed)})")
    out.print(table)
    t = result.timings
    out.print(f"every VM checked after {t.get('all checked', 0):.0f}s, sites after {t.get('sites checked', 0):.0f}s, "
              f"all powered off after {t.get('total', 0):.0f}s; {elapsed:.0f}s in all")
    verdict = "[green]PASSED[/]" if result.ok else "[red]FAILED[/]"
    out.print(f"fleet test ({len(result.vms)} VMs): {verdict}")


@_stops_on_signals
def cmd_boot(args) -> int:
    from .ignition import check_spec, load_config
    from .session import boot_interactive
    name, path = resolve_target(args.target)
    cfg = load_config(path)
    _refuse_unreadable_spec(cfg, args.image, str(path))
    plan = _images_to_serve(args, cfg)
    _require_boot_tools(plan)
    image = _image(args)
    check_spec(cfg, image.ignition_max_spec, image.kind, str(path))

    def ready(ssh_cmd: str, run_dir: Path) -> None:
        console.print(f"[green]{name} is up[/]. Connect with:\n  {ssh_cmd}\nconsole log: {run_dir / 'console.log'}"
                      + ("" if args.keep else " (removed when the VM is off; --keep keeps it)")
                      + "\nPress Ctrl-C to power it off.", soft_wrap=True, highlight=False)
    with console.status(f"booting {name} on the {image.kind} image") as status:
        def event(msg: str) -> None:
            _show(msg)
            status.update(f"{name}: {msg}")
        with _images_served(plan, event) as mirror:
            boot_interactive(name, cfg, image, _options(args, mirror), event=event, ready=ready)
    return 0
