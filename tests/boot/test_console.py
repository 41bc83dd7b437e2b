import pytest

from stoker.boot.console import clean, scan


@pytest.mark.parametrize("line,what", [
    ("[  OK  ] Started foo.service", None),
    ("You are in emergency mode. After logging in, type \"journalctl -xb\"", "emergency shell"),
    ("[   12.0] ignition[551]: Ignition has failed. Please ensure your config is valid.", "Ignition failure"),
    ("systemd[1]: ignition-files.service: Failed with result 'exit-code'.", "Ignition failure"),
    ("systemd[1]: a.service: Found ordering cycle on b.service/start", "ordering cycle"),
    ("systemd[1]: Job a.service/start deleted to break ordering cycle starting with b.service/start",
     "ordering cycle"),
    ("(sd-exec-[474]: /usr/lib/systemd/system-generators/podman-system-generator failed with exit status 1.",
     "generator failure"),
    ("quadlet-generator[123]: converting \"web.container\": unsupported key 'Imagee' in group 'Container'",
     "generator failure"),
    ("[FAILED] Failed to start ignition-files.service - Ignition (files).", "Ignition failure"),
    ("[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs", "kernel panic"),
    ("[    1.2] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI", "kernel oops"),
    ("[   99.1] foo[812]: segfault at 0 ip 000055d0 sp 00007ffc error 4", "segfault"),
    ("[  120.5] podman invoked oom-killer: gfp_mask=0x140cca", "out-of-memory kill"),
    ("WARNING: CPU: 1 PID: 42 at mm/page_alloc.c:4100", "kernel warning"),
])
def test_patterns(line, what):
    found = scan(line)
    assert [f.what for f in found] == ([what] if what else [])


def test_ansi_colour_codes_are_removed():
    assert clean("\x1b[0;32m  OK  \x1b[0m] Reached target \x1b[0;1;39mbasic.target\x1b[0m\r") == \
        ["  OK  ] Reached target basic.target"]


def test_finding_has_line_number_and_context():
    text = "a\nb\nc\nKernel panic - not syncing: x\nd\ne\n"
    (f,) = scan(text, context=1)
    assert f.lineno == 4 and f.context == ("c", "Kernel panic - not syncing: x", "d")
    assert f.retryable


def test_config_failures_are_not_retryable():
    (f,) = scan("Found ordering cycle on x")
    assert not f.retryable
