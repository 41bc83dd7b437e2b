"""The post-deploy checks over SSH against a VM booted by the boot-test
harness, standing in for a rebuilt cloud server, reached through a jump host.

The jump host is the same guest: ssh reaches its forwarded SSH port on
127.0.0.1, and from there `-W 127.0.0.1:22` opens the guest's own sshd, as the
bastion opens a backend's private address. The key is the harness's throwaway
key, standing in for the operator's own (the guest only knows that one).
One boot, two cases: the config as booted passes; with its web service
stopped, the checks fail and say which check and why.

Slow (a TCG boot is minutes; one CPU and a 40-minute SSH wait, since the host's
cores are shared with other boots); skipped with the reason without QEMU and the tools."""

from __future__ import annotations

import subprocess

import pytest

from boot_sample import data_url, sample_config
from test_boot_e2e import served  # the boot tests' registry
from stoker.boot.expect import derive
from stoker.boot.session import BootOptions, boot_test
from stoker.rollout.live import Jump, LiveHost, check_live

pytestmark = [pytest.mark.slow, pytest.mark.full_e2e]


def test_live_checks_through_a_jump_host_pass_then_fail_on_a_stopped_service(image, tmp_path):
    cfg = sample_config()
    # The host's two cores are shared with other boots: under TCG, udev can take
    # longer than systemd's default 90 s to show the data disk, and a mount or
    # systemd-networkd longer than 90 s to start; the boot then fails for that
    # reason alone. Give devices and start jobs longer (systemd >= 254).
    cfg["storage"]["files"].append({"path": "/etc/systemd/system.conf.d/50-slow-host.conf", "mode": 0o644,
                                    "contents": {"source": data_url(
                                        "[Manager]\nDefaultDeviceTimeoutSec=1200s\nDefaultTimeoutStartSec=1200s\n")}})
    exp = derive(cfg)
    seen: dict = {}

    def live(guest):
        host = LiveHost(host="127.0.0.1", port=22, user="core", key=guest.key,
                        known_hosts=tmp_path / "known_hosts", jump=Jump("127.0.0.1", "core", guest.port))
        # through the jump: the guest's sshd sees a client on its own loopback, port 22
        proc = subprocess.run(host.argv("echo $SSH_CONNECTION"), capture_output=True, text=True, timeout=60)
        seen["connection"] = proc.stdout.strip() or proc.stderr
        seen["pass"] = check_live(host, exp, timeout=120, interval=5)
        rc, _ = guest.sh("systemctl stop web.service")
        assert rc == 0, guest.last_stderr
        seen["fail"] = check_live(host, exp, timeout=20, interval=5)

    with served("sample", cfg) as mirror:
        result = boot_test("sample", cfg, image, BootOptions(run_dir=tmp_path / "boot", registry_mirror=mirror,
                                                                   cpus=1, timeout=2400),
                           after_checks=live)
    assert result.ok, [f"{c.group} {c.name}: {c.seen}" for c in result.results.failed]
    parts = seen["connection"].split()  # client address, client port, server address, server port
    assert parts[:1] == ["127.0.0.1"] and parts[2:4] == ["127.0.0.1", "22"], seen["connection"]
    passed = seen["pass"]
    assert passed.ok, [f"{c.group} {c.name}: expected {c.expected}; saw {c.seen}; {c.details}" for c in passed.failed]
    groups = {c.group for c in passed.checks}
    assert {"system", "service", "container", "timer", "manual job", "volume", "secret", "port"} <= groups
    failed = {(c.group, c.name): c for c in seen["fail"].failed}
    assert ("service", "web.service") in failed, seen["fail"].checks
    assert failed[("service", "web.service")].seen.startswith("inactive"), failed[("service", "web.service")]
    assert ("port", "tcp/8080") in failed
    assert ("system", "system running") not in failed, "a stopped service is not a failed system"
