# stoker: every target runs inside .venv, created on first use.
# `make help` lists the targets; each area adds its own in mk/*.mk.
PYTHON ?= python3
VENV := .venv
STOKER := $(VENV)/bin/stoker
vm ?=

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
