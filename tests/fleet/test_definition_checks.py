"""Definition checks stoker makes itself when rendering, so `make ignition`
refuses a broken definition on a machine without systemd or podman: each bad
value is an error at its line, each good one renders."""

from __future__ import annotations

import shutil

import pytest

from stoker.cli import main

from .conftest import edit, line_col


def render(repo, capsys, vm="tracker", *extra) -> tuple[int, str]:
    build = repo / "build"
    rc = main(["ignition", vm, "--root", str(repo), "--build-dir", str(build), "--dev-secrets", *extra])
    out = capsys.readouterr()
    text = out.err + out.out
    assert "Traceback" not in text
    if rc != 0:
        assert not build.exists() or not list(build.iterdir()), "a refused render wrote files"
    return rc, text


def refused(repo, capsys, file, old, new, needle, expected, vm="tracker", offset=0):
    f = repo / file
    edit(f, old, new)
    line, col = line_col(f, needle, offset)
    rc, out = render(repo, capsys, vm)
    assert rc == 1, out
    assert f"{file}:{line}:{col}: " in out and expected in out, out
    return out


@pytest.mark.parametrize("ports,expected", [
    ('["0:8000"]', "host port '0' is not a number from 1 to 65535"),
    ('["65536:8000"]', "host port '65536' is not a number from 1 to 65535"),
    ('["80:0"]', "container port '0' is not a number from 1 to 65535"),
    ('["http:8000"]', "host port 'http' is not a number"),
    ('["999.1.1.1:80:8000"]', "'999.1.1.1' is not an IP address"),
    ('["80:8000/icmp"]', "protocol 'icmp' is not tcp, udp or sctp"),
])
def test_bad_ports(repo, capsys, ports, expected):
    refused(repo, capsys, "vms/tracker.yaml", 'ports: ["80:8000"]', f"ports: {ports}",
            f"ports: {ports}", expected, offset=len("ports: ") + 1)


@pytest.mark.parametrize("ports", ['["127.0.0.1:80:8000"]', '["[::1]:80:8000/tcp"]', '["8080:8000/udp"]'])
def test_good_ports(repo, capsys, ports):
    edit(repo / "vms/tracker.yaml", 'ports: ["80:8000"]', f"ports: {ports}")
    assert render(repo, capsys)[0] == 0


def test_a_misspelt_time_zone_in_the_vm(repo, capsys):
    edit(repo / "vms/tracker.yaml", "networks: [tracker]\n",
         "networks: [tracker]\nupdates: {strategy: periodic, time_zone: Europe/Londn}\n")
    f = repo / "vms/tracker.yaml"
    line, col = line_col(f, "Europe/Londn")
    rc, out = render(repo, capsys)
    assert rc == 1
    assert (f"vms/tracker.yaml:{line}:{col}: time zone 'Europe/Londn' is not in the IANA tz database; "
            "did you mean 'Europe/London'?") in out


def test_a_misspelt_time_zone_in_the_fleet_defaults_points_at_fleet_yaml(repo, capsys):
    edit(repo / "fleet.yaml", "time_zone: UTC", "time_zone: Mars/Olympus")
    line, col = line_col(repo / "fleet.yaml", "Mars/Olympus")
    rc, out = render(repo, capsys)
    assert rc == 1 and f"fleet.yaml:{line}:{col}: time zone 'Mars/Olympus'" in out


@pytest.mark.parametrize("zone", ["localtime", "Europe/London", "America/Panama", "US/Eastern"])
def test_good_time_zones(repo, capsys, zone):
    edit(repo / "fleet.yaml", "time_zone: UTC", f"time_zone: {zone}")
    assert render(repo, capsys)[0] == 0


def test_a_bind_mount_of_a_path_nothing_creates_is_a_warning_at_its_line(repo, capsys):
    f = repo / "vms/bastion.yaml"
    edit(f, "{source: /var/projects/ebisc/acme, target: /var/www/acme, relabel: z, read_only: true}",
         "{source: /var/projects/ebisc/acme-typo, target: /var/www/acme, relabel: z, read_only: true}")
    line, col = line_col(f, "/var/projects/ebisc/acme-typo")
    rc, out = render(repo, capsys, "bastion")
    assert rc == 0
    assert (f"vms/bastion.yaml:{line}:{col}: warning: /var/projects/ebisc/acme-typo is neither a data_volume "
            "directory nor a path this config creates") in out
    shutil.rmtree(repo / "build")
    rc, out = render(repo, capsys, "bastion", "--strict")
    assert rc == 1 and "acme-typo" in out


def test_a_bind_mount_of_a_file_or_a_parent_the_config_creates_is_fine(repo, capsys):
    f = repo / "vms/bastion.yaml"
    edit(f, "{source: /var/projects/ebisc/acme, target: /var/www/acme, relabel: z, read_only: true}",
         "{source: /etc/stoker/nginx, target: /var/www/acme, relabel: z, read_only: true}")
    rc, out = render(repo, capsys, "bastion", "--strict")
    assert rc == 0, out
