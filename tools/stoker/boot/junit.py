"""JUnit XML for CI: one testsuite per boot, one testcase per check."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .checks import ADDED, NOT_EXERCISED, Results


# XML 1.0 allows no control characters but tab, newline and carriage return; console text has
# ANSI escapes (ESC), which ElementTree writes as they are and CI's XML readers then refuse.
_NOT_XML = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def junit_xml(suites: list[tuple[str, Results, float]], prefix: str = "boot") -> str:
    """`suites` = [(name, results, seconds)]; returns the XML document. Suites
    and classes are named `<prefix>.<name>` (boot tests: boot; post-deploy
    checks: rollout)."""
    root = ET.Element("testsuites")
    for name, results, seconds in suites:
        suite = ET.SubElement(root, "testsuite", name=f"{prefix}.{name}", tests=str(len(results.checks)),
                              failures=str(len(results.failed)), errors="0", skipped="0",
                              time=f"{seconds:.1f}")
        for check in results.checks:
            case = ET.SubElement(suite, "testcase", classname=f"{prefix}.{name}.{check.group}", name=check.name,
                                 time="0")
            if not check.ok:
                fail = ET.SubElement(case, "failure", message=_text(f"expected {check.expected}; saw {check.seen}"))
                fail.text = _text(check.details or f"expected: {check.expected}\nseen: {check.seen}")
            elif check.group in (ADDED, NOT_EXERCISED):
                ET.SubElement(case, "system-out").text = _text(f"{check.expected} -> {check.seen}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
