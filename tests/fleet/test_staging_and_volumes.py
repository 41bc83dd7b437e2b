"""ims-staging is ims with its own volume, no backups; data volumes are never wiped."""

from __future__ import annotations

import pytest

from .conftest import Config


def test_staging_has_no_backups_and_its_own_volume(rendered):
    ims, staging = Config(rendered["ims"][1]), Config(rendered["ims-staging"][1])
    assert "Environment=ENABLE_BACKUPS=true" in ims.quadlet("ims-postgres")
    assert "Environment=ENABLE_BACKUPS=false" in staging.quadlet("ims-postgres")
    assert {"duplicity", "postgres-backups"} <= ims.containers()
    assert not {"duplicity", "postgres-backups"} & staging.containers()
    assert not any("backups" in name for name in staging.units)
    # Restore jobs stay, reading production's backups.
    assert "Environment=WALE_S3_PREFIX=s3://ebisc-backups/ims/postgres" in staging.quadlet("postgres-restore")
    # Its own WAL-E prefix, so staging can never write into production's backups.
    assert "ebisc-backups/ims-staging/postgres" in staging.quadlet("ims-postgres")
    ims_fs = rendered["ims"][1]["storage"]["filesystems"][0]
    staging_fs = rendered["ims-staging"][1]["storage"]["filesystems"][0]
    assert ims_fs["device"] != staging_fs["device"]
    assert staging.text("/etc/hostname") == "ims-staging\n"


@pytest.mark.parametrize("vm,uids", [
    ("ims", {"postgres_data": 26, "media": 1001, "static": 1001, "elasticsearch": 105}),
    ("ims-staging", {"postgres_data": 26, "media": 1001, "static": 1001, "elasticsearch": 105}),
    ("tracker", {"mongodb_data": 184}),
])
def test_data_volume_is_never_wiped_and_mounted_with_owned_directories(rendered, vm, uids):
    config = rendered[vm][1]
    (fs,) = config["storage"]["filesystems"]
    assert fs.get("wipeFilesystem") in (False, None)  # Ignition's default is false: never wipe
    assert fs["format"] == "ext4" and fs["path"] == "/var/mnt/cinder1"
    assert fs["device"].startswith("/dev/disk/by-id/")
    mount = Config(config).units["var-mnt-cinder1.mount"]
    assert mount["enabled"] is True
    assert f"What={fs['device']}" in mount["contents"]
    assert "Requires=systemd-fsck@" in mount["contents"]  # which waits for the device
    dirs = {d["path"]: d for d in config["storage"]["directories"]}
    for sub, uid in uids.items():
        d = dirs[f"/var/mnt/cinder1/{sub}"]
        assert d["user"]["id"] == uid and d["group"]["id"] == uid
    # Containers that bind from it wait for the mount.
    cfg = Config(config)
    for name in cfg.containers():
        if "/var/mnt/cinder1/" in cfg.quadlet(name):
            assert "RequiresMountsFor=/var/mnt/cinder1" in cfg.quadlet(name)


def test_bastion_keeps_its_certificates_on_a_data_volume_and_its_htpasswd_as_a_secret_file(rendered):
    config = rendered["bastion"][1]
    (fs,) = config["storage"]["filesystems"]
    assert fs["path"] == "/var/mnt/bastion-data" and fs["wipeFilesystem"] is False
    paths = {d["path"] for d in config["storage"]["directories"]}
    assert {"/var/mnt/bastion-data/letsencrypt", "/var/mnt/bastion-data/acme"} <= paths
    cfg = Config(config)
    nginx = cfg.quadlet("nginx")
    assert "Volume=/var/mnt/bastion-data/letsencrypt:/etc/letsencrypt:z,ro" in nginx
    assert "RequiresMountsFor=/var/mnt/bastion-data" in nginx
    htpasswd = cfg.files["/etc/stoker/files/htpasswd/cells-stage"]
    assert htpasswd["mode"] == 0o640 and htpasswd["group"]["id"] == 101
    assert cfg.text("/etc/stoker/secret-files") == "/etc/stoker/files/htpasswd/cells-stage\n"


def test_secrets_files_are_root_only(rendered):
    for vm, (r, config) in rendered.items():
        cfg = Config(config)
        env_files = [p for p in cfg.files if p.startswith("/etc/stoker/") and p.endswith(".env")]
        for path in env_files:
            assert cfg.files[path]["mode"] == 0o600, path
            assert cfg.files[path].get("user", {}).get("id", 0) == 0
        for name in cfg.containers():
            q = cfg.quadlet(name)
            if "EnvironmentFile=" in q:
                assert f"EnvironmentFile=/etc/stoker/{name}.env" in q
                assert f"/etc/stoker/{name}.env" in env_files


@pytest.mark.parametrize("vm,volume", [("ims", "ims-data"), ("ims-staging", "ims-staging-data"),
                                       ("tracker", "tracker-data"), ("bastion", "bastion-data")])
def test_every_data_disk_is_named_by_a_placeholder_that_deploy_binds_completely(rendered, vm, volume):
    from stoker.volumes import bind_serial, placeholder_serial, uses_placeholder

    r, doc = rendered[vm]
    placeholder = placeholder_serial(volume)
    assert doc["storage"]["filesystems"][0]["device"] == f"/dev/disk/by-id/virtio-{placeholder}"
    assert uses_placeholder(r.ignition, volume)
    bound = bind_serial(r.ignition, volume, "0123abcd-4567-89ef-0123-456789abcdef")
    assert not uses_placeholder(bound, volume), "no form of the placeholder is left (plain or systemd-escaped)"
    assert b"virtio-0123abcd-4567-89ef-0" in bound


def test_a_new_bastion_serves_at_once_with_self_signed_certificates_until_lets_encrypts(rendered, tmp_path):
    """nginx waits for tls-certs.service, which runs the rendered stoker-tls-certs:
    run here on the rendered nginx config, as the bastion would."""
    import shutil
    import subprocess

    if not shutil.which("openssl") or not shutil.which("bash"):
        pytest.skip("needs bash and openssl (Debian packages bash, openssl)")
    cfg = Config(rendered["bastion"][1])
    nginx = cfg.quadlet("nginx")
    assert "Requires=tls-certs.service" in nginx and "After=tls-certs.service" in nginx
    assert "ExecStartPost=/usr/local/sbin/stoker-tls-certs" in cfg.quadlet("letsencrypt")
    assert cfg.files["/usr/local/sbin/stoker-tls-certs"]["mode"] == 0o755
    conf = tmp_path / "conf.d"
    conf.mkdir()
    sites = set()
    for path in cfg.files:
        if path.startswith("/etc/stoker/nginx/conf.d/"):
            text = cfg.text(path)
            (conf / path.rsplit("/", 1)[1]).write_text(text)
            assert "/etc/letsencrypt/live/" not in text, "nginx reads current/, which the script keeps"
            sites |= {line.split("/")[4] for line in text.splitlines() if "ssl_certificate " in line}
    assert len(sites) >= 2
    script = tmp_path / "stoker-tls-certs"
    script.write_text(cfg.text("/usr/local/sbin/stoker-tls-certs"))
    le = tmp_path / "letsencrypt"

    def run():
        proc = subprocess.run(["bash", str(script), str(le), str(conf)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    out = run()
    for site in sites:
        assert f"{site}: nginx uses ../selfsigned/{site}" in out
        cert = le / "current" / site / "fullchain.pem"
        subject = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-subject", "-checkend", "86400"],
                                 capture_output=True, text=True)
        assert subject.returncode == 0 and site in subject.stdout
        assert (le / "current" / site / "privkey.pem").stat().st_mode & 0o077 == 0, "the key is root's alone"
    assert run() == "", "nothing to do on the next boot"
    # certbot got a real certificate for one site: the next run (after renewal) switches to it
    site = sorted(sites)[0]
    live = le / "live" / site
    live.mkdir(parents=True)
    for name in ("fullchain.pem", "privkey.pem"):
        (live / name).write_bytes((le / "selfsigned" / site / name).read_bytes())
    assert f"{site}: nginx uses ../live/{site}" in run()
    assert (le / "current" / site).readlink().as_posix() == f"../live/{site}"
