"""One server's turn in a rollout: plan it afresh, deploy it
(stoker.cloud.deploy.execute: rebuild or create, Ignition's verdict), check it
on the live server (the `Checker` seam), and on a failure roll it back to its
previous config (with --auto-rollback, or when the operator says so) and
check that the same way. What happened goes into the server's part of the
record; progress goes out through `say`.

`describe` says the same step in words, for the dry run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..boot.checks import Results
from ..cloud.errors import CloudError
from ..errors import StokerError
from . import lock as locks
from .order import FleetFacts, load_facts
from .record import Record, checks_json, write_junit
from .targets import Checker, Options, Target


@dataclass
class ServerStep:
    root: Path
    options: Options
    checker: Checker
    record: Record
    plan: Callable[..., Target]                  # Planner.plan
    save: Callable[[], None]                     # writes the record (not in a dry run)
    say: Callable[[str, str], None]
    offer_rollback: Callable[[str, str], bool]   # (vm, previous sha256) -> roll back now?
    emit: Callable = lambda event: None
    junit: dict[str, list] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)       # VMs whose rebuild/create this rollout got accepted
    current: tuple[str, str] | None = None              # (vm, step) under way, for an interrupted record
    lock: locks.Lock | None = None                      # the rollout's own lock (set by run)

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def run(self, vm: str, facts: FleetFacts, lock: locks.Lock,
            locked: dict[str, tuple[object, str]]) -> bool:
        """Deploy and check one server; False when the rollout must halt. A new
        server gets `lock` right after its create and joins `locked`. The server
        counts as changed by this rollout (and only then may be rolled back) once
        its rebuild or create was accepted; the record says so at once."""
        from ..cloud.cli import check_lock
        from ..cloud.deploy import execute

        s = self.record.server(vm)
        self.lock = lock
        self.changed.discard(vm)
        self.current = (vm, "plan")
        t = None
        try:
            t = self.plan(vm, for_deploy=True)   # afresh: the cloud may have changed during the gates
            gated = self.record.configs.get(vm, {}).get("sha256")
            if gated and t.plan.config.sha256 != gated:
                raise StokerError(f"build/{vm}.ign changed since the gates (gated {gated[:12]}, now "
                                  f"{t.plan.config.sha256[:12]}); nothing was deployed to {vm}: run the rollout "
                                  "again to gate the new config")
            self.current = (vm, "lock")
            check_lock(t.plan, "stoker rollout", self.options.break_lock, own=lock)
            self.say("step", f"{vm}: {t.plan.action} server {t.placement.server_name}")
            s.server = getattr(t.plan.state.server, "id", None)
            result = execute(t.cloud, t.plan, self.state_dir, self._events(vm, t.plan.action))
        except Exception as exc:  # noqa: BLE001 - anything: the record is saved, the rollback offered
            s.outcome, s.detail = "failed", _reason(exc)
            s.server = s.server or getattr(exc, "server", None)
            self.say("error", f"{vm}: {exc.text() if isinstance(exc, CloudError) else s.detail}")
            self.after_failure(vm, t)
            return False
        s.server, s.ignition = result.server_id, result.ignition
        if vm not in locked and result.server_id:  # a new server carries the lock from now on
            locks.put(t.cloud, vm, result.server_id, lock)
            locked[vm] = (t.cloud, result.server_id)
        self.say("step", f"{vm}: Ignition {result.ignition}; post-deploy checks")
        self.current = (vm, "post-deploy checks")
        results = self.check(vm, t, facts, "deploy")
        s.checks = checks_json(results)
        if results.ok:
            s.outcome, s.detail = "done", f"{len(results.checks)} checks passed"
            self.save()
            self.say("ok", f"{vm}: {s.detail}")
            return True
        bad = results.failed[0]
        s.outcome = "failed"
        s.detail = f"check {bad.group} {bad.name} failed: expected {bad.expected}; saw {bad.seen}"
        self.save()
        for c in results.failed:
            self.say("fail", f"{vm}: {c.group} {c.name}: expected {c.expected}; saw {c.seen}"
                     + (f"\n{c.details}" if c.details else ""))
        self.after_failure(vm, t)
        return False

    def _events(self, vm: str, action: str):
        """The deploy's events, passed on; the step they reach goes into `current`, and once the
        rebuild (or create) is accepted the server is changed: recorded at once as `rebuilt`."""
        s = self.record.server(vm)

        def emit(event):
            if getattr(event, "kind", None) == "step":
                self.current = (vm, event.step)
            elif getattr(event, "kind", None) == "done" and event.step in ("rebuild server", "create server"):
                self.changed.add(vm)
                s.outcome = "rebuilt" if action != "create" else "created"
                s.detail = "not yet checked"
                self.save()
            self.emit(event)
        return emit

    def check(self, vm: str, t: Target, facts: FleetFacts, label: str) -> Results:
        """The post-deploy checks; their results also go to build/junit/rollout-<vm>.xml."""
        start = time.monotonic()
        try:
            results = self.checker(vm, t, facts)
        except Exception as exc:  # noqa: BLE001 - a checker that crashed has checked nothing
            results = Results()
            # the exception may quote what the server said: the config's secrets are masked
            results.add("checks", "post-deploy checks ran", False, "the checks run", t.plan.mask(_reason(exc)))
        self.junit.setdefault(vm, []).append((f"{vm}.{label}", results, time.monotonic() - start))
        write_junit(self.root / "build", vm, self.junit[vm])
        return results

    def after_failure(self, vm: str, t: Target | None) -> None:
        """Roll the failed server back to its previous config, or say how to."""
        s = self.record.server(vm)
        previous = self.record.configs.get(vm, {}).get("previous")
        command = f"stoker rollback {vm}"
        if vm not in self.changed:
            s.detail += f"; {vm} was not changed by this rollout: nothing to roll back"
            self.save()
            return
        if not previous:
            s.detail += "; no previous config to roll back to (a new server)"
            self.save()
            return
        if not self.options.auto_rollback and not self.offer_rollback(vm, previous):
            s.detail += f"; `{command}` redeploys its previous config {previous[:12]}"
            self.save()
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
            self.save()
            return
        from ..cloud.cli import check_lock

        self.current = (vm, "rollback")
        try:
            back = self.plan(vm, config_path=kept.path, for_deploy=True, force=True)
            check_lock(back.plan, "stoker rollout", False, own=self.lock)  # never under another's lock
            result = execute(back.cloud, back.plan, self.state_dir, self.emit)
        except Exception as exc:  # noqa: BLE001 - ends the rollback as failed, the record saved
            s.rollback, s.outcome = {"to": previous, "outcome": "failed", "detail": _reason(exc)}, "rollback failed"
            self.save()
            self.say("error", f"{vm}: rollback failed: {exc.text() if isinstance(exc, CloudError) else _reason(exc)}")
            return
        results = self.check(vm, back, load_facts(self.root), "rollback")
        s.rollback = {"to": previous, "outcome": "passed" if results.ok else "failed", "ignition": result.ignition,
                      "checks": checks_json(results)}
        s.outcome = "rolled back" if results.ok else "rollback failed"
        self.save()
        self.say("ok" if results.ok else "fail",
                 f"{vm}: rolled back to {previous[:12]}; checks {'passed' if results.ok else 'failed'}")


def _reason(exc: BaseException) -> str:
    """One line on why a step failed: a stoker error's own words, else the exception's type and text."""
    if isinstance(exc, CloudError):
        return exc.detail
    if isinstance(exc, StokerError):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def describe(vm: str, t: Target, facts: FleetFacts, auto_rollback: bool) -> str:
    """The step of `vm` in words (the dry run's sequence)."""
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
                                      if auto_rollback and t.plan.previous_sha else "")))
