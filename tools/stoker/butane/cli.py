"""`stoker butane`: a drop-in for the official butane CLI (fcos, flatcar, r4e,
fiot and openshift variants; see specs.py). openshift writes a MachineConfig in
YAML, or with -r/--raw the Ignition JSON inside it."""

from __future__ import annotations

import sys

from ..fileio import write_atomic
from . import STRICT_FAILED, render, translate
from .resources import go_os_error


def register(sub) -> None:
    p = sub.add_parser(
        "butane", help="translate a Butane config to Ignition (drop-in for the butane CLI)",
        description="Translate a Butane config (fcos 1.0.0-1.8.0-experimental, flatcar, "
                    "r4e, fiot) to Ignition JSON, or an openshift one (4.8.0-4.23.0-"
                    "experimental) to a MachineConfig (Ignition JSON with --raw). Exit "
                    "codes: 0 success, 1 translation error (or warnings under --strict), "
                    "2 usage error.")
    p.add_argument("input", nargs="?", metavar="INPUT", help="Butane file (default: stdin)")
    p.add_argument("--strict", "-s", action="store_true", help="fail on any warning")
    p.add_argument("--pretty", "-p", action="store_true", help="indent the output JSON")
    p.add_argument("--files-dir", "-d", metavar="DIR",
                   help="allow local file references relative to DIR")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--check", "-c", action="store_true", help="check the config only")
    p.add_argument("--raw-errors", action="store_true",
                   help="report one line per problem, without source context")
    p.add_argument("--raw", "-r", action="store_true", help="openshift: write the Ignition "
                   "config instead of a MachineConfig (other variants ignore it)")
    p.add_argument("--version", "-V", action="store_true", help="print the version and exit")
    p.set_defaults(func=run)


# The official tool prints "Fedora CoreOS Config Transpiler" and its release
# (butane internal/version/version.go); stoker follows v0.29.0's semantics.
OFFICIAL_RELEASE = "v0.29.0"


def _output_mode(path: str) -> int:
    """As the official tool opens -o (O_CREATE|O_TRUNC, 0644): an existing file
    keeps its mode; a new one gets 0644 less the umask."""
    import os
    import stat

    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o644 & ~umask


def run(args) -> int:
    if args.version:
        from .. import __version__

        print(f"Fedora CoreOS Config Transpiler {OFFICIAL_RELEASE} (stoker {__version__}, pure Python)")
        return 0
    if args.input is None:
        filename, data = "<stdin>", sys.stdin.buffer.read()
    else:
        filename = args.input
        try:
            with open(args.input, "rb") as f:
                data = f.read()
        except OSError as exc:
            print(f"failed to open {filename}: {go_os_error('open', filename, exc)}",
                  file=sys.stderr)
            return 1
    result = translate(data, files_dir=args.files_dir, strict=args.strict, filename=filename,
                       raw=args.raw)
    if result.report:
        text = data.decode("utf-8", errors="replace")
        sys.stderr.write(render.raw(result.report.entries) if args.raw_errors
                         else render.pretty(result.report.entries, text, filename))
    if result.error == STRICT_FAILED:
        print(STRICT_FAILED, file=sys.stderr)
        return 1
    if not result.ok:
        print(f"Error translating config: {result.error}", file=sys.stderr)
        return 1
    if args.check:
        return 0
    output = result.output(pretty=args.pretty) + "\n"
    if args.output:
        try:
            write_atomic(args.output, output.encode("utf-8"), _output_mode(args.output))
        except OSError as exc:
            print(f"failed to write output file: {go_os_error('open', args.output, exc)}",
                  file=sys.stderr)
            return 1
    else:
        sys.stdout.write(output)
        sys.stdout.flush()
    return 0
