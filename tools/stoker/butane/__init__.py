"""Pure-Python Butane -> Ignition, for the specs of specs.py: fcos 1.0.0-1.7.0 and
1.8.0-experimental, flatcar, r4e, fiot (Ignition 3.0.0-3.7.0-experimental) and
openshift 4.8.0-4.22.0 and 4.23.0-experimental (a MachineConfig, or with
`raw=True` the Ignition config inside it).

    result = translate(text, files_dir="files")
    if result.ok:
        print(result.output(pretty=True))   # what the CLI prints
        print(result.to_json(pretty=True))  # the Ignition JSON, for any variant
    for entry in result.report:
        print(entry.raw())

The stages follow the official tool (SPEC §0; SPEC-VARIANTS §2): YAML and
version checks, unused keys, source validation, translation (for openshift with
its own steps and the RHCOS/MCO checks), the variant's field filters, then
Ignition's validation of the output. Every report entry carries the YAML path
and the line and column it points at.
"""

from __future__ import annotations

import re

from ..report import Entry, Report
from ..ignition import validate as ignition_validate
from . import jsonout
from .decode import Decoder, Fatal
from ..ignition.messages import DUPLICATE, NOT_AN_OBJECT
from . import specs
from .schema import CONFIG, STR, F, Struct, go_packages
from .source import YamlError, compose, key_position, position
from .translate import Translator
from .validate import SourceValidator

__all__ = ["translate", "Result", "TranslateError"]

HEAD = Struct("commonFields", [F("variant", STR), F("version", STR)])  # config/config.go
HEAD_PACKAGES = {"commonFields": "config"}
SOURCE_INVALID = "source config is invalid"
OUTPUT_INVALID = "config generated was invalid"


class TranslateError(Exception):
    """Why translation failed, as the official tool words it after
    `Error translating config: `."""


class Result:
    """What translate() gives.

    config            the Ignition config; None when translation failed
    report            the Report of warnings and errors, with positions
    error             the failure, e.g. "source config is invalid"; None on success
    butane_version    the document's version text, once read
    ignition_version  the Ignition spec of the output, once the spec is known
    spec              the specs.Spec, once known
    machine_config    openshift without raw: the MachineConfig around `config`, as the
                      JSON-shaped dict the official tool marshals
                      (openshift.machine_config); else None
    """

    __slots__ = ("config", "report", "error", "butane_version", "ignition_version", "spec",
                 "machine_config")

    def __init__(self, config: dict | None, report: Report | None = None, error: str | None = None,
                 butane_version: str | None = None, ignition_version: str | None = None,
                 spec: specs.Spec | None = None, machine_config: dict | None = None) -> None:
        self.config = config
        self.report = Report() if report is None else report
        self.error = error
        self.butane_version = butane_version
        self.ignition_version = ignition_version
        self.spec = spec
        self.machine_config = machine_config

    def __repr__(self) -> str:
        return "Result(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")"

    @property
    def ok(self) -> bool:
        return self.error is None

    def output(self, *, pretty: bool = False) -> str:
        """What the official CLI prints (without the final newline): the
        MachineConfig YAML for openshift (`pretty` does not change it), else the
        Ignition JSON. Raises ValueError when translation failed."""
        if self.machine_config is not None:
            return self.to_yaml()
        return self.to_json(pretty=pretty)

    def to_yaml(self) -> str:
        """The openshift MachineConfig as the official tool writes it (without the
        final newline; config/util/util.go TranslateBytesYAML). Raises ValueError
        when there is none (a failed, raw or non-openshift translation)."""
        if self.machine_config is None:
            raise ValueError("no MachineConfig: " + (self.error or "not an openshift "
                                                     "translation without raw"))
        from . import openshift

        return openshift.machine_config_text(self.machine_config)

    def to_json(self, *, pretty: bool = False) -> str:
        """The Ignition JSON as the official tool prints it (without the newline);
        for openshift the config inside the MachineConfig, as `--raw` prints it."""
        if self.config is None:
            raise ValueError("translation failed: " + (self.error or ""))
        return jsonout.dumps(self.config, pretty=pretty,
                             level=self.spec.level if self.spec else None)


_IDENTIFIERS = re.compile(r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*")
_GO_INT = re.compile(r"[0-9]+")


def _semver(text) -> str | None:
    """`text` as go-semver's Version.Set reads it, normalized as its String()
    prints it ("01.4.0" -> "1.4.0"), or None if it is not a valid semver. Facts
    (coreos/go-semver): build metadata is split off at the first "+", then the
    pre-release at the first "-"; both may be empty, else dot-separated
    [0-9A-Za-z-]+ identifiers; the rest must be three dot-separated
    strconv.ParseInt(…, 10, 64) numbers (leading zeros allowed; a sign cannot
    reach them, "+" and "-" having been split off)."""
    if not isinstance(text, str):
        return None
    core, _, metadata = text.partition("+")
    core, _, pre = core.partition("-")
    parts = core.split(".", 2)
    if len(parts) != 3 or any(x and not _IDENTIFIERS.fullmatch(x) for x in (pre, metadata)):
        return None
    numbers = []
    for part in parts:
        if not _GO_INT.fullmatch(part) or not -2**63 <= int(part) < 2**63:
            return None
        numbers.append(int(part))
    return "%d.%d.%d" % tuple(numbers) + (f"-{pre}" if pre else "") + (
        f"+{metadata}" if metadata else "")


def decode_input(data: bytes) -> str:
    """The input's text as libyaml's reader (yaml.v3 readerc.go) decodes it: UTF-16
    little- or big-endian when it starts with that byte order mark, else UTF-8.
    Raises UnicodeDecodeError."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")  # the mark picks the byte order and is dropped
    return data.decode("utf-8")


def translate(text: str | bytes, *, files_dir=None, strict: bool = False,
              filename: str = "<stdin>", raw: bool = False) -> Result:
    """Translate a Butane document. Never raises for bad input: failures are in
    `result.error` and `result.report`. Under `strict`, any report entry fails.

    For openshift, `result.config` is the Ignition config and, unless `raw`,
    `result.machine_config` the MachineConfig around it. `raw` (the CLI's
    -r/--raw) warns about the openshift fields it drops and skips the field
    filters, as the official tool does (SPEC-VARIANTS §7.6;
    config/openshift/v4_*/translate.go ToConfigBytes); other variants ignore it."""
    if isinstance(text, bytes):
        try:
            text = decode_input(text)
        except UnicodeDecodeError:
            from . import source, yamlerrors  # here: only bad input needs them

            if text[:2] in (b"\xff\xfe", b"\xfe\xff"):
                return Result(None, error="Error unmarshaling yaml: yaml: "
                              + yamlerrors.decoding_problem(text))
            error, text = yamlerrors.undecodable(text, source._compose_python)
            if error is not None:
                return Result(None, error=f"Error unmarshaling yaml: {error}")
    files_dir = None if files_dir is None or files_dir == "" else str(files_dir)  # "": unset, as officially
    try:
        root = compose(text)
    except YamlError as exc:
        return Result(None, error=f"Error unmarshaling yaml: {exc}")

    # Phase A: variant and version only.
    head_decoder = Decoder((99, 99), packages=HEAD_PACKAGES)
    try:
        head = head_decoder.decode(root, HEAD) or {}
    except Fatal as exc:
        return Result(None, error=f"Error unmarshaling yaml: {exc}")
    if head_decoder.errors:
        return Result(None, error="Error unmarshaling yaml: yaml: unmarshal errors:\n  "
                      + "\n  ".join(head_decoder.errors))
    variant, version_text = head.get("variant"), head.get("version")
    if not variant:
        return Result(None, error="error parsing variant; must be specified")
    version_text = _semver(version_text)
    if version_text is None:
        return Result(None, error="error parsing version; must be a valid semver")
    # The registry key is go-semver's String() of the version, build metadata included.
    if (variant, version_text) in specs.REMOVED:
        return Result(None, error=specs.REMOVED[variant, version_text])
    spec = specs.find(variant, version_text)
    if spec is None:
        return Result(None, error=f"No translator exists for variant {variant} with version "
                      f"{version_text}")
    version, ign_version = spec.level, spec.ignition
    result = Result(None, butane_version=version_text, ignition_version=ign_version, spec=spec)
    report = result.report

    # Phase B: the whole document, typed.
    decoder = Decoder(version, spec.variant, go_packages(spec.variant, spec.version, spec.level))
    try:
        value = decoder.decode(root, CONFIG) or {}
    except Fatal as exc:
        result.error = str(exc)
        return result
    if decoder.errors:
        result.error = "yaml: unmarshal errors:\n  " + "\n  ".join(decoder.errors)
        return result
    for kind, path in decoder.checks:
        if kind == "mismatch":
            line, col = position(root, path)
            where = "$" + "".join(f".{part}" for part in path)
            report.add("warning", path, NOT_AN_OBJECT.format(path=where), line, col)
        else:
            line, col = key_position(root, path)
            report.add("warning", path, f"unused key {path[-1]}", line, col)

    staged = Report()
    SourceValidator(spec, staged).run(value)
    _locate(staged, report, root)
    if staged.has_errors:
        result.error = SOURCE_INVALID
        return _finish(result, strict)

    machine = spec.openshift is not None and not raw  # the output is a MachineConfig
    # Paths the table does not map are reported as the official tool reports
    # them: below spec.config for a MachineConfig (config/util/util.go).
    unmapped = ("spec", "config") if machine else ()
    staged = Report()
    translator = Translator(spec, files_dir, staged, map_output_warnings=not machine)
    config = translator.translate(value)
    if spec.openshift is not None and not staged.has_errors:
        _openshift_steps(spec, translator, value, config, raw)
    _locate(staged, report, root)
    if staged.has_errors:
        result.error = SOURCE_INVALID
        return _finish(result, strict)

    # The variant's field filters, on the translated config. openshift's are
    # written below spec.config, so they never match a raw run's bare config.
    staged = Report()
    for out_path, message in (specs.apply_filters(spec, config)
                              if spec.openshift is None or machine else []):
        staged.error(translator.source_path(out_path, prefix=unmapped), message)
    _locate(staged, report, root)
    if staged.has_errors:
        result.error = SOURCE_INVALID
        return _finish(result, strict)

    staged = Report()
    output = jsonout.prune(config, level=spec.level)
    if machine:  # Ignition's duplicate check also walks the MachineConfig's spec lists
        from . import openshift  # here: only openshift needs it (and its YAML writer)

        for path in openshift.spec_duplicates(value):
            staged.error(path, DUPLICATE)
    for entry in ignition_validate(output, ign_version):
        staged.add(entry.kind, translator.source_path(tuple(entry.path or ()), prefix=unmapped),
                   entry.message)
    _locate(staged, report, root)
    if staged.has_errors:
        result.error = OUTPUT_INVALID
        return _finish(result, strict)
    result.config = output
    if machine:
        result.machine_config = openshift.machine_config(value, output)
    return _finish(result, strict)


def _openshift_steps(spec: specs.Spec, translator: Translator, value: dict, config: dict,
                     raw: bool) -> None:
    """openshift after the fcos translation, in the official order
    (SPEC-VARIANTS §7.3, §7.6): the grub rewrite (4.23), the FIPS cipher
    (4.8-4.19), the RHCOS/MCO checks, and under raw the ignored-field warnings.
    A raw run reports the checks at unmapped spec.config paths."""
    from . import openshift  # here: only openshift needs it (and its YAML writer)

    rules = spec.openshift
    if rules.grub_contents:
        openshift.rewrite_grub_append(translator, config)
    if rules.fips_cipher:
        openshift.add_fips_cipher(translator, value, config)
    for out_path, message in openshift.support_errors(spec, config):
        translator.report.error(translator.source_path(out_path, mapped=not raw,
                                                       prefix=("spec", "config")), message)
    if raw:
        for path in openshift.elided_fields(value):
            translator.report.warning(path, openshift.RAW_IGNORED)


STRICT_FAILED = "Config produced warnings and --strict was specified"


def _finish(result: Result, strict: bool) -> Result:
    if result.error is None and strict and result.report:
        result.error = STRICT_FAILED
        result.config = result.machine_config = None
    return result


def _locate(staged: Report, report: Report, root) -> None:
    """Give each entry the line and column of its YAML path."""
    for e in staged:
        if e.line is not None:  # placed already (entries of an inline child config)
            report.entries.append(e)
            continue
        line, col = position(root, e.path) if e.path is not None else (None, None)
        report.entries.append(Entry(e.kind, e.path, e.message, line, col))
