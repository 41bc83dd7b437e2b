"""Connection errors, retries that must not double a rebuild, dev secrets, metadata."""

from __future__ import annotations

import json

from cloud_testdata import tracker_config


def test_bad_credentials_name_the_connect_step(fake, repo, stoker, tmp_path, monkeypatch):
    clouds = tmp_path / "bad-clouds.yaml"
    clouds.write_text(fake.clouds_yaml().replace("not-a-real-secret", "wrong"))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    code, _, err = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 1 and "step connect" in err and "cannot connect to cloud fake" in err
    assert "wrong" not in err


def test_openrc_variables_are_used_when_no_cloud_is_named(fake, repo, stoker, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml")
    for k, v in (("OS_AUTH_URL", f"{fake.base}/identity"), ("OS_USERNAME", "operator"),
                 ("OS_PASSWORD", "not-a-real-secret"), ("OS_PROJECT_NAME", "fleet"),
                 ("OS_USER_DOMAIN_NAME", "Default"), ("OS_PROJECT_DOMAIN_NAME", "Default"),
                 ("OS_IDENTITY_API_VERSION", "3"), ("OS_REGION_NAME", "RegionOne")):
        monkeypatch.setenv(k, v)
    code, out, err = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2, err
    assert "create server tracker" in out


def _rebuilds(fake):
    return [r for r in fake.calls("POST", r"/action$") if "rebuild" in (r.body or {})]


def test_a_5xx_before_the_rebuild_is_retried(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(tracker_config(image_tag="7.0"))
    fake.fail_next("POST", r"/action$", 503, body_key="rebuild")
    boots = fake.server_by_name("tracker")["boots"]
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert len(_rebuilds(fake)) == 2 and fake.server_by_name("tracker")["boots"] == boots + 1
    assert "retried after rebuild server: HTTP 503" in out


def test_a_lost_rebuild_response_does_not_rebuild_twice(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(tracker_config(image_tag="7.0"))
    fake.fail_next("POST", r"/action$", 500, body_key="rebuild", after=True)
    boots = fake.server_by_name("tracker")["boots"]
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert len(_rebuilds(fake)) == 1, "the server was already rebuilding: no second rebuild"
    assert fake.server_by_name("tracker")["boots"] == boots + 1
    assert fake.volume_by_name("tracker-data")["status"] == "in-use"


def test_a_lost_create_response_adopts_the_server_instead_of_making_a_twin(fake, repo, stoker):
    fake.fail_next("POST", r"/servers$", 500, after=True)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert len(fake.servers) == 1 and len(fake.calls("POST", r"/servers$")) == 1


def test_dev_secrets_are_refused_by_deploy_but_shown_by_plan(fake, repo, stoker):
    repo.write_build(tracker_config(password="dev-insecure-0123"))
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "throwaway dev secrets" in err
    assert fake.requests == []
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2 and "dev secrets" in out and "dev-insecure" not in out


def test_operator_metadata_survives_a_rebuild(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    fake.server_by_name("tracker")["metadata"]["owner"] = "team-cells"
    repo.write_build(tracker_config(image_tag="7.0"))
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    meta = fake.server_by_name("tracker")["metadata"]
    assert meta["owner"] == "team-cells" and meta["stoker_ignition"] == "success"


def test_plan_reads_the_old_config_back_from_the_server_without_state(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    (repo.root / "state" / "tracker.ign").unlink()
    repo.write_build(tracker_config(image_tag="7.0"))
    code, out, _ = stoker("plan", "tracker", "--detailed-exitcode")
    assert code == 2 and "the server's user_data" in out
    assert "~ image docker.io/library/mongo (changed)" in out
    assert "+ unit mongodb.service" not in out


def test_every_request_matched_the_documented_shapes(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(tracker_config(image_tag="7.0"))
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    assert stoker("status")[0] == 0
    assert fake.violations == []
    compute = [r for r in fake.requests if r.path.startswith("/compute/v2.1/")]
    assert compute and all(r.microversion for r in compute if r.method != "GET" or "servers" in r.path
                           if not r.path.endswith("/metadata"))
    json.dumps([r.body for r in fake.requests])  # every body was JSON


def test_a_dropped_connection_is_retried(fake, repo, stoker):
    fake.fail_next("GET", r"/servers/detail$", 0)
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "retried after find server" in out
    assert len(fake.servers) == 1


def test_a_409_is_not_retried_and_says_the_server_is_busy(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    repo.write_build(tracker_config(image_tag="7.0"))
    fake.fail_next("POST", r"/action$", 409, body_key="rebuild", count=3)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "HTTP 409" in err and "step rebuild server" in err and "busy" in err
    assert len(_rebuilds(fake)) == 1
    assert fake.volume_by_name("tracker-data")["status"] == "in-use"


def test_a_server_in_the_middle_of_a_task_is_not_rebuilt(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    fake.server_by_name("tracker").update(status="REBUILD", task_state="rebuilding")
    fake.never_active = True
    repo.write_build(tracker_config(image_tag="7.0"))
    before = len(fake.mutating_calls())
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "server is REBUILD" in err and "step plan" in err
    assert len(fake.mutating_calls()) == before


def test_a_rebuild_that_ends_in_error_says_how_to_recover_and_keeps_the_volume(fake, repo, stoker):
    assert stoker("deploy", "tracker", "--yes")[0] == 0
    fake.end_in_error = True
    repo.write_build(tracker_config(image_tag="7.0"))
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1
    assert "step wait active" in err and "ERROR: No valid host was found." in err
    assert "tracker-data" in err and "was not deleted" in err and "can be rebuilt" in err
    assert fake.volume_by_name("tracker-data")["status"] == "in-use"
    fake.end_in_error = False
    code, out, _ = stoker("deploy", "tracker", "--yes")
    assert code == 0 and "the server is in ERROR" in out, "a server in ERROR is rebuilt by deploying again"
    assert fake.server_by_name("tracker")["status"] == "ACTIVE"


def test_ignition_that_never_reports_times_out_and_is_recorded_as_unknown(fake, repo, stoker, monkeypatch):
    monkeypatch.setenv("STOKER_IGNITION_TIMEOUT", "0.3")
    fake.ignition_outcome = "silent"
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "step watch ignition" in err and "waiting for Ignition" in err
    assert fake.server_by_name("tracker")["metadata"]["stoker_ignition"] == "unknown"


def test_the_commands_are_registered_in_the_stoker_cli():
    from stoker.cli import build_parser
    args = build_parser().parse_args(["deploy", "tracker", "--dry-run", "--config", "x.ign"])
    assert args.dry_run and args.vm == "tracker" and callable(args.func)
    assert callable(build_parser().parse_args(["status"]).func)


def test_make_targets_call_the_commands():
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(["make", "-n", "-s", "-C", str(root), "deploy", "vm=tracker", "yes=1", "dry_run=1",
                          "VENV=.venv", "-o", ".venv/.installed"], capture_output=True, text=True, check=True).stdout
    assert "stoker deploy 'tracker'  --yes --dry-run" in out
    out = subprocess.run(["make", "-n", "-s", "-C", str(root), "plan", "vm=ims", "cloud=prod", "-o", ".venv/.installed"],
                         capture_output=True, text=True, check=True).stdout
    assert "stoker plan 'ims' --cloud 'prod'" in out
    bad = subprocess.run(["make", "-s", "-C", str(root), "plan", "-o", ".venv/.installed"], capture_output=True, text=True)
    assert bad.returncode != 0 and "usage: make plan vm=NAME" in bad.stderr
