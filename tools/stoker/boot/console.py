"""Scan a serial console log or a journal for the failures kola looks for."""

from __future__ import annotations

import re
from dataclasses import dataclass

# (what it means, pattern); after kola's console checks (coreos/coreos-assembler mantle/kola/harness.go)
PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple((desc, re.compile(rx)) for desc, rx in (
    ("emergency shell", r"Press Enter for emergency shell|Starting Emergency Shell|You are in emergency mode|"
                        r"Entering emergency mode|Give root password for maintenance"),
    ("Ignition failure", r"Ignition has failed|ignition\[\d+\]: .*CRITICAL|"
                         r"ignition-[a-z-]+\.service: Failed with result|Failed to start ignition-[a-z-]+\.service"),
    ("dracut fatal", r"dracut: Fatal: |dracut-initqueue.*: Warning: Could not boot"),
    ("ordering cycle", r"Found ordering cycle|Ordering cycle found|to break ordering cycle"),
    ("generator failure", r"system-generators/\S+ (?:failed with exit status|terminated by signal)|"
                          r"quadlet-generator\[\d+\]: .*(?:unsupported key|error|converting)"),
    ("kernel panic", r"Kernel panic - not syncing"),
    ("kernel oops", r"\bOops(?::| - )"),
    ("kernel warning", r"WARNING: CPU: \d+ PID: \d+ at "),
    ("segfault", r"segfault at [0-9a-f]+"),
    ("out-of-memory kill", r"invoked oom-killer|Out of memory: Killed process"),
    ("stack smashing", r"\*\*\* stack smashing detected \*\*\*"),
    ("I/O failure", r"rejecting I/O to offline device|Buffer I/O error on dev"),
))

# Failures that are the emulator's fault, not the config's: retry the boot once.
RETRYABLE = frozenset({"kernel panic", "kernel oops"})


@dataclass(frozen=True)
class Finding:
    what: str
    line: str
    lineno: int  # 1-based
    context: tuple[str, ...]

    @property
    def retryable(self) -> bool:
        return self.what in RETRYABLE


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def clean(text: str) -> list[str]:
    return [_ANSI.sub("", line).replace("\r", "") for line in text.splitlines()]


def scan(text: str, context: int = 3) -> list[Finding]:
    lines = clean(text)
    found: list[Finding] = []
    for i, line in enumerate(lines):
        for what, rx in PATTERNS:
            if rx.search(line):
                ctx = tuple(lines[max(0, i - context): i + context + 1])
                found.append(Finding(what, line.strip(), i + 1, ctx))
                break
    return found


def first_of_each(findings: list[Finding]) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in findings:
        out.setdefault(f.what, f)
    return out
