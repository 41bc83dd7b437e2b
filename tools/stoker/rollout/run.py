"""`stoker rollout`: take a change through the fleet, one server at a time.

    plan every VM → changed ones, in order (stoker.rollout.order)
    → gates: validate strictly, boot-test each changed VM, fleet-test when the
      bastion or an address changes (stoker.rollout.gates); a failed or skipped
      gate stops here, before any change to the cloud
    → lock the servers (stoker.rollout.lock)
    → for each VM in order: plan afresh, deploy (stoker.cloud.deploy.execute:
      rebuild or create, Ignition's verdict), post-deploy checks on the live
      server (a seam; stoker.rollout.live by default)
      → on the first failure: halt, the rest untouched; with auto_rollback,
        redeploy that server's previous config and check it the same way
    → release the lock; the record (stoker.rollout.record) says all of it.

Nothing here prints: progress goes out through `say(kind, text)`, plans
through `show(plan)`, and the caller (stoker.rollout.cli) decides how they look.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..boot.checks import Results
from ..cloud.connection import Cloud, Timings
from ..cloud.errors import CloudError
from ..cloud.plan import DeployPlan
from ..errors import StokerError
from . import lock as locks
from .gates import GateRunner, needs_fleet_test
from .order import FleetFacts, load_facts, rollout_order
from .record import Gate, Record, checks_json, new_id, save, write_junit

# (vm, the deployed target, facts) -> results of the post-deploy checks (stoker.rollout.live.live_checker)
Checker = Callable[[str, "Target", FleetFacts], Results]


@dataclass
class Options:
    vms: list[str] | None = None            # None: every placed VM
    dry_run: bool = False
    skip_boot_test: bool = False
    auto_rollback: bool = False
    break_lock: bool = False
    accept_loss: bool = False
    cloud: str | None = None                # --cloud; else OS_CLOUD, the OS_* variables, the placement
    timings: Timings = field(default_factory=Timings)


@dataclass
class Target:
    vm: str
    placement: object
    config: object
    notes: list[str]
    cloud: Cloud
    plan: DeployPlan


class Halt(StokerError):
    """The rollout stopped (a gate, a refusal, a failed server); the record says why."""


def _cloud_name(options: Options, placement) -> str | None:
    import os

    if options.cloud:
        return options.cloud
    if os.environ.get("OS_CLOUD"):
        return os.environ["OS_CLOUD"]
    if os.environ.get("OS_AUTH_URL"):
        return None
    return placement.cloud


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
        self.clouds: dict[str | None, Cloud] = {}
        started = now()
        self.record = Record(new_id(started), locks.operator(), started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             dry_run=options.dry_run, skip_boot_test=options.skip_boot_test,
                             auto_rollback=options.auto_rollback)
        self.lock = locks.new_lock(self.record.id, 1, started)  # replaced once the settings are read
        self.locked: dict[str, tuple[Cloud, str]] = {}   # vm -> (its cloud, server id) carrying the lock
        self._junit: dict[str, list] = {}

    # --- helpers ---------------------------------------------------------------

    def _save(self) -> None:
        if not self.options.dry_run:
            save(self.state_dir, self.record)

    def _cloud(self, placement) -> Cloud:
        name = _cloud_name(self.options, placement)
        if name not in self.clouds:
            self.clouds[name] = Cloud.connect(name, self.options.timings, vm=placement.vm)
        return self.clouds[name]

    def _plan(self, vm: str, config_path: Path | None = None, for_deploy: bool = False,
              force: bool = False) -> Target:
        from ..cloud.cli import load_checked, plan_on

        placement, config, notes = load_checked(vm, self.root, config_path, for_deploy)
        cloud = self._cloud(placement)
        plan = plan_on(cloud, placement, config, notes, self.root, force=force,
                       accept_loss=self.options.accept_loss)
        return Target(vm, placement, config, notes, cloud, plan)

    def _stop(self, outcome: str, detail: str) -> Record:
        self.record.finish(outcome, detail)
        self._save()
        self.say("error" if outcome not in ("nothing to do", "planned", "done") else "note", detail)
        return self.record

    # --- the rollout -----------------------------------------------------------

    def run(self) -> Record:
        try:
            return self._run()
        except KeyboardInterrupt:
            self.record.finish("interrupted", "stopped by the operator (Ctrl-C)")
            self._save()
            raise
        except StokerError as exc:  # a refusal (the lock, a plan, the fleet's files): kept in the record too
            if self.record.order:
                self.record.finish("refused", str(exc).splitlines()[0])
                self._save()
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
            targets[vm] = t = self._plan(vm)
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
        if not self._gates(order, targets, facts):
            failed = [g for g in self.record.gates if g.status in ("failed", "skipped")]
            g = failed[0]
            return self._stop("gate failed", f"gate {g.name}{' ' + g.vm if g.vm else ''} {g.status}: "
                                             f"{g.detail.splitlines()[0] if g.detail else ''}; nothing was changed")
        if self.options.dry_run:
            existing = [vm for vm in order if targets[vm].plan.state.server is not None]
            self.say("lock", f"would lock {', '.join(existing) or 'no existing server'} "
                             f"(metadata {locks.META_LOCK}, {facts.settings.lock_minutes} minutes)")
            for i, vm in enumerate(order, 1):
                self.say("sequence", f"{i}. {self._describe_step(vm, targets[vm], facts)}")
            return self._stop("planned", "dry run: nothing was changed")
        if not self.confirm(order):
            return self._stop("refused", "not confirmed; nothing was changed")
        self._lock(order, targets)
        for i, vm in enumerate(order):
            if not self._deploy_one(vm, facts):
                for later in order[i + 1:]:
                    self.record.server(later).detail = f"not deployed: the rollout halted at {vm}"
                self._save()
                s = self.record.server(vm)
                return self._stop("halted", f"halted at {vm}: {s.detail}")
        return self._stop("done", f"{len(order)} server(s) deployed and checked: {', '.join(order)}")

    def _describe_step(self, vm: str, t: Target, facts: FleetFacts) -> str:
        st = facts.settings
        via = ("directly (the bastion)" if vm == st.bastion or not st.bastion else
               f"through {st.ssh_user}@{st.public_address or st.bastion + ' (its floating address)'}")
        sites = list(facts.sites.values()) if vm == st.bastion else ([facts.sites[vm]] if vm in facts.sites else [])
        if via.startswith("through") or not st.bastion:
            login = f"{st.ssh_user}@{t.placement.address}"
        else:
            login = f"{st.ssh_user}@{st.public_address}" if st.public_address else \
                f"{st.ssh_user} at the bastion's floating address"
        return (f"{vm}: {t.plan.action} server {t.placement.server_name}, read Ignition's verdict, then check "
                f"{login} over SSH {via} (up to {st.check_timeout}s)"
                + (f", then HTTPS {', '.join(sites)}" if sites else "")
                + ("; on failure halt" + (" and roll back to " + (t.plan.previous_sha or "")[:12]
                                          if self.options.auto_rollback and t.plan.previous_sha else "")))

    def _gate(self, gate: Gate) -> bool:
        self.record.gates.append(gate)
        self._save()
        self.say("gate", f"{gate.name}{' ' + gate.vm if gate.vm else ''}: {gate.status}"
                 + (f" ({gate.detail.splitlines()[0]})" if gate.detail and gate.status != "passed" else ""))
        return gate.status == "passed"

    def _gates(self, order: list[str], targets: dict[str, Target], facts: FleetFacts) -> bool:
        for vm in order:  # strict validation, as `stoker deploy` does
            try:
                self._plan_free_validate(vm)
            except CloudError as exc:
                self._gate(Gate("validate", vm, "failed", exc.detail))
                return False
            self._gate(Gate("validate", vm, "passed", "stoker validate --strict: every check passed"))
        fleet_reason = needs_fleet_test(order, facts.settings.bastion,
                                        {vm: [d.item for d in targets[vm].plan.drift] for vm in order})
        if self.options.skip_boot_test:
            why = "--skip-boot-test; written into this rollout's record"
            for vm in order:
                self._gate(Gate("boot-test", vm, "skipped by operator", why))
            if fleet_reason:
                self._gate(Gate("fleet-test", None, "skipped by operator", why))
            return True
        if self.options.dry_run:
            for vm in order:
                self.say("gate", f"boot-test {vm}: would run `stoker boot-test {vm}` (not in a dry run)")
            if fleet_reason:
                self.say("gate", f"fleet-test: would run `stoker fleet-test` ({fleet_reason})")
            return True
        for vm in order:
            self.say("step", f"boot-testing {vm} (QEMU; minutes)")
            if not self._gate(self.gates.boot_test(vm, self.root / "build" / "junit")):
                return False
        if fleet_reason:
            self.say("step", f"fleet test: {fleet_reason}")
            if not self._gate(self.gates.fleet()):
                return False
        return True

    def _plan_free_validate(self, vm: str) -> None:
        from ..cloud.cli import load_checked

        load_checked(vm, self.root, None, for_deploy=True)

    def _lock(self, order: list[str], targets: dict[str, Target]) -> None:
        servers = {vm: targets[vm].plan.state.server for vm in order if targets[vm].plan.state.server is not None}
        by_cloud: dict[int, dict] = {}
        for vm, server in servers.items():
            by_cloud.setdefault(id(targets[vm].cloud), {})[vm] = server
        for vm_servers in by_cloud.values():
            cloud = targets[next(iter(vm_servers))].cloud
            for note in locks.acquire(cloud, vm_servers, self.lock, self.options.break_lock, self.now()):
                self.say("warn", note)
            self.locked.update({vm: (cloud, s.id) for vm, s in vm_servers.items()})
        self.say("lock", f"locked {', '.join(sorted(self.locked)) or 'no existing server'} "
                         f"({self.lock.describe()})")

    def _deploy_one(self, vm: str, facts: FleetFacts) -> bool:
        """Deploy and check one server; False when the rollout must halt."""
        from ..cloud.cli import check_lock
        from ..cloud.deploy import execute

        s = self.record.server(vm)
        try:
            t = self._plan(vm, for_deploy=True)   # afresh: the cloud may have changed during the gates
            check_lock(t.plan, "stoker rollout", self.options.break_lock, own=self.lock)
            self.say("step", f"{vm}: {t.plan.action} server {t.placement.server_name}")
            result = execute(t.cloud, t.plan, self.state_dir, self.emit)
        except CloudError as exc:
            s.outcome, s.detail = "failed", exc.detail
            s.server = s.server or exc.server
            self.say("error", f"{vm}: {exc.text()}")
            self._after_failure(vm, None)
            return False
        s.server, s.ignition = result.server_id, result.ignition
        if vm not in self.locked and result.server_id:  # a new server carries the lock from now on
            locks.put(t.cloud, vm, result.server_id, self.lock)
            self.locked[vm] = (t.cloud, result.server_id)
        self.say("step", f"{vm}: Ignition {result.ignition}; post-deploy checks")
        results = self._check(vm, t, facts, "deploy")
        s.checks = checks_json(results)
        if results.ok:
            s.outcome, s.detail = "done", f"{len(results.checks)} checks passed"
            self._save()
            self.say("ok", f"{vm}: {s.detail}")
            return True
        bad = results.failed[0]
        s.outcome = "failed"
        s.detail = f"check {bad.group} {bad.name} failed: expected {bad.expected}; saw {bad.seen}"
        self._save()
        for c in results.failed:
            self.say("fail", f"{vm}: {c.group} {c.name}: expected {c.expected}; saw {c.seen}"
                     + (f"\n{c.details}" if c.details else ""))
        self._after_failure(vm, t)
        return False

    def _check(self, vm: str, t: Target, facts: FleetFacts, label: str) -> Results:
        start = time.monotonic()
        try:
            results = self.checker(vm, t, facts)
        except StokerError as exc:
            results = Results()
            results.add("checks", "post-deploy checks ran", False, "the checks run", str(exc))
        self._junit.setdefault(vm, []).append((f"{vm}.{label}", results, time.monotonic() - start))
        write_junit(self.root / "build", vm, self._junit[vm])
        return results

    def _after_failure(self, vm: str, t: Target | None) -> None:
        s = self.record.server(vm)
        previous = self.record.configs.get(vm, {}).get("previous")
        command = f"stoker rollback {vm}"
        if not previous:
            s.detail += "; no previous config to roll back to (a new server)"
            self._save()
            return
        if not self.options.auto_rollback and not self.offer_rollback(vm, previous):
            s.detail += f"; `{command}` redeploys its previous config {previous[:12]}"
            self._save()
            return
        self.say("step", f"{vm}: rolling back to {previous[:12]}"
                 + (" (--auto-rollback)" if self.options.auto_rollback else ""))
        from ..cloud.deploy import execute
        from ..cloud.state import kept_config

        kept = kept_config(self.state_dir, vm, previous)
        if kept is None:
            s.rollback = {"to": previous, "outcome": "failed",
                          "detail": f"config {previous[:12]} is not kept in state/history/{vm}/"}
            s.outcome = "rollback failed"
            self._save()
            return
        try:
            back = self._plan(vm, config_path=kept.path, for_deploy=True, force=True)
            result = execute(back.cloud, back.plan, self.state_dir, self.emit)
        except CloudError as exc:
            s.rollback, s.outcome = {"to": previous, "outcome": "failed", "detail": exc.detail}, "rollback failed"
            self._save()
            self.say("error", f"{vm}: rollback failed: {exc.text()}")
            return
        results = self._check(vm, back, load_facts(self.root), "rollback")
        s.rollback = {"to": previous, "outcome": "passed" if results.ok else "failed", "ignition": result.ignition,
                      "checks": checks_json(results)}
        s.outcome = "rolled back" if results.ok else "rollback failed"
        self._save()
        self.say("ok" if results.ok else "fail",
                 f"{vm}: rolled back to {previous[:12]}; checks {'passed' if results.ok else 'failed'}")
