"""JUnit XML for CI: one testsuite per boot, one testcase per check."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .checks import ADDED, NOT_EXERCISED, Results


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
                fail = ET.SubElement(case, "failure", message=f"expected {check.expected}; saw {check.seen}")
                fail.text = check.details or f"expected: {check.expected}\nseen: {check.seen}"
            elif check.group in (ADDED, NOT_EXERCISED):
                ET.SubElement(case, "system-out").text = f"{check.expected} -> {check.seen}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
