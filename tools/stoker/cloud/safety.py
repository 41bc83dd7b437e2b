"""Refusals: what stoker will not deploy, decided from the placement and the
config alone (`preflight`, before any call to the cloud) or with the data
volume's id (`check_volume_device`, before any change to the cloud)."""

from __future__ import annotations

from .config import NOVA_USER_DATA_LIMIT, Config, data_devices, dev_secret_places, effective_config
from .errors import RefusedError, UserDataTooLarge, VolumeSafetyError
from .placement import Placement


def preflight(placement: Placement, config: Config, allow_dev_secrets: bool = False) -> None:
    vm = placement.vm
    dev = dev_secret_places(effective_config(config.document))
    if dev and not allow_dev_secrets:
        raise RefusedError(
            f"the config was rendered with throwaway dev secrets (in {', '.join(dev)})", vm=vm, step="preflight",
            hint=f"render it with the real secrets: make ignition vm={vm} secrets=FILE")
    size = len(config.user_data)
    if size > NOVA_USER_DATA_LIMIT:
        raise UserDataTooLarge(
            f"user-data is {size:,} base64 characters; Nova accepts at most {NOVA_USER_DATA_LIMIT:,}",
            vm=vm, step="preflight",
            hint="shrink the config (compress it, move large files out of Ignition) and build again")
    doc = effective_config(config.document)
    devices = data_devices(doc)
    if devices and placement.volume is None:
        names = ", ".join(sorted({d["device"] for d in devices}))
        raise VolumeSafetyError(
            f"the config puts filesystems on {names} but the placement declares no data volume, "
            "so none would be attached to the server", vm=vm, step="preflight",
            hint=f"add `volume: {{name: ..., size: ...}}` to vms.{vm} in the placement")

def volume_device(volume_id: str) -> str:
    """Where a Cinder volume shows up in a KVM guest: libvirt gives the virtio
    disk the volume id as serial, and virtio keeps its first 20 characters."""
    return f"/dev/disk/by-id/virtio-{volume_id[:20]}"

def check_volume_device(placement: Placement, config: Config, volume_id: str, step: str) -> None:
    """Refuse when the config mounts a virtio disk by id that is not this volume:
    the server would boot without its data where the config expects it."""
    want = volume_device(volume_id)
    wrong = sorted({d["device"] for d in data_devices(effective_config(config.document))
                    if d["device"].startswith("/dev/disk/by-id/virtio-") and d["device"] != want})
    if wrong:
        raise VolumeSafetyError(
            f"the config expects the data disk at {', '.join(wrong)}, but volume {placement.volume.name} "
            f"({volume_id}) appears as {want}", vm=placement.vm, step=step,
            hint=f"set fleet.yaml volumes.{placement.volume.name}: null (stoker then binds the config to the "
                 f"volume it finds or creates), render it again with `make ignition vm={placement.vm} "
                 "secrets=FILE`, and deploy again (the volume is kept)")
