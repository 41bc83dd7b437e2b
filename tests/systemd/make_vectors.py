"""Regenerate vectors.json: systemd's own verdicts on the inputs below.

    .venv/bin/python tests/systemd/make_vectors.py     (needs systemd-analyze)

Calendar expressions go to `systemd-analyze calendar` and time spans to `systemd-analyze
timespan`, with TZ=UTC (the local time of Fedora CoreOS). Unit names that can be file
names go to `systemd-analyze verify`; the others (too long, "/", empty) get the verdict of
unit_name_is_valid()'s rules and say so. The file records the systemd version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import systemd_analyze_runner as analyze  # noqa: E402

OUT = Path(__file__).with_name("vectors.json")

CALENDAR_INPUTS = [
    # What operators write.
    "daily", "weekly", "monthly", "hourly", "minutely", "yearly", "annually", "quarterly",
    "semiannually", "semi-annually", "biannually", "bi-annually", "anually", "DAILY", "Weekly",
    "daily UTC", "daily Europe/Berlin", "weekly Pacific/Auckland", "hourly utc",
    "Mon *-*-* 23:00:00", "*-*-* 07,13:00:00", "*-*-* 07,13:00:00 UTC", "Mon..Fri 08:00",
    "Mon..Fri *-*-* 08:00:00", "*-*-1/2 12:00", "*-02~03", "Sat,Sun *-*-* 10:00:00 Europe/Berlin",
    "2026-11-30 07:00", "*:0/15", "12:00", "Mon", "Mon,Wed..Fri", "*-*-* 02:30:00",
    "*-*-01 04:00:00", "Sun *-*-* 03:00:00", "*-*-* *:00/5:00", "*:0/10", "*:00/30", "*-*-* 6:00",
    "Mon,Thu 05:30", "Mon..Sat 22:00 Europe/London", "*-01-01 00:00:00", "*-*-* 00/6:00:00",
    # Operators' mistakes.
    "daily at 8", "*-*-* 25:00:00", "every day", "08:00 daily", "Mon-Fri at 9", "9am", "8pm",
    "*/15 * * * *", "0 3 * * *", "*:*/15", "*/2:00", "10min", "1h", "today", "tomorrow", "now",
    "yesterday", "+5min", "Mond", "Monday..Friday", "Fri..Mon", "Sun..Sat", "*-*-* 24:00:00",
    "*-*-* 23:60:00", "*-*-* 23:59:60", "*-13-01", "*-00-01", "*-*-32", "*-*-00", "2026-02-30",
    "*-*-* 12:00 ", " daily", "daily ", "12:00 cet", "12:00 Europe/Berln", "Europe/Berlin 12:00",
    "12:00 Mars/Olympus", "12:00 EST5", "daily  UTC", "hourly 12:00", "Mon 12:00 Tue", "7", "*",
    "12", "12:00:00:00", "2026-11-30T07:00:00", "2026/11/30", "30.11.2026", "12.30", "12h30",
    # Weekdays.
    "Monday", "MONDAY", "mOn", "tuesday", "Wed", "thu", "Friday", "sat", "SUNDAY",
    "Mon..Sun", "Mon..Sat,Sun", "Sat,Thu,Mon-Wed,Sat-Sun", "Sat,Thu,Mon..Wed,Sat..Sun",
    "Mon,Sun 12-*-* 2,1:23", "Wed *-1", "Wed..Wed,Wed *-1", "Wed, 17:48", "Wed..Sat,Tue 12-10-15 1:2:3",
    "Mon,Tue", "Mon,Tue,Wed", "Mon,Wed,Fri", "Mon-Fri", "mon-FRIDAY", "Sat..Sun,Mon", "Mon..Tue..Wed",
    "Mon-", "Mon..", "Mon.Tue", "Mon,,Tue", "Mon,12:00", "Mon, 12:00", "Mon ,Tue", "Mon  12:00",
    " Mon", "Mo", "Monx", "Mon5", "Mon-Tue-Wed", "Mon,Fri *-*-3,1,2 *:30:45", "mon,fri *-1/2-1,3 *:30:45",
    "Thu,Fri 2012-*-1,5 11:12:13", "monday *-12-* 17:00",
    # Dates.
    "*-*-7 0:0:0", "10-15", "03-05 08:05:40", "2003-03-05 05:40", "2003-03-05", "03-05",
    "2003-02..04-05", "Sat,Sun 12-05 08:05:40", "12-10-15", "69-01-01", "70-01-01", "99-12-31",
    "100-01-01", "1969-12-31", "1970-01-01", "2199-12-31 23:59:59", "2200-01-01", "0..69-01-01",
    "2020..2030/2-01-01", "*-*-*", "*-*", "*-*-* *:*:*", "*-*-*-*", "2003-03-05 ", "2003-03-05  12:00",
    "*-1..3-1", "*-1,1,1-1", "*-*-1..31/10", "*-*-1..5/3", "*-*-1..2/3", "*-*-5..5", "*-*-10..5",
    "*-*-1/31", "*-*-1/30", "*-*-25/7", "*-*-24/7", "2003-03-05.23 00:00:00", "2003~03-05",
    "2016~11-22", "10-15:00", "2003-03-05:12:00",
    # End of month.
    "*-*~1", "*-*~01 Utc", "*-*~05,3 ", "*-*~* 00:00:00", "*-*~*", "*-02~01", "*-*~28", "*-*~29",
    "Mon *-05~07/1", "Mon 2017-05~01..07 UTC", "*-*~1..7/2", "*-*~7..1", "*-*~5/5", "*-*~5/4",
    "2016-02~01 UTC",
    # chain_valid() takes 3 days off the "~" limit per list entry.
    "*-*~1,2,3,4,5,6,7", "*-*~1,2,3,4,5,6,7,8", "*-*~18/1,24", "*-*~15,18/1,24", "*-*~1,25",
    "*-*~1,26", "*-*-1,2,3,4,5,6,7,8,9,10,31",
    # Times, seconds, fractions.
    "08:05:40", "05:40", "1:2", "0:0", "*:*", "*:*:*", "*:00", "12:*", "12:*:*", "*:2/3", "*:20/15",
    "*:50/15", "*:45/15", "*:44/15", "*:0/59", "*:0/60", "9..11,13:00,30", "12..14:10,20,30",
    "12,14,13,12:20,10,30", "1..3-1..3 1..3:1..3", "0..23/2:00", "1..5/2:00", "1..5/3:00", "1..2/3:00",
    "5..5:00", "10..5:00", "12:00:00.5", "12:00:00.000001", "12:00:00.0000005", "12:00:00.0000004",
    "*:*:59.9999995", "*:*:59.9999994", "*:*:0/0.5", "*:*:0/0.0000001", "*:*:00/0.00000001",
    "00:00:1.125..2.125", "00:00:1.0..3.8", "00:00:00.0..00.9", "00:00:00.0..00.9/0.1",
    "05:40:23.4200004/3.1700005", "2016-03-27 03:17:00.4200005", "2016-03-27 03:17:00/0.42",
    "*:*:*.5", "12:00:00.", "12:00:.5", "12.5:00", "12:00.5", "*:*:0..59/10", "*:*:60", "*:*:59",
    "1..:00", "1/:00", "1/0:00", "12:00:00 UTC", "12:00 ", "12:", ":00", "12::00",
    # Time zones.
    "2003-03-05 05:40 UTC", "2015-10-25 01:00:00 uTc", "*-*-* 12:00:00 utc", "12:00 GMT",
    "12:00 Etc/UTC", "12:00 Etc/GMT+5", "12:00 Europe/berlin", "12:00 America/New_York",
    "12:00 Asia/Kolkata", "12:00 Europe/Berlin UTC", "12:00 UTC Europe/Berlin", "UTC", " UTC",
    "Europe/Berlin", "12:00 /UTC", "12:00 Europe//Berlin", "Mon Europe/Berlin", "12:00 Asia",
    "12:00 CET", "daily CET", "12:00 posix/Europe/Berlin", "12:00 right/UTC",
    # @SECONDS.
    "@0", "@1234", "@ 5", "@+5", "@-0", "@-1", "@5 UTC", "@5 Europe/Berlin", "Mon @5", "@5 12:00",
    "@7258118399", "@7258118400", "@", "@x", "@1.5",
    # Degenerate inputs.
    "", " ", "   ", "\t", "daily\t", "test", "121212:1:2", "*-*-* 12:00:00 extra", "Mon,",
    "12,,13:00", ",12:00", "12,:00", "0,0,0,0:00",
]

TIMESPAN_INPUTS = [
    "10min", "1h 30min", "1h30min", "90", "90s", "5min", "30s", "2h", "1d", "1w", "1M", "1y",
    "ten minutes", "10 minutes", "10 min", "10mins", "10 Min", "1.5", ".5", ".", "5.", "5.s", "+5",
    "-5", "-0", "5 x", "5x", "5secs", "5 sec5", "1month", "1 months", "1.5min", "1.55min",
    "infinity", " infinity ", "infinityx", "Infinity", "infinity 5s", "0", "", " ",
    "5\u00b5s", "5\u03bcs", "5us", "5usec", "5ms", "5msec", "5m", "5M", "1.0000001s", "1.9999999s",
    "18446744073709551615", "18446744073709551614us", "9223372036854775807us", "584542y",
    "1y 1M 1w 1d 1h 1min 1s 1ms 1us", "59.5s", "61.5s", "0.5ms", "1.25ms", "123456789us", "3.25 s",
    "1 2 3", "2 h", "2hours", "48hr", "1y 12month", "55s500ms", "300ms20s 5day", "1.2.3",
    "12.34 .56", "12.34s.56", "5 seconds", "1second", "2weeks", "3days", "4years", "1hour",
    "1 hr", "5 s 5", "\t5", "5\t", "1e3", "0x10", "1h-5min", "5min ago", "1,5s",
]

UNIT_NAMES = [
    "backup.service", "ims-updates.service", "tracker.timer", "foo@bar.service", "foo@.service",
    "@foo.service", "foo@bar@baz.service", "foo", "foo.", ".service", "foo.Service", "foo.container",
    "foo.network", "foo.txt", "a b.service", "foo:bar.service", "foo_bar-baz.service",
    "foo\\x2dbar.service", "d\u00e9j\u00e0.service", "foo+bar.service", "foo,bar.service",
    "-.mount", "-.slice", "dev-sda1.device", "a.automount", "a.swap", "a.path", "a.socket",
    "a.target", "a.scope", "x" * 247 + ".service", "x" * 240 + "@i.service",
    # Not file names on Linux (too long, a "/", empty): unit_name_is_valid()'s rules.
    "x" * 248 + ".service", "x" * 270 + ".service", "foo/bar.service", "",
]


def _dump(data: dict) -> str:
    """JSON with one vector per line, so a regenerated file diffs line by line."""
    lines = ["{"]
    items = list(data.items())
    for n, (key, value) in enumerate(items):
        comma = "," if n + 1 < len(items) else ""
        if isinstance(value, list):
            lines.append(f" {json.dumps(key)}: [")
            lines += [f"  {json.dumps(v, ensure_ascii=False)}{',' if m + 1 < len(value) else ''}"
                      for m, v in enumerate(value)]
            lines.append(f" ]{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    return "\n".join(lines + ["}"]) + "\n"


def main() -> int:
    if not analyze.available():
        print("systemd-analyze is not installed here", file=sys.stderr)
        return 1
    calendar = [{"input": text, **verdict}
                for text, verdict in zip(CALENDAR_INPUTS, analyze.calendar(CALENDAR_INPUTS))]
    timespan = [{"input": text, **verdict}
                for text, verdict in zip(TIMESPAN_INPUTS, analyze.timespan(TIMESPAN_INPUTS))]
    as_files = [n for n in UNIT_NAMES if n and "/" not in n and len(n.encode()) <= 255]
    checked = dict(zip(as_files, analyze.unit_names(as_files)))
    units = []
    for name in UNIT_NAMES:
        if name in checked:
            units.append({"input": name, **checked[name], "source": "systemd-analyze verify"})
        else:
            # The rules are in unit_name_is_valid(): at most 255 bytes, no "/", not empty.
            units.append({"input": name, "valid": False, "source": "unit_name_is_valid rules"})
    data = {
        "systemd": analyze.version(),
        "generated_by": "tests/systemd/make_vectors.py",
        "TZ": "UTC",
        "calendar": calendar,
        "timespan": timespan,
        "unit_names": units,
    }
    OUT.write_text(_dump(data))
    print(f"{OUT}: {len(calendar)} calendar expressions, {len(timespan)} time spans, "
          f"{len(units)} unit names ({data['systemd']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
