"""The rollout's parts that need no cloud and no VM: order, fleet.yaml
settings, lock values, gates, the live checks' SSH command line, retries and
site requests, and the record's permissions."""

from __future__ import annotations

import datetime as dt
import http.server
import shutil
import ssl
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from stoker.boot.checks import Results
from stoker.boot.expect import Expectations, Service
from stoker.errors import StokerError
from stoker.rollout.gates import GateRunner, needs_fleet_test
from stoker.rollout.live import Jump, LiveHost, check_live, check_sites, floating_address
from stoker.rollout.lock import held_by_other, new_lock, read_lock
from stoker.rollout.order import Settings, load_facts, rollout_order
from stoker.rollout.record import Gate, Record, ServerRecord, load_all, save

EXTENDS = {"ims": None, "ims-staging": "ims", "tracker": None, "bastion": None}


def test_default_order_staging_before_production_backends_before_the_bastion_last():
    order = rollout_order(["bastion", "ims", "tracker", "ims-staging"], EXTENDS, Settings())
    assert order == ["ims-staging", "ims", "tracker", "bastion"]


def test_the_bastion_alone_and_a_chain_of_extends():
    extends = {"a": None, "b": "a", "c": "b", "bastion": None}
    assert rollout_order(["a", "c", "b"], extends, Settings()) == ["c", "b", "a"]
    assert rollout_order(["bastion"], extends, Settings()) == ["bastion"]
    assert rollout_order(["a", "bastion"], extends, Settings(bastion="a")) == ["bastion", "a"]


def test_the_order_of_fleet_yaml_overrides_the_default():
    settings = Settings(order=("ims", "bastion"))
    assert rollout_order(["ims-staging", "ims", "bastion", "tracker"], EXTENDS, settings) == \
        ["ims", "bastion", "ims-staging", "tracker"]


FLEET = """\
registry: registry.example.org/fleet
provider: openstack
ssh_keys:
  operators: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2Uta2V5LWZvci10ZXN0cy1vbmx5LW5vdC1yZWFs op@example']
sites: {ims: cells.example.org, aliases: www.example.org}
"""


def _repo(tmp_path: Path, rollout: str) -> Path:
    (tmp_path / "vms").mkdir()
    for vm, text in (("ims", "description: production\n"), ("ims-staging", "extends: ims\n"),
                     ("bastion", "description: entry\n")):
        (tmp_path / "vms" / f"{vm}.yaml").write_text(text)
    (tmp_path / "fleet.yaml").write_text(FLEET + rollout)
    return tmp_path


def test_settings_and_extends_come_from_fleet_yaml_and_vms(tmp_path):
    facts = load_facts(_repo(tmp_path, "rollout:\n  order: [ims]\n  check_timeout: 30\n"))
    assert facts.extends["ims-staging"] == "ims"
    assert facts.sites == {"ims": "cells.example.org"}, "aliases is not a VM"
    assert facts.settings.order == ("ims",) and facts.settings.bastion == "bastion"
    assert facts.settings.check_timeout == 30 and facts.settings.ssh_user == "core"


def test_unknown_vm_names_in_the_rollout_section_are_located_errors(tmp_path):
    root = _repo(tmp_path, "rollout:\n  order: [ims, ims-stagin]\n  bastion: bastoin\n")
    with pytest.raises(StokerError) as err:
        load_facts(root)
    text = str(err.value)
    assert "fleet.yaml:7:" in text and "rollout.order.1: no VM 'ims-stagin' in vms/; did you mean 'ims-staging'?" in text
    assert "fleet.yaml:8:" in text and "rollout.bastion: no VM 'bastoin'" in text


def test_unknown_keys_in_the_rollout_section_are_schema_errors(tmp_path):
    with pytest.raises(StokerError) as err:
        load_facts(_repo(tmp_path, "rollout:\n  ordre: [ims]\n"))
    assert "fleet.yaml:7:" in str(err.value) and "'ordre'" in str(err.value) and "'order'" in str(err.value)


NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone.utc)


def test_a_lock_fits_nova_metadata_and_expires():
    lock = new_lock("20261201T030000Z-abcdef", 240, NOW, owner="x" * 200)
    assert len(lock.value()) <= 255
    meta = {"stoker_rollout_lock": lock.value()}
    assert read_lock(meta) == lock
    assert held_by_other(meta, None, NOW).owner == "x" * 80, "a deploy is refused"
    assert held_by_other(meta, lock, NOW) is None, "its own rollout goes on"
    assert held_by_other(meta, new_lock(lock.id, 240, NOW), NOW) is not None, "the same id with another token"
    assert held_by_other(meta, None, NOW + dt.timedelta(minutes=241)) is None, "expired"


def test_an_unreadable_lock_still_counts_as_held():
    lock = held_by_other({"stoker_rollout_lock": "garbage"}, None, NOW)
    assert lock is not None and "unreadable" in lock.owner


def test_boot_test_gate_passes_fails_and_skips_for_a_missing_tool(tmp_path):
    answers = iter([(0, "ok"), (1, "FAIL service x.service"),
                    (1, "stoker: error: `qemu-system-x86_64` is not installed (Debian package qemu-system-x86)"),
                    (2, "stoker: ssh not found: install Debian package openssh-client (or `sudo make deps`)")])
    gates = GateRunner(tmp_path, runner=lambda argv, cwd: next(answers))
    assert gates.boot_test("ims", tmp_path).status == "passed"
    failed = gates.boot_test("ims", tmp_path)
    assert failed.status == "failed" and "FAIL service x.service" in failed.detail
    assert gates.boot_test("ims", tmp_path).status == "skipped"
    missing = gates.boot_test("ims", tmp_path)
    assert missing.status == "skipped" and "ssh not found" in missing.detail


def test_the_fleet_test_gate_always_runs_stoker_fleet_test(tmp_path):
    ran = []
    answers = iter([(0, "ok"), (1, "FAIL https tracker.example.org")])

    def runner(argv, cwd):
        ran.append(argv[3:])
        return next(answers)
    gates = GateRunner(tmp_path, runner=runner)
    assert gates.fleet().status == "passed"
    failed = gates.fleet()
    assert failed.status == "failed" and "FAIL https tracker.example.org" in failed.detail
    assert ran == [["fleet-test"], ["fleet-test"]]


def test_the_fleet_test_runs_when_the_bastion_or_an_address_changes():
    assert needs_fleet_test(["ims", "bastion"], "bastion", {}) == "the bastion (bastion) changes"
    assert needs_fleet_test(["ims"], "bastion", {"ims": ["address"]}) == "the address of ims changes"
    assert needs_fleet_test(["ims"], "bastion", {"ims": ["flavor"]}) is None


def test_ssh_goes_through_the_jump_host_with_the_operators_key_never_the_test_key(tmp_path):
    host = LiveHost(host="10.10.0.11", user="core", known_hosts=tmp_path / "kh", jump=Jump("192.0.2.10", "core"))
    argv = host.argv("true")
    assert argv[-2:] == ["core@10.10.0.11", "true"]
    proxy = next(a for a in argv if a.startswith("ProxyCommand="))
    assert "-W %h:%p core@192.0.2.10" in proxy and f"UserKnownHostsFile={tmp_path / 'kh'}" in proxy
    assert "-i" not in argv and "IdentitiesOnly=yes" not in argv, "the agent and ~/.ssh decide"
    assert "StrictHostKeyChecking=no" not in " ".join(argv)
    keyed = LiveHost(host="10.10.0.11", user="core", key=Path("/home/op/.ssh/id_ed25519"), jump=Jump("b", "core"))
    assert "/home/op/.ssh/id_ed25519" in keyed.argv("true") and "/home/op/.ssh/id_ed25519" in \
        next(a for a in keyed.argv("true") if a.startswith("ProxyCommand="))


class FakeHost:
    """A server whose service comes up on the third look."""

    def __init__(self):
        self.looks = 0

    def sh(self, script: str, timeout: float = 120):
        if "is-system-running" in script:
            self.looks += 1
            return 0, "running\n"
        if script.startswith("systemctl show"):
            state = "active\nSubState=running" if self.looks >= 3 else "activating\nSubState=start"
            return 0, f"Id=app.service\nLoadState=loaded\nActiveState={state}\nUnitFileState=enabled\n"
        return 0, ""


def test_live_checks_wait_a_bounded_time_for_a_slow_service():
    exp = Expectations(services=[Service("app.service", None, None)])
    now = [0.0]
    host = FakeHost()
    results = check_live(host, exp, timeout=60, interval=10, clock=lambda: now[0],
                         sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert results.ok and host.looks == 3
    host = FakeHost()
    now[0] = 0.0
    results = check_live(host, exp, timeout=15, interval=10, clock=lambda: now[0],
                         sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not results.ok and host.looks == 2, "looked at 0 s and 10 s; 20 s is past the 15 s bound"
    assert results.failed[0].seen == "activating (start), enabled"


def test_secret_values_in_evidence_are_masked():
    class Leaky(FakeHost):
        def sh(self, script, timeout=120):
            if "systemctl status" in script:
                return 0, "app[1]: connecting with password hunter2"
            return super().sh(script, timeout)
    exp = Expectations(services=[Service("app.service", None, None)])
    results = check_live(Leaky(), exp, timeout=1, interval=10, mask=lambda s: s.replace("hunter2", "••••"))
    assert "hunter2" not in results.failed[0].details and "••••" in results.failed[0].details


@pytest.fixture
def tls_server(tmp_path):
    """HTTPS on 127.0.0.1 for site.example.org (self-signed): / answers 301, /bad 502."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (it makes the test server's certificate)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=site.example.org",
                    "-addext", "subjectAltName=DNS:site.example.org,DNS:down.example.org"],
                   check=True, capture_output=True)
    status = {"site.example.org": 301, "down.example.org": 502}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status[self.headers["Host"].split(":")[0]])
            self.send_header("Location", "https://site.example.org/login")
            self.end_headers()

        def log_message(self, *args):
            pass
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client = ssl.create_default_context(cafile=str(cert))
    yield httpd.server_address[1], client
    httpd.shutdown()


def test_sites_are_requested_through_the_public_address_with_their_own_name(tls_server):
    port, client = tls_server
    results = check_sites(["site.example.org", "down.example.org"], "127.0.0.1", Results(), port=port,
                          context=client)
    by_name = {c.name: c for c in results.checks}
    assert by_name["site.example.org"].ok and by_name["site.example.org"].seen.startswith("HTTP 301")
    assert not by_name["down.example.org"].ok and by_name["down.example.org"].seen.startswith("HTTP 502")


def test_a_site_whose_certificate_does_not_verify_fails(tls_server):
    port, _ = tls_server
    results = check_sites(["site.example.org"], "127.0.0.1", Results(), port=port)
    assert not results.ok and "CERTIFICATE_VERIFY_FAILED" in results.checks[0].seen


def test_the_bastions_floating_address():
    class Server:
        addresses = {"fleet-private": [{"addr": "10.10.0.10", "OS-EXT-IPS:type": "fixed", "version": 4},
                                       {"addr": "192.0.2.10", "OS-EXT-IPS:type": "floating", "version": 4}]}
    assert floating_address(Server()) == "192.0.2.10"


def test_records_are_private_and_read_back(tmp_path):
    record = Record("20261201T030000Z-abcdef", "op@host", "2026-12-01T03:00:00Z", order=["ims"],
                    gates=[Gate("validate", "ims", "passed")], servers=[ServerRecord("ims", "done")])
    record.finish("done")
    path = save(tmp_path / "state", record)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert load_all(tmp_path / "state", "ims")[0] == record
    assert load_all(tmp_path / "state", "tracker") == []
    path.write_text("{")
    assert load_all(tmp_path / "state") == []
    from stoker.rollout.record import scan
    assert [p for p, _ in scan(tmp_path / "state")[1]] == [path], "a damaged record is named, not fatal"
