"""Build the offline test image (Debian trixie + the real Ignition) and cache it.

Layout of the cache: <cache>/images/<recipe key>/{vmlinuz,initrd.img,root.qcow2,manifest.json}.
A build runs in <cache>/images/.build-<key>/ with one stamp file per finished
step, so a failed build resumes where it stopped; its log stays in build.log.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import CommandError, ImageError, MissingProgram
from .mirror import debian_mirror
from .recipe import Recipe, offline_recipe
from .run import minimal_env, run

Progress = Callable[[str, str], None]  # (step, "start" | "done" | "cached")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stoker"


@dataclass(frozen=True)
class Image:
    """A bootable image: a root disk and, for direct kernel boot, a kernel and initramfs."""
    kind: str  # "offline" | "fcos"
    root: Path
    kernel: Path | None
    initrd: Path | None
    ignition_max_spec: str
    manifest: dict

    @property
    def offline(self) -> bool:
        return self.kind == "offline"


def image_dir(recipe: Recipe, root: Path | None = None) -> Path:
    return (root or cache_root()) / "images" / recipe.key()


def load_image(directory: Path) -> Image | None:
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    paths = [directory / n for n in ("vmlinuz", "initrd.img", "root.qcow2")]
    if not all(p.is_file() for p in paths):
        return None
    return Image("offline", paths[2], paths[0], paths[1], manifest["ignition_max_spec"], manifest)


def cached_image(recipe: Recipe | None = None, root: Path | None = None) -> Image | None:
    return load_image(image_dir(recipe or offline_recipe(), root))


def build_image(recipe: Recipe | None = None, *, root: Path | None = None, progress: Progress | None = None,
                mirror: str | None = None, force: bool = False) -> Image:
    """Return the cached image for `recipe`, building it first if needed."""
    recipe = recipe or offline_recipe()
    progress = progress or (lambda step, state: None)
    final = image_dir(recipe, root)
    if not force:
        hit = load_image(final)
        if hit is not None:
            progress("image", "cached")
            return hit
    if os.geteuid() != 0:
        raise ImageError("building the offline image needs root (mmdebstrap --mode=root, chroot for dracut)")
    final.parent.mkdir(parents=True, exist_ok=True)
    # One build per recipe at a time: two at once (two terminals, parallel test
    # runs) would delete each other's rootfs mid-install. The second waits, then
    # takes the first one's image.
    with open(final.parent / f".lock-{recipe.key()}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force:
            hit = load_image(final)
            if hit is not None:
                progress("image", "cached")
                return hit
        return _build_locked(recipe, final, progress, mirror, force)


def _build_locked(recipe: Recipe, final: Path, progress: Progress, mirror: str | None, force: bool) -> Image:
    work = final.parent / f".build-{recipe.key()}"
    if force and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    builder = _Builder(recipe, work, mirror or debian_mirror(), progress)
    try:
        builder.build()
    except MissingProgram:  # named as every missing program is (tools.not_found), exit 2
        raise
    except CommandError as exc:
        raise ImageError(f"image build failed: {exc}\nfull log: {builder.log_path}") from exc
    shutil.rmtree(final, ignore_errors=True)
    final.mkdir(parents=True)
    for name in ("vmlinuz", "initrd.img", "root.qcow2", "manifest.json", "build.log"):
        os.replace(work / "out" / name if name != "build.log" else work / name, final / name)
    shutil.rmtree(work)
    image = load_image(final)
    assert image is not None
    return image


class _Builder:
    STEPS = ("rootfs", "customize", "initramfs", "disk")

    def __init__(self, recipe: Recipe, work: Path, mirror: str, progress: Progress):
        self.recipe = recipe
        self.work = work
        self.rootfs = work / "rootfs"
        self.out = work / "out"
        self.mirror = mirror
        self.progress = progress
        self.log_path = work / "build.log"
        self.timings: dict[str, float] = {}

    def build(self) -> None:
        self.out.mkdir(exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as log:
            self.log = log
            for step in self.STEPS:
                stamp = self.work / f".done-{step}"
                if stamp.exists():
                    self.timings[step] = float(stamp.read_text() or 0)
                    self.progress(step, "cached")
                    continue
                self.progress(step, "start")
                t0 = time.monotonic()
                getattr(self, f"step_{step}")()
                self.timings[step] = round(time.monotonic() - t0, 1)
                stamp.write_text(str(self.timings[step]))
                self.progress(step, "done")
            self.write_manifest()

    def step_rootfs(self) -> None:
        shutil.rmtree(self.rootfs, ignore_errors=True)
        run(["mmdebstrap", "--variant=minbase", "--mode=root", "--aptopt=APT::Install-Recommends \"false\"",
             "--include=" + ",".join(self.recipe.packages), self.recipe.suite, self.rootfs,
             f"deb {self.mirror} {self.recipe.suite} main"], log_file=self.log, timeout=1800,
            # the kernel's postinst would run dracut with Debian's defaults; step_initramfs runs it once, ours
            env=minimal_env({"INITRD": "No"}))

    def step_customize(self) -> None:
        r = self.rootfs
        for pattern in self.recipe.remove:
            for path in _glob(r, pattern):
                path.unlink()
        for f in self.recipe.files:
            dest = r / f.path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.unlink(missing_ok=True)
            dest.write_text(f.content)
            os.chmod(dest, f.mode)
        for link in self.recipe.symlinks:
            dest = r / link.path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_symlink() or dest.exists():
                dest.unlink()
            dest.symlink_to(link.target)

    def step_initramfs(self) -> None:
        kver = self.kernel_version()
        # a private mount namespace, so nothing stays mounted on the host if we die
        script = ('set -e; R=$1; shift; mount -t proc proc "$R/proc"; mount -t sysfs sys "$R/sys"; '
                  'mount --rbind /dev "$R/dev"; mount -t tmpfs tmpfs "$R/run"; mount -t tmpfs tmpfs "$R/tmp"; '
                  'exec chroot "$R" "$@"')
        run(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", self.rootfs,
             "dracut", "--force", "--kver", kver, f"/boot/initrd.img-{kver}"], log_file=self.log, timeout=1200)
        shutil.copyfile(self.rootfs / f"boot/vmlinuz-{kver}", self.out / "vmlinuz")
        shutil.copyfile(self.rootfs / f"boot/initrd.img-{kver}", self.out / "initrd.img")

    def step_disk(self) -> None:
        raw = self.work / "root.raw"
        raw.unlink(missing_ok=True)
        run(["mke2fs", "-q", "-t", "ext4", "-L", "root", "-d", self.rootfs, raw, self.recipe.disk_size],
            log_file=self.log, timeout=900)
        run(["qemu-img", "convert", "-O", "qcow2", raw, self.out / "root.qcow2"], log_file=self.log, timeout=900)
        raw.unlink()

    def kernel_version(self) -> str:
        versions = sorted(p.name for p in (self.rootfs / "usr/lib/modules").iterdir())
        if not versions:
            raise ImageError(f"no kernel installed in {self.rootfs}")
        return versions[-1]

    def write_manifest(self) -> None:
        pkgs = run(["chroot", self.rootfs, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n"]).stdout
        versions = dict(line.split(" ", 1) for line in pkgs.splitlines() if " " in line)
        manifest = {
            "kind": "offline",
            "recipe_key": self.recipe.key(),
            "suite": self.recipe.suite,
            "kernel": self.kernel_version(),
            "ignition_max_spec": self.recipe.ignition_max_spec,
            "versions": {p: versions.get(p) for p in ("ignition", "podman", "systemd", "linux-image-amd64")},
            "timings": self.timings,
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (self.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _glob(root: Path, pattern: str) -> list[Path]:
    parent = root / os.path.dirname(pattern)
    if not parent.is_dir():
        return []
    name = os.path.basename(pattern)
    return [p for p in parent.iterdir() if fnmatch.fnmatch(p.name, name) and (p.is_symlink() or p.is_file())]
