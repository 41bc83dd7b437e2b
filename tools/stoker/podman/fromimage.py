"""The Quadlet generator of stoker's offline boot-test image, extracted without root and run on this host.

    with image_generator() as gen:            # raises Unavailable(reason, fix) when it cannot be had
        gen.argv("-dryrun")                   -> [".../ld-linux-x86-64.so.2", "--library-path", ".../lib",
                                                  ".../quadlet", "-dryrun"]
        gen.podman_version                    -> "5.4.2"

The image (`stoker image build`, see stoker.boot.image and recipe: Debian trixie
with Podman 5) keeps its root filesystem as <image dir>/root.qcow2. The generator
binary and every shared library it needs are read out of it with
`qemu-img convert -O raw` (qemu-utils) and `debugfs -R "dump ..."` (e2fsprogs):
no mount, no root. They are run with the image's own dynamic loader and
`--library-path`, so a trixie binary runs on an older host glibc.

The extraction is cached in <image dir>/quadlet/ (renamed into place whole, so
a reader sees all of it or nothing) with a stamp of the qcow2's size and mtime;
a rebuilt image (`stoker image build --force` replaces the directory) drops it.
When the image directory is not writable (an image built by root, used by
someone else) the extraction goes to a private temporary directory for that one run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import posixpath
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..boot.errors import CommandError
from ..boot.image import Image, cached_image, image_dir
from ..boot.recipe import offline_recipe
from ..boot.run import run
from . import elf
from .disk import DiskError, ext_offset

# Where Debian's podman package puts the generator, most direct first
# (podman debian/podman.links; upstream Makefile installs quadlet to /usr/libexec/podman).
IMAGE_GENERATOR_PATHS = (
    "/usr/libexec/podman/quadlet",
    "/usr/lib/systemd/system-generators/podman-system-generator",
)
# The image's library search path, as its /etc/ld.so.conf.d and the loader's defaults give it.
IMAGE_LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
    "/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/lib64", "/lib",
)
FIX = "make image"                      # builds the image: `stoker image build`, as root
STAMP = "stamp.json"
CONVERT_TIMEOUT = 600                   # qemu-img writes the whole 3 GB raw disk (sparse)
DEBUGFS_TIMEOUT = 60
VERSION_TIMEOUT = 30
_SYMLINK_HOPS = 40                      # the kernel's limit on symlinks in one lookup (MAXSYMLINKS)


class Unavailable(Exception):
    """The image's generator cannot be had; `reason` says why, `fix` is the command that helps."""

    def __init__(self, reason: str, fix: str = FIX):
        super().__init__(f"{reason} (fix: {fix})" if fix else reason)
        self.reason = reason
        self.fix = fix


@dataclass(frozen=True)
class Generator:
    """An extracted generator: run `argv(...)`; `where` says what it is, for messages."""

    loader: Path
    library_dir: Path
    program: Path
    podman_version: str
    where: str

    def argv(self, *args: str) -> list[str]:
        return [str(self.loader), "--library-path", str(self.library_dir), str(self.program), *args]


@contextlib.contextmanager
def image_generator(cache_root: Path | None = None) -> Iterator[Generator]:
    """The cached image's generator, extracted on first use; raises Unavailable."""
    image = cached_image(root=cache_root)
    if image is None:
        where = image_dir(offline_recipe(), cache_root)
        raise Unavailable(f"the offline boot-test image is not cached ({where})")
    dest = image.root.parent / "quadlet"
    cached = _load(dest, image)
    if cached is not None:
        yield cached
        return
    tools = _tools()
    work = _cache_workdir(dest.parent)
    if work is None:
        # not ours to write: extract privately, for this run only
        with tempfile.TemporaryDirectory(prefix="stoker-quadlet-") as scratch:
            gen = _extract(image, Path(scratch), Path(scratch) / "quadlet", tools)
            yield dataclasses.replace(gen, where=f"the offline boot-test image's Quadlet (Podman {gen.podman_version},"
                                                 f" extracted for this run: {dest.parent} is not writable)")
        return
    try:
        _extract(image, work, work / "quadlet", tools)
        _publish(work / "quadlet", dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    loaded = _load(dest, image)
    if loaded is None:  # replaced between our rename and this read (a concurrent rebuild)
        raise Unavailable(f"the extraction in {dest} changed while in use; run again", fix="")
    yield loaded


def _cache_workdir(parent: Path) -> Path | None:
    """A fresh directory beside the image to extract into, or None when that is not writable."""
    try:
        return Path(tempfile.mkdtemp(prefix=".quadlet-", dir=parent))
    except OSError:
        return None


def _tools() -> dict[str, str]:
    found = {}
    # debugfs lives in /sbin, often not on a user's PATH
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    for tool, package in (("qemu-img", "qemu-utils"), ("debugfs", "e2fsprogs")):
        exe = shutil.which(tool, path=path)
        if exe is None:
            raise Unavailable(f"`{tool}` is not installed, needed to read the image's generator",
                              fix=f"apt-get install {package}")
        found[tool] = exe
    return found


def _stamp(image: Image) -> dict:
    st = image.root.stat()
    return {"qcow2": str(image.root), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _load(dest: Path, image: Image) -> Generator | None:
    try:
        data = json.loads((dest / STAMP).read_text())
    except (OSError, ValueError):
        return None
    if data.get("image") != _stamp(image):
        return None
    gen = Generator(dest / data["loader"], dest / "lib", dest / data["program"], data["podman_version"],
                    f"the offline boot-test image's Quadlet (Podman {data['podman_version']}, {dest})")
    return gen if gen.loader.is_file() and gen.program.is_file() else None


def _publish(src: Path, dest: Path) -> None:
    """Rename the finished extraction into place; a stale one goes first, a concurrent winner stays."""
    if dest.exists():
        shutil.rmtree(dest, ignore_errors=True)
    try:
        os.rename(src, dest)
    except OSError:
        if not (dest / STAMP).is_file():
            raise


def _extract(image: Image, work: Path, out: Path, tools: dict[str, str]) -> Generator:
    raw = work / "root.raw"
    try:
        run([tools["qemu-img"], "convert", "-O", "raw", image.root, raw], timeout=CONVERT_TIMEOUT)
        try:
            fs = f"{raw}?offset={ext_offset(raw)}"
        except DiskError as exc:
            raise Unavailable(str(exc), fix=f"make image  (rebuild: {image.root.parent} looks damaged)")
        reader = _Reader(tools["debugfs"], fs)
        (out / "lib").mkdir(parents=True)
        source = next((p for p in IMAGE_GENERATOR_PATHS if reader.resolve(p)), None)
        if source is None:
            raise Unavailable(f"the image {image.root} has no Quadlet generator "
                              f"(looked for {', '.join(IMAGE_GENERATOR_PATHS)})", fix="make image")
        program = out / "quadlet"
        reader.dump(reader.resolve(source), program)
        loader = _copy_libraries(reader, program, out / "lib")
        version = run([loader, "--library-path", out / "lib", program, "-version"], timeout=VERSION_TIMEOUT).stdout
    except CommandError as exc:
        raise Unavailable(f"could not extract the image's Quadlet generator: {exc}")
    finally:
        raw.unlink(missing_ok=True)
    podman_version = version.strip()
    (out / STAMP).write_text(json.dumps({
        "image": _stamp(image), "source": source, "program": "quadlet",
        "loader": str(loader.relative_to(out)), "podman_version": podman_version,
    }, indent=2) + "\n")
    return Generator(loader, out / "lib", program, podman_version,
                     f"the offline boot-test image's Quadlet (Podman {podman_version}, {out})")


def _copy_libraries(reader: "_Reader", program: Path, libdir: Path) -> Path:
    """Copy the loader and every library `program` needs, transitively; return the loader's path."""
    data = program.read_bytes()
    interp = elf.interpreter(data)
    if interp is None:
        raise Unavailable(f"{program.name} in the image is statically linked; stoker expects Debian's build", fix="")
    loader = libdir / posixpath.basename(interp)
    reader.dump(_must(reader.resolve(interp), interp), loader)
    todo, seen = list(elf.needed(data)), {loader.name}
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        found = next((r for d in IMAGE_LIBRARY_DIRS if (r := reader.resolve(f"{d}/{name}"))), None)
        target = libdir / name
        reader.dump(_must(found, name), target)
        todo += elf.needed(target.read_bytes())
    return loader


def _must(path: str | None, what: str) -> str:
    if path is None:
        raise Unavailable(f"{what} is missing from the image, which its Quadlet generator needs", fix="make image")
    return path


class _Reader:
    """Files of an ext filesystem image, through debugfs (which never needs root for a file)."""

    def __init__(self, debugfs: str, fs: str):
        self.debugfs = debugfs
        self.fs = fs
        self._seen: dict[str, tuple[str | None, str]] = {}

    def _request(self, command: str) -> str:
        # debugfs exits 0 even when a path is missing; the answer tells
        return run([self.debugfs, "-R", command, self.fs], timeout=DEBUGFS_TIMEOUT).stdout

    def resolve(self, path: str) -> str | None:
        """The regular file `path` leads to inside the image, every symlink on the way followed; else None.

        Component by component, as the kernel does: a relative link target counts from the
        directory the link really is in ("/lib64" -> "usr/lib64" first, then "../lib/..." from there).
        """
        todo = [p for p in path.split("/") if p]
        real = "/"
        hops = 0
        while todo:
            name = todo.pop(0)
            if name in (".", ".."):
                real = posixpath.dirname(real) if name == ".." else real
                continue
            here = posixpath.join(real, name)
            kind, target = self._lookup(here)
            if kind == "symlink":
                hops += 1
                if hops > _SYMLINK_HOPS:
                    return None
                real = "/" if target.startswith("/") else real
                todo = [p for p in target.split("/") if p] + todo
                continue
            if kind != ("directory" if todo else "regular"):
                return None
            real = here
        return real

    def _lookup(self, path: str) -> tuple[str | None, str]:
        """(file type, symlink target) of a path with no symlink before its last part; cached."""
        if path not in self._seen:
            info = self._request(f'stat "{path}"')
            kind = re.search(r"Type: (\w+)", info)
            self._seen[path] = (kind.group(1) if kind else None,
                                self._link_target(path, info) if kind and kind.group(1) == "symlink" else "")
        return self._seen[path]

    def _link_target(self, path: str, info: str) -> str:
        fast = re.search(r'Fast link dest: "(.*)"', info)
        if fast:
            return fast.group(1)
        # a long target lives in a data block: dump gives its text
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "link"
            self._request(f'dump "{path}" "{out}"')
            return out.read_text().rstrip("\0")

    def dump(self, path: str, dest: Path) -> None:
        self._request(f'dump "{path}" "{dest}"')
        if not dest.is_file():
            raise Unavailable(f"debugfs could not read {path} from the image", fix="make image")
        dest.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
