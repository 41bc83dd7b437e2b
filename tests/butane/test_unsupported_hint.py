"""An unsupported version names the supported ones (issue requirement), on a
terminal only: elsewhere stderr is the official text byte for byte (the corpus
case 15-unknown-version compares it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stoker.butane.cli import unsupported_hint

STOKER = Path(sys.executable).with_name("stoker")
ERROR = "Error translating config: No translator exists for variant fcos with version 9.9.9\n"
FCOS = ("Supported fcos versions: 1.0.0, 1.1.0, 1.2.0, 1.3.0, 1.4.0, 1.5.0, 1.6.0, 1.7.0, "
        "1.8.0-experimental")


def test_the_hint_names_a_variants_versions_or_the_variants():
    assert unsupported_hint("No translator exists for variant fcos with version 9.9.9", True) == FCOS
    assert unsupported_hint("No translator exists for variant nope with version 1.0.0", True) == \
        "Known variants: fcos, fiot, flatcar, openshift, r4e"
    assert unsupported_hint("No translator exists for variant fcos with version 9.9.9", False) is None
    assert unsupported_hint("source config is invalid", True) is None


def _stderr(tmp_path: Path, tty: bool) -> str:
    (tmp_path / "in.bu").write_text("variant: fcos\nversion: 9.9.9\n")
    if not tty:
        run = subprocess.run([str(STOKER), "butane", "in.bu"], cwd=tmp_path, capture_output=True)
        assert run.returncode == 1
        return run.stderr.decode()
    leader, follower = os.openpty()
    try:
        run = subprocess.run([str(STOKER), "butane", "in.bu"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=follower)
        assert run.returncode == 1
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.mark.skipif(not STOKER.exists(), reason=f"{STOKER} is not installed")
def test_on_a_terminal_the_supported_versions_follow(tmp_path):
    assert _stderr(tmp_path, tty=True) == ERROR + FCOS + "\n"


@pytest.mark.skipif(not STOKER.exists(), reason=f"{STOKER} is not installed")
def test_elsewhere_the_official_text_alone(tmp_path):
    assert _stderr(tmp_path, tty=False) == ERROR
