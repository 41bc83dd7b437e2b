"""`stoker rollout`: change the fleet one server at a time, gated by
validation and boot tests, each server checked live after its rebuild, halting
(and optionally rolling back) on the first failure. See stoker.rollout.run."""
