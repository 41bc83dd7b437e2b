"""Secret values: from a secrets file (YAML vm → name → value), the environment,
or — in dev mode only — throwaway values.

Values never leave this module except as env-file contents for the Ignition
config: errors name the VM and the variable, never a value, and `Secret`
hides itself in reprs so a traceback cannot show one.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import StokerError
from .errors import WARNING, FleetError, Problem

ENV_FILE_VAR = "STOKER_SECRETS"
DEV_VAR = "STOKER_DEV_SECRETS"
DEV_PREFIX = "dev-insecure-"
DEV_MARKER = "/etc/stoker/DEV-SECRETS-INSECURE"


def env_var_name(vm: str, name: str) -> str:
    """STOKER_SECRET_<VM>_<NAME>, the VM upper-cased with - as _ (ims-staging → IMS_STAGING)."""
    return f"STOKER_SECRET_{re.sub(r'[^A-Za-z0-9]', '_', vm).upper()}_{name}"


class Secret(str):
    def __repr__(self) -> str:
        return "<secret>"


@dataclass
class Secrets:
    """Where values come from; `values_for` resolves one VM's names."""

    file_values: dict[str, dict[str, str]]
    environ: dict[str, str]
    dev: bool = False
    source: str = "environment"
    marks: object = None  # positions in the secrets file (stoker.fleet.located.Marks), when there is one

    def origin(self, vm: str, name: str) -> str:
        """Where the value of one secret comes from, for messages (never the value)."""
        var = env_var_name(vm, name)
        if var in self.environ:
            return f"environment variable {var}"
        where = self.marks.value((vm, name)) if self.marks is not None else None
        return f"{where[0]}:{where[1]}:{where[2]}" if where else self.source

    def lookup(self, vm: str, name: str) -> str | None:
        var = env_var_name(vm, name)
        if var in self.environ:
            return Secret(self.environ[var])
        value = self.file_values.get(vm, {}).get(name)
        if value is not None:
            return Secret(str(value))
        if self.dev:
            digest = hashlib.sha256(f"{vm}/{name}".encode()).hexdigest()[:20]
            return Secret(DEV_PREFIX + digest)
        return None

    def uses_dev_values(self, vm: str, names) -> bool:
        return self.dev and any(
            env_var_name(vm, n) not in self.environ and self.file_values.get(vm, {}).get(n) is None
            for n in names)


def load_secrets(path: str | Path | None = None, *, environ: dict[str, str] | None = None,
                 dev: bool = False) -> Secrets:
    environ = dict(os.environ if environ is None else environ)
    if path is None and environ.get(ENV_FILE_VAR):
        path = environ[ENV_FILE_VAR]
    if not dev and environ.get(DEV_VAR, "").lower() in ("1", "true", "yes"):
        dev = True
    values: dict[str, dict[str, str]] = {}
    source = "environment"
    marks = None
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StokerError(f"cannot read secrets file {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise FleetError(Problem(str(path), None, None, f"not UTF-8 text (byte {exc.start})")) from None
        data, marks = _parse(text, str(path))
        for vm, names in data.items():
            if not isinstance(names, dict):
                if names is not None:
                    raise FleetError(_at(marks, (vm,), str(path), f"{vm}: expected a mapping NAME: value"))
                continue
            for name, value in names.items():
                if value is None:
                    continue
                if isinstance(value, (dict, list)):
                    raise FleetError(_at(marks, (vm, name), str(path), f"{vm}.{name}: expected a single value"))
                # The value as written: YAML 1.1 would read 0123 as 83, 0x1F as 31, yes as true.
                text = marks.texts.get((vm, name), value if isinstance(value, str) else str(value))
                values.setdefault(str(vm), {})[str(name)] = text
        source = str(path)
    return Secrets(values, environ, dev, source, marks if path is not None else None)


def _parse(text: str, file: str) -> tuple[dict, object]:
    """The secrets file as {vm: {NAME: value}} with positions. A YAML error keeps
    only its position: PyYAML's message may quote the text, which is a secret."""
    from .located import load

    try:
        data, marks = load(text, file)
    except FleetError as exc:
        raise FleetError([Problem(p.file, p.line, p.column, _safe(p.message)) for p in exc.problems]) from None
    if data is None:
        return {}, marks
    if not isinstance(data, dict):
        raise FleetError(Problem(file, 1, 1, "expected a mapping of VM name → {NAME: value}"))
    return data, marks


def _safe(message: str) -> str:
    """A YAML problem in words that cannot quote the file (PyYAML's own may)."""
    if message.startswith("YAML merge keys") or message.startswith("duplicate key"):
        return message
    if message.startswith("YAML tag"):
        return "YAML tags (!!binary, !tag) are not supported in a secrets file: write the value as text"
    return "not valid YAML"


def _at(marks, path: tuple, file: str, message: str) -> Problem:
    return Problem.at(marks.value(path), file, message)


def values_for(secrets: Secrets, vm, names_by_container) -> dict[str, dict[str, str]]:
    """{container: {NAME: value}}; every missing value is an error naming the VM and the variable."""
    out: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    reported: set[str] = set()
    for c in names_by_container:
        values = {}
        for i, name in enumerate(c.secrets):
            value = secrets.lookup(vm.name, name)
            if value is None:
                if name in reported:
                    continue
                reported.add(name)
                w = vm.where(c.path + ("secrets", i))
                problems.append(Problem(
                    w[0] if w else vm.file, w[1] if w else None, w[2] if w else None,
                    f"secret {name} of VM {vm.name} is not defined (set {vm.name}.{name} in "
                    f"{secrets.source if secrets.marks is not None else 'the secrets file'} "
                    f"or {env_var_name(vm.name, name)}; --dev-secrets fills throwaway values)"))
            elif not _utf8(value):
                if name not in reported:
                    reported.add(name)
                    problems.append(Problem.at(vm.where(c.path + ("secrets", i)), vm.file,
                                               f"secret {name} of VM {vm.name} (from {secrets.origin(vm.name, name)}) "
                                               "is not UTF-8 text"))
            elif "\n" in value or "\r" in value:
                if name not in reported:
                    reported.add(name)
                    problems.append(Problem.at(vm.where(c.path + ("secrets", i)), vm.file,
                                               f"secret {name} of VM {vm.name} (from {secrets.origin(vm.name, name)}) "
                                               "contains a line break, which an environment file cannot hold"))
            else:
                values[name] = value
        out[c.name] = values
    if problems:
        raise FleetError(problems)
    return out


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a \ud800 escape in YAML)
        return False
    return True


def file_values_for(secrets: Secrets, vm) -> dict[str, str]:
    """{secret file path: its contents} for the VM's secret files; a missing value
    is an error at the file's definition line. Values may span lines; a dev value
    ends with a line break, as a file does."""
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for name, sf in sorted(vm.secret_files.items()):
        value = secrets.lookup(vm.name, name)
        if value is None:
            problems.append(Problem.at(vm.where(sf.definition), vm.file,
                                       f"secret file {name} of VM {vm.name} is not defined (set {vm.name}.{name} in "
                                       f"{secrets.source if secrets.marks is not None else 'the secrets file'}, a "
                                       f"multi-line YAML value, or {env_var_name(vm.name, name)})"))
            continue
        if not _utf8(value):
            problems.append(Problem.at(vm.where(sf.definition), vm.file, f"secret file {name} of VM {vm.name} (from "
                                                                         f"{secrets.origin(vm.name, name)}) is not UTF-8 text"))
            continue
        out[sf.path] = value + "\n" if secrets.uses_dev_values(vm.name, [name]) else str(value)
    if problems:
        raise FleetError(problems)
    return out


def unused_secret_problems(secrets: Secrets, fleet) -> list[Problem]:
    """Warnings for what the secrets file holds that no VM asks for: a misspelt
    VM or secret name is otherwise silently ignored (and the VM then fails for
    the secret it does not find)."""
    import difflib

    if secrets.marks is None:
        return []
    problems = []

    def hint(word, choices):
        m = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
        return f"; did you mean {m[0]!r}?" if m else ""

    for vm, names in secrets.file_values.items():
        if vm in fleet.broken:
            continue
        if vm not in fleet.vms:
            problems.append(Problem.at(secrets.marks.key((vm,)), secrets.source,
                                       f"VM {vm!r} is not in the fleet{hint(vm, fleet.names)}", WARNING))
            continue
        wanted = fleet.vms[vm].secret_names()
        for name in names:
            if name not in wanted:
                problems.append(Problem.at(secrets.marks.key((vm, name)), secrets.source,
                                           f"{vm}.{name} is not a secret of VM {vm}{hint(name, wanted)}", WARNING))
    return problems


def example(fleet) -> str:
    """secrets.example.yaml: every VM's secret names, no values."""
    lines = ["# Every secret the fleet needs, by VM; copy to a file outside git, fill in,",
             "# and pass it with --secrets FILE or STOKER_SECRETS=FILE.",
             "# Generated by `stoker secrets-example`; a test checks it is up to date."]
    for name, vm in sorted(fleet.vms.items()):
        names = vm.secret_names()
        if not names:
            lines.append(f"{name}: {{}}")
            continue
        lines.append(f"{name}:")
        lines += [f"  {n}:" for n in names]
    return "\n".join(lines) + "\n"
