"""Test data for the cloud tests: the placement and an Ignition config for the
tracker VM whose data filesystem sits on the volume the local cloud starts with."""

from __future__ import annotations

import base64

# What every VM of the test placements shares (the local cloud's names).
PLACEMENT_DEFAULTS = """\
placement:
 defaults:
  cloud: fake
  image: fedora-coreos-stable
  network: fleet-private
  security_groups: [default]
 vms:
"""

# The fleet.yaml section the cloud commands read.
PLACEMENT = PLACEMENT_DEFAULTS + """\
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


def device(volume_id: str) -> str:
    """The path a volume shows up at in the guest (Nova's virtio serial: the id's first 20 characters)."""
    return f"/dev/disk/by-id/virtio-{volume_id[:20]}"


DEVICE = device(VOLUME_ID)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2Uta2V5LWZvci10ZXN0cy1vbmx5LW5vdC1yZWFs operator@example"


def data_url(text: str) -> str:
    return "data:;base64," + base64.b64encode(text.encode()).decode()


def tracker_config(image_tag: str = "6.0", password: str = "hunter2-first", extra_unit: str | None = None,
                   device: str = DEVICE, vm: str = "tracker") -> dict:
    """A config for `vm` (tracker by default) that passes `stoker validate --strict`."""
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
        "ignition": {"version": "3.3.0"},
        "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": [KEY]}]},
        "storage": {
            "filesystems": [{"device": device, "format": "xfs",
                             "path": "/var/mnt/data", "wipeFilesystem": False, "label": "data"}],
            "files": [
                {"path": "/etc/hostname", "mode": 0o644, "contents": {"source": data_url(f"{vm}\n")}},
                {"path": "/etc/stoker/vm", "mode": 0o644, "contents": {"source": data_url(f"{vm}\n")}},
                {"path": "/etc/stoker/mongodb.env", "mode": 0o600,
                 "contents": {"source": data_url(f"MONGO_PASSWORD={password}\n")}},
                {"path": "/etc/tracker/config.yaml", "mode": 0o644,
                 "contents": {"source": data_url(f"mongo: mongodb://tracker:{password}@10.0.0.13/tracker\nlog: info\n")}},
            ],
        },
        "systemd": {"units": units},
    }


def placement_with(**tracker) -> str:
    """PLACEMENT with the tracker VM's fields replaced (None removes one)."""
    import yaml

    doc = yaml.safe_load(PLACEMENT)
    fields = doc["placement"]["vms"]["tracker"]
    for key, value in tracker.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return yaml.safe_dump(doc, sort_keys=False)


# Secret values named and quoted the ways the name patterns miss: spaces, $ and
# a backslash, regex metacharacters, a value shorter than the masking minimum.
SECRETS = {"PASSPHRASE": "correct horse battery staple", "DB_PASS": "Zq9!pl#x(.*)",
           "DB_PASSWORD": "pa ss word", "WEIRD_VALUE": "do$llar\\back", "APP_PIN": "x7q"}


def secrets_config(secrets: dict[str, str] | None = None, **kw) -> dict:
    """tracker_config with an app whose secrets (SECRETS by default) sit in
    /etc/stoker/app.env and also show up, quoted, escaped and encoded, in a unit,
    a Quadlet file and a plain config file, where a diff would show them."""
    from urllib.parse import quote

    s = dict(SECRETS if secrets is None else secrets)
    doc = tracker_config(**kw)
    basic = base64.b64encode(f"app:{s['DB_PASS']}".encode()).decode()
    systemd_weird = s["WEIRD_VALUE"].replace("\\", "\\\\")
    doc["storage"]["files"] += [
        {"path": "/etc/stoker/app.env", "mode": 0o600,
         "contents": {"source": data_url("".join(f"{k}={v}\n" for k, v in s.items()))}},
        {"path": "/etc/app/config.yaml", "mode": 0o644, "contents": {"source": data_url(
            f"database: postgres://app:{quote(s['DB_PASS'], safe='')}@10.0.0.20/app\n"
            f"passphrase: \"{s['PASSPHRASE']}\"\n"
            f"authorization: Basic {basic}\n"
            f"weird: {s['WEIRD_VALUE']}\n"
            f"pin: {s['APP_PIN']}\n")}},
        {"path": "/etc/containers/systemd/app.container", "mode": 0o644, "contents": {"source": data_url(
            "[Container]\nImage=registry.example.org/fleet/app:1.0\nEnvironmentFile=/etc/stoker/app.env\n"
            f"Environment=\"DB_PASSWORD={s['DB_PASSWORD']}\"\n"
            f"Environment=PASSPHRASE='{s['PASSPHRASE']}'\n"
            "PublishPort=127.0.0.1:9000:9000\n\n[Install]\nWantedBy=multi-user.target\n")}},
    ]
    doc["systemd"]["units"].append({
        "name": "app-migrate.service", "enabled": False,
        "contents": "[Service]\nType=oneshot\n"
                    f"Environment=\"DB_PASSWORD={s['DB_PASSWORD']}\"\n"
                    f"Environment=\"WEIRD_VALUE={systemd_weird}\"\n"
                    f"Environment=APP_PIN={s['APP_PIN']}\n"
                    f"ExecStart=/usr/bin/podman run --rm -e DB_PASS='{s['DB_PASS']}' "
                    "registry.example.org/fleet/app:1.0 migrate\n"})
    return doc
