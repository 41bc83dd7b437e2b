# The fleet: render and check every VM's Ignition config (see README "The fleet").
#   make ignition [vm=NAME] [secrets=FILE] [provider=aws]
# Without secrets=FILE or $STOKER_SECRETS, unset secrets get throwaway dev values
# (loudly announced) so a fresh clone renders; real configs need a secrets file.
secrets ?=
provider ?=
FLEET_SECRETS = $(if $(secrets),--secrets $(call shq,secrets),$(if $(STOKER_SECRETS),,--dev-secrets))
FLEET_VMS = $(if $(vm),$(call shq_words,vm),--all)
FLEET_PROVIDER = $(if $(provider),--provider $(call shq,provider),)
# strict=1 (default on when $CI is set, as CI systems do): a warning or a check
# skipped for a missing tool fails `make validate`.
OFF_VALUES = 0 false no off False FALSE No NO Off OFF
strict ?= $(filter-out $(OFF_VALUES),$(CI))
FLEET_STRICT = $(if $(filter-out $(OFF_VALUES),$(strict)),--strict,)

.PHONY: ignition validate list clean

ignition: $(VENV)/.installed  ## render build/<vm>.bu and build/<vm>.ign (vm=NAME, default every VM)
	$(STOKER) ignition $(FLEET_VMS) $(FLEET_SECRETS) $(FLEET_PROVIDER)

validate: $(VENV)/.installed  ## check VM configs: definitions, Ignition, systemd, Quadlet, external tools (vm=NAME, strict=1)
	$(STOKER) validate $(FLEET_VMS) $(FLEET_SECRETS) $(FLEET_PROVIDER) $(FLEET_STRICT)

list: $(VENV)/.installed  ## list the fleet's VMs, services, jobs and timers
	$(STOKER) list

clean:  ## remove build/ (rendered configs)
	rm -rf build
