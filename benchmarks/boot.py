"""How long does the boot test take? Per VM and for the whole fleet.

    .venv/bin/python benchmarks/boot.py [--cold] [--parallel N] [VM ...]

Prints: the offline image's cold build (--cold: into a temporary cache, the real
cache is untouched) and its cache hit; then for each VM (default: every rendered
build/<vm>.ign) QEMU start → Ignition done, → SSH up, → system settled, → all
checks done, and the whole fleet serially; with --parallel N also N VMs at a time.
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


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("vms", nargs="*")
    ap.add_argument("--cold", action="store_true", help="also time a cold image build in a temporary cache")
    ap.add_argument("--parallel", type=int, default=0, help="also boot N VMs at a time")
    args = ap.parse_args()
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="stoker-bench-") as tmp:
            _, seconds = timed(lambda: build_image(root=Path(tmp)))
            print(f"image cold build     {seconds:7.1f}s", flush=True)
    image, seconds = timed(build_image)
    print(f"image cache hit      {seconds:7.2f}s", flush=True)
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
