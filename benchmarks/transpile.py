"""How fast is stoker's Butane -> Ignition transpiler?

    .venv/bin/python benchmarks/transpile.py [--quick] [--profile NAME] [--startup]

Three inputs, generated into a temporary directory:
  small    a few files, a user, two units
  vm       a typical VM: ~40 files and units with multi-line contents, a few users,
           a data filesystem with its mount unit
  big      ~5 MB: 500 files, half inline text, half local binary files (-d files)
  entries  8000 files, 4000 directories, 4000 links (~1 MB of Butane)
  trees    a local tree of 3000 files (~27 MB) and 2000 units

Start-up: a whole `stoker butane` run on the `vm` input against `python -c "import yaml,
json"` (the floor any Python YAML tool pays), both alternated in one loop with bytecode
caching on, as the ratio of their medians (issue "Butane complete" point 5: goal 1.3x).
--startup measures only that, with more pairs, and adds `python -c pass` (the
interpreter's own start-up) to the loop; besides wall-clock medians it prints the
medians of the processes' CPU time (user + system), which other load on the machine
disturbs less.

For each: translate() in a loop in this process (best and median of the timed runs),
and whole CLI runs (`stoker butane`, a fresh Python each time, fewer repetitions).
Figures are configs per second and MB/s of input (the Butane text plus the local
files it reads; both sizes are listed). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from stoker.butane import translate  # noqa: E402

STOKER = Path(sys.executable).with_name("stoker")


def _words(rnd: random.Random, n: int) -> str:
    vocab = ("the quick brown fox jumps over lazy dog server node fleet config boot disk "
             "network systemd unit service timer mount volume key user group").split()
    return " ".join(rnd.choice(vocab) for _ in range(n))


def _unit(rnd: random.Random, i: int, lines: int = 12) -> str:
    body = [f"Environment=VAR{j}={_words(rnd, 3).replace(' ', '_')}" for j in range(lines)]
    return "\n".join([
        "[Unit]", f"Description=Stoker service {i}: {_words(rnd, 6)}",
        "After=network-online.target", "Wants=network-online.target", "",
        "[Service]", "Type=simple", f"ExecStart=/usr/local/bin/app{i} --port {8000 + i}",
        "Restart=on-failure", *body, "", "[Install]", "WantedBy=multi-user.target", ""])


def small(rnd: random.Random, files_dir: Path) -> dict:
    return {
        "variant": "fcos", "version": "1.5.0",
        "passwd": {"users": [{"name": "core", "ssh_authorized_keys": [
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchmarkKey core@example"]}]},
        "storage": {"files": [
            {"path": "/etc/hostname", "mode": 0o644, "contents": {"inline": "node1\n"}},
            {"path": "/etc/motd", "contents": {"inline": "Welcome to " + _words(rnd, 8) + "\n"}},
            {"path": "/etc/sysctl.d/90-net.conf", "contents": {"inline":
                                                               "net.ipv4.ip_forward = 1\n"}},
        ]},
        "systemd": {"units": [
            {"name": "hello.service", "enabled": True, "contents": _unit(rnd, 0, 2)},
            {"name": "zincati.service", "enabled": False},
        ]},
    }


def vm(rnd: random.Random, files_dir: Path) -> dict:
    files = []
    for i in range(20):
        text = "\n".join(f"key{j} = {_words(rnd, 5)}" for j in range(rnd.randint(5, 40))) + "\n"
        files.append({"path": f"/etc/app/conf.d/{i:02d}-app.conf", "mode": 0o640,
                      "user": {"name": "app"}, "group": {"name": "app"},
                      "contents": {"inline": text}})
    units = []
    for i in range(18):
        unit = {"name": f"app{i}.service", "enabled": True, "contents": _unit(rnd, i)}
        if i % 3 == 0:
            unit["dropins"] = [{"name": "10-limits.conf",
                                "contents": "[Service]\nLimitNOFILE=65536\nMemoryMax=1G\n"}]
        units.append(unit)
    units.append({"name": "docker.service", "mask": True})
    return {
        "variant": "fcos", "version": "1.6.0",
        "passwd": {
            "users": [{"name": n, "groups": ["wheel"], "ssh_authorized_keys": [
                f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{n}{k}Key {n}@example" for k in range(2)]}
                for n in ("core", "alice", "bob", "app")],
            "groups": [{"name": "app", "gid": 2000}],
        },
        "storage": {
            "disks": [{"device": "/dev/vdb", "wipe_table": True,
                       "partitions": [{"number": 1, "label": "data", "size_mib": 0}]}],
            "filesystems": [{"device": "/dev/disk/by-partlabel/data", "format": "xfs",
                             "path": "/var/lib/data", "label": "data", "with_mount_unit": True,
                             "mount_options": ["noatime"]}],
            "directories": [{"path": "/var/lib/app", "mode": 0o750, "user": {"name": "app"}}],
            "links": [{"path": "/etc/localtime", "target": "../usr/share/zoneinfo/UTC"}],
            "files": files,
        },
        "systemd": {"units": units},
        "kernel_arguments": {"should_exist": ["console=ttyS0,115200n8"],
                             "should_not_exist": ["mitigations=auto,nosmt"]},
    }


def big(rnd: random.Random, files_dir: Path) -> dict:
    files = []
    for i in range(500):
        if i % 2:
            data = rnd.randbytes(rnd.randint(3_000, 9_000))
            (files_dir / f"blob{i}.bin").write_bytes(data)
            contents = {"local": f"blob{i}.bin"}
        else:
            # Prose-like text: compressible, as real configs are.
            text = "\n".join(_words(rnd, 12) for _ in range(rnd.randint(150, 250))) + "\n"
            contents = {"inline": text}
        files.append({"path": f"/var/lib/data/f{i:03d}", "mode": 0o644, "contents": contents})
    return {"variant": "fcos", "version": "1.7.0", "storage": {"files": files}}


def many_entries(rnd: random.Random, files_dir: Path) -> dict:
    """Issue "Butane complete" point 6, second shape: 8000 files, 4000
    directories and 4000 links (the official v0.29.0 takes 14.0 s on it)."""
    return {"variant": "fcos", "version": "1.5.0", "storage": {
        "files": [{"path": f"/etc/app/d{i % 100}/f{i}", "mode": 0o644,
                   "contents": {"inline": f"value {i}\n"}} for i in range(8000)],
        "directories": [{"path": f"/var/lib/app/dir{i}", "mode": 0o755} for i in range(4000)],
        "links": [{"path": f"/etc/app/l{i}", "target": f"/etc/app/d{i % 100}/f{i}"} for i in range(4000)]}}


def trees(rnd: random.Random, files_dir: Path) -> dict:
    """Issue "Butane complete" point 6, first shape: a local tree of 3000 files
    (~27 MB in all) and 2000 units (the official v0.29.0 takes 6.1 s on it)."""
    for i in range(3000):
        d = files_dir / "tree" / f"d{i % 50}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.txt").write_text("\n".join(_words(rnd, 12) for _ in range(135)))
    units = [{"name": f"app{i}.service", "enabled": True, "contents": _unit(rnd, i, 4)} for i in range(2000)]
    return {"variant": "fcos", "version": "1.5.0", "storage": {"trees": [{"local": "tree", "path": "/opt/tree"}]},
            "systemd": {"units": units}}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks (`|`), as people write Butane."""


_Dumper.add_representer(str, lambda d, v: d.represent_scalar(
    "tag:yaml.org,2002:str", v, style="|" if "\n" in v else None))


def to_yaml(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=1 << 20)


CASES = [("small", small, 2000, 30), ("vm", vm, 300, 20), ("big", big, 15, 8), ("entries", many_entries, 3, 2),
         ("trees", trees, 3, 2)]


def time_inprocess(text: str, files_dir: str, runs: int, budget: float) -> list[float]:
    result = translate(text, files_dir=files_dir)
    if not result.ok:
        raise SystemExit(f"translation failed: {result.error}\n"
                         + "".join(e.raw() + "\n" for e in result.report))
    result.to_json()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < runs and (time.perf_counter() - start < budget or len(times) < 3):
        t0 = time.perf_counter()
        translate(text, files_dir=files_dir).to_json()
        times.append(time.perf_counter() - t0)
    return times


def cli_command() -> list[str]:
    if STOKER.exists():
        return [str(STOKER), "butane"]
    return [sys.executable, "-m", "stoker.cli", "butane"]


def time_cli(src: Path, files_dir: Path, runs: int, budget: float) -> list[float]:
    # -o a regular file: never a device such as /dev/null (stoker writes a temporary
    # file beside the target and renames it over the target).
    cmd = cli_command() + ["-d", str(files_dir), "-o", str(src.with_suffix(".ign")), str(src)]
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < runs and (time.perf_counter() - start < budget or len(times) < 2):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.decode()}")
    return times


def time_startup(src: Path, files_dir: Path, pairs: int, *, bare: bool = False
                 ) -> dict[str, tuple[float, float]]:
    """Medians (seconds) of wall-clock and CPU time (user + system) of `python -c "import
    yaml, json"` ("floor") and of a whole `stoker butane` run on `src` ("butane"), and with
    `bare` of `python -c pass` ("bare"), alternated round by round so all see the same
    machine load."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmds = {"floor": [sys.executable, "-c", "import yaml, json"],
            "butane": cli_command() + ["-d", str(files_dir), str(src)]}
    if bare:
        cmds["bare"] = [sys.executable, "-c", "pass"]

    def run(cmd: list[str]) -> tuple[float, float]:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{' '.join(cmd)} failed")
        return wall, usage.ru_utime + usage.ru_stime

    for cmd in cmds.values():  # write the bytecode caches once
        run(cmd)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(pairs):
        for name, cmd in cmds.items():
            times[name].append(run(cmd))
    return {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
            for name, t in times.items()}


def print_startup(startup: dict[str, tuple[float, float]], pairs: int) -> None:
    (floor, floor_cpu), (whole, whole_cpu) = startup["floor"], startup["butane"]
    print(f"start-up: python -c 'import yaml, json' {floor * 1e3:.1f} ms, stoker butane on vm "
          f"{whole * 1e3:.1f} ms: ratio {whole / floor:.2f} (medians, alternated, bytecode cached)")
    print(f"  CPU time (user+sys): {floor_cpu * 1e3:.1f} ms and {whole_cpu * 1e3:.1f} ms: ratio "
          f"{whole_cpu / floor_cpu:.2f}" + (f"; python -c pass {startup['bare'][1] * 1e3:.1f} ms "
                                          f"(wall {startup['bare'][0] * 1e3:.1f} ms)"
                                          if "bare" in startup else "") + f"; {pairs} rounds")


def fmt_size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--profile", metavar="NAME", help="cProfile translate() on one input")
    ap.add_argument("--startup", action="store_true",
                    help="only the start-up ratio (more rounds, CPU times, python -c pass)")
    args = ap.parse_args()
    scale = 0.2 if args.quick else 1.0
    rnd = random.Random(20261125)
    tmp = Path(tempfile.mkdtemp(prefix="stoker-bench-"))
    if args.startup:
        try:
            files_dir = tmp / "files"
            files_dir.mkdir()
            src = tmp / "config.bu"
            small(rnd, files_dir)  # the same random draws as the whole run: the same vm input
            src.write_text(to_yaml(vm(rnd, files_dir)))
            pairs = max(10, int(60 * scale))
            print_startup(time_startup(src, files_dir, pairs, bare=True), pairs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        rows = []
        total_start = time.perf_counter()
        for name, make, runs, cli_runs in CASES:
            files_dir = tmp / name / "files"
            files_dir.mkdir(parents=True)
            text = to_yaml(make(rnd, files_dir))
            src = tmp / name / "config.bu"
            src.write_text(text)
            size = len(text.encode())
            local = sum(p.stat().st_size for p in files_dir.rglob("*") if p.is_file())
            if args.profile == name:
                prof = cProfile.Profile()
                prof.enable()
                for _ in range(max(1, runs // 10)):
                    translate(text, files_dir=str(files_dir)).to_json()
                prof.disable()
                pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
                pstats.Stats(prof).sort_stats("tottime").print_stats(15)
            out = translate(text, files_dir=str(files_dir)).to_json()
            inproc = time_inprocess(text, str(files_dir), max(3, int(runs * scale)),
                                    budget=20 * scale)
            cli = time_cli(src, files_dir, max(2, int(cli_runs * scale)), budget=15 * scale)
            rows.append((name, size, local, len(out), inproc, cli))
            if name == "vm":
                pairs = max(5, int(30 * scale))
                startup = time_startup(src, files_dir, pairs)
        elapsed = time.perf_counter() - total_start
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"stoker butane benchmark  (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"CLI: {' '.join(Path(c).name for c in cli_command())})")
    head = (f"{'input':<6} {'butane':>9} {'local':>9} {'ignition':>9} | {'mode':<10} {'runs':>4} "
            f"{'best':>9} {'median':>9} {'cfg/s':>8} {'MB/s':>7}")
    print(head)
    print("-" * len(head))
    for name, size, local, out, inproc, cli in rows:
        for i, (mode, times) in enumerate((("in-process", inproc), ("CLI", cli))):
            best, med = min(times), statistics.median(times)
            left = (f"{name:<6} {fmt_size(size):>9} {fmt_size(local) if local else '-':>9} "
                    f"{fmt_size(out):>9}" if i == 0 else " " * 36)
            print(f"{left} | {mode:<10} {len(times):>4} {best * 1e3:>7.1f}ms {med * 1e3:>7.1f}ms "
                  f"{1 / med:>8.1f} {(size + local) / med / 1e6:>7.2f}")
    print(f"(cfg/s and MB/s from the median; MB/s = (Butane text + local files) / median; "
          f"total {elapsed:.0f} s)")
    print_startup(startup, pairs)


if __name__ == "__main__":
    main()
