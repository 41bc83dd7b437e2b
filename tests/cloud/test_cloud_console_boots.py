"""Telling boots apart on a serial console, without a cloud: the boot markers,
the alignment of one read with the next, and the verdict of a boot."""

from __future__ import annotations

import random

from stoker.cloud.steps import BootWatch, _overlap, boot_starts

# Shaped like a Fedora CoreOS first boot on OpenStack's serial console: the
# kernel banner, then the command line (ignition.firstboot on a first boot), a
# systemd status line that another write cut in two, Ignition's stages.
BANNER = ("[    0.000000] Linux version 6.11.3-200.fc41.x86_64 (mockbuild@a1b2c3) (gcc (GCC) 14.2.1 20240912, "
          "GNU ld version 2.43.1-2.fc41) #1 SMP PREEMPT_DYNAMIC Thu Oct 10 22:31:19 UTC 2024\n")
CMDLINE = ("[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt3)/boot/ostree/fedora-coreos-4a1b/vmlinuz-6.11.3-200.fc41"
           ".x86_64 mitigations=auto,nosmt ignition.platform.id=openstack console=tty0 console=ttyS0,115200n8 "
           "ignition.firstboot ostree=/ostree/boot.1/fedora-coreos/4a1b/0\n")
KERNEL_CMDLINE = CMDLINE.replace("] Command line:", "] Kernel command line:")
FETCH = ("         Startin[    2.704774] systemd[1]: Starting ignition-fetch.service - Ignition (fetch)...\n"
         "g ignition-fetch.service - Ignition (fetch)...\n"
         "[    2.719775] ignition[520]: Ignition 2.20.0\n"
         "[    2.720134] ignition[520]: Stage: fetch\n"
         "[    3.101010] ignition[520]: fetch: fetch passed\n"
         "[    3.101234] ignition[520]: Ignition finished successfully\n")  # every stage ends with this line
DISKS_FAIL = ("[    3.900000] ignition[700]: disks: createFilesystems: op(1): [failed]   creating filesystem\n"
              "[FAILED] Failed to start ignition-disks.service - Ignition (disks).\n"
              "Ignition has failed. Please ensure your config is valid.\n")
COMPLETE = "[  OK  ] Reached target ignition-complete.target - Ignition Complete.\n"
LOGIN = "Fedora CoreOS 41.20241027.3.0\nKernel 6.11.3-200.fc41.x86_64 on an x86_64 (ttyS0)\n\ntracker login: "
SUCCESS_BOOT = BANNER + CMDLINE + KERNEL_CMDLINE + FETCH + COMPLETE + LOGIN
KARGS_REBOOT = ("[    3.300000] ignition[530]: kargs: op(1): [finished] updating kernel arguments\n"
                "[    3.400000] reboot: Restarting system\n")


def test_a_boot_starts_at_its_banner_and_its_command_lines_belong_to_it():
    text = SUCCESS_BOOT + "\r\n" + SUCCESS_BOOT
    banner = SUCCESS_BOOT.index("Linux version")
    assert boot_starts(text) == [banner, len(SUCCESS_BOOT) + 2 + banner]


def test_a_boot_whose_banner_was_cut_off_starts_at_its_command_line():
    cut = SUCCESS_BOOT[len(BANNER) + len(CMDLINE):] + SUCCESS_BOOT  # opens at the second command line
    assert boot_starts(cut) == [cut.index("Kernel command line:"), cut.index("Linux version")]


def test_a_banner_written_in_the_middle_of_a_line_still_starts_a_boot():
    text = "tracker login: " + BANNER
    assert boot_starts(text) == [len("tracker login: [    0.000000] ")]


def test_overlap_is_the_latest_place_where_the_earlier_read_can_end():
    assert _overlap("abc", "abcdef") == 3
    assert _overlap("xxabc", "bcdef") == 2        # head cut off
    assert _overlap("abc", "zzz") == 0            # all new (the log started afresh)
    assert _overlap("XX", "XXX") == 2             # repeated text: the latest end
    assert _overlap("", "abc") == 0 and _overlap("abc", "") == 0
    rng = random.Random(7)
    for _ in range(2000):
        before = "".join(rng.choice("ab\n") for _ in range(rng.randrange(0, 12)))
        after = "".join(rng.choice("ab\n") for _ in range(rng.randrange(0, 12)))
        naive = max(k for k in range(min(len(before), len(after)) + 1) if before.endswith(after[:k]))
        assert _overlap(before, after) == naive, (before, after)


def _watch(before: str | None, *reads: str) -> BootWatch:
    watch = BootWatch(before)
    for text in reads:
        watch.read(text)
    return watch


def test_a_passed_stage_is_not_the_verdict():
    new_boot = BANNER + CMDLINE + FETCH
    watch = _watch(SUCCESS_BOOT, SUCCESS_BOOT + new_boot)
    assert watch.verdict() is None and "a new boot has started" in watch.status()
    watch.read(SUCCESS_BOOT + new_boot + DISKS_FAIL)
    assert watch.verdict() == "failed"


def test_an_older_systemd_that_prints_only_the_description_counts():
    old_style = SUCCESS_BOOT.replace("ignition-complete.target - Ignition Complete.", "Ignition Complete.")
    assert _watch("", old_style).verdict() == "success"


def test_the_boot_after_a_kernel_arguments_reboot_gives_the_verdict():
    first = BANNER + CMDLINE + FETCH + KARGS_REBOOT
    watch = _watch(SUCCESS_BOOT, SUCCESS_BOOT + first)
    assert watch.verdict() is None
    watch.read(SUCCESS_BOOT + first + BANNER + CMDLINE + FETCH + DISKS_FAIL)
    assert watch.verdict() == "failed"


def test_an_identical_new_boot_is_found_by_position():
    watch = _watch(SUCCESS_BOOT, SUCCESS_BOOT + BANNER, SUCCESS_BOOT + SUCCESS_BOOT)
    assert watch.boots_before == 1 and watch.verdict() == "success"


def test_the_old_boot_alone_gives_no_verdict():
    watch = _watch(SUCCESS_BOOT, SUCCESS_BOOT, SUCCESS_BOOT + "[  120.1] reboot: Power down\n")
    assert watch.verdict() is None and "no new boot" in watch.status()


def test_a_read_cut_by_the_cloud_loses_the_count_but_not_the_new_boot():
    two_old = SUCCESS_BOOT + "\n" + SUCCESS_BOOT
    limit = len(SUCCESS_BOOT) // 2   # the cloud returns the last `limit` characters, like Nova's 100 KiB
    new = BANNER + CMDLINE
    watch = _watch(two_old[-limit:], (two_old + "\n" + new)[-limit:])
    assert watch.boots_before == 0 and watch.first_new is not None
    watch.read((two_old + "\n" + SUCCESS_BOOT)[-limit:])  # the new banner has scrolled out of view again
    assert watch.verdict() == "success"


def test_without_a_read_from_before_only_what_follows_the_first_read_counts():
    watch = _watch(None, SUCCESS_BOOT)  # the old boot, its success included, is all the first read shows
    assert watch.verdict() is None
    watch.read(SUCCESS_BOOT + BANNER + CMDLINE + FETCH)
    assert watch.verdict() is None
    watch.read(SUCCESS_BOOT + BANNER + CMDLINE + FETCH + COMPLETE)
    assert watch.verdict() == "success"


def test_a_console_without_boot_lines_is_judged_only_after_the_earlier_read():
    old = FETCH + COMPLETE + LOGIN
    watch = _watch(old, old)
    assert watch.unmarked and watch.verdict() is None
    watch.read(old + FETCH + DISKS_FAIL)
    assert watch.verdict() == "failed"
