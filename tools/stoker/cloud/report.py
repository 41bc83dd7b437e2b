"""A deploy plan as JSON, for scripts (`stoker plan --json`).

Shape (every string passed through the plan's Masker, so no secret value of
the old or the new config appears):

    {"vm": str, "server_name": str, "server_id": str | null,
     "action": "create" | "rebuild" | "attach" | "update" | "refused" | "none",
     "intended": str | null,            # for "refused": what the deploy would otherwise do
     "reason": str, "changes": bool,
     "config": {"sha256": str, "path": str | null, "user_data_chars": int},
     "deployed": {"sha256": str | null, "source": str},
     "volume": {"name": str, "size_gib": int, "state": "will be created" | "attached" | "exists, not attached",
                "id": str | null} | null,
     "drift": [{"item", "old", "new", "applied_by": "rebuild" | "stoker" | "refused", "how", "hint"}],
     "config_changes": [{"kind", "name", "action": "added" | "removed" | "changed", "details": [str],
                         "diff": [str]}],
     "summary": {"add": int, "change": int, "remove": int},
     "warnings": [str],
     "lost_on_rebuild": [{"what", "container", "target", "defined_in", "created": bool}],
     "losses_of": str, "needs_accept_loss": bool,
     "api_calls": [str]}                # one line per call a deploy would make, user-data redacted
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable

from .plan import DeployPlan


def _masked(value: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [_masked(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v, mask) for k, v in value.items()}
    return value


def plan_report(plan: DeployPlan) -> dict:
    p, st = plan.placement, plan.state
    volume = None
    if p.volume:
        vol = st.volume
        volume = {"name": p.volume.name, "size_gib": p.volume.size,
                  "state": ("will be created" if vol is None else
                            "attached" if st.volume_server else "exists, not attached"),
                  "id": getattr(vol, "id", None)}
    diff = plan.diff
    report = {
        "vm": p.vm, "server_name": p.server_name, "server_id": getattr(st.server, "id", None),
        "action": plan.action, "intended": plan.intended, "reason": plan.reason, "changes": plan.changes,
        "config": {"sha256": plan.config.sha256, "path": str(plan.config.path) if plan.config.path else None,
                   "user_data_chars": len(plan.config.user_data)},
        "deployed": {"sha256": plan.previous_sha, "source": plan.previous_source},
        "volume": volume,
        "drift": [asdict(d) for d in plan.drift],
        "config_changes": [{"kind": c.kind, "name": c.name, "action": c.action, "details": list(c.details),
                            "diff": list(c.diff)} for c in diff.changes],
        "summary": {"add": diff.count("added"), "change": diff.count("changed") + len(plan.drift),
                    "remove": diff.count("removed")},
        "warnings": list(plan.warnings),
        "lost_on_rebuild": [asdict(loss) for loss in plan.losses],
        "losses_of": plan.losses_of,
        "needs_accept_loss": plan.blocked_by_loss,
        "api_calls": [call.text() for call in plan.api_calls()],
    }
    return _masked(report, plan.mask)
