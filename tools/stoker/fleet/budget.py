"""Ignition configs against cloud user-data size limits, and the wrapping fallback.

When a config is over the provider's limit, the cloud gets a small outer config
whose `ignition.config.replace` holds the whole config as a gzip data URL:
Ignition fetches (decodes) it and uses it instead of the outer one.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass

# name: (limit, what the limit counts)
PROVIDERS = {
    "openstack": (65535, "base64"),  # Nova: 65,535 base64 characters (about 48 KiB raw)
    "aws": (16 * 1024, "raw"),       # EC2: 16 KiB before base64
    "hetzner": (32 * 1024, "raw"),   # Hetzner Cloud: 32 KiB
    "gcp": (256 * 1024, "raw"),      # GCE: 256 KiB per metadata value
}


def base64_length(n: int) -> int:
    return 4 * ((n + 2) // 3)


@dataclass(frozen=True)
class Budget:
    provider: str
    size: int  # bytes of the config as written
    measured: int  # what the provider counts (bytes or base64 characters)
    limit: int
    unit: str

    @property
    def fits(self) -> bool:
        return self.measured <= self.limit

    @property
    def percent(self) -> float:
        return 100.0 * self.measured / self.limit


def measure(config_bytes: bytes, provider: str) -> Budget:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; one of {', '.join(sorted(PROVIDERS))}")
    limit, unit = PROVIDERS[provider]
    n = len(config_bytes)
    return Budget(provider, n, base64_length(n) if unit == "base64" else n, limit, unit)


def wrap(config_bytes: bytes, ignition_version: str) -> bytes:
    """A small outer config that replaces itself with `config_bytes` (gzip, base64 data URL)."""
    packed = gzip.compress(config_bytes, compresslevel=9, mtime=0)  # mtime=0: same input, same bytes
    outer = {
        "ignition": {
            "version": ignition_version,
            "config": {
                "replace": {
                    "source": "data:;base64," + base64.b64encode(packed).decode("ascii"),
                    "compression": "gzip",
                }
            },
        }
    }
    return json.dumps(outer, separators=(",", ":")).encode() + b"\n"


def unwrap(outer_bytes: bytes) -> bytes | None:
    """The inner config of a wrapped config, or None when it is not one of ours."""
    outer = json.loads(outer_bytes)
    replace = outer.get("ignition", {}).get("config", {}).get("replace") or {}
    source = replace.get("source", "")
    if not source.startswith("data:;base64,"):
        return None
    raw = base64.b64decode(source.split(",", 1)[1])
    return gzip.decompress(raw) if replace.get("compression") == "gzip" else raw
