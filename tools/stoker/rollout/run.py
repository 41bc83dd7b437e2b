"""`stoker rollout`: take a change through the fleet, one server at a time.

    plan every VM → changed ones, in order (stoker.rollout.order)
    → gates: validate strictly, boot-test each changed VM, fleet-test when the
      bastion or an address changes (stoker.rollout.gates); a failed or skipped
      gate stops here, before any change to the cloud
    → lock the servers (stoker.rollout.lock)
    → for each VM in order (stoker.rollout.step): plan afresh, deploy
      (stoker.cloud.deploy.execute: rebuild or create, Ignition's verdict),
      post-deploy checks on the live server (a seam; stoker.rollout.live by
      default)
      → on the first failure: halt, the rest untouched; with auto_rollback,
        redeploy that server's previous config and check it the same way
    → release the lock; the record (stoker.rollout.record) says all of it.

This module is the sequence; the VMs and their plans are in
stoker.rollout.targets, one server's turn in stoker.rollout.step.

Nothing here prints: progress goes out through `say(kind, text)`, plans
through `show(plan)`, and the caller (stoker.rollout.cli) decides how they look.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

from ..cloud.connection import Cloud
from ..cloud.plan import DeployPlan
from ..boot.junit import JunitRun
from ..errors import Interrupted, StokerError
from . import lock as locks
from .gates import GateRunner, run_gates
from .order import load_facts, rollout_order
from .record import Gate, Record, new_id, save
from .step import ServerStep, describe
from .targets import Checker, Options, Planner, Target, cloud_name

__all__ = ["Checker", "Halt", "Options", "Rollout", "Target", "cloud_name"]


class Halt(StokerError):
    """The rollout stopped (a gate, a refusal, a failed server); the record says why."""


class Rollout:
    def __init__(self, root: Path, options: Options, checker: Checker, gates: GateRunner | None = None,
                 say: Callable[[str, str], None] = lambda kind, text: None,
                 show: Callable[[DeployPlan], None] = lambda plan: None,
                 confirm: Callable[[list[str]], bool] = lambda order: True,
                 offer_rollback: Callable[[str, str], bool] = lambda vm, sha: False,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                 emit=lambda event: None):
        self.root, self.options, self.checker = Path(root), options, checker
        self.gates = gates or GateRunner(self.root)
        self.say, self.show, self.confirm, self.now, self.emit = say, show, confirm, now, emit
        self.offer_rollback = offer_rollback  # (vm, previous sha256) -> roll back now? (asked without --auto-rollback)
        self.state_dir = self.root / "state"
        self.planner = Planner(self.root, options)
        started = now()
        self.record = Record(new_id(started), locks.operator(), started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             dry_run=options.dry_run, skip_boot_test=options.skip_boot_test,
                             auto_rollback=options.auto_rollback)
        self.lock = locks.new_lock(self.record.id, 1, started)  # replaced once the settings are read
        self.locked: dict[str, tuple[Cloud, str]] = {}   # vm -> (its cloud, server id) carrying the lock
        self.junit: dict[str, JunitRun] = {}              # vm -> build/junit/rollout-<vm>.xml, from the start
        self.step = ServerStep(self.root, options, checker, self.record, self.planner.plan, self._save, say,
                               offer_rollback, emit)

    @property
    def clouds(self) -> dict[str | None, Cloud]:
        return self.planner.clouds

    def _save(self) -> None:
        if not self.options.dry_run:
            save(self.state_dir, self.record)

    def _stop(self, outcome: str, detail: str) -> Record:
        self.record.finish(outcome, detail)
        self._save()
        self._junit_untouched(f"no post-deploy checks: the rollout ended {outcome}: {detail}")
        self.say("error" if outcome not in ("nothing to do", "planned", "done") else "note", detail)
        return self.record

    def run(self) -> Record:
        try:
            return self._run()
        except KeyboardInterrupt as exc:
            how = f"stopped by {exc.signame}" if isinstance(exc, Interrupted) else "stopped by the operator (Ctrl-C)"
            where = self.step.current
            self.record.finish("interrupted", how + (f" at {where[0]}, step {where[1]}" if where else ""))
            self._save()
            self._junit_untouched(f"the rollout was interrupted: {self.record.detail}")
            raise
        except StokerError as exc:  # a refusal (the lock, a plan, the fleet's files): kept in the record too
            if self.record.order:
                self.record.finish("refused", str(exc).splitlines()[0])
                self._save()
                self._junit_untouched(f"no post-deploy checks: the rollout was refused: {self.record.detail}")
            raise
        finally:
            for vm, (cloud, server_id) in self.locked.items():
                for left in locks.release(cloud, {vm: server_id}, self.lock):
                    self.say("warn", f"{left}: the lock could not be removed; it expires {self.lock.expires}")
            self.locked = {}

    def _run(self) -> Record:
        from ..cloud.placement import known_vms

        facts = load_facts(self.root)
        self.lock = locks.new_lock(self.record.id, facts.settings.lock_minutes, self.now(), self.record.operator)
        names = self.options.vms or known_vms(self.root)
        self.say("step", f"planning {len(names)} VM(s): {', '.join(names)}")
        targets: dict[str, Target] = {}
        for vm in names:
            targets[vm] = t = self.planner.plan(vm)
            self.show(t.plan)
        refused = [t for t in targets.values() if t.plan.action == "refused" or t.plan.blocked_by_loss]
        changed = [vm for vm, t in targets.items() if t.plan.changes]
        order = rollout_order(changed, facts.extends, facts.settings)
        self.record.order = order
        for vm in order:
            p = targets[vm].plan
            self.record.configs[vm] = {"sha256": p.config.sha256, "previous": p.previous_sha, "action": p.action}
        if refused:
            vm = refused[0].vm
            return self._stop("refused", f"the plan of {vm} is refused ({refused[0].plan.reason}); "
                                         f"`stoker plan {vm}` says why; nothing was changed")
        if not order:
            return self._stop("nothing to do", "every server already runs its config; nothing to do")
        if not self.options.break_lock:  # held already: say so now, not after minutes of boot tests
            for vm in order:
                held = locks.held_by_other(targets[vm].plan.state.metadata, self.lock, self.now())
                if held is not None and self.options.dry_run:
                    self.say("warn", f"{vm}: {locks.refusal(vm, None, held, 'stoker rollout').detail}; "
                                     "the rollout would be refused")
                elif held is not None:
                    raise locks.refusal(vm, targets[vm].plan.state.server.id, held, "stoker rollout")
        self.say("order", " → ".join(order))
        self._save()
        if not self.options.dry_run:
            self._junit_start(order)
        slow = facts.settings.check_timeout * len(order)
        if facts.settings.lock_minutes * 60 < slow:
            self.say("warn", f"the lock expires after {facts.settings.lock_minutes} minutes, but the checks of "
                             f"{len(order)} server(s) may take up to {slow // 60} minutes (check_timeout "
                             f"{facts.settings.check_timeout}s each), not counting the deploys: raise fleet.yaml "
                             "rollout.lock_minutes")
        if not run_gates(order, targets, facts.settings.bastion, self.gates, validate=self.planner.validate,
                         record=self._gate, say=self.say, junit_dir=self.root / "build" / "junit",
                         dry_run=self.options.dry_run, skip_boot_test=self.options.skip_boot_test):
            failed = [g for g in self.record.gates if g.status in ("failed", "skipped")]
            g = failed[0]
            return self._stop("gate failed", f"gate {g.name}{' ' + g.vm if g.vm else ''} {g.status}: "
                                             f"{g.detail.splitlines()[0] if g.detail else ''}; nothing was changed")
        if self.options.dry_run:
            existing = [vm for vm in order if targets[vm].plan.state.server is not None]
            self.say("lock", f"would lock {', '.join(existing) or 'no existing server'} "
                             f"(metadata {locks.META_LOCK}, {facts.settings.lock_minutes} minutes)")
            for i, vm in enumerate(order, 1):
                self.say("sequence", f"{i}. {describe(vm, targets[vm], facts, self.options.auto_rollback)}")
            return self._stop("planned", "dry run: nothing was changed")
        if not self.confirm(order):
            return self._stop("refused", "not confirmed; nothing was changed")
        preflight = getattr(self.checker, "preflight", None)  # SSH works, before any lock or outage
        if preflight is not None:
            preflight(targets[order[0]], facts)
        self._lock(order, targets)
        for i, vm in enumerate(order):
            if not self.step.run(vm, facts, self.lock, self.locked):
                for later in order[i + 1:]:
                    self.record.server(later).detail = f"not deployed: the rollout halted at {vm}"
                self._save()
                s = self.record.server(vm)
                return self._stop("halted", f"halted at {vm}: {s.detail}")
        return self._stop("done", f"{len(order)} server(s) deployed and checked: {', '.join(order)}")

    def _junit_start(self, order: list[str]) -> None:
        """Replace each JUnit file this rollout writes by "did not complete", so no earlier
        rollout's pass stays there when this one stops before a server's checks."""
        for vm in order:
            self.junit[vm] = junit = JunitRun(self.root / "build" / "junit" / f"rollout-{vm}.xml", vm, "rollout")
            try:
                junit.start()
            except OSError as exc:
                raise StokerError(f"cannot write {junit.path}: {exc.strerror or exc}") from None

    def _junit_untouched(self, why: str) -> None:
        """An error in the JUnit file of each server whose checks did not run."""
        for vm, junit in self.junit.items():
            if vm not in self.step.junit:
                junit.error(why)

    def _gate(self, gate: Gate) -> bool:
        self.record.gates.append(gate)
        self._save()
        self.say("gate", f"{gate.name}{' ' + gate.vm if gate.vm else ''}: {gate.status}"
                 + (f" ({gate.detail.splitlines()[0]})" if gate.detail and gate.status != "passed" else ""))
        return gate.status == "passed"

    def _lock(self, order: list[str], targets: dict[str, Target]) -> None:
        servers = {vm: targets[vm].plan.state.server for vm in order if targets[vm].plan.state.server is not None}
        by_cloud: dict[int, dict] = {}
        for vm, server in servers.items():
            by_cloud.setdefault(id(targets[vm].cloud), {})[vm] = server
        for vm_servers in by_cloud.values():
            cloud = targets[next(iter(vm_servers))].cloud
            # remembered before the first write: stopped during the wait, the lock is still released
            self.locked.update({vm: (cloud, s.id) for vm, s in vm_servers.items()})
            for note in locks.acquire(cloud, vm_servers, self.lock, self.options.break_lock, self.now()):
                self.say("warn", note)
        self.say("lock", f"locked {', '.join(sorted(self.locked)) or 'no existing server'} "
                         f"({self.lock.describe()})")
