"""What a rollout works on: its options, and each VM planned against its cloud
(`Target`), as `stoker plan` plans it. `Planner` keeps one connection per
cloud for the whole rollout."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..boot.checks import Results
from ..cloud.connection import Cloud, Timings
from ..cloud.plan import DeployPlan
from .order import FleetFacts

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


def cloud_name(options: Options, placement) -> str | None:
    if options.cloud:
        return options.cloud
    if os.environ.get("OS_CLOUD"):
        return os.environ["OS_CLOUD"]
    if os.environ.get("OS_AUTH_URL"):
        return None
    return placement.cloud


class Planner:
    """Plans VMs of the repository at `root`, one connection per cloud."""

    def __init__(self, root: Path, options: Options):
        self.root, self.options = Path(root), options
        self.clouds: dict[str | None, Cloud] = {}

    def cloud(self, placement) -> Cloud:
        name = cloud_name(self.options, placement)
        if name not in self.clouds:
            self.clouds[name] = Cloud.connect(name, self.options.timings, vm=placement.vm)
        return self.clouds[name]

    def plan(self, vm: str, config_path: Path | None = None, for_deploy: bool = False,
             force: bool = False) -> Target:
        from ..cloud.cli import load_checked, plan_on

        placement, config, notes = load_checked(vm, self.root, config_path, for_deploy)
        cloud = self.cloud(placement)
        plan = plan_on(cloud, placement, config, notes, self.root, force=force,
                       accept_loss=self.options.accept_loss)
        return Target(vm, placement, config, notes, cloud, plan)

    def validate(self, vm: str) -> None:
        """`stoker validate --strict` of the VM's config, as `stoker deploy` does, and the post-deploy
        checks' expectations from vms/<vm>.yaml (a definition that does not load stops here, before
        any change, not after the rebuild); raises StokerError."""
        from ..boot.fleetinfo import expectations_for
        from ..cloud.cli import load_checked
        from ..cloud.config import effective_config

        _, config, _ = load_checked(vm, self.root, None, for_deploy=True)
        expectations_for(vm, effective_config(config.document), self.root)
