"""Secret values reach only the Ignition config: never the .bu, logs or errors."""

from __future__ import annotations

import json
import os
import stat

import pytest
import yaml

from stoker.cli import main
from stoker.fleet.errors import FleetError
from stoker.fleet.render import render_vm
from stoker.fleet.secrets import env_var_name, load_secrets

from .conftest import ROOT, Config, line_col


def real_secrets(fleet) -> dict:
    """Distinctive values for every secret of the fleet."""
    return {vm: {n: f"S3CR3T-{vm}-{n}-%q\"x" for n in v.secret_names()} for vm, v in fleet.vms.items()}


def all_values(values) -> list[str]:
    return [v for names in values.values() for v in names.values()]


def test_values_only_in_the_ignition_which_is_0600(tmp_path, fleet, capsys):
    values = real_secrets(fleet)
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text(yaml.safe_dump(values))
    build = tmp_path / "build"
    assert main(["ignition", "--all", "--root", str(ROOT), "--build-dir", str(build),
                 "--secrets", str(secrets_file)]) == 0
    out = capsys.readouterr()
    for vm in fleet.vms:
        bu = (build / f"{vm}.bu").read_text()
        ign = (build / f"{vm}.ign").read_bytes()
        assert stat.S_IMODE(os.stat(build / f"{vm}.ign").st_mode) == 0o600
        for v in values[vm].values():
            assert v not in bu
        config = Config(json.loads(ign))
        for name, c in fleet.vms[vm].containers.items():
            if c.secrets:
                text = config.text(f"/etc/stoker/{name}.env")
                for s in c.secrets:
                    assert f"{s}={values[vm][s]}\n" in text
        assert "/etc/stoker/DEV-SECRETS-INSECURE" not in config.files
    for v in all_values(values):
        assert v not in out.out and v not in out.err
    assert "metadata service" in out.err
    assert "DEV MODE" not in out.err


def test_missing_secret_names_vm_and_variable_and_no_value(fleet):
    values = real_secrets(fleet)
    del values["tracker"]["IMS_PASS"]
    secrets = load_secrets(None, environ={}, dev=False)
    secrets.file_values = values
    with pytest.raises(FleetError) as err:
        render_vm(fleet, "tracker", secrets)
    message = str(err.value)
    assert "IMS_PASS" in message and "tracker" in message
    line, col = line_col(ROOT / "vms/tracker.yaml", "IMS_PASS")
    assert f"vms/tracker.yaml:{line}:{col}:" in message
    assert env_var_name("tracker", "IMS_PASS") == "STOKER_SECRET_TRACKER_IMS_PASS"
    for v in all_values(values):
        assert v not in message


def test_environment_variables_supply_secrets(fleet):
    names = fleet.vms["ims-staging"].secret_names()
    environ = {env_var_name("ims-staging", n): f"env-{n}" for n in names}
    r = render_vm(fleet, "ims-staging", load_secrets(None, environ=environ))
    assert b"env-DB_PASS" in r.full_ignition and not r.dev_secrets
    assert "env-DB_PASS" not in r.butane


def test_dev_mode_is_loud_and_marked_in_the_config(tmp_path, capsys):
    build = tmp_path / "build"
    assert main(["ignition", "tracker", "--root", str(ROOT), "--build-dir", str(build), "--dev-secrets"]) == 0
    err = capsys.readouterr().err
    assert "DEV MODE" in err and "never deploy" in err
    assert err.count("metadata service") == 1
    config = Config(json.loads((build / "tracker.ign").read_bytes()))
    assert "/etc/stoker/DEV-SECRETS-INSECURE" in config.files


def test_secrets_example_lists_every_name_and_no_value(fleet):
    example = yaml.safe_load((ROOT / "secrets.example.yaml").read_text())
    for vm, v in fleet.vms.items():
        assert sorted(example[vm] or {}) == v.secret_names()
        assert all(value is None for value in (example[vm] or {}).values())
    assert main(["secrets-example", "--check", "--root", str(ROOT)]) == 0


@pytest.mark.parametrize("text,expected", [
    (b"tracker: [a]\n", "secrets.yaml:1:10: tracker: expected a mapping NAME: value"),
    (b"tracker:\n  MONGODB_PASSWORD: {a: hunter2}\n", "secrets.yaml:2:21: tracker.MONGODB_PASSWORD: expected a single value"),
    (b"tracker: {MONGODB_PASSWORD: \"hunter2\n", "secrets.yaml:2:1: not valid YAML"),
    (b"\xffhunter2", "secrets.yaml: not UTF-8 text (byte 0)"),
])
def test_a_broken_secrets_file_is_located_and_never_quoted(tmp_path, capsys, text, expected):
    path = tmp_path / "secrets.yaml"
    path.write_bytes(text)
    path.chmod(0o600)
    rc = main(["ignition", "tracker", "--root", str(ROOT), "--build-dir", str(tmp_path / "b"), "--secrets", str(path)])
    err = capsys.readouterr().err
    assert rc == 1 and expected in err.replace(str(tmp_path) + "/", "")
    assert "hunter2" not in err and "Traceback" not in err


def test_a_secret_file_holds_the_whole_multi_line_value_with_its_mode_and_owner(tmp_path, capsys):
    path = tmp_path / "secrets.yaml"
    path.write_text("bastion:\n  HTPASSWD_CELLS_STAGE: |\n    alice:$apr1$x$hunter2\n    bob:$apr1$y$hunter3\n")
    path.chmod(0o600)
    rc = main(["ignition", "bastion", "--root", str(ROOT), "--build-dir", str(tmp_path / "b"), "--secrets", str(path)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    cfg = Config(json.loads((tmp_path / "b/bastion.ign").read_text()))
    entry = cfg.files["/etc/stoker/files/htpasswd/cells-stage"]
    assert cfg.text("/etc/stoker/files/htpasswd/cells-stage") == "alice:$apr1$x$hunter2\nbob:$apr1$y$hunter3\n"
    assert entry["mode"] == 0o640 and entry["user"]["id"] == 0 and entry["group"]["id"] == 101
    assert "hunter2" not in (tmp_path / "b/bastion.bu").read_text()
    assert "hunter2" not in out.out + out.err


def test_a_missing_secret_file_value_is_an_error_at_its_definition(tmp_path, capsys):
    path = tmp_path / "secrets.yaml"
    path.write_text("bastion: {}\n")
    path.chmod(0o600)
    rc = main(["ignition", "bastion", "--root", str(ROOT), "--build-dir", str(tmp_path / "b"), "--secrets", str(path)])
    line, col = line_col(ROOT / "vms/bastion.yaml", "HTPASSWD_CELLS_STAGE:")
    err = capsys.readouterr().err
    assert rc == 1 and f"vms/bastion.yaml:{line}:{col + 22}: secret file HTPASSWD_CELLS_STAGE of VM bastion is not " \
                       "defined" in err


def test_a_name_cannot_be_both_a_secret_file_and_an_environment_secret(repo, capsys):
    from .conftest import edit

    edit(repo / "vms/bastion.yaml", "secret_files:\n  HTPASSWD_CELLS_STAGE:", "secret_files:\n  TOKEN:")
    edit(repo / "vms/bastion.yaml", "    image: letsencrypt:latest\n", "    image: letsencrypt:latest\n    secrets: [TOKEN]\n")
    rc = main(["ignition", "bastion", "--root", str(repo), "--build-dir", str(repo / "b"), "--dev-secrets"])
    err = capsys.readouterr().err
    assert rc == 1 and "secret TOKEN is both a secret file and an environment secret" in err
