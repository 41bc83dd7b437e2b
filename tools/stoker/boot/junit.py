"""JUnit XML for CI: one testsuite per boot, one testcase per check.

What the harness added to the config (ADDED rows) is no test: those rows are the
suite's <properties> (and its <system-out>), never a passed test case. A check
that did not run (NOT RUN / not exercised rows) is a <skipped/> test case. A run
that did not complete is one test case with an <error> (junit_error_xml).
"""

from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from ..fileio import write_atomic
from .checks import ADDED, Results


# XML 1.0 allows no control characters but tab, newline and carriage return; console text has
# ANSI escapes (ESC), which ElementTree writes as they are and CI's XML readers then refuse.
_NOT_XML = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _suite(root: ET.Element, name: str, results: Results, seconds: float, prefix: str) -> None:
    added = [c for c in results.checks if c.added]
    cases = [c for c in results.checks if not c.added]
    suite = ET.SubElement(root, "testsuite", name=f"{prefix}.{name}", tests=str(len(cases)),
                          failures=str(sum(not c.ok for c in cases)), errors="0",
                          skipped=str(sum(c.not_run for c in cases)), time=f"{seconds:.1f}")
    if added:
        props = ET.SubElement(suite, "properties")
        for a in added:
            ET.SubElement(props, "property", name=_text(f"{ADDED}: {a.name}"), value=_text(f"{a.expected}: {a.seen}"))
    for check in cases:
        case = ET.SubElement(suite, "testcase", classname=f"{prefix}.{name}.{check.group}", name=check.name,
                             time="0")
        if not check.ok:
            fail = ET.SubElement(case, "failure", message=_text(f"expected {check.expected}; saw {check.seen}"))
            fail.text = _text(check.details or f"expected: {check.expected}\nseen: {check.seen}")
        elif check.not_run:
            ET.SubElement(case, "skipped", message=_text(check.seen)).text = _text(f"asked: {check.expected}")
    if added:
        ET.SubElement(suite, "system-out").text = "\n".join(
            _text(f"ADDED {a.name}: {a.expected}: {a.seen}") for a in added)


def _document(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def junit_xml(suites: list[tuple[str, Results, float]], prefix: str = "boot") -> str:
    """`suites` = [(name, results, seconds)]; returns the XML document. Suites
    and classes are named `<prefix>.<name>` (boot tests: boot; post-deploy
    checks: rollout). Per suite: tests = the rows but additions, failures = the
    failed rows, skipped = the checks that did not run."""
    root = ET.Element("testsuites")
    for name, results, seconds in suites:
        _suite(root, name, results, seconds, prefix)
    return _document(root)


def junit_error_xml(name: str, message: str, seconds: float, prefix: str = "boot") -> str:
    """The XML document of a run that did not complete: suite `<prefix>.<name>` with one
    test case, "run completed", whose <error> says why (`message`, one line)."""
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite", name=f"{prefix}.{name}", tests="1", failures="0", errors="1",
                          skipped="0", time=f"{seconds:.1f}")
    case = ET.SubElement(suite, "testcase", classname=f"{prefix}.{name}", name="run completed", time="0")
    ET.SubElement(case, "error", message=_text(message)).text = _text(message)
    return _document(root)


def write_junit(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all (a temporary file beside it, then a rename),
    creating missing parent directories. Raises OSError (a directory in the way, no permission)."""
    write_atomic(path, text.encode(), 0o644, make_parents=True)


class JunitRun:
    """The --junit file of one run, which never claims a pass the run did not reach.

    `start()` replaces whatever is at `path` by an error ("did not complete"), so a run
    killed outright (SIGKILL, a power cut) leaves an error, never an earlier run's
    pass; `results()` writes the run's results; `error()` writes why the run ended.
    Times are seconds since `start()`. `start()` raises OSError when `path` cannot be
    written; `results()` too; `error()` returns the OSError's text instead ("" when written)."""

    def __init__(self, path: Path, name: str, prefix: str = "boot"):
        self.path = Path(path)
        self.name = name
        self.prefix = prefix
        self.t0 = time.monotonic()

    def start(self) -> None:
        self.t0 = time.monotonic()
        write_junit(self.path, junit_error_xml(
            self.name, f"the run started at {time.strftime('%Y-%m-%d %H:%M:%S')} (pid {os.getpid()}) did not "
                       "complete: it is still running, or was killed before it wrote its results",
            0.0, self.prefix))

    def results(self, suites: list[tuple[str, Results, float]]) -> None:
        write_junit(self.path, junit_xml(suites, self.prefix))

    def error(self, message: str) -> str:
        try:
            write_junit(self.path, junit_error_xml(self.name, message, time.monotonic() - self.t0, self.prefix))
        except OSError as exc:
            return exc.strerror or str(exc)
        return ""
