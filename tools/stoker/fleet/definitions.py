"""Loading the fleet: fleet.yaml and vms/*.yaml → checked, merged `VM` records.

Order: parse each file (positions kept) → schema check of each file as written
(partial: an extending file may leave out what its parent has) → `extends`
resolution → fleet defaults → schema check of the merged definition → model.
Every problem is reported with file, line and column.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..volumes import placeholder_serial
from .errors import Collector, FleetError, Problem
from .located import Marks, load
from .schemacheck import check, load_schema

FLEET_FILE = "fleet.yaml"
VMS_DIR = "vms"
FRAGMENTS_DIR = "butane"

_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")  # schemas/vm.schema.json $defs.hostname
_REF = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


@dataclass
class Mount:
    source: str  # absolute host path, resolved
    target: str
    relabel: str | None
    read_only: bool


@dataclass
class Container:
    name: str
    kind: str  # "service" or "job"
    image: str
    description: str = ""
    command: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)
    volumes: list[Mount] = field(default_factory=list)
    tmpfs: list[str] = field(default_factory=list)
    read_only: bool = False
    cap_drop: list[str] = field(default_factory=lambda: ["all"])
    cap_add: list[str] = field(default_factory=list)
    user: str | None = None
    network: str | None = None
    requires: list[str] = field(default_factory=list)
    wants: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    binds_to: list[str] = field(default_factory=list)
    exec_start_post: list[str] = field(default_factory=list)
    restart: str | None = None
    enabled: bool = False  # started at boot
    path: tuple = ()  # where it is in the definition, for messages

    @property
    def unit(self) -> str:
        return f"{self.name}.service"


@dataclass
class Timer:
    name: str
    job: str
    on_calendar: str
    description: str = ""
    persistent: bool = False
    randomized_delay: str | None = None
    path: tuple = ()

    @property
    def unit(self) -> str:
        return f"{self.name}.timer"


@dataclass
class DataVolume:
    device: str
    format: str
    label: str | None
    mount: str
    directories: dict[str, dict]


@dataclass
class PlainFile:
    path: str
    source: Path  # resolved, inside the repository
    mode: int
    template: bool
    where: tuple
    definition: tuple = ()  # its path in the VM definition, ("files", i)


@dataclass
class SecretFile:
    """A file whose whole contents are the value of secret `name`."""
    name: str
    path: str
    mode: int
    owner: int | None
    group: int | None
    definition: tuple  # ("secret_files", name)


@dataclass
class VM:
    name: str
    file: str
    data: dict
    marks: Marks
    hostname: str
    butane_version: str
    fragments: list[str]
    users: dict[str, list[str]]
    files: list[PlainFile]
    directories: list[dict]
    data_volume: DataVolume | None
    networks: list[str]
    updates: dict | None
    services: dict[str, Container]
    jobs: dict[str, Container]
    timers: dict[str, Timer]
    extends: str | None = None
    secret_files: dict[str, SecretFile] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)  # found while loading; not errors

    @property
    def containers(self) -> dict[str, Container]:
        return {**self.services, **self.jobs}

    def where(self, path: tuple) -> tuple[str, int, int] | None:
        return self.marks.value(path)

    def key_where(self, path: tuple):
        return self.marks.key(path)

    def secret_names(self) -> list[str]:
        """Every secret the VM needs: its containers' environment secrets and its secret files."""
        names: set[str] = set(self.secret_files)
        for c in self.containers.values():
            names.update(c.secrets)
        return sorted(names)


@dataclass
class Fleet:
    root: Path
    data: dict
    marks: Marks
    vms: dict[str, VM]  # the VMs whose definitions loaded without errors
    broken: dict[str, list[Problem]] = field(default_factory=dict)  # VM name -> its problems

    @property
    def names(self) -> list[str]:
        """Every VM of vms/, loaded or broken."""
        return sorted(set(self.vms) | set(self.broken))

    @property
    def file(self) -> str:
        return FLEET_FILE

    def lookup(self, dotted: str):
        """A value of fleet.yaml by dotted name (`hosts.ims.address`); KeyError if absent."""
        node = self.data
        for part in dotted.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise KeyError(dotted)
        return node

    def substitute(self, text: str, file: str, first_line: int = 1, first_col: int = 1,
                   problems: list[Problem] | None = None) -> str:
        """Replace every `{{ dotted.name }}` with its fleet.yaml value. Unknown
        names, values that are not single values or hold a line break, and a
        `{{` that does not form a reference are problems at their position."""
        problems = [] if problems is None else problems

        def at(offset: int) -> tuple[int, int]:
            before = text[:offset]
            line = first_line + before.count("\n")
            col = (offset - before.rfind("\n")) if "\n" in before else first_col + offset
            return line, col

        def repl(m: re.Match) -> str:
            name = m.group(1)
            try:
                value = self.lookup(name)
            except KeyError:
                problems.append(Problem(file, *at(m.start()), f"{name!r} is not defined in {FLEET_FILE}"))
                return m.group(0)
            if isinstance(value, (dict, list)):
                problems.append(Problem(file, *at(m.start()), f"{name!r} in {FLEET_FILE} is not a single value"))
                return m.group(0)
            path = tuple(int(p) if p.isdigit() else p for p in name.split("."))
            text_value = self.marks.texts.get(path) or _scalar(value)  # as written: 0443, not 291
            if any(ch in text_value for ch in "\n\r\x00"):
                problems.append(Problem(file, *at(m.start()), f"{name!r} in {FLEET_FILE} holds a line break; "
                                                              "a reference takes one line"))
                return m.group(0)
            return text_value

        for m in re.finditer(r"\{\{", text):
            if not _REF.match(text, m.start()):
                problems.append(Problem(file, *at(m.start()), "'{{' does not start a reference {{ dotted.name }} "
                                                              f"to {FLEET_FILE}"))
        return _REF.sub(repl, text)


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest directory upwards that holds fleet.yaml."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / FLEET_FILE).is_file() and (d / VMS_DIR).is_dir():
            return d
    raise FleetError(Problem(str(here), None, None, f"no {FLEET_FILE} with a {VMS_DIR}/ directory here or above"))


def _read(root: Path, rel: str) -> tuple[object, Marks]:
    path = root / rel
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FleetError(Problem(rel, None, None, f"cannot read: {exc.strerror}")) from None
    except UnicodeDecodeError as exc:
        raise FleetError(Problem(rel, None, None, f"not UTF-8 text (byte {exc.start})")) from None
    return load(text, rel)


def deep_merge(parent, child, parent_marks: Marks, child_marks: Marks):
    """Lay `child` over `parent`: mappings merge, null deletes, everything else replaces."""
    marks = Marks(dict(parent_marks.values), dict(parent_marks.keys), dict(parent_marks.texts))
    marks.values.update(child_marks.values)
    marks.keys.update(child_marks.keys)
    marks.texts.update(child_marks.texts)

    def merge(p, c):
        if isinstance(p, dict) and isinstance(c, dict):
            out = dict(p)
            for k, v in c.items():
                if v is None and k in out:
                    del out[k]
                elif k in out:
                    out[k] = merge(out[k], v)
                else:
                    out[k] = v
            return out
        return c

    return merge(parent, child), marks


def definition_files(root: Path) -> list[Path]:
    """The VM definitions under `root`: vms/*.yaml, sorted. Hidden files are an
    editor's (.#tracker.yaml lock links, .swp), not VMs. OSError when vms/ cannot be read."""
    return sorted(p for p in (Path(root) / VMS_DIR).iterdir() if p.suffix == ".yaml" and not p.name.startswith("."))


def load_fleet(root: Path | None = None) -> Fleet:
    """Load fleet.yaml and every vms/*.yaml.

    A problem in fleet.yaml raises FleetError: every VM depends on it. A
    problem in one VM's file (or in the VM it extends) only marks that VM as
    broken: its problems are in `fleet.broken[name]` and it is absent from
    `fleet.vms`, so the other VMs still render."""
    root = find_root(root) if root is None else Path(root).resolve()
    fleet_data, fleet_marks = _read(root, FLEET_FILE)
    if not isinstance(fleet_data, dict):
        raise FleetError(Problem(FLEET_FILE, 1, 1, "expected a mapping at the top level"))
    problems = check(fleet_data, fleet_marks, load_schema("fleet.schema.json"), FLEET_FILE)
    problems = problems or _fleet_value_problems(fleet_data, fleet_marks)
    if problems:
        raise FleetError(problems)

    fleet = Fleet(root, fleet_data, fleet_marks, {})
    raw: dict[str, tuple[dict, Marks, str]] = {}
    early: dict[str, list[Problem]] = {}
    try:
        paths = definition_files(root)
    except OSError as exc:
        raise FleetError(Problem(f"{VMS_DIR}/", None, None, f"cannot read: {exc.strerror}")) from None
    for path in paths:
        name, rel = path.stem, f"{VMS_DIR}/{path.name}"
        try:
            data, marks = _read(root, rel)
        except FleetError as exc:
            fleet.broken[name] = list(exc.problems)
            continue
        if not isinstance(data, dict):
            fleet.broken[name] = [Problem(rel, 1, 1, "expected a mapping at the top level")]
            continue
        # Schema problems of the file as written; the VM is still built as far as it can be,
        # so that one run reports the problems of its values too.
        early[name] = check(data, marks, load_schema("vm.schema.json", partial=True), rel)
        raw[name] = (data, marks, rel)

    merged: dict[str, tuple[dict, Marks] | None] = {}
    for name in raw:
        _resolve(name, raw, merged, fleet.broken, (), {n for n, found in early.items() if found})

    defaults = fleet_data.get("defaults", {})
    full_schema = load_schema("vm.schema.json")
    for name, resolved in merged.items():
        if resolved is None or name in fleet.broken:
            continue
        data, marks = resolved
        file = raw[name][2]
        data = dict(data)
        data.pop("extends", None)
        # The hostname is the VM's own, never inherited from the VM it extends.
        data["hostname"] = raw[name][0].get("hostname", name)
        if "hostname" not in raw[name][0] and not _HOSTNAME.fullmatch(name):
            early[name].append(Problem(file, None, None, f"the file name is the VM's name and host name, and "
                                       f"{name!r} is not a host name (lowercase letters, digits and -, at most "
                                       "63); rename the file or set `hostname:`"))
        # Defaults from fleet.yaml, with their marks: a problem in one points at fleet.yaml.
        for key, fallback in (("butane_version", "1.4.0"), ("fragments", [])):
            if key not in data:
                data[key] = copy.deepcopy(defaults.get(key, fallback))
                marks.update_under((key,), fleet_marks, ("defaults", key))
        if isinstance(defaults.get("updates"), dict):
            own = data.get("updates") if isinstance(data.get("updates"), dict) else {}
            for key, value in defaults["updates"].items():
                if key not in own:
                    marks.update_under(("updates", key), fleet_marks, ("defaults", "updates", key))
            if "updates" not in data:
                marks.update_under(("updates",), fleet_marks, ("defaults", "updates"))
            if data.get("updates", {}) is not None:
                data["updates"] = {**copy.deepcopy(defaults["updates"]), **own}
        found = early[name] + [p for p in check(data, marks, full_schema, file) if p not in early[name]
                               and not (p.message.startswith("hostname:") and "hostname" not in raw[name][0])]
        collector = Collector()
        try:
            vm = _build_vm(fleet, name, file, data, marks, raw[name][0].get("extends"), collector)
        except (TypeError, ValueError, KeyError, AttributeError):
            if not found:
                raise  # a definition that passed its schema must build
            vm = None  # the schema's problems say why
        if found or collector.errors:
            # All at once: the value checks still run on what could be built.
            fleet.broken[name] = found + collector.problems + _checks_of_broken(vm, fleet)
        else:
            vm.warnings = collector.problems
            fleet.vms[name] = vm
    for name, found in early.items():
        if found and name in fleet.broken:
            fleet.broken[name] = found + [p for p in fleet.broken[name] if p not in found]
    _shared_volumes(fleet)
    _placement_volumes(fleet)
    _rollout_names(fleet)
    return fleet


def _rollout_names(fleet: Fleet) -> None:
    """fleet.yaml `rollout.order` and `rollout.bastion` name VMs of vms/: a
    misspelt name would silently drop a VM from the order it was meant to fix."""
    rollout = fleet.data.get("rollout") if isinstance(fleet.data, dict) else None
    if not isinstance(rollout, dict):
        return
    named = [(("rollout", "order", i), n) for i, n in enumerate(rollout.get("order") or [])]
    if "bastion" in rollout:
        named.append((("rollout", "bastion"), rollout["bastion"]))
    problems = [Problem.at(fleet.marks.value(path), FLEET_FILE,
                           f"{'.'.join(map(str, path))}: no VM {name!r} in {VMS_DIR}/{_did_you_mean(name, fleet.names)}")
                for path, name in named if name not in fleet.names]
    if problems:
        raise FleetError(problems)


def _checks_of_broken(vm, fleet) -> list[Problem]:
    """The cross-checks of a VM that has other problems, as far as its model allows."""
    from .checks import check_vm

    if vm is None:
        return []
    try:
        return check_vm(vm, fleet)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        return []  # built from data its schema refused: its schema problems come first


def _shared_volumes(fleet: Fleet) -> None:
    """A fleet volume is one disk: two VMs formatting and mounting it would corrupt it.
    (`/dev/vdb` or a by-id name is a different disk on each VM, so only
    `by_volume` names are compared.)"""
    owners: dict[str, str] = {}
    for name in sorted(fleet.vms):
        vm = fleet.vms[name]
        volume = ((vm.data.get("data_volume") or {}).get("device") or {}).get("by_volume")
        if not volume:
            continue
        if volume not in owners:
            owners[volume] = name
            continue
        where = vm.marks.value(("data_volume", "device", "by_volume"))
        fleet.broken[name] = [Problem.at(where, vm.file, f"data volume {volume!r} of {name} is also "
                                         f"the data volume of {owners[volume]}")]
        del fleet.vms[name]


def _placement_volumes(fleet: Fleet) -> None:
    """The volume a VM's config mounts (data_volume device by_volume) is the one
    its placement attaches (fleet.yaml placement.vms.VM.volume.name): otherwise
    a deploy attaches one disk and the config waits for another."""
    placed = ((fleet.data.get("placement") or {}).get("vms") or {}) if isinstance(fleet.data, dict) else {}
    for name in sorted(fleet.vms):
        vm = fleet.vms[name]
        volume = ((vm.data.get("data_volume") or {}).get("device") or {}).get("by_volume")
        attached = ((placed.get(name) or {}).get("volume") or {}) if isinstance(placed.get(name), dict) else {}
        attached = attached.get("name") if isinstance(attached, dict) else None
        if not volume or not attached or volume == attached:
            continue
        where = vm.marks.value(("data_volume", "device", "by_volume"))
        line = fleet.marks.value(("placement", "vms", name, "volume", "name"))
        fleet.broken[name] = [Problem.at(where, vm.file, (
            f"data volume {volume!r} of {name} is not the volume {FLEET_FILE} placement attaches to it "
            f"({attached!r}{f', line {line[1]}' if line else ''}): name the same volume in both"))]
        del fleet.vms[name]


def _fleet_value_problems(data: dict, marks: Marks) -> list[Problem]:
    """What fleet.yaml's schema cannot see: the registry is the start of an image
    reference, addresses are IP addresses."""
    import ipaddress

    from ..podman.reference import ReferenceError, parse_reference

    problems = []
    registry = str(data.get("registry", ""))
    try:
        parse_reference(f"{registry.rstrip('/')}/image:tag")
    except ReferenceError as exc:
        problems.append(Problem.at(marks.value(("registry",)), FLEET_FILE,
                                   f"registry {registry!r} cannot start an image reference: {exc}"))
    addresses = [(("hosts", name, "address"), (host or {}).get("address"))
                 for name, host in (data.get("hosts") or {}).items()]
    placement = data.get("placement") or {}
    addresses += [(("placement", "vms", name, "address"), (vm or {}).get("address"))
                  for name, vm in (placement.get("vms") or {}).items()]
    for path, address in addresses:
        if address is None:
            continue
        try:
            ipaddress.ip_address(str(address))
        except ValueError:
            problems.append(Problem.at(marks.value(path), FLEET_FILE, f"{'.'.join(path)}: {address!r} is not an "
                                                                      "IP address"))
    return problems


def _resolve(name, raw, merged, broken: dict, chain: tuple, with_problems: set = frozenset()):
    """The definition of `name` with its `extends` chain laid under it, or None
    (and `broken[name]` set) when a VM it extends has problems (is in `broken`
    or `with_problems`) or the chain is a cycle."""
    if name in merged:
        return merged[name]
    data, marks, file = raw[name]
    parent = data.get("extends")
    if parent is None:
        merged[name] = (data, marks)
        return merged[name]
    if not isinstance(parent, str):  # the schema check of the file says so
        merged[name] = None
        broken.setdefault(name, [])
        return None
    where = marks.value(("extends",))
    merged[name] = None
    if parent == name or parent in chain:
        cycle = " -> ".join(chain + (name, parent))
        broken[name] = [Problem.at(where, file, f"extends cycle: {cycle}")]
        return None
    if parent in broken or parent in with_problems:
        broken[name] = [Problem.at(where, file, f"extends {parent!r}, which has problems "
                                   f"(see {VMS_DIR}/{parent}.yaml)")]
        return None
    if parent not in raw:
        hint = _did_you_mean(parent, raw)
        broken[name] = [Problem.at(where, file,
                                   f"extends {parent!r}, but there is no {VMS_DIR}/{parent}.yaml{hint}")]
        return None
    resolved = _resolve(parent, raw, merged, broken, chain + (name,), with_problems)
    if resolved is None:
        broken.setdefault(name, [Problem.at(where, file, f"extends {parent!r}, which has problems "
                                            f"(see {VMS_DIR}/{parent}.yaml)")])
        return None
    merged[name] = deep_merge(resolved[0], data, resolved[1], marks)
    return merged[name]


def _did_you_mean(word: str, choices) -> str:
    import difflib

    hint = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def repository_file(root: Path, source: str) -> tuple[Path | None, str | None]:
    """`source` (relative to the repository root) as a path inside the repository,
    or (None, why not). Absolute paths, `..` that leaves the repository and
    symlinks that point outside it are refused: their contents would go into
    user-data from the operator's own machine."""
    if not source or source.startswith("/") or source.startswith("~"):
        return None, (f"file source {source!r} must be a path relative to the repository root "
                      "(for example files/bastion/nginx.conf)")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in source):
        return None, f"file source {source!r} contains a control character"
    root = root.resolve()
    candidate = root / source
    try:
        resolved = candidate.resolve(strict=False)
        if not resolved.is_relative_to(root):
            how = "is a symlink that points" if _has_symlink(root, source) else "points"
            return None, f"file source {source!r} {how} outside the repository ({resolved})"
        if resolved.is_dir():
            return None, f"file source {source!r} is a directory, not a file"
        if not resolved.is_file():
            return None, f"file {source!r} does not exist in the repository"
    except RuntimeError:  # a symlink loop (Python < 3.13)
        return None, f"file source {source!r} cannot be resolved (a symlink loop?)"
    except OSError as exc:
        return None, f"file source {source!r} cannot be read: {exc.strerror or exc}"
    return resolved, None


def _has_symlink(root: Path, source: str) -> bool:
    path = root
    for part in Path(source).parts:
        path = path / part
        if path.is_symlink():
            return True
    return False


def full_image(registry: str, image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"{registry.rstrip('/')}/{image}"


def _build_vm(fleet: Fleet, name, file, data, marks: Marks, extends, problems: Collector) -> VM:
    def where(path):
        w = marks.value(path)
        return w[1:] if w else None

    def add(path, message):
        w = marks.value(path)
        problems.add(w[0] if w else file, w[1:] if w else None, message)

    users: dict[str, list[str]] = {}
    for user, spec in (data.get("users") or {}).items():
        keys: list[str] = []
        for i, set_name in enumerate((spec or {}).get("ssh_keys", [])):
            known = fleet.data.get("ssh_keys", {})
            if set_name not in known:
                add(("users", user, "ssh_keys", i),
                    f"SSH key set {set_name!r} is not defined in {FLEET_FILE} ssh_keys{_did_you_mean(set_name, known)}")
                continue
            keys += known[set_name]
        users[user] = keys

    files = []
    for i, f in enumerate(data.get("files", [])):
        src, why = repository_file(fleet.root, f["source"])
        if why:
            add(("files", i, "source"), why)
            continue
        files.append(PlainFile(f["path"], src, f.get("mode", 0o644), bool(f.get("template", False)),
                               marks.value(("files", i)), ("files", i)))

    volume = None
    dv = data.get("data_volume")
    if dv:
        dev = dv["device"]
        if "by_id" in dev:
            device = f"/dev/disk/by-id/{dev['by_id']}"
        elif "by_label" in dev:
            device = f"/dev/disk/by-label/{dev['by_label']}"
        elif "by_volume" in dev:
            vols = fleet.data.get("volumes", {})
            if dev["by_volume"] not in vols:
                add(("data_volume", "device", "by_volume"),
                    f"volume {dev['by_volume']!r} is not defined in {FLEET_FILE} volumes{_did_you_mean(dev['by_volume'], vols)}")
                device = "/dev/null"
            elif vols[dev["by_volume"]] is None:
                # Bound to the real volume's serial by `stoker deploy` (stoker.volumes).
                device = f"/dev/disk/by-id/virtio-{placeholder_serial(dev['by_volume'])}"
            else:
                device = f"/dev/disk/by-id/{vols[dev['by_volume']]}"
        else:
            device = dev["path"]
        volume = DataVolume(device, dv.get("format", "ext4"), dv.get("label"), dv["mount"].rstrip("/"),
                            dict(dv.get("directories", {})))

    def resolve_source(src: str, path):
        if src.startswith("/"):
            return src
        if volume is None:
            add(path, f"volume source {src!r} is relative, but this VM has no data_volume")
            return "/" + src
        if src.split("/", 1)[0] not in volume.directories:
            add(path, f"{src!r} is not one of data_volume.directories ({', '.join(sorted(volume.directories))})")
        return f"{volume.mount}/{src}"

    def container(kind, cname, spec) -> Container:
        base = ("services" if kind == "service" else "jobs", cname)
        env = {}
        for k, v in (spec.get("environment") or {}).items():
            if v is None:
                continue
            w = marks.value(base + ("environment", k))
            # As written: YAML 1.1 would turn 0700 into 448 and yes into true.
            text = marks.texts.get(base + ("environment", k), _scalar(v))
            env[k] = fleet.substitute(text, w[0] if w else file, *(w[1:] if w else (1, 1)),
                                      problems=problems.problems)
        command = spec.get("command")
        if isinstance(command, str):
            command = command.split()
        c = Container(
            name=cname, kind=kind, image=full_image(fleet.data["registry"], spec["image"]),
            description=spec.get("description", ""), command=command, environment=env,
            secrets=list(spec.get("secrets", [])), ports=list(spec.get("ports", [])),
            volumes=[Mount(resolve_source(v["source"], base + ("volumes", i, "source")), v["target"],
                           None if v.get("relabel", "none") == "none" else v["relabel"],
                           bool(v.get("read_only", False)))
                     for i, v in enumerate(spec.get("volumes", []))],
            tmpfs=list(spec.get("tmpfs", [])), read_only=bool(spec.get("read_only", False)),
            cap_drop=list(spec.get("cap_drop", ["all"])), cap_add=list(spec.get("cap_add", [])),
            user=None if spec.get("user") is None else str(spec["user"]), network=spec.get("network"),
            requires=list(spec.get("requires", [])), wants=list(spec.get("wants", [])),
            after=list(spec.get("after", [])), binds_to=list(spec.get("binds_to", [])),
            exec_start_post=list(spec.get("exec_start_post", [])),
            restart=spec.get("restart", "always" if kind == "service" else None),
            enabled=bool(spec.get("enabled", True)) if kind == "service" else bool(spec.get("on_boot", False)),
            path=base,
        )
        img = spec["image"].rsplit("/", 1)[-1]
        if ":" not in img and "@" not in img:
            add(base + ("image",), f"image {spec['image']!r} has no tag or digest (name:tag or name@sha256:...)")
        return c

    services = {n: container("service", n, s) for n, s in (data.get("services") or {}).items() if s is not None}
    jobs = {n: container("job", n, s) for n, s in (data.get("jobs") or {}).items() if s is not None}
    timers = {n: Timer(n, t["job"], t["on_calendar"], t.get("description", ""), bool(t.get("persistent", False)),
                       t.get("randomized_delay"), ("timers", n))
              for n, t in (data.get("timers") or {}).items() if t is not None}
    secret_files = {n: SecretFile(n, f["path"], f.get("mode", 0o600), f.get("owner"), f.get("group", f.get("owner")),
                                  ("secret_files", n))
                    for n, f in (data.get("secret_files") or {}).items() if f is not None}
    env_secrets = {s for c in list(services.values()) + list(jobs.values()) for s in c.secrets}
    for n in sorted(set(secret_files) & env_secrets):
        add(("secret_files", n), f"secret {n} is both a secret file and an environment secret of a container; "
                                 "give the file its own name")
    return VM(secret_files=secret_files, name=name, file=file, data=data, marks=marks, hostname=data["hostname"],
              butane_version=data["butane_version"], fragments=list(data.get("fragments", [])), users=users,
              files=files, directories=list(data.get("directories", [])), data_volume=volume,
              networks=list(data.get("networks", [])), updates=data.get("updates"), services=services,
              jobs=jobs, timers=timers, extends=extends)
