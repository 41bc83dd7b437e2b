"""Checks run inside the booted guest. Each names what it expected and what it saw.

A check is a function of a `Guest`-like object (anything with `sh(script, timeout)
-> (status, output)`) and the expectations; the parsers are pure and unit-tested.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from .console import Finding, scan
from .expect import Expectations
from .ignition import Addition


class Shell(Protocol):
    def sh(self, script: str, timeout: float = 120) -> tuple[int, str]: ...


@dataclass(frozen=True)
class Check:
    group: str  # "ignition", "system", "service", "timer", ...
    name: str
    ok: bool
    expected: str
    seen: str
    details: str = ""

    @property
    def added(self) -> bool:
        """A row that says what the harness added to the config: information, not a check."""
        return self.group == ADDED and self.ok

    @property
    def not_run(self) -> bool:
        """A row for a check that did not run (the image cannot exercise it, no probes possible)."""
        return self.group == NOT_EXERCISED and self.ok


@dataclass
class Results:
    checks: list[Check] = field(default_factory=list)

    def add(self, group: str, name: str, ok: bool, expected: str, seen: str, details: str = "") -> Check:
        check = Check(group, name, ok, expected, seen, details)
        self.checks.append(check)
        return check

    @property
    def ok(self) -> bool:
        """Every row passed and at least one check ran: additions and NOT RUN rows alone are no pass."""
        return any(not (c.added or c.not_run) for c in self.checks) and all(c.ok for c in self.checks)

    def tally(self) -> tuple[int, int, int]:
        """(passed, failed, not run), counting the checks only (additions are not checks)."""
        passed = sum(c.ok and not (c.added or c.not_run) for c in self.checks)
        return passed, len(self.failed), sum(c.not_run for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


# --- parsers ----------------------------------------------------------------

SHOW_PROPS = ("Id", "LoadState", "ActiveState", "SubState", "UnitFileState", "Result", "ExecMainStatus",
              "ExecMainExitTimestampMonotonic", "NextElapseUSecRealtime", "NextElapseUSecMonotonic",
              "LastTriggerUSec", "Type", "NRestarts")


def parse_show(text: str) -> dict[str, dict[str, str]]:
    """`systemctl show -p ... A B C` output → {unit: {property: value}}."""
    units: dict[str, dict[str, str]] = {}
    for block in text.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            units[props["Id"]] = props
    return units


def parse_findmnt(text: str) -> dict[str, dict[str, str]]:
    """`findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS` → {target: row}."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    out: dict[str, dict[str, str]] = {}

    def walk(rows):
        for row in rows:
            out[row.get("target", "")] = row
            walk(row.get("children", []))
    walk(data.get("filesystems", []))
    return out


def parse_stat(text: str) -> dict[str, tuple[str, str, str, str, str]]:
    """Lines of `stat -c '%n|%U|%G|%u|%g|%a'` → {path: (user, group, uid, gid, mode)}."""
    out = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) == 6:
            out[parts[0]] = tuple(parts[1:])  # type: ignore[assignment]
    return out


def parse_podman_ps(text: str) -> dict[str, dict]:
    try:
        rows = json.loads(text or "[]")
    except ValueError:
        return {}
    out = {}
    for row in rows or []:
        names = row.get("Names") or []
        for name in names if isinstance(names, list) else [names]:
            out[name] = row
    return out


def parse_listening(text: str) -> set[int]:
    """Ports from `ss -Hltn` lines (local address is the 4th column)."""
    ports = set()
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 4 and ":" in cols[3]:
            try:
                ports.add(int(cols[3].rsplit(":", 1)[1]))
            except ValueError:
                pass
    return ports


def _unit_state(props: dict[str, str] | None) -> str:
    if not props:
        return "no such unit"
    if props.get("LoadState") != "loaded":
        return f"load state {props.get('LoadState')}"
    return f"{props.get('ActiveState')} ({props.get('SubState')}), {props.get('UnitFileState') or 'no unit file state'}"


def _is_enabled(state: str) -> bool:
    return state in ("enabled", "enabled-runtime", "alias")


# --- checks -----------------------------------------------------------------

def check_ignition(guest: Shell, results: Results) -> None:
    # Ignition writes the result file at the end of its files stage; no file, no finished run
    _, out = guest.sh("cat /etc/.ignition-result.json 2>/dev/null || echo MISSING")
    text = out.strip()
    if text.endswith("MISSING"):
        _, journal = guest.sh("journalctl -b -o cat --no-pager -t ignition | tail -n 20")
        results.add("ignition", "Ignition succeeded", False, "/etc/.ignition-result.json written by Ignition",
                    "no result file", journal)
        return
    try:
        data = json.loads(text)
    except ValueError:
        results.add("ignition", "Ignition succeeded", False, "a JSON result file", text[:200])
        return
    ok = data.get("userConfigProvided") is True
    results.add("ignition", "Ignition succeeded", ok, "Ignition ran every stage with the user config",
                f"result file present, userConfigProvided={data.get('userConfigProvided')}")


def check_system_running(guest: Shell, results: Results, timeout: float = 300) -> None:
    rc, out = guest.sh(f"timeout {int(timeout)} systemctl is-system-running --wait", timeout=timeout + 30)
    state = out.strip().splitlines()[-1] if out.strip() else "(no answer)"
    details = ""
    if state != "running":
        _, failed = guest.sh("systemctl --failed --no-legend --plain --no-pager")
        names = [line.split()[0] for line in failed.splitlines() if line.strip()]
        details = "failed units: " + (", ".join(names) if names else "none listed")
        if names:
            _, why = guest.sh("for u in " + " ".join(shlex.quote(n) for n in names[:5]) +
                              "; do systemctl status --no-pager -n 5 \"$u\"; done 2>&1 | tail -n 40")
            details += "\n" + why
    results.add("system", "system running", state == "running", "running", state, details)


def check_units(guest: Shell, exp: Expectations, results: Results) -> dict[str, dict[str, str]]:
    names = exp.unit_names()
    if not names:
        return {}
    _, out = guest.sh("systemctl show --no-pager -p " + ",".join(SHOW_PROPS) + " " +
                      " ".join(shlex.quote(n) for n in names))
    units = parse_show(out)
    for svc in exp.services:
        props = units.get(svc.name)
        # Restart=always hides a crash loop: between two restarts the unit is active (running) again
        restarts = int((props or {}).get("NRestarts") or 0)
        ok = bool(props) and props.get("ActiveState") == "active" and props.get("SubState") == "running" \
            and restarts == 0
        seen = _unit_state(props) + (f", restarted {restarts} time{'s' * (restarts != 1)} by systemd"
                                     if restarts else "")
        results.add("service", svc.name, ok, "active (running), never restarted", seen,
                    "" if ok else _status(guest, svc.name))
    for job in exp.boot_jobs:
        props = units.get(job) or {}
        ran = props.get("ExecMainExitTimestampMonotonic", "0") not in ("", "0")
        ok = props.get("Result") == "success" and props.get("ExecMainStatus") == "0" and ran
        seen = f"{_unit_state(props)}, result {props.get('Result')}, exit status {props.get('ExecMainStatus')}" \
            + ("" if ran else ", never ran")
        results.add("boot job", job, ok, "ran once at boot and exited 0", seen, "" if ok else _status(guest, job))
    for job in exp.manual_jobs:
        props = units.get(job) or {}
        state = props.get("UnitFileState", "")
        ok = props.get("LoadState") == "loaded" and not _is_enabled(state)
        results.add("manual job", job, ok, "installed, not enabled", _unit_state(props))
    calendar = _next_elapses(guest, exp)
    for timer in exp.timers:
        props = units.get(timer.name) or {}
        nxt = props.get("NextElapseUSecRealtime") or ""
        mono = props.get("NextElapseUSecMonotonic") or ""
        has_next = bool(nxt) or mono not in ("", "0", "infinity")
        ok = props.get("ActiveState") == "active" and has_next and props.get("LoadState") == "loaded"
        target = units.get(timer.unit)
        seen = f"{_unit_state(props)}, next elapse {nxt or mono or 'none'}"
        if target is None or target.get("LoadState") != "loaded":
            ok = False
            seen += f"; {timer.unit}: {_unit_state(target)}"
        expected = f"active, next elapse set ({'; '.join(timer.schedule)})"
        wanted = [calendar[c] for c in timer.calendars() if calendar.get(c)]
        if ok and wanted and not timer.randomized and len(timer.schedule) == len(timer.calendars()):
            # the schedule's own next elapse, computed by systemd-analyze in the guest
            expected = f"active, next elapse {' or '.join(wanted)} ({'; '.join(timer.schedule)})"
            ok = nxt in wanted
        results.add("timer", timer.name, ok, expected, seen, "" if ok else _status(guest, timer.name))
    return units


def parse_calendar(text: str) -> dict[str, str]:
    """Output of `echo "@@ EXPR"; systemd-analyze calendar EXPR` per expression → {EXPR: next elapse}.

    (systemd-analyze prints "Original form" only when it differs from the normalized one,
    so the harness marks each expression itself.)
    """
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("@@ "):
            current = line[3:]
            continue
        key, _, value = line.strip().partition(": ")
        if key == "Next elapse" and current is not None:
            out[current] = value.strip()
    return out


def _next_elapses(guest: Shell, exp: Expectations) -> dict[str, str]:
    exprs = sorted({c for t in exp.timers for c in t.calendars()})
    if not exprs:
        return {}
    _, out = guest.sh("for e in " + " ".join(shlex.quote(e) for e in exprs) + "; do echo \"@@ $e\"; "
                      "systemd-analyze calendar --iterations=1 -- \"$e\" 2>&1; done")
    return parse_calendar(out)


# Podman's own event lines in a Quadlet unit's journal ("... m=+7.1 container create <id> (image=..., <labels>)"):
# long, one per start; left out so the program's own messages (nginx's "[emerg] ...") stay in view
_PODMAN_EVENT = r" m=[+][0-9.]+ (container|image|pod|volume|network|system) "


def _status(guest: Shell, unit: str) -> str:
    """The unit's state (`systemctl status`, no log lines) and the last 20 lines of its journal
    this boot, Podman's event lines left out."""
    q = shlex.quote(unit)
    _, out = guest.sh(f"systemctl status --no-pager -n 0 {q} 2>&1 | head -n 12; "
                      f"echo '-- journal of {unit} (last 20 lines, without Podman events) --'; "
                      f"journalctl -b -u {q} -o short --no-pager 2>&1 | grep -Ev '{_PODMAN_EVENT}' | tail -n 20")
    return out.strip()


def check_containers(guest: Shell, exp: Expectations, results: Results) -> None:
    wanted = [s for s in exp.services if s.container]
    if not wanted:
        return
    _, out = guest.sh("podman ps --all --format json")
    running = parse_podman_ps(out)
    for svc in wanted:
        row = running.get(svc.container or "")
        state = (row or {}).get("State", "not found")
        image = (row or {}).get("Image", "")
        ok = state == "running"
        results.add("container", svc.container or "", ok, f"running (from {svc.name})",
                    f"{state}" + (f", image {image}" if image else ""), "" if ok else _status(guest, svc.name))


def check_mounts(guest: Shell, exp: Expectations, results: Results) -> None:
    if exp.mounts:
        _, out = guest.sh("findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS")
        table = parse_findmnt(out)
        for m in exp.mounts:
            row = table.get(m.path)
            want = f"{m.device or '?'} ({m.format or 'any'}) mounted at {m.path}"
            if row is None:
                results.add("volume", m.path, False, want, "not mounted")
                continue
            ok = not m.format or row.get("fstype") == m.format
            results.add("volume", m.path, ok, want, f"{row.get('source')} ({row.get('fstype')}) {row.get('options')}")
    if exp.paths:
        paths = " ".join(shlex.quote(p.path) for p in exp.paths)
        _, out = guest.sh(f"stat -c '%n|%U|%G|%u|%g|%a' {paths} 2>&1")
        stats = parse_stat(out)
        for p in exp.paths:
            st = stats.get(p.path)
            want = _want_owner(p.owner, p.group, p.mode)
            if st is None:
                results.add("volume", p.path, False, f"{p.kind} {want}", "missing")
                continue
            user, group, uid, gid, mode = st
            ok = ((p.owner is None or p.owner in (user, uid)) and (p.group is None or p.group in (group, gid))
                  and (p.mode is None or int(mode, 8) == p.mode))
            results.add("volume", p.path, ok, f"{p.kind} {want}", f"{user}:{group} {int(mode, 8):04o}")


def _want_owner(owner: str | None, group: str | None, mode: int | None) -> str:
    return f"{owner or '*'}:{group or '*'} {f'{mode:04o}' if mode is not None else '*'}"


def check_secrets(guest: Shell, exp: Expectations, results: Results) -> None:
    if not exp.secrets:
        return
    _, out = guest.sh("stat -c '%n|%U|%G|%u|%g|%a' " + " ".join(shlex.quote(p) for p in exp.secrets) + " 2>&1")
    stats = parse_stat(out)
    for path in exp.secrets:
        st = stats.get(path)
        if st is None:
            results.add("secret", path, False, "root:root 0600", "missing")
            continue
        user, group, _, _, mode = st
        ok = user == "root" and int(mode, 8) == 0o600
        results.add("secret", path, ok, "root:* 0600", f"{user}:{group} {int(mode, 8):04o}")


PORT_WAIT = 180.0      # seconds a published port may take to accept connections (PostgreSQL's first initdb
PORT_INTERVAL = 5.0   # under TCG, a uWSGI waiting for it); seconds between two rounds of probes


def _probe_script(ports: list[int]) -> str:
    """One round: `PORT open|closed` per port, then `---` and `ss -Hltn`.

    netavark publishes through nftables DNAT, so nothing may be bound on the host port:
    connect to the guest's own address (then 127.0.0.1) instead of looking for a socket."""
    return ("ip=$(ip -4 -o addr show scope global | awk '{sub(/\\/.*/,\"\",$4); print $4; exit}'); "
            "for p in " + " ".join(str(p) for p in ports) + "; do "
            "if timeout 5 bash -c \"exec 3<>/dev/tcp/${ip:-127.0.0.1}/$p\" 2>/dev/null || "
            "timeout 5 bash -c \"exec 3<>/dev/tcp/127.0.0.1/$p\" 2>/dev/null; then echo \"$p open\"; "
            "else echo \"$p closed\"; fi; done; echo ---; ss -Hltn")


def check_ports(guest: Shell, exp: Expectations, results: Results, wait: float = PORT_WAIT,
                interval: float = PORT_INTERVAL, clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], object] = time.sleep) -> None:
    """Each published port accepts a TCP connection within `wait` seconds.

    Probes every port still closed once per `interval` seconds (one SSH call a round)
    until all accept or `wait` has passed since the first round; each row says how long
    its port took ("accepts connections after 35 s") or that it never did within the
    wait, and whether a socket listened. `clock` and `sleep` are for tests."""
    if not exp.ports:
        return
    t0 = clock()
    pending = list(dict.fromkeys(p.port for p in exp.ports))
    opened: dict[int, float] = {}
    listening: set[int] = set()
    while True:
        started = clock() - t0
        _, out = guest.sh(_probe_script(pending), timeout=30 + 10 * len(pending))
        head, _, ss = out.partition("---")
        state = dict(line.split() for line in head.splitlines() if len(line.split()) == 2)
        listening = parse_listening(ss)
        for port in pending:
            if state.get(str(port)) == "open":
                opened[port] = started  # when the round that found it open began
        pending = [p for p in pending if p not in opened]
        now = clock() - t0
        if not pending or now >= wait:
            break
        sleep(min(interval, wait - now))
    waited = clock() - t0
    for p in exp.ports:
        expected = f"accepts connections within {wait:.0f} s (published by {p.unit})"
        if p.port in opened:
            after = opened[p.port]
            seen = "accepts connections" + (f" after {after:.0f} s" if after >= 1 else "")
            results.add("port", f"tcp/{p.port}", True, expected, seen)
        else:
            seen = f"refused for {waited:.0f} s" + (", but a socket listens" if p.port in listening
                                                     else ", nothing listens")
            results.add("port", f"tcp/{p.port}", False, expected, seen)


def check_console(console_text: str, journal_text: str | None, results: Results) -> list[Finding]:
    """kola's failure patterns in the serial console log and this boot's journal: one failed row
    per kind found, else one row "<what was read> clean". `journal_text` None: the journal was not
    read (the caller's row says why), so the clean row names the console only. An empty console
    log is a failed row ("serial console"): QEMU never ran or wrote nothing, nothing to call clean."""
    read = [what for what, text in (("console", console_text.strip()), ("journal", journal_text)) if text]
    if not console_text.strip():
        results.add("console", "serial console", False, "the guest's boot messages in console.log",
                    "empty: QEMU never ran, or the guest wrote nothing to the serial console")
    findings = scan(console_text) + scan(journal_text or "")
    by_kind: dict[str, list[Finding]] = {}
    for f in findings:
        by_kind.setdefault(f.what, []).append(f)
    if not by_kind and read:
        results.add("console", f"{' and '.join(read)} clean", True, "no kola failure pattern", "none")
    for what, found in by_kind.items():
        # the same event is often on the console and in the journal, in different words (the
        # console says a generator failed, the journal which key): show each distinct message once
        lines = list(dict.fromkeys(_TIMESTAMP.sub("", f.line) for f in found))
        results.add("console", what, False, f"no {what}", " | ".join(lines[:3]),
                    "\n".join(found[0].context) + ("\n...\n" + "\n".join(lines[3:]) if lines[3:] else ""))
    return findings


_TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s*|^[A-Z][a-z]{2} \d+ \d\d:\d\d:\d\d \S+ ")


ADDED = "added by the test"
NOT_EXERCISED = "not exercised"


def not_run(results: Results, name: str, asked: str, why: str) -> None:
    """A row for a check that could not run, and why: shown as NOT RUN, never as passed."""
    results.add(NOT_EXERCISED, name, True, asked, f"NOT RUN: {why}")


def read_journal(guest: Shell, results: Results) -> str | None:
    """This boot's journal (`journalctl -b`), or None with a failed row "journal read" saying why
    (journalctl's exit status and stderr, or no entries): a journal not read is never called clean."""
    status, out = guest.sh("journalctl -b -o short --no-pager", timeout=180)
    if status == 0 and out.strip() and out.strip() != "-- No entries --":
        return out
    why = f"journalctl exited with status {status}" if status else "journalctl printed no entries"
    stderr = (getattr(guest, "last_stderr", "") or "").strip()
    results.add("console", "journal read", False, "this boot's journal (journalctl -b)",
                why + (f": {stderr[:200]}" if stderr else ""))
    return None


def note_additions(additions: list[Addition], results: Results,
                   limits: list[tuple[str, str, str]] = ()) -> None:
    """Rows that say what the harness added to the config or could not exercise; never silent."""
    for a in additions:
        results.add(ADDED, a.what, True, a.where, a.detail)
    for name, asked, happens in limits:
        results.add(NOT_EXERCISED, name, True, asked, happens)


def check_server(guest: Shell, exp: Expectations, results: Results, timeout: float = 300,
                 port_wait: float = PORT_WAIT, mark: Callable[[str], object] = lambda m: None) -> Results:
    """The checks of a running server, read-only (systemctl, podman ps, findmnt,
    stat, ss and TCP connects; nothing is started or changed): system running,
    every service active with its container up, boot jobs ran, timers
    scheduled, manual jobs not enabled, data volume mounted with its
    directories, env files 0600, ports accepting connections (each given up to
    `port_wait` seconds). Shared by the boot test (run_all) and the rollout's
    post-deploy checks on a live server (stoker.rollout.live)."""
    check_system_running(guest, results, timeout)
    mark("system settled")
    check_units(guest, exp, results)
    check_containers(guest, exp, results)
    check_mounts(guest, exp, results)
    check_secrets(guest, exp, results)
    check_ports(guest, exp, results, wait=port_wait)
    mark("ports checked")
    return results


def run_all(guest: Shell, exp: Expectations, console: Callable[[], str], additions: list[Addition],
            limits: list[tuple[str, str, str]] = (), timeout: float = 300, port_wait: float = PORT_WAIT,
            mark: Callable[[str], object] = lambda m: None) -> Results:
    results = Results()
    note_additions(additions, results, limits)
    check_ignition(guest, results)
    check_server(guest, exp, results, timeout, port_wait, mark)
    check_console(console(), read_journal(guest, results), results)
    mark("checks done")
    return results
