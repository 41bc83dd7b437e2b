"""The official butane v0.29.0's vectors for the other variants and versions
(tests/butane/corpus-variants: fcos 1.0.0-1.3.0 and 1.8.0-experimental, flatcar,
openshift, r4e, fiot), compared as test_corpus.py compares tests/butane/corpus.
An openshift MachineConfig is compared byte for byte, or as data when it holds
gzip'd contents (corpus_util.assert_same_machine_config); stderr always byte for
byte."""

from __future__ import annotations

import pytest

from corpus_util import VARIANTS_CORPUS, assert_same_outcome, modes, run_once

MODES = modes(VARIANTS_CORPUS)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("corpus-variants")


def run_mode(mode, workdir):
    return run_once(mode, workdir)


@pytest.mark.parametrize("mode", MODES, ids=[m.id for m in MODES])
def test_same_outcome_output_and_paths(mode, workdir):
    assert_same_outcome(mode, run_mode(mode, workdir))


@pytest.mark.parametrize("mode", MODES, ids=[m.id for m in MODES])
def test_same_messages(mode, workdir):
    """The report reads as the official tool's, line for line."""
    assert run_mode(mode, workdir).stderr == mode.expected().stderr
