"""Every reference vector of the official butane v0.29.0 gives the same result."""

from __future__ import annotations

import pytest

from corpus_util import assert_same_outcome, modes, run_once

MODES = modes()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("corpus")


@pytest.mark.parametrize("mode", MODES, ids=[m.id for m in MODES])
def test_same_outcome_output_and_paths(mode, workdir):
    assert_same_outcome(mode, run_once(mode, workdir))


@pytest.mark.parametrize("mode", MODES, ids=[m.id for m in MODES])
def test_same_messages(mode, workdir):
    """The report reads as the official tool's, line for line."""
    assert run_once(mode, workdir).stderr == mode.expected().stderr
