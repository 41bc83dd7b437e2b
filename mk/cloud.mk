# Deploys to OpenStack (see README "stoker plan / deploy / status").
#   make plan vm=NAME            what a deploy would change (make exits 0 when the plan is shown, 2 on error;
#                                `stoker plan --detailed-exitcode` exits 2 when something would change)
#   make deploy vm=NAME [yes=1] [dry_run=1]
#   make status                  the fleet: servers, deployed configs, drift against build/
# They deploy build/<vm>.ign as it is: render it first with real secrets,
# `make ignition vm=NAME secrets=FILE` (configs with dev secrets are refused).
# cloud=NAME picks a clouds.yaml entry (else OS_CLOUD, the OS_* variables, the placement).
cloud ?=
yes ?=
dry_run ?=
CLOUD_ARGS = $(if $(cloud),--cloud $(cloud),)

.PHONY: plan deploy status

plan: $(VENV)/.installed  ## show what deploying vm=NAME would change (exit 0: plan shown, 2: error)
	@test -n "$(vm)" || { echo "usage: make plan vm=NAME" >&2; exit 2; }
	$(STOKER) plan $(vm) $(CLOUD_ARGS)

deploy: $(VENV)/.installed  ## create or rebuild vm=NAME from build/NAME.ign (yes=1: no question; dry_run=1)
	@test -n "$(vm)" || { echo "usage: make deploy vm=NAME [yes=1] [dry_run=1]" >&2; exit 2; }
	$(STOKER) deploy $(vm) $(CLOUD_ARGS) $(if $(yes),--yes,) $(if $(dry_run),--dry-run,)

status: $(VENV)/.installed  ## table of the fleet's servers: status, address, deployed config, drift
	$(STOKER) status $(CLOUD_ARGS)
