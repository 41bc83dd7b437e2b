"""`stoker fleet-test --timeout S`: every VM gets S seconds from its QEMU start to SSH, and a VM checked
early waits for the others without a fixed limit of its own (it used to power off after a fixed
1800 s, whatever --timeout gave the others, and the site checks then found it gone)."""

from __future__ import annotations

import contextlib
import threading
import types
from pathlib import Path

from fakehost import REPO, fake_bin, fake_image


class _Guest:
    last_stderr = ""

    def sh(self, script, timeout=120, attempts=3):
        return 0, ""


def test_fleet_test_waits_follow_the_timeout_option(tmp_path, monkeypatch):
    from stoker.boot import cli as bcli, fleettest
    from stoker.boot.checks import Results
    from stoker.boot.expect import Expectations
    from stoker.boot.session import BootResult
    from stoker.cli import main

    holds: list[float | None] = []
    timeouts: dict[str, float] = {}

    class Event(threading.Event):
        def wait(self, timeout=None):
            if threading.current_thread() is not threading.main_thread():
                holds.append(timeout)
            return super().wait(timeout)

    def boot_test(name, cfg, image, opts, event, expectations, after_checks):
        timeouts[name] = opts.timeout
        after_checks(_Guest())  # checked: waits (still running) until the others are checked
        results = Results()
        results.add("boot", "guest reachable over SSH", True, "SSH answers", "yes")
        return BootResult(name, results, Expectations(), [])

    @contextlib.contextmanager
    def served(*args, **kwargs):
        yield "10.0.2.2:5000"

    class Switch:
        def __init__(self, sock):
            self.sock = Path(sock)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    bindir, _ = fake_bin(tmp_path)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(bcli, "_image", lambda args: fake_image(tmp_path))
    monkeypatch.setattr(fleettest, "boot_test", boot_test)
    monkeypatch.setattr(fleettest, "serve_images", served)
    monkeypatch.setattr(fleettest, "VdeSwitch", Switch)
    monkeypatch.setattr(fleettest, "threading", types.SimpleNamespace(Event=Event))
    main(["fleet-test", "bastion", "tracker", "--accel", "tcg", "--timeout", "2400"])
    assert timeouts == {"bastion": 2400.0, "tracker": 2400.0}
    assert len(holds) == 2 and all(h is None or h >= 2400 for h in holds), holds
