"""How the CLI shows built stand-ins: one row per image, sizes in kB or MB (10^3, 10^6 bytes)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from .build import Built


def fleet_registry(start: Path | None = None) -> str | None:
    """fleet.yaml's `registry` (e.g. "registry.ebisc.org/ebisc"), or None.

    None when there is no fleet here (no fleet.yaml with a vms/ directory in
    `start`, default the working directory, or above it: the stand-ins then
    name images without the registry) or when fleet.yaml has no `registry`.
    A fleet.yaml that is there but broken raises its FleetError, which names
    the file, line and cause (the CLI prints it without a traceback).
    """
    from ...fleet.definitions import find_root, load_fleet
    from ...fleet.errors import FleetError
    try:
        root = find_root(start)
    except FleetError:
        return None
    return str(load_fleet(root).data.get("registry") or "") or None


def mb(n: int) -> str:
    return f"{n / 1e3:.1f} kB" if n < 100_000 else f"{n / 1e6:.1f} MB"


def standins_table(built: list[Built]) -> Table:
    """Image, manifest digest, the base and own layers (gzip / tar), cache hit or build seconds.

    The last row sums what a machine pulling every image transfers: the
    shared base layer once, then each image's own layer.
    """
    table = Table(title="stand-in images (layer sizes: gzip / tar)")
    for col in ("image", "digest", "base layer", "own layer", "cache"):
        table.add_column(col)
    base_layers: dict[str, int] = {}
    own_total = own_tar = 0
    for b in built:
        base = b.layers[0]
        base_layers[base["digest"]] = base["size"]
        if b.name == "base":
            continue
        own = b.layers[1]
        own_total += own["size"]
        own_tar += own.get("tar_size", 0)
        table.add_row(b.name, b.digest[:19], f"{mb(base['size'])} / {mb(base.get('tar_size', 0))}",
                      f"{mb(own['size'])} / {mb(own.get('tar_size', 0))}",
                      "hit" if b.cached else f"built in {b.seconds:.0f}s")
    base_total = sum(base_layers.values())
    table.add_row("all, base once", "", mb(base_total), f"{mb(own_total)} / {mb(own_tar)}",
                  f"{mb(base_total + own_total)} to pull")
    return table
