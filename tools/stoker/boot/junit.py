"""JUnit XML for CI: one testsuite per boot, one testcase per check.

What the harness added to the config (ADDED rows) is no test: those rows are the
suite's <properties> (and its <system-out>), never a passed test case. A check
that did not run (NOT RUN / not exercised rows) is a <skipped/> test case. A run
that did not complete is one test case with an <error> (junit_error_xml).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

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
