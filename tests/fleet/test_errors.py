"""Bad definitions, one by one: each gives one clear error with file, line and
column, printed by the CLI without a traceback, and leaves no output file."""

from __future__ import annotations

import pytest
import yaml

from stoker.cli import main

from .conftest import edit, line_col


def fails(repo, capsys, *extra) -> str:
    build = repo / "build"
    rc = main(["ignition", "--all", "--root", str(repo), "--build-dir", str(build), *extra])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Traceback" not in err
    assert not build.exists() or not list(build.iterdir()), "a failed render wrote files"
    return err


def dev(repo, capsys):
    return fails(repo, capsys, "--dev-secrets")


def test_unknown_key_with_did_you_mean(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "    read_only: true\n    tmpfs: [/tmp]\n    ports:", "    read_onyl: true\n    tmpfs: [/tmp]\n    ports:")
    line, col = line_col(f, "read_onyl")
    err = dev(repo, capsys)
    assert f"vms/tracker.yaml:{line}:{col}: unknown key 'read_onyl'" in err
    assert "did you mean 'read_only'?" in err


def test_unknown_top_level_key(repo, capsys):
    f = repo / "vms/bastion.yaml"
    f.write_text(f.read_text() + "servics: {}\n")
    line, col = line_col(f, "servics")
    err = dev(repo, capsys)
    assert f"vms/bastion.yaml:{line}:{col}: unknown key 'servics'" in err and "'services'" in err


def test_wrong_type(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, 'ports: ["80:8000"]', "ports: 80")
    line, col = line_col(f, "ports: 80", offset=len("ports: "))
    err = dev(repo, capsys)
    assert f"vms/tracker.yaml:{line}:{col}: services.tracker-webserver.ports: expected a list, got an integer" in err


def test_missing_secret(repo, capsys, monkeypatch):
    monkeypatch.delenv("STOKER_SECRETS", raising=False)
    monkeypatch.delenv("STOKER_DEV_SECRETS", raising=False)
    secrets = repo / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"bastion": {}}))
    err = fails(repo, capsys, "bastion", "tracker", "--secrets", str(secrets))
    line, col = line_col(repo / "vms/tracker.yaml", "HPSCREG_PASS")
    assert f"vms/tracker.yaml:{line}:{col}: secret HPSCREG_PASS of VM tracker is not defined" in err
    assert "STOKER_SECRET_TRACKER_HPSCREG_PASS" in err


def test_unknown_dependency(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "    wants: [mongodb]", "    wants: [mongodbb]")
    line, col = line_col(f, "mongodbb")
    err = dev(repo, capsys)
    assert (f"vms/tracker.yaml:{line}:{col}: tracker-webserver wants 'mongodbb', which is not a service "
            "or job of tracker; did you mean 'mongodb'?") in err


def test_timer_without_job(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "    job: tracker\n", "    job: trackr\n")
    line, col = line_col(f, "job: trackr", offset=len("job: "))
    err = dev(repo, capsys)
    assert (f"vms/tracker.yaml:{line}:{col}: timer 'tracker' starts job 'trackr', which does not exist; "
            "did you mean 'tracker'?") in err


def test_timer_of_a_long_running_service(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "    job: tracker\n", "    job: mongodb\n")
    assert "which is a long-running service, not a job" in dev(repo, capsys)


def test_duplicate_names_service_and_job(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "jobs:\n", "jobs:\n  mongodb:\n    image: tracker:latest\n")
    lines = f.read_text().splitlines()
    job_line = lines.index("jobs:") + 2
    err = dev(repo, capsys)
    assert f"vms/tracker.yaml:{job_line}:3: duplicate name 'mongodb': it is both a service and a job" in err


def test_duplicate_yaml_key(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "timers:\n", "timers:\n  tracker:\n    job: tracker\n    on_calendar: daily\n")
    lines = f.read_text().splitlines()
    second = [i for i, l in enumerate(lines, 1) if l == "  tracker:"][-1]
    err = dev(repo, capsys)
    assert f"vms/tracker.yaml:{second}:3: duplicate key 'tracker'" in err


def test_port_clash(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "    secrets: [MONGODB_PASSWORD, MONGODB_ADMIN_PASSWORD]\n",
         "    secrets: [MONGODB_PASSWORD, MONGODB_ADMIN_PASSWORD]\n    ports: [\"80:27017\"]\n")
    line, col = line_col(f, '"80:8000"')
    err = dev(repo, capsys)
    assert f"vms/tracker.yaml:{line}:{col}: host port 80/tcp of tracker-webserver is already published by mongodb" in err


def test_path_clash_with_a_fragment(repo, capsys):
    f = repo / "vms/bastion.yaml"
    edit(f, "\nfiles:\n", "\nfiles:\n  - {path: /etc/ssh/sshd_config.d/40-stoker.conf, source: files/bastion/nginx/conf.d/30-aliases.conf}\n")
    line, col = line_col(f, "{path: /etc/ssh/sshd_config.d/40-stoker.conf")
    err = dev(repo, capsys)
    assert f"vms/bastion.yaml:{line}:{col}: path /etc/ssh/sshd_config.d/40-stoker.conf is claimed twice" in err
    assert "butane/sshd.bu:" in err


def test_path_clash_between_two_files(repo, capsys):
    f = repo / "vms/bastion.yaml"
    edit(f, "{path: /etc/stoker/nginx/conf.d/30-aliases.conf", "{path: /etc/stoker/nginx/conf.d/10-cells.conf")
    lines = f.read_text().splitlines()
    second = [i for i, l in enumerate(lines, 1) if "{path: /etc/stoker/nginx/conf.d/10-cells.conf" in l][1]
    err = dev(repo, capsys)
    assert f"vms/bastion.yaml:{second}:5: path /etc/stoker/nginx/conf.d/10-cells.conf is claimed twice" in err


def test_extends_cycle(repo, capsys):
    f = repo / "vms/ims.yaml"
    f.write_text("extends: ims-staging\n" + f.read_text())
    err = dev(repo, capsys)
    assert "extends cycle:" in err
    assert "vms/ims.yaml:1:10:" in err or "vms/ims-staging.yaml:" in err


def test_extends_unknown_vm(repo, capsys):
    edit(repo / "vms/ims-staging.yaml", "extends: ims\n", "extends: imss\n")
    err = dev(repo, capsys)
    assert "vms/ims-staging.yaml:3:10: extends 'imss', but there is no vms/imss.yaml; did you mean 'ims'?" in err


def test_unknown_fleet_reference(repo, capsys):
    edit(repo / "vms/tracker.yaml", "{{ s3.tracker_mongodb }}", "{{ s3.tracker_mongo }}")
    err = dev(repo, capsys)
    assert "'s3.tracker_mongo' is not defined in fleet.yaml" in err
    assert "vms/tracker.yaml:" in err


def test_bad_yaml(repo, capsys):
    f = repo / "vms/tracker.yaml"
    f.write_text(f.read_text() + "  bad: [unclosed\n")
    err = dev(repo, capsys)
    assert "vms/tracker.yaml:" in err and "not valid YAML" in err


def test_errors_are_all_reported_at_once(repo, capsys):
    edit(repo / "vms/tracker.yaml", "    wants: [mongodb]", "    wants: [nosuch]")
    edit(repo / "vms/tracker.yaml", "    job: tracker\n", "    job: nosuchjob\n")
    err = dev(repo, capsys)
    assert "'nosuch'" in err and "'nosuchjob'" in err


def test_private_relabel_on_a_shared_path(repo, capsys):
    f = repo / "vms/ims.yaml"
    edit(f, "{source: postgres_data, target: /var/lib/pgsql/data, relabel: z}",
         "{source: postgres_data, target: /var/lib/pgsql/data, relabel: Z}")
    line, col = line_col(f, "{source: postgres_data")
    err = dev(repo, capsys)
    assert (f"vms/ims.yaml:{line}:{col}: /var/mnt/cinder1/postgres_data is relabelled private (Z) for "
            "ims-postgres but also mounted by postgres-backups, postgres-restore; use z (shared)") in err


def test_schema_errors_in_one_service_are_all_reported(repo, capsys):
    f = repo / "vms/tracker.yaml"
    edit(f, "    read_only: true\n    tmpfs: [/tmp]\n    ports:", "    read_onyl: true\n    tmpfs: [/tmp]\n    ports:")
    edit(f, 'ports: ["80:8000"]', "ports: 80")
    err = dev(repo, capsys)
    assert "unknown key 'read_onyl'" in err and "expected a list, got an integer" in err


@pytest.mark.parametrize("text,expected", [
    ("services: {}\nusers: {core: {}}\nx: \x1b\n", "vms/tracker.yaml:3:4: not valid YAML: character #x001b is not allowed"),
    ("[" * 2000 + "]" * 2000 + "\n", "vms/tracker.yaml: not valid YAML: nested too deeply"),
])
def test_unreadable_yaml_is_an_error_not_a_traceback(repo, capsys, text, expected):
    (repo / "vms/tracker.yaml").write_text(text)
    assert expected in dev(repo, capsys)


def test_a_plain_file_that_is_not_text(repo, capsys):
    (repo / "files/bastion/nginx/conf.d/30-aliases.conf").write_bytes(b"\xff\xfe binary")
    line, col = line_col(repo / "vms/bastion.yaml", "source: files/bastion/nginx/conf.d/30-aliases.conf",
                         offset=len("source: "))
    err = dev(repo, capsys)
    assert f"vms/bastion.yaml:{line}:{col}: 30-aliases.conf is not UTF-8 text (byte 0)" in err
