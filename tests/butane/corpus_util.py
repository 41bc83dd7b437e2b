"""Running the reference vectors (tests/butane/corpus and tests/butane/corpus-variants,
from the official butane v0.29.0)."""

from __future__ import annotations

import base64
import gzip
import json
import io
import os
import re
import shlex
import shutil
import urllib.parse
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from stoker.cli import main

CORPUS = Path(__file__).parent / "corpus"
VARIANTS_CORPUS = Path(__file__).parent / "corpus-variants"
PATH_RE = re.compile(r"^(error|warning|info)(?:\[| at )(\$[^\],: ]*)", re.M)


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str


@dataclass
class Mode:
    case: Path
    name: str
    args: list[str]

    @property
    def id(self) -> str:
        return f"{self.case.name}:{self.name}"

    def expected(self) -> Run:
        read = lambda ext: (self.case / f"{self.name}.{ext}").read_text()  # noqa: E731
        return Run(int(read("rc").strip()), read("stdout"), read("stderr"))


def modes(corpus: Path = CORPUS) -> list[Mode]:
    out = []
    for case in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for line in (case / "commands.txt").read_text().splitlines():
            words = shlex.split(line)
            if not words or words[0] != "butane":
                continue
            cut = words.index(">")
            name = words[cut + 1].rsplit(".", 1)[0]
            out.append(Mode(case, name, words[1:cut]))
    return out


def prepare(case: Path, tmp: Path) -> Path:
    """A working copy of a case (case 21 needs a FIFO, which git cannot store)."""
    dest = tmp / case.name
    shutil.copytree(case, dest, symlinks=True)
    if case.name.startswith("21-"):
        os.mkfifo(dest / "files/t/etc/fifo")
    return dest


def run_stoker(args: list[str], cwd: Path, stdin: bytes | None = None) -> Run:
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                rc = main(["butane", *args])
            except SystemExit as exc:
                rc = exc.code
    finally:
        os.chdir(old)
    return Run(rc, out.getvalue(), err.getvalue())


_RUNS: dict[tuple[Path, str], Run] = {}


def run_once(mode: Mode, workdir: Path) -> Run:
    """Run a case's command once per work directory; every test of that mode reads the same run."""
    key = (workdir, mode.id)
    if key not in _RUNS:
        case = workdir / mode.case.name
        if not case.exists():
            prepare(mode.case, workdir)
        _RUNS[key] = run_stoker(mode.args, case)
    return _RUNS[key]


def paths(stderr: str) -> set[tuple[str, str]]:
    return set(PATH_RE.findall(stderr))


def decode_sources(value):
    """Replace each data URL by its decoded bytes, so gzip streams from different
    zlib implementations compare equal."""
    if isinstance(value, dict):
        out = {k: decode_sources(v) for k, v in value.items()}
        src = value.get("source")
        if isinstance(src, str) and src.startswith("data:"):
            header, _, payload = src[5:].partition(",")
            data = base64.b64decode(payload) if header.endswith(";base64") \
                else urllib.parse.unquote_to_bytes(payload)
            if value.get("compression") == "gzip":
                try:
                    data = gzip.decompress(data)
                except OSError:
                    pass  # the user said gzip but the bytes are not: kept as they are
            out["source"] = data
            out.pop("compression", None)
        return out
    if isinstance(value, list):
        return [decode_sources(v) for v in value]
    return value


def compressions(value, acc=None) -> list[tuple[str, int]]:
    acc = [] if acc is None else acc
    if isinstance(value, dict):
        if isinstance(value.get("source"), str) and value["source"].startswith("data:"):
            acc.append((value.get("compression"), len(value["source"])))
        for v in value.values():
            compressions(v, acc)
    elif isinstance(value, list):
        for v in value:
            compressions(v, acc)
    return acc


def assert_same_outcome(mode: Mode, got: Run) -> None:
    """rc, report paths and output as the official tool's (gzip'd data compared decoded)."""
    from stoker.ignition import check_schema

    want = mode.expected()
    assert got.rc == want.rc, got.stderr
    assert paths(got.stderr) == paths(want.stderr)
    if want.rc == 0:
        ours, theirs = json.loads(got.stdout), json.loads(want.stdout)
        assert check_schema(ours, ours["ignition"]["version"]) == []
        assert decode_sources(ours) == decode_sources(theirs)
        for (c1, n1), (c2, n2) in zip(compressions(ours), compressions(theirs)):
            # CPython's zlib and Go's flate differ by a few bytes: the gzip-or-not
            # choice may differ only right at the threshold.
            assert c1 == c2 or abs(n1 - n2) <= 16
        if "gzip" not in want.stdout:
            if mode.name == "pretty":
                assert got.stdout == want.stdout
            assert json.loads(got.stdout) == json.loads(want.stdout)
    else:
        assert got.stdout == ""
