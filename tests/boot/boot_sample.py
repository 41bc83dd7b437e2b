"""A small Ignition 3.3.0 config exercising what the boot test checks: a Quadlet container with a
published port and the data volume, a timer, an on-boot job, a manual job, a secret env file."""

from __future__ import annotations

import urllib.parse

QUADLET = """\
[Unit]
Description=web (sample)

[Container]
Image=quay.io/example/web:1.0
ContainerName=web
PublishPort=8080:80
Volume=/var/lib/data/web:/data:Z
EnvironmentFile=/etc/stoker-sample/web.env
HealthCmd=curl -f http://localhost/

[Service]
Restart=always
# as every fleet container: the pull and start under TCG on a loaded machine can pass systemd's
# default 90 s (seen in CI: "web.service: start operation timed out", then a restart)
TimeoutStartSec=900

[Install]
WantedBy=multi-user.target
"""

BACKUP_SERVICE = """\
[Unit]
Description=backup (sample, started by its timer)

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'date > /var/lib/data/last-backup'
"""

BACKUP_TIMER = """\
[Unit]
Description=nightly backup (sample)

[Timer]
OnCalendar=*-*-* 03:00:00
Persistent=true

[Install]
WantedBy=timers.target
"""

INIT_JOB = """\
[Unit]
Description=on-boot job (sample)
RequiresMountsFor=/var/lib/data

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo booted > /var/lib/data/booted'

[Install]
WantedBy=multi-user.target
"""

RESTORE_JOB = """\
[Unit]
Description=manual restore (sample)

[Service]
Type=oneshot
ExecStart=/bin/true
"""


def data_url(text: str) -> str:
    return "data:," + urllib.parse.quote(text)


def sample_config(extra_units: list[dict] | None = None) -> dict:
    return {
        "ignition": {"version": "3.3.0"},
        "storage": {
            "filesystems": [{"device": "/dev/disk/by-id/virtio-data0", "format": "ext4", "path": "/var/lib/data",
                             "label": "data", "wipeFilesystem": False}],
            "directories": [{"path": "/var/lib/data/web", "mode": 0o750, "user": {"id": 0}, "group": {"id": 0}}],
            "files": [
                {"path": "/etc/containers/systemd/web.container", "mode": 0o644,
                 "contents": {"source": data_url(QUADLET)}},
                {"path": "/etc/stoker-sample/web.env", "mode": 0o600,
                 "contents": {"source": data_url("TOKEN=not-a-real-secret\n")}},
            ],
        },
        "systemd": {"units": [
            {"name": "var-lib-data.mount", "enabled": True, "contents":
             "[Unit]\nBefore=local-fs.target\n[Mount]\nWhat=/dev/disk/by-label/data\nWhere=/var/lib/data\n"
             "Type=ext4\n[Install]\nRequiredBy=local-fs.target\n"},
            {"name": "backup.service", "contents": BACKUP_SERVICE},
            {"name": "backup.timer", "enabled": True, "contents": BACKUP_TIMER},
            {"name": "sample-init.service", "enabled": True, "contents": INIT_JOB},
            {"name": "sample-restore.service", "contents": RESTORE_JOB},
            *(extra_units or []),
        ]},
    }
