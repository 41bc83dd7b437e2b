"""How long does the boot test take? Per VM and for the whole fleet.

    .venv/bin/python benchmarks/boot.py [--cold] [--parallel N] [VM ...]
    .venv/bin/python benchmarks/boot.py --fleet [--sizes 1,2,4]

Prints: the offline image's cold build (--cold: into a temporary cache, the real
cache is untouched) and its cache hit; then for each VM (default: every rendered
build/<vm>.ign) QEMU start → Ignition done, → SSH up, → system settled, → all
checks done, and the whole fleet serially; with --parallel N also N VMs at a time.
With --fleet: the fleet test (`stoker fleet-test`: every VM at once on the private
network, then the site checks through the bastion) for the whole fleet, and
before it for the first 1, 2, ... VMs (the bastion first), to show how the
time grows with the number of VMs; per VM its marks, then the fleet's time.
Not a test: nothing is asserted, failures are shown as such.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stoker.boot.fleetinfo import expectations_for
from stoker.boot.ignition import load_config
from stoker.boot.image import build_image
from stoker.boot.session import BootOptions, boot_test

MARKS = ("ignition done", "ssh up", "system settled", "checks done", "total")


def timed(fn):
    t0 = time.monotonic()
    value = fn()
    return value, time.monotonic() - t0


def one(name: str):
    cfg = load_config(Path("build") / f"{name}.ign")
    result, seconds = timed(lambda: boot_test(name, cfg, image, BootOptions(),
                                              expectations=expectations_for(name, cfg)))
    return name, result, seconds


def row(name, result, seconds):
    marks = "  ".join(f"{m} {result.timings[m]:6.1f}s" if m in result.timings else f"{m}      -"
                      for m in MARKS)
    verdict = "passed" if result.ok else f"FAILED ({len(result.results.failed)})"
    print(f"{name:12} {marks}  [{result.accel}, attempt {result.attempts}] {verdict}", flush=True)


def fleet(sizes: list[int]) -> None:
    from stoker.boot.fleettest import FleetOptions, render_fleet, run_fleet
    from stoker.boot.standins.report import fleet_registry
    from stoker.fleet.definitions import load_fleet
    data = load_fleet()
    everyone = render_fleet(fleet=data)
    bastion = next(n for n in everyone.configs if n not in (data.data.get("hosts") or {}))
    order = [bastion] + sorted(n for n in everyone.configs if n != bastion)
    figures = []
    for size in sorted(set(min(n, len(order)) for n in sizes)):
        chosen = order[:size]
        rendered = render_fleet(chosen, fleet=data) if size < len(order) else everyone
        print(f"--- fleet test, {size} VM(s): {', '.join(chosen)}", flush=True)
        result, seconds = timed(lambda: run_fleet(rendered, image, data.data, fleet_registry(), FleetOptions()))
        for name in chosen:
            row(name, result.vms[name], result.vms[name].timings.get("total", 0.0))
        s = result.sites
        t = result.timings
        print(f"sites        {len(s.checks) - len(s.failed)}/{len(s.checks)} ok"
              + ("" if size == len(order) else " (sites of VMs not booted fail)"), flush=True)
        print(f"fleet {size} VM(s)   all checked {t.get('all checked', 0):6.1f}s  "
              f"sites {t.get('sites checked', 0):6.1f}s  total {seconds:6.1f}s  "
              f"{'passed' if result.ok else 'FAILED'}", flush=True)
        figures.append((size, seconds))
    print("scaling (VMs: seconds, seconds per VM): " + ", ".join(f"{n}: {s:.0f}s ({s / n:.0f})" for n, s in figures))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("vms", nargs="*")
    ap.add_argument("--cold", action="store_true", help="also time a cold image build in a temporary cache")
    ap.add_argument("--parallel", type=int, default=0, help="also boot N VMs at a time")
    ap.add_argument("--fleet", action="store_true", help="time the fleet test instead, for each of --sizes")
    ap.add_argument("--sizes", default="1,2,4", help="with --fleet: numbers of VMs, bastion first (default 1,2,4)")
    args = ap.parse_args()
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="stoker-bench-") as tmp:
            _, seconds = timed(lambda: build_image(root=Path(tmp)))
            print(f"image cold build     {seconds:7.1f}s", flush=True)
    image, seconds = timed(build_image)
    print(f"image cache hit      {seconds:7.2f}s", flush=True)
    if args.fleet:
        fleet([int(n) for n in args.sizes.split(",") if n.strip()])
        sys.exit(0)
    names = args.vms or sorted(p.stem for p in Path("build").glob("*.ign"))
    if not names:
        sys.exit("no build/<vm>.ign: run `make ignition` first")
    t0 = time.monotonic()
    for name in names:
        row(*one(name))
    print(f"fleet serially       {time.monotonic() - t0:7.1f}s ({len(names)} VMs)", flush=True)
    if args.parallel > 1:
        t0 = time.monotonic()
        with ThreadPoolExecutor(args.parallel) as pool:
            for res in pool.map(one, names):
                row(*res)
        print(f"fleet {args.parallel} at a time  {time.monotonic() - t0:7.1f}s on {os.cpu_count()} CPUs", flush=True)
