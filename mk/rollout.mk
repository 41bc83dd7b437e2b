# Rollouts: a change through the whole fleet (see README "stoker rollout | history").
#   make rollout [vms="A B"] [secrets=FILE] [provider=P] [yes=1] [dry_run=1] [skip_boot_test=1] [auto_rollback=1]
#                [break_lock=1] [accept_loss=1] [identity=FILE] [cloud=NAME]
#   make history [vm=NAME]
# `make rollout` renders the configs first (as `make ignition`; real configs need
# secrets=FILE: configs with dev secrets are refused by the validation gate).
vms ?=
skip_boot_test ?=
auto_rollback ?=
break_lock ?=
identity ?=
ROLLOUT_ARGS = $(if $(yes),--yes,) $(if $(dry_run),--dry-run,) $(if $(accept_loss),--accept-loss,) \
	$(if $(skip_boot_test),--skip-boot-test,) $(if $(auto_rollback),--auto-rollback,) \
	$(if $(break_lock),--break-lock,) $(if $(identity),--identity $(call shq,identity),)

.PHONY: rollout history

rollout: $(VENV)/.installed  ## render, gate (validate, boot tests) and deploy the fleet one server at a time, checking each (vms="A B", secrets=FILE, yes=1, dry_run=1, skip_boot_test=1, auto_rollback=1, break_lock=1, accept_loss=1, identity=FILE, cloud=NAME)
	$(STOKER) ignition $(if $(vms),$(call shq_words,vms),--all) $(FLEET_SECRETS) $(FLEET_PROVIDER)
	$(STOKER) rollout $(if $(vms),$(call shq_words,vms),--all) $(CLOUD_ARGS) $(ROLLOUT_ARGS)

history: $(VENV)/.installed  ## the rollouts recorded in state/rollouts/: who, when, configs, gates, checks, outcome (vm=NAME)
	$(STOKER) history $(call shq_words,vm)
