"""The container probes' pieces without a VM: the plan from a rendered config, the digests that keep
secret values out of everything, the probe program, the API forward's script and ping, and the rows
when testcontainers or the probe image are missing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from boot_sample import data_url
from stoker.boot import probes
from stoker.boot.checks import NOT_EXERCISED, Results
from stoker.boot.podman_api import GUEST_SOCKET, UNIT, ping, start_script, stop_script
from stoker.boot.ssh import Guest
from stoker.boot.standins.catalog import PROBE, STANDINS
from stoker.boot.standins.model import FILES_DIR, problems

REPO = Path(__file__).resolve().parents[2]
FLEET = "registry.ebisc.org/ebisc"
PROBE_PROGRAM = FILES_DIR / "files" / "probe.py"


def _quadlet(name: str, text: str) -> dict:
    return {"path": f"/etc/containers/systemd/{name}", "contents": {"source": data_url(text)}}


def _config(*files: dict) -> dict:
    return {"ignition": {"version": "3.3.0"}, "storage": {"files": list(files)}}


APP = ("[Container]\nContainerName=app\nImage=registry.ebisc.org/ebisc/ims-uwsgi:latest\nNetwork=web.network\n"
       "Environment=DB_USER=ims \"DB_HOST=db\" ES_HOST=search\nEnvironmentFile=/etc/stoker/app.env\n"
       "[Install]\nWantedBy=multi-user.target\n")
DB = ("[Container]\nContainerName=db\nImage=registry.ebisc.org/ebisc/postgres:latest\nNetwork=web.network\n"
      "EnvironmentFile=/etc/stoker/db.env\n[Install]\nWantedBy=multi-user.target\n")
JOB = ("[Service]\nType=oneshot\n[Container]\nImage=registry.ebisc.org/ebisc/ims-uwsgi:latest\nExec=run-deploy\n"
       "Network=web.network\nEnvironment=DB_HOST=db ES_HOST=search\nEnvironmentFile=-/etc/stoker/job.env\n")
NETWORK = "[Network]\nNetworkName=ebisc\n"


def test_plan_follows_the_quadlet_files_and_the_contracts():
    cfg = _config(_quadlet("web.network", NETWORK), _quadlet("app.container", APP), _quadlet("db.container", DB),
                  _quadlet("job.container", JOB))
    plan = probes.plan(cfg, STANDINS, FLEET)
    by_name = {c.name: c for c in plan.containers}
    assert by_name["app"].networks == ("ebisc",), "NetworkName= of the .network file, as Podman names it"
    assert dict(by_name["app"].environment) == {"DB_USER": "ims", "DB_HOST": "db", "ES_HOST": "search"}
    assert by_name["app"].service and by_name["db"].service and not by_name["systemd-job"].service
    assert by_name["systemd-job"].env_files == ("/etc/stoker/job.env",), "the optional '-' is dropped"
    # ims-uwsgi's default mode needs $DB_HOST:5432; the job is not running, so it is not probed
    assert plan.reaches == [probes.Reach("app", "db", 5432, "DB_HOST")]
    assert plan.network_of("app") == "ebisc"
    assert list(plan.env_files()) == ["/etc/stoker/app.env", "/etc/stoker/db.env", "/etc/stoker/job.env"]


def test_a_need_whose_variable_is_not_set_is_reported_not_dropped():
    app = APP.replace('"DB_HOST=db" ', "")
    plan = probes.plan(_config(_quadlet("app.container", app)), STANDINS, FLEET)
    assert plan.reaches == []
    assert plan.unresolved and "DB_HOST" in plan.unresolved[0]


def test_default_network_name_is_systemd_prefixed():
    cfg = _config(_quadlet("web.network", "[Network]\n"), _quadlet("app.container", APP))
    assert probes.containers(cfg)[0].networks == ("systemd-web",)


def test_fleet_vms_probe_what_the_issue_names(tmp_path):
    """ims-uwsgi -> ims-postgres:5432 on ebisc; tracker-webserver -> mongodb:27017 on tracker."""
    proc = subprocess.run([sys.executable, "-m", "stoker.cli", "ignition", "ims", "tracker", "--dev-secrets",
                           "--build-dir", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"the fleet does not render here: {proc.stderr[-300:]}")
    cfgs = {vm: json.loads((tmp_path / f"{vm}.ign").read_text()) for vm in ("ims", "tracker")}
    ims = probes.plan(cfgs["ims"], STANDINS, FLEET)
    assert probes.Reach("ims-uwsgi", "ims-postgres", 5432, "DB_HOST") in ims.reaches
    assert ims.network_of("ims-uwsgi") == "ebisc"
    tracker = probes.plan(cfgs["tracker"], STANDINS, FLEET)
    assert tracker.reaches == [probes.Reach("tracker-webserver", "mongodb", 27017, "MONGODB_HOST")]
    assert "/etc/stoker/tracker-webserver.env" in tracker.env_files()


def test_digests_keep_names_and_hashes_never_values():
    text = "# comment\n; also\n\nA=one\nB=\"two words\"\nC='x'\nnot a line\n"
    digests = probes.env_file_digests(text)
    assert set(digests) == {"A", "B", "C"}
    assert "one" not in json.dumps(digests) and "two words" not in json.dumps(digests)
    environ = b"A=one\0B=two words\0C=x\0PATH=/bin\0"
    assert {k: v for k, v in probes.environ_digests(environ).items() if k in digests} == digests


def test_probe_program_answers_in_json_without_contents(tmp_path):
    secret = tmp_path / "x.env"
    secret.write_text("TOKEN=very-secret\n")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def run(*args, env=None):
        proc = subprocess.run([sys.executable, str(PROBE_PROGRAM), *args], capture_output=True, text=True,
                              env=env or os.environ)
        return proc.returncode, proc.stdout, proc.stderr

    rc, out, _ = run("connect", "127.0.0.1", str(port), "1")
    assert rc == 0 and json.loads(out)["connected"] is True
    server.close()
    rc, out, _ = run("connect", "127.0.0.1", str(port), "0")
    assert rc == 0 and json.loads(out)["connected"] is False and "ECONNREFUSED" in json.loads(out)["error"]
    rc, out, _ = run("connect", "no-such-host.invalid", "80", "0")
    assert json.loads(out)["error"].startswith("name not resolved")
    rc, out, _ = run("read", str(secret))
    assert json.loads(out)["readable"] is True and "very-secret" not in out
    rc, out, _ = run("read", str(tmp_path / "absent"))
    assert json.loads(out)["error"] == "ENOENT"
    rc, out, _ = run("env", "TOKEN", "PATH", env={**os.environ, "TOKEN": "very-secret"})
    assert json.loads(out)["set"] == ["PATH", "TOKEN"] and "very-secret" not in out
    rc, _, err = run("bogus")
    assert rc == 2 and "stoker-probe connect" in err


def test_probe_image_declaration_is_buildable_and_not_a_fleet_stand_in():
    assert problems(PROBE) == []
    assert PROBE not in STANDINS
    assert any(f.path == "/usr/local/bin/stoker-probe" for f in PROBE.files)


def test_api_start_script_gives_the_socket_to_the_ssh_user_only():
    script = start_script("core")
    assert f"--unit={UNIT}" in script and f"ListenStream={GUEST_SOCKET}" in script
    assert "SocketUser=core" in script and "SocketMode=0600" in script
    assert "podman system service --time=0" in script
    assert UNIT in stop_script()


def test_ping_reads_podmans_answer_over_a_unix_socket(tmp_path):
    path = tmp_path / "api.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer(body: bytes, status: bytes = b"200 OK"):
        conn, _ = server.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        conn.close()
    t = threading.Thread(target=answer, args=(b"OK",))
    t.start()
    assert ping(path, timeout=5) == "OK"
    t.join()
    t = threading.Thread(target=answer, args=(b"no", b"500 Internal Server Error"))
    t.start()
    with pytest.raises(OSError):
        ping(path, timeout=5)
    t.join()
    server.close()


def test_forward_argv_forwards_a_unix_socket_and_fails_fast(tmp_path):
    argv = Guest(2222, tmp_path / "key").forward_argv(tmp_path / "podman.sock", GUEST_SOCKET)
    assert argv[0] == "ssh" and "-N" in argv and "ExitOnForwardFailure=yes" in argv
    assert argv[argv.index("-L") + 1] == f"{tmp_path / 'podman.sock'}:{GUEST_SOCKET}"
    assert argv[-1] == "core@127.0.0.1"


def test_without_testcontainers_the_probes_say_not_run(monkeypatch):
    monkeypatch.setattr(probes, "unavailable", lambda: "testcontainers is not installed")
    results = Results()
    probes.run_probes(None, _config(_quadlet("app.container", APP)), results, probe_image="x/y:z",
                      standins=STANDINS, fleet_registry=FLEET, directory=Path("/nonexistent"))
    [row] = results.checks
    assert row.group == NOT_EXERCISED and "NOT RUN: testcontainers is not installed" in row.seen


def test_boot_test_option_without_a_probe_image_says_why(monkeypatch):
    from stoker.boot.cli import _probe_spec

    class Args:
        no_probes = False
    spec = _probe_spec(Args(), _config(_quadlet("app.container", APP)), None)
    assert spec.image is None and "--registry real" in spec.skip
    spec = _probe_spec(Args(), _config(_quadlet("app.container", APP)), "10.0.2.2:5000")
    assert spec.image == f"{FLEET}/stoker-probe:latest"
    Args.no_probes = True
    assert _probe_spec(Args(), {}, None) is None
