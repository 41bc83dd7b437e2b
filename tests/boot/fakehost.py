"""Tiny stand-ins for the host programs a boot runs (QEMU, ssh, docker-registry, vde_switch, ...), and
a driver that runs `stoker boot|boot-test|fleet-test` in a process of its own with them, so a test can
send it a real signal and look for the processes it left behind. No VM boots: the fake QEMU sleeps.

Each fake that stays running writes its pid to PIDS/<kind>-<pid> first, so a test knows what to look for
(and what to kill if the harness under test leaks it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY = f"#!{sys.executable} -S\n"

# qemu modes: "hang" sleeps (a VM that never answers), "boot" writes switch-root to the console and
# sleeps (SSH is tried at once), "boot-exit" does that and exits after 3 s (the guest powered off),
# "fail" exits 1 at once
_QEMU = PY + """\
import os, sys, time
open(os.path.join({pids!r}, "qemu-%d" % os.getpid()), "w").write(str(os.getpid()))
mode = {mode!r}
if mode == "fail":
    print("qemu-system-x86_64: -drive: could not open disk image", flush=True)
    sys.exit(1)
serial = sys.argv[sys.argv.index("-serial") + 1]
if mode in ("boot", "boot-exit") and serial.startswith("file:"):
    with open(serial[5:], "a") as out:
        out.write("Reached target initrd-switch-root.target\\n")
time.sleep(3 if mode == "boot-exit" else 600)
"""

# ssh modes: "hang": `ssh ... true` (the reachability probe) answers, every other command runs for
# 10 minutes (a long check); "ok": every command exits 0 at once, and a poweroff stops the fake
# QEMU (as the guest would); "down": nothing answers (255)
_SSH = """\
#!/bin/sh
for a in "$@"; do last=$a; done
mode={mode}
if [ "$mode" = down ]; then echo "ssh: connect to host 127.0.0.1: Connection refused" >&2; exit 255; fi
case "$last" in *poweroff*) if [ "$mode" = ok ]; then for f in {pids}/qemu-*; do kill "${{f##*-}}" 2>/dev/null; done; fi;; esac
if [ "$last" = true ] || [ "$mode" = ok ]; then exit 0; fi
echo $$ > {pids}/ssh-$$
exec /bin/sleep 600
"""

# docker-registry serve CONFIG: answers GET /v2/ with the instance header of its configuration
_REGISTRY = PY + """\
import http.server, json, os, re, sys
open(os.path.join({pids!r}, "registry-%d" % os.getpid()), "w").write(str(os.getpid()))
text = open(sys.argv[2]).read()
host, port = json.loads(re.search(r"addr: (.*)", text).group(1)).rsplit(":", 1)
instance = json.loads(re.search(r"X-Stoker-Registry: \\[(.*)\\]", text).group(1))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("X-Stoker-Registry", instance)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{{}}")
    def log_message(self, *args):
        pass
http.server.HTTPServer((host, int(port)), Handler).serve_forever()
"""

_VDE = """\
#!/bin/sh
echo $$ > {pids}/vde-$$
mkdir -p "$2" && : > "$2/ctl"
exec /bin/sleep 600
"""

_OK = "#!/bin/sh\nexit 0\n"

ALL = ("qemu-system-x86_64", "qemu-img", "ssh", "ssh-keygen", "docker-registry", "skopeo", "vde_switch")


def fake_bin(tmp: Path, *, qemu: str = "hang", ssh: str = "hang", without: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """(bin directory, pid directory): a PATH directory with every program of ALL but `without`.
    ssh-keygen is the host's own (the key's mode is checked); the rest are the fakes above."""
    bindir, pids = tmp / "bin", tmp / "pids"
    bindir.mkdir(parents=True, exist_ok=True)
    pids.mkdir(parents=True, exist_ok=True)
    scripts = {"qemu-system-x86_64": _QEMU.format(pids=str(pids), mode=qemu),
               "ssh": _SSH.format(pids=str(pids), mode=ssh),
               "docker-registry": _REGISTRY.format(pids=str(pids)),
               "vde_switch": _VDE.format(pids=str(pids)),
               "qemu-img": _OK, "skopeo": _OK}
    for name in ALL:
        if name in without:
            continue
        path = bindir / name
        if name == "ssh-keygen":
            real = shutil.which("ssh-keygen")
            assert real, "these tests need the host's ssh-keygen (openssh-client)"
            path.symlink_to(real)
            continue
        path.write_text(scripts[name])
        path.chmod(0o755)
    return bindir, pids


def fake_image(tmp: Path):
    from stoker.boot.image import Image
    d = tmp / "image"
    d.mkdir(exist_ok=True)
    for name in ("root.qcow2", "vmlinuz", "initrd.img"):
        (d / name).write_bytes(b"")
    return Image("offline", d / "root.qcow2", d / "vmlinuz", d / "initrd.img", "3.3.0", {})


CONFIG = '{"ignition": {"version": "3.3.0"}}'

# Runs `stoker ARGS` with the fake image and, for boot and boot-test, a test registry started from the
# fake docker-registry (as with --registry local and a config that runs containers).
_DRIVER = """\
import contextlib, faulthandler, signal, sys
faulthandler.register(signal.SIGUSR1, all_threads=True)  # finish() asks for every thread's stack
from pathlib import Path
sys.path.insert(0, {tests!r})
import fakehost
from stoker.boot import cli as bcli, fleettest
from stoker.boot.registry import LocalRegistry
tmp = Path({tmp!r})
image = fakehost.fake_image(tmp)
bcli._image = lambda args: image
bcli._images_to_serve = lambda args, cfg: (["registry.example.org/x/web:1"], "registry.example.org/x")

@contextlib.contextmanager
def served(*args, **kwargs):
    with LocalRegistry(tmp / "storage") as registry:
        yield "10.0.2.2:%d" % registry.port

bcli._images_served = served
fleettest.serve_images = served
from stoker.cli import main
sys.exit(main(sys.argv[1:]))
"""


def start_driver(tmp: Path, bindir: Path, args: list[str], cwd: Path | None = None) -> subprocess.Popen:
    """`stoker ARGS` in a process of its own (own session, as a shell's job would have its own
    group), PATH = `bindir` first, TMPDIR = tmp/runs (where run directories go); its output goes
    to tmp/stdout and tmp/stderr (read them with output(), finish())."""
    driver = tmp / "driver.py"
    driver.write_text(_DRIVER.format(tests=str(Path(__file__).parent), tmp=str(tmp)))
    (tmp / "runs").mkdir(exist_ok=True)
    env = dict(os.environ, PATH=f"{bindir}:/usr/bin:/bin", TMPDIR=str(tmp / "runs"),
               XDG_CACHE_HOME=str(tmp / "cache"), PYTHONUNBUFFERED="1", COLUMNS="200")
    with open(tmp / "stdout", "w") as out, open(tmp / "stderr", "w") as err:
        proc = subprocess.Popen([sys.executable, str(driver), *args], cwd=cwd or tmp, env=env,
                                stdout=out, stderr=err, start_new_session=True)
    proc.tmp = tmp
    return proc


def output(proc: subprocess.Popen) -> tuple[str, str]:
    """What the driver wrote so far: (stdout, stderr)."""
    return tuple((proc.tmp / name).read_text(errors="replace") for name in ("stdout", "stderr"))


def finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """(stdout, stderr) of the driver once it exited; AssertionError with every thread's stack
    (faulthandler, SIGUSR1) when it is still running after `timeout` seconds."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError(f"still running after {timeout:.0f}s:\n{output(proc)[1][-6000:]}") from None
    return output(proc)


def pids_of(pids: Path, kind: str) -> list[int]:
    return [int(p.name.split("-")[1]) for p in pids.glob(f"{kind}-*")]


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            out, err = output(proc)
            raise AssertionError(f"the driver exited ({proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:.0f}s")
        time.sleep(0.1)


def kill_all(pids: Path, proc: subprocess.Popen | None = None) -> None:
    """Clean up after a test: the driver's group and every fake that wrote its pid (the ones a leaky
    harness left behind too)."""
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    for f in pids.glob("*-*"):
        pid = int(f.name.split("-")[1])
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
