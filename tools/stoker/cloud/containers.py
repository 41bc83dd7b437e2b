"""The containers an Ignition config runs, as the plan reads them: Quadlet
files it writes and `podman run` / `docker run` command lines in its units.

Quadlet files sit under …/containers/systemd/ (podman-systemd.unit(5),
"Search paths"), named NAME.KIND with drop-ins in NAME.KIND.d/*.conf that
are read after the file itself. Keys are read per section as Podman reads
them (stoker.podman.unitfile); a key given twice keeps every value (Volume=,
PublishPort=… are lists). A file Podman could not read is left out (the
validation that runs before every plan refuses it).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from .diff import _files, _is_text, _units

_QUADLET_FILE = re.compile(
    r"/containers/systemd/(?:users/)?(?:[^/]+/)*?([^/]+)\.(container|pod|volume|network|kube|image|build)"
    r"(?:\.d/[^/]+\.conf)?$")


@dataclass(frozen=True)
class QuadletFile:
    path: str                            # the file itself (drop-ins are merged into it)
    name: str                            # NAME of NAME.KIND
    kind: str                            # container | pod | volume | network | kube | image | build
    entries: tuple[tuple[str, str, str], ...]  # (section, key, value), file first, then drop-ins by name

    def values(self, section: str, key: str) -> list[str]:
        return [v for s, k, v in self.entries if s == section and k == key]

    @property
    def container_name(self) -> str:
        """ContainerName= (or PodName=), else the unit's name."""
        named = self.values("Container", "ContainerName") + self.values("Pod", "PodName")
        return named[-1] if named and named[-1] else self.name


def _entries(text: str) -> list[tuple[str, str, str]]:
    from ..podman.unitfile import UnitSyntaxError, parse_unit_sections

    try:
        return [(e.section, e.key, e.value) for e in parse_unit_sections(text)]
    except UnitSyntaxError:
        return []


def quadlet_files(doc: dict) -> list[QuadletFile]:
    """Every Quadlet file of the config (system and users' search paths), with its drop-ins."""
    found: dict[tuple[str, str], dict] = {}
    for path, f in sorted(_files(doc).items()):
        m = _QUADLET_FILE.search(path)
        if not m or not _is_text(f["data"]):
            continue
        entry = found.setdefault((m[1], m[2]), {"path": path, "entries": []})
        if not path.endswith(".conf"):
            entry["path"] = path
        entry["entries"] += _entries(f["data"].decode())
    return [QuadletFile(v["path"], name, kind, tuple(v["entries"])) for (name, kind), v in found.items()]


@dataclass(frozen=True)
class RunCommand:
    """A `podman run` / `docker run` / `… create` command line of a unit, split as a shell would."""
    unit: str
    words: tuple[str, ...]

    def options(self, *flags: str) -> list[str]:
        """The values given to `flags` (e.g. "-v", "--volume"), in every form:
        `-v X`, `-vX` (short flags), `--volume X`, `--volume=X`."""
        out = []
        words = self.words
        for i, word in enumerate(words):
            nxt = words[i + 1] if i + 1 < len(words) else ""
            for flag in flags:
                if word == flag:
                    out.append(nxt)
                elif flag.startswith("--") and word.startswith(flag + "="):
                    out.append(word[len(flag) + 1:])
                elif not flag.startswith("--") and word.startswith(flag) and not word.startswith("--") \
                        and len(word) > len(flag):
                    out.append(word[len(flag):])
        return out

    @property
    def name(self) -> str:
        names = self.options("--name")
        return names[-1] if names else self.unit


def run_commands(doc: dict) -> list[RunCommand]:
    """`podman|docker run|create` command lines in the config's units and drop-ins."""
    out = []
    for unit_name, unit in _units(doc).items():
        text = re.sub(r"\\\n", " ", unit["text"])
        for line in text.splitlines():
            if not re.search(r"\b(podman|docker)\b.*\b(run|create)\b", line):
                continue
            try:
                words = shlex.split(line.split("=", 1)[1] if line.lstrip().startswith("Exec") else line)
            except ValueError:
                continue
            out.append(RunCommand(unit_name, tuple(words)))
    return out
