from pathlib import Path

import pytest

from stoker.boot.qemu import DataDisk, QemuSpec, offline_kernel_args, probe_argv, qemu_argv


def spec(**kw):
    base = dict(disk=Path("/run/root.qcow2"), ignition=Path("/run/config.ign"), serial_log=Path("/run/console.log"),
                kernel=Path("/img/vmlinuz"), initrd=Path("/img/initrd.img"), kernel_args=offline_kernel_args(),
                data_disks=(DataDisk(Path("/run/data0.qcow2"), "tracker-data"),), ssh_port=40022)
    base.update(kw)
    return QemuSpec(**base)


def pairs(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_tcg_is_the_default_and_uses_cpu_max():
    argv = qemu_argv(spec())
    assert pairs(argv, "-accel") == ["tcg"]
    assert pairs(argv, "-cpu") == ["max"]


def test_kvm_uses_host_cpu():
    argv = qemu_argv(spec(accel="kvm"))
    assert pairs(argv, "-accel") == ["kvm"] and pairs(argv, "-cpu") == ["host"]


def test_ignition_goes_through_fw_cfg():
    assert pairs(qemu_argv(spec()), "-fw_cfg") == ["name=opt/com.coreos/config,file=/run/config.ign"]


def test_firstboot_kernel_arguments():
    append = pairs(qemu_argv(spec()), "-append")[0].split()
    assert "ignition.firstboot" in append and "ignition.platform.id=qemu" in append
    assert "root=LABEL=root" in append and "console=ttyS0,115200" in append


def test_serial_to_file_and_no_display():
    argv = qemu_argv(spec())
    assert pairs(argv, "-serial") == ["file:/run/console.log"]
    assert pairs(argv, "-display") == ["none"]


def test_ssh_forwarded_to_loopback_only():
    nic = pairs(qemu_argv(spec()), "-nic")[0]
    assert "hostfwd=tcp:127.0.0.1:40022-:22" in nic and nic.startswith("user,")


def test_root_disk_first_then_data_disk_with_serial():
    argv = qemu_argv(spec())
    devices = pairs(argv, "-device")
    assert devices[0] == "virtio-blk-pci,drive=root,serial=root"
    assert devices[1] == "virtio-blk-pci,drive=data0,serial=tracker-data"
    drives = pairs(argv, "-drive")
    assert drives[0].startswith("if=none,id=root,file=/run/root.qcow2,format=qcow2")
    assert drives[1] == "if=none,id=data0,file=/run/data0.qcow2,format=qcow2"


def test_disk_boot_without_kernel_has_no_append_and_boots_the_root_disk():
    argv = qemu_argv(spec(kernel=None, initrd=None, kernel_args=()))
    assert "-kernel" not in argv and "-append" not in argv and "-initrd" not in argv
    assert pairs(argv, "-device")[0] == "virtio-blk-pci,drive=root,serial=root,bootindex=0"


def test_no_ignition_no_fw_cfg():
    assert "-fw_cfg" not in qemu_argv(spec(ignition=None))


def test_pure_same_spec_same_argv():
    assert qemu_argv(spec()) == qemu_argv(spec())


@pytest.mark.parametrize("bad", [dict(accel="hvf"), dict(kernel=None), dict(kernel=None, initrd=None)])
def test_invalid_specs_are_refused(bad):
    with pytest.raises(ValueError):
        spec(**bad)


@pytest.mark.parametrize("serial", ["", "x" * 21, "a,b"])
def test_bad_disk_serials_are_refused(serial):
    with pytest.raises(ValueError):
        DataDisk(Path("/d"), serial)


def test_probe_boots_the_kernel_without_root_and_exits():
    argv = probe_argv(Path("/img/vmlinuz"), Path("/tmp/p.log"))
    assert pairs(argv, "-accel") == ["kvm"] and "-no-reboot" in argv
    assert "panic=-1" in pairs(argv, "-append")[0]
