"""Nothing reaches the cloud that is not this VM's config and does not pass
`stoker validate`: plan refuses what fails, deploy refuses what is not strictly clean."""

from __future__ import annotations

import pytest
from cloud_testdata import tracker_config


def test_another_vms_config_is_refused(fake, repo, stoker):
    other = repo.write_build(tracker_config(vm="bastion"), vm="bastion")
    for command in (("plan", "tracker"), ("deploy", "tracker", "--yes")):
        code, _, err = stoker(*command, "--config", str(other))
        assert code == 1 and "is the config of VM 'bastion', not 'tracker'" in err
    assert fake.mutating_calls() == []


def test_a_config_without_the_vms_host_name_is_refused(fake, repo, stoker):
    config = tracker_config()
    config["storage"]["files"] = [f for f in config["storage"]["files"] if f["path"] != "/etc/hostname"]
    repo.write_build(config)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "sets no /etc/hostname; VM tracker is 'tracker'" in err
    assert "make ignition vm=tracker secrets=FILE" in err, "the hint, followed, gives a deployable config"
    assert fake.mutating_calls() == []


def test_a_broken_config_is_refused_not_planned(fake, repo, stoker):
    config = tracker_config()
    config["systemd"]["units"].append({"name": "foo", "contents": "[Service]\nExecStart=/bin/true\n"})
    repo.write_build(config)
    for command in (("plan", "tracker"), ("deploy", "tracker", "--yes"), ("deploy", "tracker", "--dry-run")):
        code, out, err = stoker(*command)
        assert code == 1, out
        assert "does not pass validation" in err and "invalid systemd unit extension" in err
        assert "+ unit foo" not in out
    assert fake.mutating_calls() == []


def test_a_warning_is_shown_by_plan_and_refuses_the_deploy(fake, repo, stoker):
    config = tracker_config()
    config["storage"]["filez"] = []
    repo.write_build(config)
    code, out, _ = stoker("plan", "tracker")
    assert code == 0 and "validation: Ignition 3.3.0 (stoker) warning" in out and "unused key filez" in out
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "does not pass validation (strict)" in err and "unused key filez" in err
    assert fake.mutating_calls() == []


def test_a_config_without_the_vm_record_is_refused(fake, repo, stoker):
    doc = tracker_config()
    doc["storage"]["files"] = [f for f in doc["storage"]["files"] if f["path"] != "/etc/stoker/vm"]
    repo.write_build(doc)
    for command in (("deploy", "tracker", "--yes"), ("deploy", "tracker", "--dry-run")):
        code, _, err = stoker(*command)
        assert code == 1 and "has no /etc/stoker/vm" in err and "make ignition vm=tracker secrets=FILE" in err
    assert fake.mutating_calls() == []


@pytest.mark.parametrize("make", ["truncated", "directory", "missing"])
def test_an_unreadable_config_names_the_vm_the_step_and_a_way_out(fake, repo, stoker, tmp_path, make):
    path = tmp_path / "x.ign"
    if make == "truncated":
        path.write_text('{"ignition": {"version": "3.3.0"}, "storage": {')
    elif make == "directory":
        path.mkdir()
    code, _, err = stoker("deploy", "tracker", "--yes", "--config", str(path))
    assert code == 1 and "vm tracker, step read config" in err and "how to recover" in err
    assert fake.requests == []


def test_plan_json_gives_a_refusal_as_json_too(fake, repo, stoker):
    import json

    doc = tracker_config()
    doc["storage"]["files"] = [f for f in doc["storage"]["files"] if f["path"] != "/etc/hostname"]
    repo.write_build(doc)
    code, out, err = stoker("plan", "tracker", "--json")
    assert code == 1 and "sets no /etc/hostname" in err
    answer = json.loads(out)
    assert answer["action"] == "error" and answer["step"] == "check config" and "secrets=FILE" in answer["hint"]
