from boot_sample import sample_config
from stoker.boot.checks import (Results, check_console, check_mounts, check_ports, check_system_running,
                                check_units, parse_findmnt, parse_listening, parse_podman_ps, parse_show,
                                parse_stat)
from stoker.boot.expect import derive

SHOW = """\
Id=web.service
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=generated
Result=success
ExecMainStatus=0

Id=sample-init.service
LoadState=loaded
ActiveState=active
SubState=exited
UnitFileState=enabled
Result=success
ExecMainStatus=0
ExecMainExitTimestampMonotonic=41000000

Id=sample-restore.service
LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=static
Result=success
ExecMainStatus=0
ExecMainExitTimestampMonotonic=0

Id=backup.timer
LoadState=loaded
ActiveState=active
SubState=waiting
UnitFileState=enabled
NextElapseUSecRealtime=Thu 2026-11-26 03:00:00 UTC
NextElapseUSecMonotonic=infinity

Id=backup.service
LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=static
"""


class FakeGuest:
    """Answers scripts by the first matching prefix; records what was asked."""

    def __init__(self, answers):
        self.answers = answers
        self.asked = []

    def sh(self, script, timeout=120):
        self.asked.append(script)
        for key, answer in self.answers.items():
            if key in script:
                return answer
        return 0, ""


def test_parse_show_blocks():
    units = parse_show(SHOW)
    assert set(units) == {"web.service", "sample-init.service", "sample-restore.service", "backup.timer",
                          "backup.service"}
    assert units["backup.timer"]["NextElapseUSecRealtime"] == "Thu 2026-11-26 03:00:00 UTC"


def test_units_all_pass():
    results = Results()
    check_units(FakeGuest({"systemctl show": (0, SHOW)}), derive(sample_config()), results)
    assert [c.name for c in results.checks] == ["web.service", "sample-init.service", "sample-restore.service",
                                                "backup.timer"]
    assert results.ok, results.failed


def test_failed_service_names_expected_and_seen():
    show = SHOW.replace("ActiveState=active\nSubState=running", "ActiveState=failed\nSubState=failed", 1)
    results = Results()
    check_units(FakeGuest({"systemctl show": (0, show), "systemctl status": (0, "web.service: failed")}),
                derive(sample_config()), results)
    (bad,) = results.failed
    assert bad.name == "web.service" and bad.expected == "active (running)"
    assert bad.seen.startswith("failed (failed)") and "web.service: failed" in bad.details


def test_enabled_manual_job_fails():
    show = SHOW.replace("UnitFileState=static\nResult=success\nExecMainStatus=0\nExecMainExitTimestampMonotonic=0",
                        "UnitFileState=enabled\nResult=success\nExecMainStatus=0")
    results = Results()
    check_units(FakeGuest({"systemctl show": (0, show)}), derive(sample_config()), results)
    assert [c.name for c in results.failed] == ["sample-restore.service"]


def test_timer_with_bad_calendar_fails():
    show = SHOW.replace("Id=backup.timer\nLoadState=loaded", "Id=backup.timer\nLoadState=bad-setting") \
        .replace("NextElapseUSecRealtime=Thu 2026-11-26 03:00:00 UTC", "NextElapseUSecRealtime=")
    results = Results()
    check_units(FakeGuest({"systemctl show": (0, show)}), derive(sample_config()), results)
    (bad,) = results.failed
    assert bad.name == "backup.timer" and "bad-setting" in bad.seen


def test_boot_job_that_failed():
    show = SHOW.replace("SubState=exited\nUnitFileState=enabled\nResult=success\nExecMainStatus=0",
                        "SubState=failed\nUnitFileState=enabled\nResult=exit-code\nExecMainStatus=3")
    results = Results()
    check_units(FakeGuest({"systemctl show": (0, show)}), derive(sample_config()), results)
    (bad,) = results.failed
    assert "exit status 3" in bad.seen


def test_degraded_lists_failed_units():
    guest = FakeGuest({"is-system-running": (1, "degraded\n"),
                       "systemctl --failed": (0, "web.service loaded failed failed web\n"),
                       "systemctl status": (0, "details")})
    results = Results()
    check_system_running(guest, results)
    (c,) = results.checks
    assert not c.ok and c.seen == "degraded" and "failed units: web.service" in c.details


def test_findmnt_stat_podman_ss_parsers():
    fm = parse_findmnt('{"filesystems": [{"target": "/", "source": "/dev/vda", "fstype": "ext4", "options": "rw",'
                       ' "children": [{"target": "/var/lib/data", "source": "/dev/vdb", "fstype": "ext4",'
                       ' "options": "rw"}]}]}')
    assert fm["/var/lib/data"]["source"] == "/dev/vdb"
    assert parse_stat("/a|root|root|0|0|600\n") == {"/a": ("root", "root", "0", "0", "600")}
    assert parse_podman_ps('[{"Names": ["web"], "State": "running"}]')["web"]["State"] == "running"
    assert parse_listening("LISTEN 0 4096 0.0.0.0:22 0.0.0.0:*\nLISTEN 0 5 [::]:8080 [::]:*\n") == {22, 8080}


def test_mount_and_owner_checks():
    guest = FakeGuest({
        "findmnt": (0, '{"filesystems": [{"target": "/var/lib/data", "source": "/dev/vdb", "fstype": "ext4",'
                       ' "options": "rw"}]}'),
        "stat": (0, "/var/lib/data/web|root|root|0|0|755\n")})
    results = Results()
    check_mounts(guest, derive(sample_config()), results)
    assert [c.ok for c in results.checks] == [True, False]
    assert results.checks[1].seen == "root:root 0755" and "0750" in results.checks[1].expected


def test_port_not_listening_fails():
    guest = FakeGuest({"dev/tcp": (0, "8080 closed\n---\nLISTEN 0 4096 0.0.0.0:22 0.0.0.0:*\n")})
    results = Results()
    check_ports(guest, derive(sample_config()), results)
    (c,) = results.checks
    assert not c.ok and c.name == "tcp/8080" and c.seen == "refused, nothing listens"


def test_console_findings_become_failures():
    results = Results()
    check_console("ok\n", "systemd[1]: Found ordering cycle on a.service/start\n", results)
    (c,) = results.checks
    assert not c.ok and c.name == "ordering cycle"


CALENDAR = """\
@@ *-*-* 03:00:00
Normalized form: *-*-* 03:00:00
    Next elapse: Thu 2026-11-26 03:00:00 UTC
       From now: 12h left
"""


def test_parse_calendar():
    from stoker.boot.checks import parse_calendar
    assert parse_calendar(CALENDAR) == {"*-*-* 03:00:00": "Thu 2026-11-26 03:00:00 UTC"}


def test_timer_next_elapse_matches_its_schedule():
    results = Results()
    check_units(FakeGuest({"systemctl show": (0, SHOW), "systemd-analyze calendar": (0, CALENDAR)}),
                derive(sample_config()), results)
    (timer,) = [c for c in results.checks if c.group == "timer"]
    assert timer.ok and "Thu 2026-11-26 03:00:00 UTC" in timer.expected


def test_timer_next_elapse_off_schedule_fails():
    results = Results()
    other = CALENDAR.replace("Thu 2026-11-26 03:00:00", "Fri 2026-11-27 03:00:00")
    check_units(FakeGuest({"systemctl show": (0, SHOW), "systemd-analyze calendar": (0, other)}),
                derive(sample_config()), results)
    (timer,) = [c for c in results.checks if c.group == "timer"]
    assert not timer.ok and "Thu 2026-11-26" in timer.seen and "Fri 2026-11-27" in timer.expected


def test_ignition_result_file():
    from stoker.boot.checks import check_ignition
    ok, missing = Results(), Results()
    check_ignition(FakeGuest({".ignition-result.json": (0, '{"userConfigProvided": true}')}), ok)
    check_ignition(FakeGuest({".ignition-result.json": (0, "MISSING\n"),
                              "journalctl": (0, "files: op(1): failed")}), missing)
    assert ok.ok and not missing.ok
    assert missing.checks[0].seen == "no result file" and "op(1)" in missing.checks[0].details


def test_console_and_journal_lines_of_one_kind_are_shown_once_each():
    results = Results()
    console = "[   23.1] (sd-exec-[476]: /usr/lib/systemd/system-generators/podman-system-generator failed " \
              "with exit status 1.\n"
    journal = "Nov 25 15:18:01 sample quadlet-generator[477]: converting \"bad.container\": unsupported key " \
              "'Imagee' in group 'Container'\nNov 25 15:18:01 sample (sd-exec-[476]: /usr/lib/systemd/" \
              "system-generators/podman-system-generator failed with exit status 1.\n"
    check_console(console, journal, results)
    (c,) = results.checks
    assert c.name == "generator failure" and "Imagee" in c.seen
    assert c.seen.count("podman-system-generator failed") == 1
