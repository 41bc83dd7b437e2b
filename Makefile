# stoker: every target runs inside .venv, created on first use.
# `make help` lists the targets; each area adds its own in mk/*.mk.
PYTHON ?= python3
VENV := .venv
STOKER := $(VENV)/bin/stoker
vm ?=

.PHONY: help setup test
help:  ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed  ## create .venv and install stoker with its test tools

test: $(VENV)/.installed  ## run the whole test suite
	$(VENV)/bin/pytest -q

-include mk/*.mk
