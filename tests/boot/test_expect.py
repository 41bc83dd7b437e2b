from boot_sample import sample_config
from stoker.boot.expect import Mount, PathMode, Port, Service, Timer, derive


def test_sample_config_expectations():
    exp = derive(sample_config())
    assert exp.services == [Service("web.service", "web", "quay.io/example/web:1.0")]
    assert exp.timers == [Timer("backup.timer", "backup.service", ("OnCalendar=*-*-* 03:00:00",))]
    assert exp.boot_jobs == ["sample-init.service"]
    assert exp.manual_jobs == ["sample-restore.service"]
    assert exp.mounts == [Mount("/var/lib/data", "/dev/disk/by-id/virtio-data0", "ext4")]
    assert exp.paths == [PathMode("/var/lib/data/web", "directory", "0", "0", 0o750)]
    assert exp.secrets == ["/etc/stoker-sample/web.env"]
    assert exp.ports == [Port(8080, "web.service")]


def test_timer_target_is_not_a_job():
    exp = derive(sample_config())
    assert "backup.service" not in exp.manual_jobs + exp.boot_jobs


def test_quadlet_without_install_is_a_manual_job_and_default_container_name():
    cfg = sample_config()
    cfg["storage"]["files"].append({"path": "/etc/containers/systemd/tool.container",
                                    "contents": {"source": "data:,%5BContainer%5D%0AImage%3Dx%0A"}})
    exp = derive(cfg)
    assert "tool.service" in exp.manual_jobs


def test_masked_and_stock_units_are_ignored():
    cfg = sample_config()
    cfg["systemd"]["units"] += [{"name": "zincati.service", "mask": True},
                                {"name": "podman-auto-update.timer", "enabled": True}]
    names = derive(cfg).unit_names()
    assert "zincati.service" not in names and "podman-auto-update.timer" not in names
