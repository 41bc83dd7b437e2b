"""Every unit and timer of the legacy fleet (../shared/seed/legacy-units.md) is
declared, with the enablement it had: long-running services start at boot,
restore jobs are installed but never enabled, timers are enabled on the legacy
schedule and start the job of the legacy name."""

from __future__ import annotations

import pytest

from .conftest import Config

# vm: (services started at boot, jobs run by timers, jobs run on boot, manual jobs,
#      {timer: (job, OnCalendar)})
LEGACY = {
    "ims": (
        {"ims-postgres", "ims-elasticsearch", "ims-uwsgi", "ims-nginx"},
        {"ims-updates", "duplicity", "postgres-backups"},
        {"ims-deploy"},
        {"duplicity-restore", "postgres-restore"},
        {"ims-updates": ("ims-updates", "*-*-* 03:00:00"),
         "duplicity-backups": ("duplicity", "*-*-* 08:30:00"),
         "postgres-backups": ("postgres-backups", "*-*-* 08:00:00")},
    ),
    "ims-staging": (
        {"ims-postgres", "ims-elasticsearch", "ims-uwsgi", "ims-nginx"},
        {"ims-updates"},
        {"ims-deploy"},
        {"duplicity-restore", "postgres-restore"},
        {"ims-updates": ("ims-updates", "*-*-* 03:00:00")},
    ),
    "bastion": (
        {"nginx"},
        {"letsencrypt"},
        set(),
        set(),
        {"letsencrypt": ("letsencrypt", "Mon *-*-* 23:00:00")},
    ),
    "tracker": (
        {"mongodb", "tracker-webserver"},
        {"tracker", "mongodb-backups-s3"},
        set(),
        {"mongodb-restore"},
        {"tracker": ("tracker", "*-*-* 07,13:00:00"),
         "mongodb-backups": ("mongodb-backups-s3", "*-*-* 08:00:00")},
    ),
}


@pytest.mark.parametrize("vm", sorted(LEGACY))
def test_every_legacy_unit_is_declared_with_its_enablement(rendered, vm):
    services, timed, on_boot, manual, timers = LEGACY[vm]
    cfg = Config(rendered[vm][1])
    assert cfg.containers() == services | timed | on_boot | manual
    for name in services | on_boot:
        assert cfg.starts_at_boot(name), f"{name} should start at boot"
    for name in timed | manual:
        assert "[Install]" not in cfg.quadlet(name), f"{name} must not be enabled"
    for name in timed | on_boot | manual:
        assert "Type=oneshot" in cfg.quadlet(name)
    for name in services:
        assert "Restart=always" in cfg.quadlet(name)
    assert {n for n in cfg.units if n.endswith(".timer")} == {f"{t}.timer" for t in timers}
    for timer, (job, calendar) in timers.items():
        unit = cfg.units[f"{timer}.timer"]
        assert unit["enabled"] is True
        assert f"OnCalendar={calendar}\n" in unit["contents"]
        assert f"Unit={job}.service\n" in unit["contents"]
        assert "WantedBy=timers.target" in unit["contents"]


@pytest.mark.parametrize("vm", sorted(LEGACY))
def test_every_container_keeps_the_hardening(rendered, vm):
    cfg = Config(rendered[vm][1])
    for name in cfg.containers():
        q = cfg.quadlet(name)
        assert "DropCapability=all" in q, name
        assert f"ContainerName={name}\n" in q, name
        image = next(l for l in q.splitlines() if l.startswith("Image="))[len("Image="):]
        assert image.startswith("registry.ebisc.org/ebisc/"), image
        assert ":" in image.rsplit("/", 1)[1] or "@" in image


def test_read_only_containers_keep_their_tmpfs(rendered):
    ims = Config(rendered["ims"][1])
    nginx = ims.quadlet("ims-nginx")
    assert "ReadOnly=true" in nginx
    for path in ("/var/cache/nginx", "/run"):
        assert f"Tmpfs={path}\n" in nginx
    uwsgi = ims.quadlet("ims-uwsgi")
    assert "ReadOnly=true" in uwsgi and "Tmpfs=/tmp" in uwsgi and "PublishPort=9191:9191" in uwsgi
    assert "PublishPort=80:8080" in nginx
    assert "Requires=ims-uwsgi.service" in nginx and "BindsTo=ims-uwsgi.service" in nginx
    assert "Volume=/var/mnt/cinder1/media:/var/www/ims/media:z,ro" in nginx


@pytest.mark.parametrize("vm,name", [("bastion", "nginx"), ("ims", "ims-nginx"), ("ims-staging", "ims-nginx")])
def test_nginx_keeps_only_what_the_real_nginx_needs(rendered, vm, name):
    """The real nginx's root master chowns /var/cache/nginx/*_temp to its worker user and
    setuid/setgid's the workers to it: without these three it exits (boot test journal:
    `chown("/var/cache/nginx/client_temp", 101) failed (1: Operation not permitted)`)."""
    q = Config(rendered[vm][1]).quadlet(name)
    assert "DropCapability=all\n" in q
    caps = [line.split("=", 1)[1].split() for line in q.splitlines() if line.startswith("AddCapability=")]
    assert sorted(c for cs in caps for c in cs) == ["CHOWN", "SETGID", "SETUID"]
    # the image links /var/log/nginx/{access,error}.log to stdout/stderr: a tmpfs there
    # would hide them and keep the logs out of the journal
    assert "Tmpfs=/var/log/nginx" not in q


def test_every_vm_has_hostname_core_user_selinux_and_update_window(rendered):
    for vm, (_, config) in rendered.items():
        cfg = Config(config)
        assert cfg.text("/etc/hostname") == f"{vm}\n"
        core = next(u for u in config["passwd"]["users"] if u["name"] == "core")
        assert core["sshAuthorizedKeys"]
        assert "SELINUX=enforcing" in cfg.text("/etc/selinux/config")
        zincati = cfg.text("/etc/zincati/config.d/55-updates-strategy.toml")
        assert 'strategy = "periodic"' in zincati
        assert 'start_time = "00:00"' in zincati and "length_minutes = 60" in zincati
        assert config["ignition"]["version"] == "3.3.0"


def test_bastion_proxies_to_the_addresses_in_fleet_yaml(rendered, fleet):
    cfg = Config(rendered["bastion"][1])
    conf = "".join(cfg.text(p) for p in cfg.files if p.startswith("/etc/stoker/nginx/conf.d/"))
    for vm in ("ims", "ims-staging", "tracker"):
        assert f"proxy_pass http://{fleet.data['hosts'][vm]['address']}:80;" in conf
    assert "{{" not in conf
    assert "auth_basic_user_file" in conf
    nginx = cfg.quadlet("nginx")
    assert "PublishPort=80:8080" in nginx and "PublishPort=443:8443" in nginx
    assert "ExecStartPost=-/usr/bin/podman kill --signal HUP nginx" in cfg.quadlet("letsencrypt")
