"""Fixtures: a local OpenStack (fake_openstack.py) reached through the real
openstacksdk via a clouds.yaml, a small repository tree with a placement and
an Ignition config for the tracker VM, a fleet of several deployed VMs, and
stoker's commands run in-process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from cloud_testdata import PLACEMENT, VOLUME_ID, tracker_config  # noqa: E402
from fake_openstack import serve  # noqa: E402


class Repo:
    def __init__(self, root: Path):
        self.root = root

    def write_build(self, doc: dict, vm: str = "tracker") -> Path:
        path = self.root / "build" / f"{vm}.ign"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(doc, separators=(",", ":")))
        return path

    def write_vms(self, definitions: dict[str, str]) -> None:
        """vms/<vm>.yaml for each VM ({vm: YAML text})."""
        (self.root / "vms").mkdir(exist_ok=True)
        for vm, text in definitions.items():
            (self.root / "vms" / f"{vm}.yaml").write_text(text)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    cloud, httpd = serve()
    cloud.add_volume("tracker-data", 50, VOLUME_ID)  # the data the fleet already has
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(cloud.clouds_yaml())
    for var in ("OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    # fast waits: the fake needs a few polls per state change
    for var, value in (("STOKER_POLL_SECONDS", "0.01"), ("STOKER_ACTIVE_TIMEOUT", "5"),
                       ("STOKER_VOLUME_TIMEOUT", "5"), ("STOKER_IGNITION_TIMEOUT", "5"),
                       ("STOKER_RETRIES", "3"), ("STOKER_BACKOFF_SECONDS", "0.01"),
                       ("STOKER_LOCK_SETTLE_SECONDS", "0.01")):
        monkeypatch.setenv(var, value)
    yield cloud
    # whatever a test did, stoker never asked to delete a volume
    assert not [r for r in cloud.requests if r.method == "DELETE" and "/volumes/" in r.path]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def tools_counted_present(monkeypatch):
    """Deploys validate strictly, so a tool this test machine lacks (or the
    boot-test image not built yet, whose Quadlet generator the dry run borrows)
    would refuse every deploy. These tests are about the cloud: a check skipped
    for what this machine lacks counts as passed here (tests/fleet test the gate
    itself with and without the tools); everything that runs, runs for real."""
    import stoker.fleet.validation as validation

    real = validation.validate_ignition_bytes

    def validate(*args, **kwargs):
        return [validation.Check(c.name, validation.OK, c.detail + " (counted as passed by the cloud tests)")
                if c.status == validation.SKIPPED else c
                for c in real(*args, **kwargs)]
    monkeypatch.setattr(validation, "validate_ignition_bytes", validate)


@pytest.fixture
def repo(tmp_path) -> Repo:
    root = tmp_path / "repo"
    root.mkdir(parents=True)
    (root / "fleet.yaml").write_text(PLACEMENT)
    r = Repo(root)
    r.write_build(tracker_config())
    return r


@pytest.fixture
def stoker(repo, capsys):
    """Run a stoker subcommand of the cloud package; return (exit code, stdout, stderr)."""
    from stoker.cli import _Parser
    from stoker.cloud import cli as cloud_cli
    from stoker.errors import StokerError, UsageError

    def run(*argv: str):
        parser = _Parser(prog="stoker")
        sub = parser.add_subparsers(dest="command", parser_class=_Parser)
        cloud_cli.register(sub)
        args = parser.parse_args([*argv, "--root", str(repo.root)])
        try:
            code = int(args.func(args) or 0)
        except UsageError as exc:
            print(f"stoker: {exc}", file=sys.stderr)
            code = 2
        except StokerError as exc:
            print(f"stoker: error: {exc}", file=sys.stderr)
            code = 1
        out = capsys.readouterr()
        return code, out.out, out.err
    return run



@pytest.fixture
def cli(repo, capsys):
    """Run any stoker command in-process (stoker.cli.main, so every command and
    its exit codes) against the test repository; (exit code, stdout, stderr)."""
    from stoker.cli import main

    def run(*argv: str):
        code = main([*argv, "--root", str(repo.root)])
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


@pytest.fixture
def deployed_fleet(fake, repo, stoker):
    """deployed_fleet(fleet_yaml, {vm: (data volume id, vms/<vm>.yaml text)}, config):
    write fleet.yaml and vms/, give each VM its data volume `<vm>-data` (50 GiB;
    the one the local cloud starts with is kept), write build/<vm>.ign from
    config(vm) and deploy each VM once (`stoker deploy VM --yes`, Ignition
    succeeding). Returns {vm: the sha256 of the config it runs}."""

    def deploy(fleet_yaml: str, vms: dict[str, tuple[str, str]], config) -> dict[str, str]:
        (repo.root / "fleet.yaml").write_text(fleet_yaml)
        repo.write_vms({vm: text for vm, (_, text) in vms.items()})
        for vm, (volume_id, _) in vms.items():
            if fake.volume_by_name(f"{vm}-data") is None:
                fake.add_volume(f"{vm}-data", 50, volume_id)
            repo.write_build(config(vm), vm)
            code, _, err = stoker("deploy", vm, "--yes")
            assert code == 0, err
        return {vm: fake.server_by_name(vm)["metadata"]["stoker_config_sha256"] for vm in vms}
    return deploy
