"""The rollout's gates, run before any change to the cloud.

- validate: every changed VM's config passes `stoker validate` strictly
  (stoker.cloud.gate.check_config, as `stoker deploy` does).
- boot-test: `stoker boot-test VM` for every changed VM (QEMU; minutes each).
- fleet-test: `stoker fleet-test` when the bastion, an address or a site
  changes (the bastion's config carries every site and backend address, so a
  change of either changes the bastion; an address change also shows as
  placement drift).

A gate is passed, failed or skipped. A gate that could not run (no QEMU) is
"skipped", and a skipped gate stops the rollout like a failed one: a gate never counts as passed on what it did not
check. `--skip-boot-test` is the operator's explicit word that the boot and
fleet tests are not run; it is written into the rollout's record.

The commands run as subprocesses through `Runner` (a seam: tests pass a fake).
`run_gates` runs the gates of a rollout in their order, `GateRunner` each command.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..cloud.errors import CloudError
from ..errors import StokerError
from .record import Gate

# (argv, cwd) -> (exit status, output)
Runner = Callable[[list[str], Path], tuple[int, str]]

# `stoker boot-test` exit statuses (stoker.cli.main): 0 passed, 1 a check failed
# or an error, 2 a missing host program; the output says which. stoker.boot.tools.not_found
# says "qemu-system-x86_64 not found: install Debian package qemu-system-x86 (or `sudo make deps`)";
# a program outside its table is "`x` is not installed (needed for: …)".
_MISSING_TOOL_WORDS = ("not found: install debian package", "is not installed")


def run_subprocess(argv: list[str], cwd: Path) -> tuple[int, str]:
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return proc.returncode, proc.stdout or ""


def stoker_argv(*args: str) -> list[str]:
    """The stoker command this process is (the same interpreter and package)."""
    return [sys.executable, "-c", "import sys; from stoker.cli import main; sys.exit(main())", *args]


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class GateRunner:
    root: Path
    runner: Runner | None = None                      # default: run_subprocess

    def _run(self, argv: list[str]) -> tuple[int, str]:
        return (self.runner or run_subprocess)(argv, self.root)

    def boot_test(self, vm: str, junit_dir: Path) -> Gate:
        junit = junit_dir / f"boot-{vm}.xml"
        code, out = self._run(stoker_argv("boot-test", vm, "--junit", str(junit)))
        if code == 0:
            return Gate("boot-test", vm, "passed", f"stoker boot-test {vm} passed; JUnit {junit}")
        lowered = out.lower()
        if any(w in lowered for w in _MISSING_TOOL_WORDS):
            return Gate("boot-test", vm, "skipped", f"stoker boot-test {vm} could not run: {_tail(out, 3)}")
        return Gate("boot-test", vm, "failed", f"stoker boot-test {vm} exited {code}:\n{_tail(out)}")

    def fleet(self) -> Gate:
        code, out = self._run(stoker_argv("fleet-test"))
        if code == 0:
            return Gate("fleet-test", None, "passed", "stoker fleet-test passed")
        return Gate("fleet-test", None, "failed", f"stoker fleet-test exited {code}:\n{_tail(out)}")


def needs_fleet_test(changed: list[str], bastion: str | None, drift_items: dict[str, list[str]]) -> str | None:
    """Why the fleet test must run, or None: the bastion changes, or a
    server's address changes (placement drift `address`)."""
    if bastion and bastion in changed:
        return f"the bastion ({bastion}) changes"
    for vm, items in drift_items.items():
        if "address" in items:
            return f"the address of {vm} changes"
    return None


def run_gates(order: list[str], targets: dict, bastion: str | None, gates: GateRunner, *,
              validate: Callable[[str], None], record: Callable[[Gate], bool], say: Callable[[str, str], None],
              junit_dir: Path, dry_run: bool, skip_boot_test: bool) -> bool:
    """The gates of a rollout of `order` ({vm: Target} `targets`), before any
    change: validate each VM (`validate(vm)` raises StokerError), boot-test each,
    fleet-test when needs_fleet_test says so. `record(gate)` keeps a gate and
    says whether it passed. False at the first gate that did not pass. A dry
    run validates and says what it would run; --skip-boot-test records the
    boot and fleet tests as skipped by the operator. Boot tests leave their
    JUnit XML in `junit_dir`."""
    for vm in order:  # strict validation, as `stoker deploy` does
        try:
            validate(vm)
        except StokerError as exc:
            record(Gate("validate", vm, "failed", exc.detail if isinstance(exc, CloudError) else str(exc)))
            return False
        record(Gate("validate", vm, "passed", "stoker validate --strict: every check passed"))
    fleet_reason = needs_fleet_test(order, bastion, {vm: [d.item for d in targets[vm].plan.drift] for vm in order})
    if skip_boot_test:
        why = "--skip-boot-test; written into this rollout's record"
        for vm in order:
            record(Gate("boot-test", vm, "skipped by operator", why))
        if fleet_reason:
            record(Gate("fleet-test", None, "skipped by operator", why))
        return True
    if dry_run:
        for vm in order:
            say("gate", f"boot-test {vm}: would run `stoker boot-test {vm}` (not in a dry run)")
        if fleet_reason:
            say("gate", f"fleet-test: would run `stoker fleet-test` ({fleet_reason})")
        return True
    for vm in order:
        say("step", f"boot-testing {vm} (QEMU; minutes)")
        if not record(gates.boot_test(vm, junit_dir)):
            return False
    if fleet_reason:
        say("step", f"fleet test: {fleet_reason}")
        if not record(gates.fleet()):
            return False
    return True
