"""How a config names a data volume that does not exist yet.

A Cinder volume appears in a KVM guest as /dev/disk/by-id/virtio-<serial>,
where libvirt gives the virtio disk the volume's id as serial and virtio keeps
its first 20 characters. That id is known only once the volume is created, so
a fleet volume whose serial is not pinned in fleet.yaml (`volumes: {NAME: null}`)
is rendered with a placeholder serial derived from its name, and
`stoker deploy` binds it to the real volume's serial just before the config
goes to the server: the operator never edits a file between creating a volume
and deploying the server that uses it.

The placeholder is 20 characters of [a-z0-9-] (a valid virtio serial, so the
boot test attaches its scratch disk under it). In a rendered config it appears
as written in filesystem devices and mount units, and systemd-escaped
(`-` as `\\x2d`) in the unit dependencies Butane generates
(systemd.unit(5) "String Escaping for Inclusion in Unit Names").
"""

from __future__ import annotations

import hashlib
import json

SERIAL_LENGTH = 20  # virtio-blk serials are cut to 20 characters
PREFIX = "stoker-"


def placeholder_serial(volume_name: str) -> str:
    """The serial a config uses for `volume_name` until the volume exists."""
    digest = hashlib.sha256(volume_name.encode("utf-8")).hexdigest()
    return (PREFIX + digest)[:SERIAL_LENGTH]


def volume_serial(volume_id: str) -> str:
    return volume_id[:SERIAL_LENGTH]


def _mark(placeholder: str) -> str:
    """The part of a placeholder every escaped form keeps as is (its hex digits)."""
    return placeholder[len(PREFIX):]


def _forms(serial: str) -> list[str]:
    """The serial's device-path forms as they appear in the JSON text of a config:
    plain, and systemd-escaped inside unit text (each backslash doubled by JSON)."""
    plain = f"virtio-{serial}"
    escaped = plain.replace("-", "\\x2d")
    return [plain, json.dumps(escaped)[1:-1]]


def bind_serial(raw: bytes, volume_name: str, volume_id: str) -> bytes:
    """`raw` (an Ignition config's JSON) with the placeholder of `volume_name`
    replaced by the serial of `volume_id`; `raw` itself when it has none. A
    config stoker wrapped (ignition.config.replace with a gzip data URL, for
    the user-data limit) is unwrapped, bound and wrapped again. ValueError when
    the placeholder also sits where text replacement cannot reach (inside a
    data: URL of a file)."""
    from .fleet import budget

    try:
        inner = budget.unwrap(raw)
    except (ValueError, OSError, EOFError):
        inner = None
    if inner is not None:
        version = json.loads(raw)["ignition"]["version"]
        bound = bind_serial(inner, volume_name, volume_id)
        return raw if bound == inner else budget.wrap(bound, version)
    placeholder, real = placeholder_serial(volume_name), volume_serial(volume_id)
    text = raw.decode("utf-8")
    for old, new in zip(_forms(placeholder), _forms(real)):
        text = text.replace(old, new)
    out = text.encode("utf-8")
    if _mark(placeholder) in text or _hidden(out, placeholder):
        raise ValueError(f"the placeholder serial of volume {volume_name} ({placeholder}) is also where stoker "
                         "cannot rewrite it (inside encoded file contents)")
    return out


def _hidden(raw: bytes, placeholder: str) -> bool:
    """Whether the placeholder appears inside the data: URL of a resource of the
    config (file contents or appends, merged or replacing configs, CAs, LUKS key
    files: stoker.ignition.inline.resources), decoded as Ignition decodes it,
    and inside it again when those bytes are themselves gzip."""
    import gzip

    from .ignition.inline import read_inline, resources

    try:
        doc = json.loads(raw)
    except ValueError:
        return False
    mark = _mark(placeholder).encode()
    for _, resource in resources(doc) if isinstance(doc, dict) else ():
        data, _ = read_inline(resource)
        if not data:
            continue
        if mark in data:
            return True
        if data[:2] == b"\x1f\x8b":
            try:
                if mark in gzip.decompress(data):
                    return True
            except (OSError, EOFError):
                continue
    return False


def uses_placeholder(raw: bytes, volume_name: str) -> bool:
    """Whether a config names `volume_name` by its placeholder (before binding)."""
    placeholder = placeholder_serial(volume_name)
    return _mark(placeholder) in raw.decode("utf-8", "replace") or _hidden(raw, placeholder)
