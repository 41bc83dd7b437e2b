"""OCI image layouts made with umoci: a layout per image, the base layer blob shared by all.

umoci(1) does the layout, the layer blobs (gzip) and the image config;
facts from umoci-init(1), umoci-new(1), umoci-raw-add-layer(1),
umoci-config(1), umoci-rm(1), umoci-gc(1), and the OCI image-spec's
image-layout.md (index.json, blobs/sha256/<digest>).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import ImageError, require_tool
from ..run import run

UMOCI_PACKAGE = "umoci"


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image config a stand-in sets (OCI image-spec config.md, "config")."""
    user: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    exposed_ports: tuple[int, ...] = ()
    workdir: str = "/"
    stop_signal: str = ""
    labels: tuple[tuple[str, str], ...] = ()


def umoci() -> str:
    return require_tool("umoci", UMOCI_PACKAGE, "packing stand-in images as OCI image layouts")


def iso(epoch: int) -> str:
    import datetime
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_layout(layout: Path, tag: str, log: IO[str] | None = None) -> None:
    """An empty layout with one image `tag` that has no layers."""
    u = umoci()
    run([u, "init", "--layout", layout], log_file=log)
    run([u, "new", "--image", f"{layout}:{tag}"], log_file=log)


def add_layer(layout: Path, tag: str, layer_tar: Path, new_tag: str, created: int, comment: str,
              log: IO[str] | None = None) -> None:
    """Append the uncompressed `layer_tar` to image `tag` as `new_tag` (umoci gzips it)."""
    run([umoci(), "raw", "add-layer", "--image", f"{layout}:{tag}", "--tag", new_tag,
         "--history.created", iso(created), "--history.created_by", comment, layer_tar], log_file=log,
        timeout=900)


def configure(layout: Path, tag: str, config: ImageConfig, created: int, log: IO[str] | None = None) -> None:
    argv = [umoci(), "config", "--image", f"{layout}:{tag}", "--created", iso(created),
            "--history.created", iso(created), "--history.created_by", "stoker standins: image config",
            "--config.workingdir", config.workdir or "/"]
    if config.user:
        argv += ["--config.user", config.user]
    for arg in config.entrypoint:
        argv += ["--config.entrypoint", arg]
    for arg in config.cmd:
        argv += ["--config.cmd", arg]
    for k, v in config.env:
        argv += ["--config.env", f"{k}={v}"]
    for port in config.exposed_ports:
        argv += ["--config.exposedports", f"{port}/tcp"]
    if config.stop_signal:
        argv += ["--config.stopsignal", config.stop_signal]
    for k, v in config.labels:
        argv += ["--config.label", f"{k}={v}"]
    run(argv, log_file=log)


def remove_tag(layout: Path, tag: str, log: IO[str] | None = None) -> None:
    run([umoci(), "rm", "--image", f"{layout}:{tag}"], log_file=log)
    run([umoci(), "gc", "--layout", layout], log_file=log)


def copy_layout(source: Path, dest: Path) -> None:
    """A copy of a layout whose blobs are hard links (blobs never change: they are named by digest)."""
    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    dest.mkdir(parents=True)
    shutil.copytree(source / "blobs", dest / "blobs", copy_function=link_or_copy)
    for name in ("index.json", "oci-layout"):
        shutil.copyfile(source / name, dest / name)


def read_blob(layout: Path, digest: str) -> dict:
    algo, _, hexa = digest.partition(":")
    try:
        return json.loads((layout / "blobs" / algo / hexa).read_text())
    except (OSError, ValueError) as exc:
        raise ImageError(f"{layout}: blob {digest} is missing or not JSON ({exc})") from None


def describe(layout: Path, tag: str) -> dict:
    """{"digest", "config", "layers": [{"digest", "size", "diff_id"}]} of image `tag` in `layout`."""
    try:
        index = json.loads((layout / "index.json").read_text())
    except (OSError, ValueError) as exc:
        raise ImageError(f"{layout}: no readable index.json ({exc})") from None
    for desc in index.get("manifests", []):
        if desc.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            manifest = read_blob(layout, desc["digest"])
            config = read_blob(layout, manifest["config"]["digest"])
            diff_ids = config.get("rootfs", {}).get("diff_ids", [])
            layers = [{"digest": layer["digest"], "size": layer["size"],
                       "diff_id": diff_ids[i] if i < len(diff_ids) else None}
                      for i, layer in enumerate(manifest["layers"])]
            return {"digest": desc["digest"], "config": config, "layers": layers}
    raise ImageError(f"{layout}: no image tagged {tag}")
