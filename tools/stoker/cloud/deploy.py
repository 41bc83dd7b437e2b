"""Carrying out a deploy plan: run its steps in order, report progress through
a callback, and say what was done. The data volume is never deleted on any
path; every error names the VM, the server and the step."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .connection import Cloud
from .plan import DeployPlan, loss_refusal, mask_error
from .state import record_deploy, record_outcome
from .steps import Event, Run


@dataclass
class DeployResult:
    action: str
    server_id: str | None
    ignition: str                    # success | failed | unknown | skipped
    retried: list[str]
    elapsed: float


def execute(cloud: Cloud, plan: DeployPlan, state_dir: Path, emit: Callable[[Event], None] = lambda e: None,
            clock=time.monotonic) -> DeployResult:
    """Run the plan's steps. A create or rebuild is kept in the deploy history
    (state/history/<vm>/) with its outcome: Ignition's verdict, or
    "interrupted" when a step failed or was stopped before one. A rebuild that
    would lose state not accepted (plan.blocked_by_loss) is refused before any
    change."""
    if plan.blocked_by_loss:
        raise mask_error(loss_refusal(plan), plan.mask)
    start = clock()
    run = Run(cloud, plan, state_dir, emit, clock)
    vm = plan.placement.vm
    # Kept once the server is about to get the config: by then the config is
    # bound to its data volume (create volume binds a new one), so the history
    # holds what the server runs, by the sha256 the server records.
    recorded: str | None = None
    try:
        for step in plan.steps:
            if step.name in ("create server", "rebuild server") and recorded is None:
                recorded = run.plan.config.sha256
                record_deploy(state_dir, vm, run.plan.config, plan.action, run.server_id)
            emit(Event("step", step.name))
            step.run(run)
            emit(Event("done", step.name))
    except BaseException:
        if recorded:
            outcome = run.ignition if run.ignition in ("success", "failed", "unknown") else "interrupted"
            record_outcome(state_dir, vm, recorded, outcome, run.server_id)
        raise
    if recorded:
        record_outcome(state_dir, vm, recorded, run.ignition, run.server_id)
    elif plan.action == "verdict":  # the verdict the interrupted deploy did not see
        record_outcome(state_dir, vm, plan.config.sha256, run.ignition, run.server_id,
                       replace=("pending", "interrupted"))
    return DeployResult(plan.action, run.server_id, run.ignition, list(cloud.retried), clock() - start)
