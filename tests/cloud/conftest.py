"""Fixtures: a local OpenStack (fake_openstack.py) reached through the real
openstacksdk via a clouds.yaml, and a small repository tree with a placement
and an Ignition config for the tracker VM."""

from __future__ import annotations

import argparse
import base64
import copy
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_openstack import serve  # noqa: E402

PLACEMENT = """\
defaults:
  cloud: fake
  image: fedora-coreos-stable
  network: fleet-private
  security_groups: [default]
vms:
  tracker:
    flavor: m1.medium
    address: 10.0.0.13
    security_groups: [default, internal-web]
    volume: {name: tracker-data, size: 50}
  bastion:
    flavor: m1.small
    address: 10.0.0.10
"""

VOLUME_ID = "5f1c2e7a-90ab-4cde-8f01-23456789abcd"  # the tracker-data volume the fake starts with
DEVICE = f"/dev/disk/by-id/virtio-{VOLUME_ID[:20]}"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2Uta2V5LWZvci10ZXN0cy1vbmx5LW5vdC1yZWFs operator@example"


def data_url(text: str) -> str:
    return "data:;base64," + base64.b64encode(text.encode()).decode()


def tracker_config(image_tag: str = "6.0", password: str = "hunter2-first", extra_unit: str | None = None,
                   device: str = DEVICE) -> dict:
    units = [
        {"name": "tracker-webserver.service", "enabled": True,
         "contents": "[Unit]\nDescription=tracker web server\nAfter=mongodb.service\n\n[Service]\n"
                     "ExecStart=/usr/bin/podman run --rm --name tracker -p 8080:8080 "
                     "registry.example.org/fleet/tracker:2.1\n\n[Install]\nWantedBy=multi-user.target\n"},
        {"name": "mongodb.service", "enabled": True,
         "contents": "[Unit]\nDescription=MongoDB\nRequires=var-mnt-data.mount\n\n[Service]\n"
                     "EnvironmentFile=/etc/stoker/mongodb.env\n"
                     f"Environment=MONGO_INITDB_ROOT_PASSWORD={password}\n"
                     "ExecStart=/usr/bin/podman run --rm --name mongodb -v /var/mnt/data/mongo:/data/db "
                     f"docker.io/library/mongo:{image_tag}\n\n[Install]\nWantedBy=multi-user.target\n"},
        {"name": "mongodb-backups.timer", "enabled": True,
         "contents": "[Timer]\nOnCalendar=*-*-* 02:30:00\n\n[Install]\nWantedBy=timers.target\n"},
        {"name": "var-mnt-data.mount", "enabled": True,
         "contents": f"[Mount]\nWhat={device}\nWhere=/var/mnt/data\nType=xfs\n\n"
                     "[Install]\nWantedBy=local-fs.target\n"},
    ]
    if extra_unit:
        units.append({"name": extra_unit, "enabled": False, "contents": "[Service]\nType=oneshot\nExecStart=/bin/true\n"})
    return {
        "ignition": {"version": "3.4.0"},
        "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": [KEY]}]},
        "storage": {
            "filesystems": [{"device": device, "format": "xfs",
                             "path": "/var/mnt/data", "wipeFilesystem": False, "label": "data"}],
            "files": [
                {"path": "/etc/stoker/mongodb.env", "mode": 0o600,
                 "contents": {"source": data_url(f"MONGO_PASSWORD={password}\n")}},
                {"path": "/etc/tracker/config.yaml", "mode": 0o644,
                 "contents": {"source": data_url(f"mongo: mongodb://tracker:{password}@10.0.0.13/tracker\nlog: info\n")}},
            ],
        },
        "systemd": {"units": units},
    }


class Repo:
    def __init__(self, root: Path):
        self.root = root

    def write_build(self, doc: dict, vm: str = "tracker") -> Path:
        path = self.root / "build" / f"{vm}.ign"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(doc, separators=(",", ":")))
        return path


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
                       ("STOKER_RETRIES", "3"), ("STOKER_BACKOFF_SECONDS", "0.01")):
        monkeypatch.setenv(var, value)
    yield cloud
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def repo(tmp_path) -> Repo:
    root = tmp_path / "repo"
    (root / "cloud").mkdir(parents=True)
    (root / "cloud" / "placement.yaml").write_text(PLACEMENT)
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


def copy_doc(doc: dict) -> dict:
    return copy.deepcopy(doc)
