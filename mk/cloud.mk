# Deploys to OpenStack (see README "stoker plan / deploy / status").
#   make plan vm=NAME [json=1]   what a deploy would change (make exits 0 when the plan is shown, 2 on error;
#                                `stoker plan --detailed-exitcode` exits 2 when something would change)
#   make deploy vm=NAME [yes=1] [dry_run=1] [accept_loss=1]
#   make adopt vm=NAME [yes=1]   take over a server of that name that stoker did not create
#   make rollback vm=NAME [to=SHA256] [yes=1] [dry_run=1] [accept_loss=1]
#   make status [json=1]         the fleet: servers, deployed configs, drift against build/
# They deploy build/<vm>.ign as it is: render it first with real secrets,
# `make ignition vm=NAME secrets=FILE` (configs with dev secrets are refused).
# cloud=NAME picks a clouds.yaml entry (else OS_CLOUD, the OS_* variables, the placement).
cloud ?=
yes ?=
dry_run ?=
accept_loss ?=
json ?=
to ?=
CLOUD_ARGS = $(if $(cloud),--cloud $(call shq,cloud),)
CHANGE_ARGS = $(if $(yes),--yes,) $(if $(dry_run),--dry-run,) $(if $(accept_loss),--accept-loss,)

.PHONY: plan deploy adopt rollback status

plan: $(VENV)/.installed  ## show what deploying vm=NAME would change (json=1 for scripts; exit 0: plan shown, 2: error)
	@test -n $(call shq,vm) || { echo "usage: make plan vm=NAME [json=1]" >&2; exit 2; }
	$(STOKER) plan $(call shq_words,vm) $(CLOUD_ARGS) $(if $(json),--json,)

deploy: $(VENV)/.installed  ## create or rebuild vm=NAME from build/NAME.ign (yes=1: no question; dry_run=1; accept_loss=1)
	@test -n $(call shq,vm) || { echo "usage: make deploy vm=NAME [yes=1] [dry_run=1] [accept_loss=1]" >&2; exit 2; }
	$(STOKER) deploy $(call shq_words,vm) $(CLOUD_ARGS) $(CHANGE_ARGS)

adopt: $(VENV)/.installed  ## take over the server named like vm=NAME that stoker did not create (yes=1: no question)
	@test -n $(call shq,vm) || { echo "usage: make adopt vm=NAME [yes=1]" >&2; exit 2; }
	$(STOKER) adopt $(call shq_words,vm) $(CLOUD_ARGS) $(if $(yes),--yes,)

rollback: $(VENV)/.installed  ## redeploy vm=NAME's previous good config (to=SHA256 picks one; yes=1; dry_run=1; accept_loss=1)
	@test -n $(call shq,vm) || { echo "usage: make rollback vm=NAME [to=SHA256] [yes=1] [dry_run=1] [accept_loss=1]" >&2; exit 2; }
	$(STOKER) rollback $(call shq_words,vm) $(CLOUD_ARGS) $(if $(to),--to $(call shq,to),) $(CHANGE_ARGS)

status: $(VENV)/.installed  ## table of the fleet's servers: status, address, deployed config, drift (json=1 for scripts)
	$(STOKER) status $(CLOUD_ARGS) $(if $(json),--json,)
