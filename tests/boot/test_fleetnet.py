"""The private test network: addresses from fleet.yaml, MACs, the one file added per VM, QEMU's NIC."""

import json
import shutil
from pathlib import Path

import pytest

from stoker.boot.errors import ConfigError
from stoker.boot.fleetnet import (NETWORKD_FILE, NM_FILE, PrivateNic, add_private_address, common_prefix,
                                  fleet_addresses, mac_for, plan)
from stoker.boot.ignition import decode_source
from stoker.boot.qemu import QemuSpec, qemu_argv
from stoker.boot.session import prepare_config
from stoker.fleet.definitions import load_fleet

FLEET = {"hosts": {"ims": {"address": "10.10.0.11"}, "tracker": {"address": "10.10.0.13"}},
         "placement": {"vms": {"bastion": {"address": "10.10.0.10"}, "ims": {"flavor": "x"}}}}


def test_addresses_come_from_hosts_then_placement():
    assert fleet_addresses(FLEET) == {"ims": "10.10.0.11", "tracker": "10.10.0.13", "bastion": "10.10.0.10"}


def test_the_real_fleet_gives_every_vm_an_address_on_one_slash_24():
    fleet = load_fleet()
    nics = plan(fleet.data, sorted(fleet.vms))
    assert {n: nic.address for n, nic in nics.items()} == {
        "bastion": "10.10.0.10", "ims": "10.10.0.11", "ims-staging": "10.10.0.12", "tracker": "10.10.0.13"}
    assert {nic.prefix for nic in nics.values()} == {24}
    assert len({nic.mac for nic in nics.values()}) == 4


def test_a_vm_without_an_address_is_an_error_naming_it():
    with pytest.raises(ConfigError, match="no private address to web"):
        plan(FLEET, ["ims", "web"])


def test_bad_and_duplicate_addresses_name_the_yaml_path():
    with pytest.raises(ConfigError, match=r"hosts\.ims\.address: 'ten' is not an IPv4"):
        fleet_addresses({"hosts": {"ims": {"address": "ten"}}})
    with pytest.raises(ConfigError, match=r"placement\.vms\.b\.address: 10\.0\.0\.1 is also the address of a"):
        fleet_addresses({"hosts": {"a": {"address": "10.0.0.1"}}, "placement": {"vms": {"b": {"address": "10.0.0.1"}}}})


def test_prefix_is_the_longest_up_to_24_that_holds_every_address():
    assert common_prefix(["10.10.0.10", "10.10.0.13"]) == 24
    assert common_prefix(["10.10.0.10", "10.10.1.13"]) == 23
    assert common_prefix(["10.10.0.10", "10.200.0.1"]) == 8
    with pytest.raises(ConfigError, match="not in one /8"):
        common_prefix(["10.0.0.1", "192.168.0.1"])


def test_mac_is_locally_administered_and_follows_the_address():
    assert mac_for("10.10.0.11") == "52:54:00:0a:00:0b"
    assert int(mac_for("10.10.0.11").split(":")[0], 16) & 0b10  # locally administered bit


def _added(cfg, path):
    entry = next(f for f in cfg["storage"]["files"] if f["path"] == path)
    return entry, decode_source(entry["contents"])


def test_offline_image_gets_a_networkd_file_matching_the_mac_only():
    nic = PrivateNic("ims", "10.10.0.11", 24, "52:54:00:0a:00:0b")
    cfg = {"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "/etc/hostname"}]}}
    out, addition = add_private_address(cfg, nic, "offline")
    entry, text = _added(out, NETWORKD_FILE)
    assert "MACAddress=52:54:00:0a:00:0b" in text and "Address=10.10.0.11/24" in text and "DHCP=no" in text
    assert "Gateway" not in text  # the user-mode NIC keeps the default route
    assert entry["mode"] == 0o644
    assert cfg["storage"]["files"] == [{"path": "/etc/hostname"}]  # the input is not changed
    assert addition.what == "private address" and addition.where == NETWORKD_FILE and "10.10.0.11/24" in addition.detail


def test_fcos_gets_a_networkmanager_keyfile():
    nic = PrivateNic("ims", "10.10.0.11", 24, "52:54:00:0a:00:0b")
    out, _ = add_private_address({"ignition": {"version": "3.3.0"}}, nic, "fcos")
    entry, text = _added(out, NM_FILE)
    assert "mac-address=52:54:00:0a:00:0b" in text and "address1=10.10.0.11/24" in text
    assert "never-default=true" in text and entry["mode"] == 0o600


def test_a_config_that_writes_the_file_itself_is_refused():
    nic = PrivateNic("ims", "10.10.0.11", 24, "52:54:00:0a:00:0b")
    cfg = {"storage": {"files": [{"path": NETWORKD_FILE}]}}
    with pytest.raises(ConfigError, match="already writes"):
        add_private_address(cfg, nic, "offline")


def test_prepare_config_lists_the_address_with_the_other_additions():
    nic = PrivateNic("ims", "10.10.0.11", 24, "52:54:00:0a:00:0b")
    _, additions = prepare_config({"ignition": {"version": "3.3.0"}}, "ssh-ed25519 AAAA test", None, nic, "offline")
    assert [a.what for a in additions] == ["SSH key", "private address"]


def test_qemu_gets_a_vde_nic_with_the_mac_and_the_forwards():
    nic = PrivateNic("bastion", "10.10.0.10", 24, "52:54:00:0a:00:0a", switch="/run/sw")
    argv = qemu_argv(QemuSpec(disk=Path("/r.qcow2"), ssh_port=2222, forwards=((8080, 80), (8443, 443)),
                              extra=nic.qemu_args()))
    joined = " ".join(argv)
    assert "-netdev vde,id=fleet,sock=/run/sw" in joined
    assert "-device virtio-net-pci,netdev=fleet,mac=52:54:00:0a:00:0a" in joined
    user = argv[argv.index("-nic") + 1]
    assert "hostfwd=tcp:127.0.0.1:2222-:22" in user
    assert "hostfwd=tcp:127.0.0.1:8080-:80" in user and "hostfwd=tcp:127.0.0.1:8443-:443" in user


def test_an_unplugged_nic_has_no_qemu_args():
    with pytest.raises(ValueError, match="not plugged"):
        PrivateNic("ims", "10.10.0.11", 24, "52:54:00:0a:00:0b").qemu_args()


def test_the_vde_switch_starts_and_stops(tmp_path):
    if shutil.which("vde_switch") is None:
        pytest.skip("vde_switch is not installed (Debian package vde2, see .ci/apt-packages)")
    from stoker.boot.vde import VdeSwitch
    with VdeSwitch(tmp_path / "sw") as sw:
        assert (tmp_path / "sw" / "ctl").exists()
        proc = sw.proc
        assert proc.poll() is None
    assert proc.poll() is not None  # stopped when the block ends


def test_a_missing_vde_switch_names_the_package(tmp_path, monkeypatch):
    from stoker.boot.errors import MissingTool
    from stoker.boot.vde import VdeSwitch
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool, match="vde2"):
        with VdeSwitch(tmp_path / "sw"):
            pass
