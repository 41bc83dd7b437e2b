"""Ignition's verdict after a rebuild comes from a boot that started after the
rebuild, never from the boot before it, however alike the two look on the
console and however much of the console the cloud returns."""

from __future__ import annotations

import pytest
from cloud_testdata import tracker_config


def _deploy_then_change(fake, repo, stoker, **knobs):
    """First deploy (a successful boot on the console), then set the knobs and
    write a changed config, so the next deploy rebuilds."""
    for name, value in knobs.items():
        setattr(fake, name, value)
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    repo.write_build(tracker_config(image_tag="7.0"))
    return fake.server_by_name("tracker")


def _recorded(fake) -> str:
    return fake.server_by_name("tracker")["metadata"]["stoker_ignition"]


def _old_boot_succeeded(fake) -> bool:
    """The console kept the boot from before the rebuild, with its success."""
    kept = fake.server_by_name("tracker").get("console_history", [])
    return any("Reached target ignition-complete.target" in line for line in kept)


def test_a_new_boot_identical_to_the_old_one_is_judged(fake, repo, stoker):
    server = _deploy_then_change(fake, repo, stoker, identical_boots=True)
    boots = server["boots"]
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "Ignition: success" in out
    assert server["boots"] == boots + 1 and _recorded(fake) == "success"
    # the console really held two copies of the same boot, login prompt included
    text = fake.servers[server["id"]]["console_history"]
    assert text[-1] == "tracker login: " and text.count("tracker login: ") == 1


@pytest.mark.parametrize("console_polls", [1, 4])
def test_a_failing_new_boot_after_a_successful_one_is_reported_failed(fake, repo, stoker, console_polls):
    _deploy_then_change(fake, repo, stoker, identical_boots=True)
    fake.ignition_outcome, fake.console_polls = "failure", console_polls
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1
    assert "Ignition reported failure" in err and "step watch ignition" in err
    assert _recorded(fake) == "failed" and _old_boot_succeeded(fake)


def test_a_slow_new_boot_is_waited_for(fake, repo, stoker):
    _deploy_then_change(fake, repo, stoker, identical_boots=True)
    fake.console_polls = 4  # the new boot shows its first lines only, four reads long
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "Ignition: success" in out
    rebuild_at = max(i for i, r in enumerate(fake.requests) if "rebuild" in (r.body or {}))
    reads = [r for r in fake.requests[rebuild_at:] if "os-getConsoleOutput" in (r.body or {})]
    assert len(reads) == 5, "the verdict came with the new boot's fifth read, not from the old boot"
    assert _old_boot_succeeded(fake)


def test_a_new_boot_that_never_reports_is_unknown_not_the_old_success(fake, repo, stoker, monkeypatch):
    _deploy_then_change(fake, repo, stoker, identical_boots=True)
    fake.ignition_outcome = "silent"
    monkeypatch.setenv("STOKER_IGNITION_TIMEOUT", "0.3")
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "step watch ignition" in err and "waiting for Ignition" in err
    assert "--force" in err and "console log show" in err
    assert _recorded(fake) == "unknown" and _old_boot_succeeded(fake)


def test_a_console_cut_to_its_last_lines_is_followed_across_reads(fake, repo, stoker):
    # Every read shows 4 lines, half a boot: the count of boots in view drops
    # from one before the rebuild to none, and the old boot's last 4 lines are
    # the new boot's last 4 lines.
    _deploy_then_change(fake, repo, stoker, identical_boots=True, console_max_lines=4)
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "Ignition: success" in out


def test_a_cut_console_with_a_failing_new_boot_is_reported_failed(fake, repo, stoker):
    _deploy_then_change(fake, repo, stoker, identical_boots=True, console_max_lines=4)
    fake.ignition_outcome, fake.console_polls = "failure", 3
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "Ignition reported failure" in err
    assert _recorded(fake) == "failed" and _old_boot_succeeded(fake)


def test_a_cut_console_that_cannot_tell_the_boots_apart_gives_unknown(fake, repo, stoker, monkeypatch):
    # The new boot prints everything before the first read, and every read is
    # the same 4 lines as before the rebuild: nothing shows which boot they
    # belong to, so the old boot's success must not be taken.
    _deploy_then_change(fake, repo, stoker, identical_boots=True, console_max_lines=4)
    fake.console_polls = 0
    monkeypatch.setenv("STOKER_IGNITION_TIMEOUT", "0.3")
    code, _, err = stoker("deploy", "tracker", "--yes")
    assert code == 1 and "step watch ignition" in err and "waiting for Ignition" in err
    assert _recorded(fake) == "unknown" and _old_boot_succeeded(fake)


def test_a_console_that_starts_afresh_on_rebuild_is_judged(fake, repo, stoker):
    # Nova's libvirt driver deletes console.log with the old guest
    _deploy_then_change(fake, repo, stoker, identical_boots=True, fresh_console_on_rebuild=True)
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "Ignition: success" in out


@pytest.mark.parametrize("outcome, code, recorded", [("success", 0, "success"), ("failure", 1, "failed")])
def test_a_console_without_kernel_lines_is_judged_after_the_rebuild_and_says_so(fake, repo, stoker, outcome, code,
                                                                                  recorded):
    _deploy_then_change(fake, repo, stoker, kernel_lines=False, identical_boots=True)
    fake.ignition_outcome, fake.console_polls = outcome, 2
    got, out, err = stoker("deploy", "tracker", "--yes")
    assert got == code, err
    assert "no kernel boot line" in out
    assert _recorded(fake) == recorded


def test_a_console_not_ready_after_the_rebuild_is_polled_again(fake, repo, stoker):
    _deploy_then_change(fake, repo, stoker, identical_boots=True)
    fake.fail_next("POST", r"/action$", 409, count=2, body_key="os-getConsoleOutput")
    fake.fail_next("POST", r"/action$", 404, count=1, body_key="os-getConsoleOutput")
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "Ignition: success" in out


def test_a_console_unreadable_before_the_rebuild_still_gives_the_new_verdict(fake, repo, stoker):
    _deploy_then_change(fake, repo, stoker, identical_boots=True)
    fake.console_polls = 2
    fake.fail_next("POST", r"/action$", 404, count=1, body_key="os-getConsoleOutput")  # the read before the rebuild
    code, out, err = stoker("deploy", "tracker", "--yes")
    assert code == 0, err
    assert "console not readable before the rebuild" in out
    assert "Ignition: success" in out
