"""Paths with commas on QEMU's command line: QEMU splits `key=value,...` option strings at commas
and reads ",," as one comma, so a run directory, `--data-disk FILE`, the image cache or the VDE
switch's directory with a comma in it must reach QEMU with the comma doubled there, and as it is
where QEMU takes a bare path (-kernel, -initrd, -pidfile, -serial file:)."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from stoker.boot.fleetnet import PrivateNic
from stoker.boot.qemu import DataDisk, QemuSpec, offline_kernel_args, opt_value, qemu_argv

RUN = Path("/tmp/a,b/run,1")
CACHE = Path("/home/u/cache,x/stoker/images/abc")


def pairs(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def comma_spec(**kw) -> QemuSpec:
    base = dict(disk=RUN / "root.qcow2", ignition=RUN / "config.ign", serial_log=RUN / "console.log",
                kernel=CACHE / "vmlinuz", initrd=CACHE / "initrd.img", kernel_args=offline_kernel_args(),
                data_disks=(DataDisk(Path("/keep,here/data.qcow2"), "tracker-data"),), ssh_port=40022,
                pidfile=RUN / "qemu.pid")
    base.update(kw)
    return QemuSpec(**base)


def test_opt_value_doubles_every_comma():
    assert opt_value(Path("/a,b,,c")) == "/a,,b,,,,c"
    assert opt_value("/plain/path") == "/plain/path"


def test_commas_in_paths_are_doubled_in_option_strings_only():
    argv = qemu_argv(comma_spec())
    assert pairs(argv, "-drive") == [
        "if=none,id=root,file=/tmp/a,,b/run,,1/root.qcow2,format=qcow2,discard=unmap",
        "if=none,id=data0,file=/keep,,here/data.qcow2,format=qcow2"]
    assert pairs(argv, "-fw_cfg") == ["name=opt/com.coreos/config,file=/tmp/a,,b/run,,1/config.ign"]
    # bare paths: QEMU opens them as given (a doubled comma would name another file)
    assert pairs(argv, "-serial") == ["file:/tmp/a,b/run,1/console.log"]
    assert pairs(argv, "-kernel") == [str(CACHE / "vmlinuz")]
    assert pairs(argv, "-initrd") == [str(CACHE / "initrd.img")]
    assert pairs(argv, "-pidfile") == [str(RUN / "qemu.pid")]


def test_the_vde_switch_directory_is_escaped_too():
    nic = PrivateNic("ims", "10.10.0.2", 24, "52:54:00:0a:00:02", switch="/tmp/fleet,1/switch")
    assert nic.qemu_args()[:2] == ("-netdev", "vde,id=fleet,sock=/tmp/fleet,,1/switch")


@pytest.mark.skipif(not (shutil.which("qemu-system-x86_64") and shutil.which("qemu-img")),
                    reason="needs qemu-system-x86_64 and qemu-img (Debian packages qemu-system-x86, qemu-utils)")
def test_qemu_takes_the_command_line_with_commas(tmp_path):
    """QEMU parses the built command line and sets the machine up, paused (-S): no guest code runs."""
    run = tmp_path / "run,dir"
    run.mkdir()
    for name in ("root.qcow2", "data.qcow2"):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(run / name), "64M"], check=True, timeout=60)
    (run / "config.ign").write_text('{"ignition": {"version": "3.3.0"}}')
    spec = QemuSpec(disk=run / "root.qcow2", ignition=run / "config.ign", serial_log=run / "console.log",
                    data_disks=(DataDisk(run / "data.qcow2", "data"),), pidfile=run / "qemu.pid",
                    memory_mb=128, cpus=1, extra=("-S",))
    proc = subprocess.Popen(qemu_argv(spec), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while proc.poll() is None and not (run / "qemu.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # past option parsing and drive opening: a bad option string exits at once
        assert proc.poll() is None, proc.stderr.read()
        assert (run / "console.log").exists() and (run / "qemu.pid").exists()
    finally:
        proc.kill()
        proc.wait(timeout=10)
