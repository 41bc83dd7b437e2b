"""The data volume's filesystem across a rebuild: what Ignition would refuse to
reuse on the existing volume."""

from __future__ import annotations

from .config import data_devices, effective_config
from .errors import VolumeSafetyError
from .live import CloudState
from .placement import Placement
from .safety import volume_device


def _canonical_uuid(fmt: str | None, uuid: str) -> str:
    """As Ignition compares UUIDs: lower case; a vfat volume id without its dash
    (coreos/ignition internal/exec/stages/disks/filesystems.go canonicalizeFilesystemUUID)."""
    uuid = uuid.lower()
    if fmt == "vfat" and len(uuid) >= 5 and uuid[4] == "-":
        uuid = uuid[:4] + uuid[5:]
    return uuid


def filesystem_mismatch(before: dict, after: dict) -> list[str]:
    """Why Ignition would refuse the filesystem that `before` (the previous
    config's entry, which made the filesystem now on the device) left, when it
    applies `after` with wipeFilesystem false; [] when it reuses it.

    Ignition's rule (coreos/ignition internal/exec/stages/disks/filesystems.go,
    createFilesystem; docs/operator-notes.md "Filesystem Reuse Semantics"): a
    filesystem entry without `format` is not touched. Otherwise, without
    wipeFilesystem, the existing filesystem is reused when its type equals
    `format` ("none" meaning no filesystem), its label equals `label` if the
    config sets one, and its UUID equals `uuid` if the config sets one (lower
    case; vfat ids without the dash). If a filesystem exists and does not match,
    the disks stage fails and the boot stops; only a device with no filesystem
    at all gets a new one (wipefs, mkfs). Mount options and mkfs `options` are
    not compared.

    What the device holds is inferred from `before`: a filesystem of its format,
    with its label and UUID when it set them, else the ones mkfs gave it when it
    was created (no label; a random UUID). A previous entry with no format or
    format "none" made no filesystem, so nothing is known to clash."""
    new_format = after.get("format")
    old_format = before.get("format")
    if new_format is None or old_format in (None, "none"):
        return []
    problems = []
    if new_format != old_format:
        problems.append(f"format {old_format} → {new_format}")
    new_label, old_label = after.get("label"), before.get("label")
    if new_label is not None and new_label != old_label:
        problems.append(f"label {old_label!r} → {new_label!r}" if old_label is not None else
                        f"label {new_label!r} where the previous config set none (mkfs made the filesystem "
                        "without a label)")
    new_uuid, old_uuid = after.get("uuid"), before.get("uuid")
    if new_uuid is not None and (old_uuid is None or _canonical_uuid(new_format, new_uuid)
                                 != _canonical_uuid(old_format, old_uuid)):
        problems.append(f"uuid {old_uuid} → {new_uuid}" if old_uuid is not None else
                        f"uuid {new_uuid} where the previous config set none (mkfs gave it a random one)")
    return problems


def check_filesystem_change(placement: Placement, state: CloudState, old_doc: dict, doc: dict) -> None:
    """Refuse a config whose data-volume filesystem Ignition would refuse on the
    existing volume (see filesystem_mismatch): the rebuilt server would stop in
    its first boot. Judged against the previous config, and only while the
    volume is attached to this server (so the previous config's filesystem is
    the one on it). The filesystem compared is the one on the placement's
    volume device; a config that names the disk otherwise (/dev/vdb) is paired
    with the previous config's when each has one data filesystem and the
    previous one is not on another volume's disk."""
    volume, server = state.volume, state.server
    if volume is None or server is None or state.volume_server != server.id:
        return
    device = volume_device(volume.id)
    new = [f for f in data_devices(doc) if not f.get("wipeFilesystem")]
    old = {f["device"]: f for f in data_devices(effective_config(old_doc))}
    mine = [f for f in new if f["device"] == device] or new
    for fs in mine:
        before = old.get(fs["device"])
        if before is None and len(mine) == 1 and len(old) == 1:
            (other,) = old.values()
            if not (other["device"].startswith("/dev/disk/by-id/virtio-") and other["device"] != device):
                before = other
        if before is None:
            continue
        problems = filesystem_mismatch(before, fs)
        if problems:
            kept = ", ".join(f"{k} {before[k]}" for k in ("format", "label", "uuid") if before.get(k) is not None)
            raise VolumeSafetyError(
                f"the config changes the filesystem of data volume {placement.volume.name} ({fs['device']}): "
                f"{'; '.join(problems)}, without wiping it. Ignition reuses an existing filesystem only when "
                "its format, and any label and UUID the config sets, match; otherwise its disks stage fails "
                "and the rebuilt server does not boot", vm=placement.vm, server=server.id, step="plan",
                hint=f"keep the volume's filesystem as deployed ({kept}; a label or UUID left out is not "
                     "checked); to move the data to another filesystem, give the placement a new data volume "
                     "(stoker creates it empty and Ignition makes the new filesystem) and copy the data across "
                     f"by hand from {placement.volume.name}, which stays. stoker never wipes a data volume")


