"""Pure-Python Butane -> Ignition, for the specs of specs.py: fcos 1.0.0-1.7.0 and
1.8.0-experimental, flatcar, r4e and fiot (Ignition 3.0.0-3.7.0-experimental).

    result = translate(text, files_dir="files")
    if result.ok:
        print(result.to_json(pretty=True))
    for entry in result.report:
        print(entry.raw())

The stages follow the official tool (SPEC §0): YAML and version checks, unused
keys, source validation, translation, then Ignition's validation of the output.
Every report entry carries the YAML path and the line and column it points at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..report import Entry, Report
from ..ignition import validate as ignition_validate
from . import jsonout
from .decode import Decoder
from ..ignition.messages import NOT_AN_OBJECT
from . import specs
from .schema import CONFIG, STR, F, Struct
from .source import YamlError, compose, key_position, position
from .translate import Translator
from .validate import SourceValidator

__all__ = ["translate", "Result", "TranslateError"]

HEAD = Struct("Config", [F("variant", STR), F("version", STR)])
SOURCE_INVALID = "source config is invalid"
OUTPUT_INVALID = "config generated was invalid"


class TranslateError(Exception):
    """Why translation failed, as the official tool words it after
    `Error translating config: `."""


@dataclass
class Result:
    config: dict | None  # the Ignition config; None when translation failed
    report: Report = field(default_factory=Report)
    error: str | None = None  # the failure, e.g. "source config is invalid"
    butane_version: str | None = None
    ignition_version: str | None = None
    spec: specs.Spec | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self, *, pretty: bool = False) -> str:
        """The Ignition JSON as the official tool prints it (without the newline)."""
        if self.config is None:
            raise ValueError("translation failed: " + (self.error or ""))
        return jsonout.dumps(self.config, pretty=pretty,
                             level=self.spec.level if self.spec else None)


def _semver(text) -> tuple[int, int, int, str] | None:
    m = re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?"
                     r"(?:\+[0-9A-Za-z.-]+)?", text or "")
    if not m:
        return None
    return int(m[1]), int(m[2]), int(m[3]), m[4] or ""


def translate(text: str | bytes, *, files_dir=None, strict: bool = False,
              filename: str = "<stdin>") -> Result:
    """Translate a Butane document. Never raises for bad input: failures are in
    `result.error` and `result.report`. Under `strict`, any report entry fails."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Result(None, error=f"Error unmarshaling yaml: yaml: invalid UTF-8 at byte "
                          f"{exc.start}")
    files_dir = None if files_dir is None else str(files_dir)
    try:
        root = compose(text)
    except YamlError as exc:
        return Result(None, error=f"Error unmarshaling yaml: {exc}")

    # Phase A: variant and version only.
    head_decoder = Decoder((99, 99))
    head = head_decoder.decode(root, HEAD) or {}
    if head_decoder.errors:
        return Result(None, error="Error unmarshaling yaml: yaml: unmarshal errors:\n  "
                      + "\n  ".join(head_decoder.errors))
    variant, version_text = head.get("variant"), head.get("version")
    if not variant:
        return Result(None, error="error parsing variant; must be specified")
    semver = _semver(version_text)
    if semver is None:
        return Result(None, error="error parsing version; must be a valid semver")
    # The registry key is the semver string: build metadata is part of it, and
    # _semver accepts no leading zeros, so the text is already go-semver's String().
    if (variant, version_text) in specs.REMOVED:
        return Result(None, error=specs.REMOVED[variant, version_text])
    if (variant, version_text) in specs.NOT_IMPLEMENTED:
        return Result(None, error=f"stoker does not implement the {variant} variant "
                      f"(version {version_text}); use the official butane")
    spec = specs.find(variant, version_text)
    if spec is None:
        return Result(None, error=f"No translator exists for variant {variant} with version "
                      f"{version_text}")
    version, ign_version = spec.level, spec.ignition
    result = Result(None, butane_version=version_text, ignition_version=ign_version, spec=spec)
    report = result.report

    # Phase B: the whole document, typed.
    decoder = Decoder(version, spec.variant)
    value = decoder.decode(root, CONFIG) or {}
    if decoder.errors:
        result.error = "yaml: unmarshal errors:\n  " + "\n  ".join(decoder.errors)
        return result
    for path in decoder.mismatched:
        line, col = position(root, path)
        where = "$" + "".join(f".{part}" for part in path)
        report.add("warning", path, NOT_AN_OBJECT.format(path=where), line, col)
    for path in decoder.unused:
        line, col = key_position(root, path)
        report.add("warning", path, f"unused key {path[-1]}", line, col)

    staged = Report()
    SourceValidator(spec, staged).run(value)
    _locate(staged, report, root)
    if staged.has_errors:
        result.error = SOURCE_INVALID
        return _finish(result, strict)

    staged = Report()
    translator = Translator(spec, files_dir, staged)
    config = translator.translate(value)
    _locate(staged, report, root)
    if staged.has_errors:
        result.error = SOURCE_INVALID
        return _finish(result, strict)

    # The variant's field filters (flatcar, r4e, fiot), on the translated config.
    staged = Report()
    for out_path, message in specs.apply_filters(spec, config):
        staged.error(translator.source_path(out_path), message)
    _locate(staged, report, root)
    if staged.has_errors:
        result.error = SOURCE_INVALID
        return _finish(result, strict)

    staged = Report()
    output = jsonout.prune(config, level=spec.level)
    for entry in ignition_validate(output, ign_version):
        staged.add(entry.kind, translator.source_path(tuple(entry.path or ())), entry.message)
    _locate(staged, report, root)
    if staged.has_errors:
        result.error = OUTPUT_INVALID
        return _finish(result, strict)
    result.config = output
    return _finish(result, strict)


STRICT_FAILED = "Config produced warnings and --strict was specified"


def _finish(result: Result, strict: bool) -> Result:
    if result.error is None and strict and result.report:
        result.error = STRICT_FAILED
        result.config = None
    return result


def _locate(staged: Report, report: Report, root) -> None:
    """Give each entry the line and column of its YAML path."""
    for e in staged:
        if e.line is not None:  # placed already (entries of an inline child config)
            report.entries.append(e)
            continue
        line, col = position(root, e.path) if e.path is not None else (None, None)
        report.entries.append(Entry(e.kind, e.path, e.message, line, col))
