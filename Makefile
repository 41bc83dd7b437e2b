# stoker: every target runs inside .venv, created on first use.
# `make help` lists the targets; each area adds its own in mk/*.mk.
PYTHON ?= python3
VENV := .venv
STOKER := $(VENV)/bin/stoker
vm ?=
# A value given on the command line (vm=, vms=, secrets=, to=, ...) reaches the shell single-quoted,
# never as shell syntax: `make boot-test vm='tracker;id'` asks for a VM named "tracker;id" and runs no `id`.
# $(call shq,NAME): the value of variable NAME as one shell word; $(call shq_words,NAME): each of its
# make words (vms="ims tracker") as one shell word. (The variable's name is passed, not its value, so a
# comma in the value cannot split $(call)'s arguments.)
shq = '$(subst ','\'',$($(1)))'
shq_words = $(foreach shq_word,$($(1)),$(call shq,shq_word))

.PHONY: help setup test deps
help:  ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

# Every optional Debian package (ignition-validate, systemd-analyze, QEMU, mmdebstrap, ...):
# with them the test suite runs the boot tests and the external checks instead of skipping them.
deps:  ## install the optional Debian packages of .ci/apt-packages (run as root: sudo make deps)
	@test "$$(id -u)" = 0 || { echo "make deps installs Debian packages: run it as root (sudo make deps)" >&2; exit 2; }
	apt-get update -qq
	sed -e 's/#.*//' -e '/^[[:space:]]*$$/d' .ci/apt-packages | xargs apt-get install -y -qq --no-install-recommends

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed  ## create .venv and install stoker with its test tools

test: $(VENV)/.installed  ## run the whole test suite
	$(VENV)/bin/pytest -q

-include mk/*.mk
