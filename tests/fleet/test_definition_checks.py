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
    edit(f, "{source: acme, target: /var/www/acme, relabel: z, read_only: true}",
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
    edit(f, "{source: acme, target: /var/www/acme, relabel: z, read_only: true}",
         "{source: /etc/stoker/nginx, target: /var/www/acme, relabel: z, read_only: true}")
    rc, out = render(repo, capsys, "bastion", "--strict")
    assert rc == 0, out


@pytest.mark.parametrize("calendar,expected", [
    ("daily at 8", '"at" is not part of systemd\'s calendar syntax'),
    ("*-*-* 25:00:00", "hour 25 is out of range 0-23"),
    ("twice a day", "is not a systemd calendar event"),
    ("", "is not a systemd calendar event"),
])
def test_bad_on_calendar(repo, capsys, calendar, expected):
    out = refused(repo, capsys, "vms/tracker.yaml", 'on_calendar: "*-*-* 07,13:00:00"',
                  f'on_calendar: "{calendar}"', f'"{calendar}"', expected)
    assert "timer 'tracker': on_calendar" in out


@pytest.mark.parametrize("calendar", ["Mon *-*-* 23:00:00", "*-*-* 07,13:00:00", "daily", "weekly",
                                      "Mon..Fri 08:00", "*-*-* 04:00:00 Europe/Berlin", "*:0/15"])
def test_good_on_calendar(repo, capsys, calendar):
    edit(repo / "vms/tracker.yaml", 'on_calendar: "*-*-* 07,13:00:00"', f'on_calendar: "{calendar}"')
    assert render(repo, capsys)[0] == 0


def test_bad_randomized_delay(repo, capsys):
    refused(repo, capsys, "vms/tracker.yaml", 'on_calendar: "*-*-* 07,13:00:00"',
            'on_calendar: "*-*-* 07,13:00:00"\n    randomized_delay: "ten minutes"', '"ten minutes"',
            '"ten minutes" is not a systemd time span')


def test_good_randomized_delay(repo, capsys):
    edit(repo / "vms/tracker.yaml", 'on_calendar: "*-*-* 07,13:00:00"',
         'on_calendar: "*-*-* 07,13:00:00"\n    randomized_delay: "1h 30min"')
    assert render(repo, capsys)[0] == 0


@pytest.mark.parametrize("image,expected", [
    ("tracker::lat est", '"lat est" contains a space'),
    ("https://host/img:1", 'a URL scheme ("https://") is not part of an image reference'),
    ("Tracker:latest", "must be lowercase"),
])
def test_bad_image_references(repo, capsys, image, expected):
    refused(repo, capsys, "vms/tracker.yaml", "image: tracker:latest", f'image: "{image}"', f'"{image}"',
            expected)


@pytest.mark.parametrize("caps,expected", [
    ("cap_add: [NET_BIND_SERVIC]", 'unknown capability "CAP_NET_BIND_SERVIC"'),
    ("cap_add: [all]\n    cap_drop: [all]", "adding all caps and removing all caps not allowed"),
])
def test_bad_capabilities(repo, capsys, caps, expected):
    f = repo / "vms/tracker.yaml"
    edit(f, "    image: tracker:latest\n", f"    image: tracker:latest\n    {caps}\n")
    rc, out = render(repo, capsys)
    assert rc == 1 and expected in out and "vms/tracker.yaml:" in out


def test_good_capabilities(repo, capsys):
    edit(repo / "vms/tracker.yaml", "    image: tracker:latest\n",
         "    image: tracker:latest\n    cap_add: [CAP_NET_BIND_SERVICE, chown]\n")
    assert render(repo, capsys)[0] == 0


def test_a_service_name_too_long_for_systemd(repo, capsys):
    name = "w" * 278
    f = repo / "vms/tracker.yaml"
    edit(f, "  tracker-webserver:\n", f"  {name}:\n")
    rc, out = render(repo, capsys)
    line, col = line_col(f, name)
    assert rc == 1
    assert f"vms/tracker.yaml:{line}:{col}: service name wwwwwwwwwwwwwwwwwwww... is 278 characters; at most 243" in out


def test_quadlet_keys_are_checked_against_the_target_podman(repo, capsys):
    edit(repo / "fleet.yaml", 'podman: "5.8"', 'podman: "4.3"')
    rc, out = render(repo, capsys)
    assert rc == 1 and ".container files need Podman 4.4, the target has 4.3" in out
    assert "vms/tracker.yaml:" in out
