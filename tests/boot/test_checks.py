import pytest

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
    assert bad.name == "web.service" and bad.expected == "active (running), never restarted"
    assert bad.seen.startswith("failed (failed)") and "web.service: failed" in bad.details


def test_a_crash_looping_service_fails_though_it_is_running_between_restarts():
    show = SHOW.replace("SubState=running\n", "SubState=running\nNRestarts=7\n", 1)
    emerg = "nginx[1063]: [emerg] 1#1: setuid(101) failed (1: Operation not permitted)"
    results = Results()
    check_units(FakeGuest({"systemctl show": (0, show), "systemctl status": (0, emerg)}),
                derive(sample_config()), results)
    (bad,) = results.failed
    assert bad.name == "web.service"
    assert bad.seen == "active (running), generated, restarted 7 times by systemd"
    assert emerg in bad.details


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


class Clock:
    """A fake monotonic clock that `sleep` advances; each guest call costs `cost` seconds."""

    def __init__(self, cost=1.0):
        self.now, self.cost, self.slept = 100.0, cost, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class SlowPorts:
    """A guest whose ports open `opens[port]` seconds (fake clock) after the first probe."""

    def __init__(self, clock, opens, listens=()):
        self.clock, self.opens, self.listens, self.rounds, self.t0 = clock, opens, listens, [], None

    def sh(self, script, timeout=120):
        assert "dev/tcp" in script
        self.t0 = self.clock() if self.t0 is None else self.t0
        ports = [int(p) for p in script.split("for p in ", 1)[1].split("; do", 1)[0].split()]
        self.rounds.append(ports)
        elapsed = self.clock() - self.t0
        self.clock.now += self.clock.cost
        lines = [f"{p} {'open' if self.opens.get(p, 1e9) <= elapsed else 'closed'}" for p in ports]
        ss = "".join(f"LISTEN 0 4096 0.0.0.0:{p} 0.0.0.0:*\n" for p in self.listens)
        return 0, "\n".join(lines) + "\n---\n" + ss


def _two_ports():
    from stoker.boot.expect import Expectations, Port
    return Expectations(ports=[Port(5432, "db.service"), Port(8080, "web.service")])


def test_port_not_listening_fails_after_the_wait_and_says_how_long():
    clock = Clock()
    guest = SlowPorts(clock, {})
    results = Results()
    check_ports(guest, derive(sample_config()), results, wait=30, interval=5, clock=clock, sleep=clock.sleep)
    (c,) = results.checks
    assert not c.ok and c.name == "tcp/8080"
    assert c.seen == "refused for 31 s, nothing listens"  # the last round began at 30 s
    assert c.expected == "accepts connections within 30 s (published by web.service)"
    assert len(guest.rounds) == 6 and clock.now - 100 <= 31, "bounded: probes stop once the wait is over"


def test_a_slow_port_passes_once_it_opens_and_the_wait_is_reported():
    clock = Clock()
    guest = SlowPorts(clock, {8080: 0, 5432: 40})  # PostgreSQL's first initdb: 40 s
    results = Results()
    check_ports(guest, _two_ports(), results, wait=180, interval=5, clock=clock, sleep=clock.sleep)
    assert results.ok, results.failed
    seen = {c.name: c.seen for c in results.checks}
    assert seen["tcp/8080"] == "accepts connections"
    assert seen["tcp/5432"] == "accepts connections after 42 s"
    assert guest.rounds[0] == [5432, 8080] and all(r == [5432] for r in guest.rounds[1:]), \
        "an open port is not probed again"
    assert clock.now - 100 < 60, "stops waiting as soon as every port is open"


def test_no_wait_when_every_port_is_open_at_once():
    clock = Clock()
    guest = SlowPorts(clock, {8080: 0, 5432: 0})
    results = Results()
    check_ports(guest, _two_ports(), results, wait=180, clock=clock, sleep=clock.sleep)
    assert results.ok and len(guest.rounds) == 1 and clock.slept == []


def test_a_port_with_a_socket_that_refuses_says_so():
    clock = Clock()
    guest = SlowPorts(clock, {8080: 0}, listens=(5432,))
    results = Results()
    check_ports(guest, _two_ports(), results, wait=10, interval=5, clock=clock, sleep=clock.sleep)
    bad = {c.name: c.seen for c in results.failed}
    assert bad == {"tcp/5432": "refused for 11 s, but a socket listens"}


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


def test_a_container_that_is_not_running_shows_its_units_journal_without_podman_events():
    from stoker.boot.checks import check_containers
    emerg = 'nginx[1063]: [emerg] 1#1: chown("/var/cache/nginx/client_temp", 101) failed (1: Operation not permitted)'
    guest = FakeGuest({"podman ps": (0, "[]"), "journalctl -b -u web.service": (0, "state\n" + emerg + "\n")})
    results = Results()
    check_containers(guest, derive(sample_config()), results)
    (c,) = results.checks
    assert not c.ok and c.name == "web" and c.seen == "not found"
    assert emerg in c.details
    script = guest.asked[-1]
    assert "grep -Ev ' m=[+][0-9.]+ (container|image|pod|volume|network|system) '" in script


def test_additions_and_not_run_rows_alone_are_no_pass():
    """Found in review: a report of only ADDED and NOT RUN rows counted as passed."""
    from stoker.boot.checks import ADDED, NOT_EXERCISED
    results = Results()
    results.add(ADDED, "SSH key", True, "authorized_keys.d/ignition", "a throwaway key")
    results.add(NOT_EXERCISED, "container probes", True, "probes", "NOT RUN: no containers")
    assert not results.ok and results.tally() == (0, 0, 1)
    results.add("system", "system running", True, "running", "running")
    assert results.ok and results.tally() == (1, 0, 1)


def test_the_fleet_summary_counts_checks_not_additions(capsys):
    from stoker.boot.checks import ADDED, NOT_EXERCISED
    from stoker.boot.cli import _passed_of
    results = Results()
    results.add(ADDED, "SSH key", True, "authorized_keys.d/ignition", "a throwaway key")
    results.add(NOT_EXERCISED, "container probes", True, "probes", "NOT RUN: no containers")
    results.add("system", "system running", True, "running", "running")
    results.add("port", "tcp/80", False, "accepts connections", "refused")
    assert _passed_of(results) == "1/3, 1 not run"


def test_an_empty_console_is_a_failure_not_a_clean_console():
    """Found in review: with QEMU never run (empty console) "console and journal clean" said ok."""
    results = Results()
    check_console("", None, results)
    assert not results.ok
    assert [(c.name, c.ok) for c in results.checks] == [("serial console", False)]
    assert "empty" in results.checks[0].seen


def test_a_journal_not_read_is_never_called_clean():
    results = Results()
    check_console("[    0.0] Linux version 6.12\nReached target multi-user.target\n", None, results)
    assert [(c.name, c.ok) for c in results.checks] == [("console clean", True)]
    both = Results()
    check_console("Reached target multi-user.target\n", "Nov 25 sample systemd[1]: Startup finished\n", both)
    assert [(c.name, c.ok) for c in both.checks] == [("console and journal clean", True)]


@pytest.mark.parametrize("answer,seen", [
    ((1, ""), "journalctl exited with status 1"),
    ((255, ""), "journalctl exited with status 255"),
    ((0, "-- No entries --\n"), "journalctl printed no entries"),
])
def test_a_journal_journalctl_could_not_read_is_a_failure(answer, seen):
    from stoker.boot.checks import run_all
    guest = FakeGuest({".ignition-result.json": (0, '{"userConfigProvided": true}'),
                       "is-system-running": (0, "running\n"), "journalctl -b -o short": answer})
    results = run_all(guest, derive({"ignition": {"version": "3.3.0"}}), lambda: "Reached target multi-user\n", [])
    console = {c.name: c for c in results.checks if c.group == "console"}
    assert set(console) == {"journal read", "console clean"}, console
    assert not console["journal read"].ok and console["journal read"].seen.startswith(seen)
    assert not results.ok
