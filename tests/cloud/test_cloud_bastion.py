"""The real bastion, rendered from vms/bastion.yaml, deployed to the local
cloud and rebuilt: its certificates' volume is created once, stays attached
and is never wiped, nothing it keeps is lost, and its htpasswd never shows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stoker.cli import main as stoker_main
from stoker.fleet import budget

ROOT = Path(__file__).resolve().parents[2]
HTPASSWD = "ops:$apr1$Zq3v9x1u$0123456789abcdefghijkl\nreviewer:$apr1$Ab3v9x1u$lkjihgfedcba9876543210\n"


@pytest.fixture
def fleet_repo(repo, fake, tmp_path):
    for name in ("vms", "butane", "files", "schemas"):
        shutil.copytree(ROOT / name, repo.root / name)
    shutil.copy(ROOT / "fleet.yaml", repo.root / "fleet.yaml")
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("bastion:\n  HTPASSWD_CELLS_STAGE: |\n" +
                       "".join(f"    {line}\n" for line in HTPASSWD.splitlines()))
    secrets.chmod(0o600)
    ssh = fake.add_security_group("ssh")
    fake.add_rule(ssh, protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0")

    def render():
        code = stoker_main(["ignition", "bastion", "--root", str(repo.root), "--secrets", str(secrets)])
        assert code == 0
    render()
    repo.render = render
    return repo


def _sent(server: dict) -> dict:
    raw = server["user_data_bytes"]
    return json.loads(budget.unwrap(raw) or raw)


def test_a_bastion_rebuild_keeps_its_certificates_volume(fake, fleet_repo, stoker, capsys):
    capsys.readouterr()
    code, out, err = stoker("deploy", "bastion", "--yes", "--cloud", "fake")
    assert code == 0, err
    volume = fake.volume_by_name("bastion-data")
    server = fake.server_by_name("bastion")
    assert volume is not None and volume["size"] == 1 and volume["id"] in server["volumes"]
    fs = _sent(server)["storage"]["filesystems"][0]
    assert fs["device"] == f"/dev/disk/by-id/virtio-{volume['id'][:20]}" and fs["wipeFilesystem"] is False

    # A change: the rebuild keeps the server, its volume and everything on it.
    conf = fleet_repo.root / "files/bastion/nginx/conf.d/10-cells.conf"
    conf.write_text(conf.read_text().replace("client_max_body_size 50m;", "client_max_body_size 80m;"))
    fleet_repo.render()
    capsys.readouterr()
    code, out, err = stoker("plan", "bastion", "--cloud", "fake", "--json")
    plan = json.loads(out)
    assert plan["action"] == "rebuild" and plan["lost_on_rebuild"] == [] and not plan["needs_accept_loss"]
    assert plan["volume"] == {"name": "bastion-data", "size_gib": 1, "state": "attached", "id": volume["id"]}
    code, out, err = stoker("deploy", "bastion", "--yes", "--cloud", "fake")
    assert code == 0, err
    assert "lost on rebuild" not in out
    assert fake.server_by_name("bastion")["id"] == server["id"]
    assert fake.volume_by_name("bastion-data")["id"] == volume["id"]
    assert volume["id"] in fake.server_by_name("bastion")["volumes"]
    assert len(fake.calls("POST", r"/volumes$")) == 1, "the volume is created once"
    sent = _sent(fake.server_by_name("bastion"))
    assert sent["storage"]["filesystems"][0]["wipeFilesystem"] is False
    assert "~ file /etc/stoker/nginx/conf.d/10-cells.conf (changed)" in out
    for line in HTPASSWD.splitlines():
        assert line not in out + err and line.split(":")[1] not in out + err
