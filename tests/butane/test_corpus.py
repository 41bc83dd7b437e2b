"""Every reference vector of the official butane v0.29.0 gives the same result."""

from __future__ import annotations

import pytest

from corpus_util import assert_same_outcome, modes, prepare, run_stoker

MODES = modes()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("corpus")


_RUNS: dict = {}


def run_mode(mode, workdir):
    """Run a case's command once; both tests below read the same run."""
    if mode.id not in _RUNS:
        case = workdir / mode.case.name
        if not case.exists():
            prepare(mode.case, workdir)
        _RUNS[mode.id] = run_stoker(mode.args, case)
    return _RUNS[mode.id]


@pytest.mark.parametrize("mode", MODES, ids=[m.id for m in MODES])
def test_same_outcome_output_and_paths(mode, workdir):
    assert_same_outcome(mode, run_mode(mode, workdir))


@pytest.mark.parametrize("mode", MODES, ids=[m.id for m in MODES])
def test_same_messages(mode, workdir):
    """The report reads as the official tool's, line for line."""
    assert run_mode(mode, workdir).stderr == mode.expected().stderr
