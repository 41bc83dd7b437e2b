# Boot test (see README "stoker boot-test"): the offline image, a VM booted with its
# Ignition config, and the checks inside it.
#   make image                 build the offline test image (cached; a hit takes seconds)
#   make standins              build the stand-ins for the fleet's registry images and the probe image (cached);
#                              `make image standins` prebuilds everything the boot and fleet tests use
#   make boot vm=NAME          boot a VM and keep it running for SSH
#   make boot-test [vm=NAME] [probes=0]   boot and check one VM, or every VM one after the other;
#                              probes=0 skips the container probes
#   make fleet-test            boot every VM at once on a private network, check every site via the bastion
BOOT_VM_NAMES = $(if $(vm),$(vm),$(sort $(basename $(notdir $(wildcard vms/*.yaml)))))
BOOT_VMS = $(call shq_words,BOOT_VM_NAMES)
BOOT_IMAGE ?= offline
JUNIT_DIR ?= build/junit

.PHONY: image standins boot boot-test fleet-test

image: $(VENV)/.installed  ## build the offline boot-test image (Debian trixie + real Ignition), cached
	$(STOKER) image build

standins: $(VENV)/.installed  ## build the stand-ins for the fleet's registry images (Debian packages, OCI) and the container probes' image, cached
	$(STOKER) image standins

boot: $(VENV)/.installed  ## boot a VM's Ignition config in QEMU and keep it running (vm=NAME)
	@test -n $(call shq,vm) || { echo "usage: make boot vm=NAME" >&2; exit 2; }
	$(MAKE) --no-print-directory ignition
	$(STOKER) boot $(call shq_words,vm) --image $(call shq,BOOT_IMAGE)

boot-test: $(VENV)/.installed  ## boot each VM (or vm=NAME) and check every service came up, probes inside its container networks (probes=0: not); JUnit in build/junit
	$(MAKE) --no-print-directory ignition
	@status=0; for v in $(BOOT_VMS); do \
	  $(STOKER) boot-test "$$v" --image $(call shq,BOOT_IMAGE) --junit $(call shq,JUNIT_DIR)/boot-"$$v".xml $(if $(filter 0,$(probes)),--no-probes,) || status=1; \
	done; exit $$status

fleet-test: $(VENV)/.installed  ## boot every VM at once on a private network and check each site through the bastion; JUnit in build/junit/fleet.xml
	$(STOKER) fleet-test --image $(call shq,BOOT_IMAGE) --junit $(call shq,JUNIT_DIR)/fleet.xml
