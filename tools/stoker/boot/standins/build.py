"""Build the stand-in images: a shared base layer, one layer per image, cached by declaration.

Cache layout, under $XDG_CACHE_HOME/stoker/standins/ (default ~/.cache):

    base-<key>/   base.tar (the base layer, uncompressed: what image builds start from),
                  base.index.json.gz (its paths, metadata and digests), oci/ (layout, tag "base"),
                  manifest.json, build.log
    <key>/        oci/ (layout, tag = the image's tag: the base layer + the image's own),
                  manifest.json, build.log

A key hashes the declaration (files included), the base's key and
BUILDER_VERSION (model.py), so any change builds anew and a second build is a
cache hit. An image built on another base is rebuilt. Builds run in
.build-<key>/ and are renamed into place when complete; a lock file per key
keeps two builders from building the same thing at once.

How a layer is made: mmdebstrap(1) --mode=root writes a tarball of the root
tree, for the base from Debian's Essential set plus the base packages, for an
image by unpacking base.tar (`--setup-hook 'tar-in …'`, the man page's
"build on top of the already present minimal chroot") and installing its
packages on top (--variant=custom). The image's layer is the difference
between that tarball and base.tar (layers.write_layer), plus the declared
files; umoci packs both layers (oci.py). SOURCE_DATE_EPOCH makes mmdebstrap's
output reproducible.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterator

from ..errors import CommandError, ImageError, require_tool
from ..image import cache_root
from ..mirror import debian_mirror
from ..run import minimal_env, run
from . import layers, oci
from .accounts import FILES as ACCOUNT_FILES, accounts_json, add_accounts
from .catalog import BASE, STANDINS, image_env
from .model import CONTRACT_PATH, Base, StandIn, contract_json, problems

Progress = Callable[[str, str], None]  # (what: "base" or image name:tag, state: "start" | "built" | "cached")

MMDEBSTRAP_PACKAGE = "mmdebstrap"


@dataclass
class Built:
    """One built image in the cache; `oci_ref` is what skopeo copies ("oci:" + it)."""
    name: str  # "base" or the image's name:tag
    key: str
    directory: Path
    tag: str
    digest: str  # the manifest's digest
    layers: list[dict]  # [{"role": "base"|"own", "digest", "size" (gzip), "tar_size" (uncompressed)}]
    cached: bool
    seconds: float
    manifest: dict = field(default_factory=dict)

    @property
    def layout(self) -> Path:
        return self.directory / "oci"

    @property
    def oci_ref(self) -> str:
        return f"{self.layout}:{self.tag}"


def standins_root(root: Path | None = None) -> Path:
    return (root or cache_root()) / "standins"


# -- filters --------------------------------------------------------------------------------------

def base_keep(base: Base) -> Callable[[str, bool], bool]:
    return lambda path, in_lower: not layers.matches_any(path, base.drop)


def image_keep(base: Base, s: StandIn) -> Callable[[str, bool], bool]:
    """What of the upper tree goes into an image's layer.

    Never the base's `drop` paths; never the declaration's `remove` or
    `dpkg_exclude` globs; and of the paths new to this layer, none that dpkg's
    path filter excludes (mmdebstrap unpacks packages once with dpkg-deb
    before dpkg installs them, so the filter alone leaves documentation
    behind).
    """
    doc = layers.PathFilter(base.path_filter)

    def keep(path: str, in_lower: bool) -> bool:
        if layers.matches_any(path, base.drop) or layers.matches_any(path, s.remove) \
                or layers.matches_any(path, s.dpkg_exclude):
            return False
        return in_lower or not doc.excluded(path)
    return keep


# -- the base -------------------------------------------------------------------------------------

def cached_base(base: Base = BASE, root: Path | None = None) -> Built | None:
    return _load(standins_root(root) / f"base-{base.key()}", "base",
                 required=("base.tar", "base.index.json.gz"))


def build_base(base: Base = BASE, *, root: Path | None = None, mirror: str | None = None,
               progress: Progress | None = None, force: bool = False) -> Built:
    """The base layer, from the cache or built (about 30 s cold).

    Building needs root, mmdebstrap and umoci (MissingTool names the Debian package);
    ImageError for a failed step, with the path of its log.
    """
    progress = progress or (lambda what, state: None)
    final = standins_root(root) / f"base-{base.key()}"
    with _locked(final):
        hit = None if force else cached_base(base, root)
        if hit is not None:
            progress("base", "cached")
            return hit
        _require_build_tools()
        progress("base", "start")
        t0 = time.monotonic()
        with _workdir(final) as work, open(work / "build.log", "a", encoding="utf-8") as log:
            raw = work / "raw.tar"
            _mmdebstrap(["--variant=" + base.variant, "--include=" + ",".join(base.packages)],
                        base, raw, mirror, log)
            extra = [layers.file_member(f.path, f.data(), f.mode, f.uid, f.gid, base.epoch) for f in base.files]
            extra += [layers.symlink_member(link.path, link.target, base.epoch) for link in base.links]
            stats = layers.write_layer({}, raw, work / "base.tar", keep=base_keep(base), extra=extra)
            raw.unlink()
            layers.save_index(layers.index_tar(work / "base.tar"), work / "base.index.json.gz")
            oci.new_layout(work / "oci", "empty", log)
            oci.add_layer(work / "oci", "empty", work / "base.tar", "base", base.epoch,
                          "stoker standins: Debian " + base.suite + " " + base.variant + " + "
                          + " ".join(base.packages) + " + the stand-in program", log)
            oci.remove_tag(work / "oci", "empty", log)
            described = oci.describe(work / "oci", "base")
            layer = dict(described["layers"][0], role="base", tar_size=(work / "base.tar").stat().st_size)
            manifest = {"name": "base", "key": base.key(), "suite": base.suite, "variant": base.variant,
                        "packages": _versions(work / "base.tar", base.packages), "tag": "base",
                        "digest": described["digest"], "layers": [layer], "entries": len(stats.paths),
                        "seconds": round(time.monotonic() - t0, 1), "built": _now()}
            (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        _install(work, final)
        progress("base", "built")
        built = cached_base(base, root)
        assert built is not None
        built.cached, built.seconds = False, manifest["seconds"]
        return built


# -- one image ------------------------------------------------------------------------------------

def cached_standin(s: StandIn, base_built: Built, root: Path | None = None) -> Built | None:
    hit = _load(standins_root(root) / s.key(base_built.key), s.image)
    if hit is None or hit.layers[0]["digest"] != base_built.layers[0]["digest"]:
        return None  # built on another base layer
    return hit


def build_standin(s: StandIn, base_built: Built, *, base: Base = BASE, root: Path | None = None,
                  mirror: str | None = None, progress: Progress | None = None, force: bool = False,
                  registry: str | None = None) -> Built:
    """The image of stand-in `s`, from the cache or built on `base_built` (needs root, mmdebstrap, umoci).

    registry: the fleet's registry (fleet.yaml `registry`), written into the
    contract as the image's full reference. ImageError for a declaration with
    problems (model.problems) or a failed build (the log's path in the message).
    """
    progress = progress or (lambda what, state: None)
    found = problems(s)
    if found:
        raise ImageError("stand-in declaration has problems:\n  " + "\n  ".join(found))
    final = standins_root(root) / s.key(base_built.key)
    with _locked(final):
        hit = None if force else cached_standin(s, base_built, root)
        if hit is not None:
            progress(s.image, "cached")
            return hit
        _require_build_tools()
        progress(s.image, "start")
        t0 = time.monotonic()
        with _workdir(final) as work, open(work / "build.log", "a", encoding="utf-8") as log:
            base_tar = base_built.directory / "base.tar"
            upper = base_tar
            if s.packages:
                upper = work / "full.tar"
                accounts = work / "accounts.json"
                accounts.write_text(accounts_json(s.accounts))
                hook = f'{shlex.quote(sys.executable)} -m stoker.boot.standins.accounts_hook "$1" {shlex.quote(str(accounts))}'
                _mmdebstrap(["--variant=custom", "--setup-hook=tar-in base.tar /", "--setup-hook=" + hook,
                             "--include=" + ",".join(s.packages)]
                            + [f"--dpkgopt=path-exclude={g}" for g in s.dpkg_exclude],
                            base, upper, mirror, log, cwd=base_built.directory)
            extra = _extras(s, base, upper, registry)
            layer_tar = work / "layer.tar"
            stats = layers.write_layer(layers.load_index(base_built.directory / "base.index.json.gz"), upper,
                                       layer_tar, keep=image_keep(base, s), extra=extra,
                                       whiteout_mtime=base.epoch)
            versions = _versions(upper, s.packages) if s.packages else {}
            if upper != base_tar:
                upper.unlink()
            oci.copy_layout(base_built.layout, work / "oci")
            oci.add_layer(work / "oci", "base", layer_tar, s.tag, base.epoch,
                          f"stoker standins: {s.image}: " + (" ".join(s.packages) or "contract"), log)
            oci.configure(work / "oci", s.tag, oci.ImageConfig(
                user=s.user, entrypoint=s.entrypoint, cmd=s.cmd, env=image_env(s), exposed_ports=s.ports(),
                workdir=s.workdir, stop_signal=s.stop_signal,
                labels=(("org.opencontainers.image.title", f"stoker stand-in for {s.image}"),
                        ("org.opencontainers.image.description", s.stands_for[:500]),
                        ("stoker.standin.image", s.image), ("stoker.standin.key", s.key(base_built.key)))),
                base.epoch, log)
            oci.remove_tag(work / "oci", "base", log)
            described = oci.describe(work / "oci", s.tag)
            own = dict(described["layers"][1], role="own", tar_size=layer_tar.stat().st_size)
            layer_tar.unlink()
            manifest = {"name": s.image, "key": s.key(base_built.key), "base_key": base_built.key,
                        "tag": s.tag, "digest": described["digest"], "packages": versions,
                        "layers": [dict(base_built.layers[0]), own],
                        "layer_changes": {"added": stats.added, "changed": stats.changed,
                                          "whiteouts": stats.whiteouts, "links_copied": stats.links_copied},
                        "seconds": round(time.monotonic() - t0, 1), "built": _now()}
            (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        _install(work, final)
        progress(s.image, "built")
        built = _load(final, s.image)
        assert built is not None
        built.cached, built.seconds = False, manifest["seconds"]
        return built


def build_all(standins: tuple[StandIn, ...] = STANDINS, *, base: Base = BASE, root: Path | None = None,
              mirror: str | None = None, progress: Progress | None = None, force: bool = False,
              registry: str | None = None) -> list[Built]:
    """The base, then every stand-in: [base, image, …] in the order given, each from the cache or built.

    registry: fleet.yaml's `registry` (e.g. "registry.ebisc.org/ebisc"), written into each
    contract as the image's full reference. A cold build of every stand-in takes about
    2.5 minutes on 2 cores; a warm call well under a second. Building needs root,
    mmdebstrap and umoci (MissingTool names the Debian package) and the Debian mirror
    of the host's apt configuration; ImageError for any failed step, with its log's path.
    """
    base_built = build_base(base, root=root, mirror=mirror, progress=progress, force=force)
    return [base_built] + [build_standin(s, base_built, base=base, root=root, mirror=mirror, progress=progress,
                                         force=force, registry=registry) for s in standins]


# -- helpers --------------------------------------------------------------------------------------

def _require_build_tools() -> None:
    if os.geteuid() != 0:
        raise ImageError("building stand-in images needs root (mmdebstrap --mode=root)")
    require_tool("mmdebstrap", MMDEBSTRAP_PACKAGE, "building stand-in images")
    oci.umoci()


def _mmdebstrap(args: list[str], base: Base, out: Path, mirror: str | None, log: IO[str],
                cwd: Path | None = None) -> None:
    mirror = mirror or debian_mirror()
    argv = ["mmdebstrap", "--mode=root", "--format=tar", "--aptopt=APT::Install-Recommends \"false\""]
    argv += [f"--dpkgopt={opt}" for opt in layers.PathFilter(base.path_filter).dpkg_options()]
    argv += args
    argv += ['--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"',
             base.suite, out, f"deb {mirror} {base.suite} main"]
    try:
        run(argv, log_file=log, timeout=1800, cwd=cwd,
            env=minimal_env({"SOURCE_DATE_EPOCH": str(base.epoch)}))
    except CommandError as exc:
        raise ImageError(f"stand-in build failed: {exc}\nfull log: {log.name}") from exc


def _extras(s: StandIn, base: Base, upper: Path, registry: str | None) -> list[layers.Extra]:
    t = base.epoch
    out = [layers.file_member(CONTRACT_PATH, contract_json(s, registry).encode(), 0o644, 0, 0, t)]
    out += [layers.file_member(f.path, f.data(), f.mode, f.uid, f.gid, t) for f in s.files]
    out += [layers.dir_member(d.path, d.mode, d.uid, d.gid, t) for d in s.dirs]
    out += [layers.symlink_member(link.path, link.target, t) for link in s.links]
    if s.accounts:
        with tarfile.open(upper) as tar:
            current, infos = {}, {}
            for name in ACCOUNT_FILES:
                member = _member(tar, name)
                if member is not None:
                    infos[name] = member
                    current[name] = tar.extractfile(member).read().decode()
        try:
            new = add_accounts(current, s.accounts)
        except ValueError as exc:
            raise ImageError(f"{s.image}: {exc}") from None
        for name, text in new.items():
            if text != current[name]:
                info = infos[name]
                out.append(layers.file_member(name, text.encode(), info.mode, info.uid, info.gid, t))
    return out


def _member(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo | None:
    for candidate in (name, "./" + name, "/" + name):
        try:
            return tar.getmember(candidate)
        except KeyError:
            continue
    return None


def _versions(tar_path: Path, packages: tuple[str, ...]) -> dict[str, str | None]:
    """Installed versions of `packages` from the tree's dpkg status file."""
    with tarfile.open(tar_path) as tar:
        member = _member(tar, "var/lib/dpkg/status")
        text = tar.extractfile(member).read().decode(errors="replace") if member is not None else ""
    found = {}
    for stanza in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            found[fields["Package"]] = fields.get("Version")
    return {p: found.get(p) for p in packages}


def _load(directory: Path, name: str, required: tuple[str, ...] = ()) -> Built | None:
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if not (directory / "oci" / "index.json").is_file() or not all((directory / r).is_file() for r in required):
        return None
    return Built(name, manifest["key"], directory, manifest["tag"], manifest["digest"], manifest["layers"],
                 True, 0.0, manifest)


@contextlib.contextmanager
def _locked(final: Path) -> Iterator[None]:
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".lock-{final.name}", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def _workdir(final: Path) -> Iterator[Path]:
    work = final.parent / f".build-{final.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        yield work
    except BaseException:
        # keep the log for the message's "full log:", drop the big files
        for big in ("raw.tar", "full.tar", "layer.tar", "base.tar"):
            with contextlib.suppress(OSError):
                (work / big).unlink()
        raise


def _install(work: Path, final: Path) -> None:
    for leftover in ("accounts.json",):
        with contextlib.suppress(OSError):
            (work / leftover).unlink()
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
