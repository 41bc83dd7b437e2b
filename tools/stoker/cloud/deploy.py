"""Carrying out a deploy plan: run its steps in order, report progress through
a callback, and say what was done. The data volume is never deleted on any
path; every error names the VM, the server and the step."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .connection import Cloud
from .plan import DeployPlan
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
    start = clock()
    run = Run(cloud, plan, state_dir, emit, clock)
    for step in plan.steps:
        emit(Event("step", step.name))
        step.run(run)
        emit(Event("done", step.name))
    return DeployResult(plan.action, run.server_id, run.ignition, list(cloud.retried), clock() - start)
