"""Where the ext2/3/4 root filesystem starts inside a raw disk image.

    ext_offset(Path("root.raw")) -> 0              (a bare filesystem, as `stoker image build` makes)
    ext_offset(Path("disk.raw")) -> 1048576        (the first ext partition, preferring one labelled "root")

Raises DiskError when no ext filesystem is found. Layout facts: the ext
superblock sits 1024 bytes into the filesystem, magic 0xEF53 at byte 56 of it,
volume label at byte 120 (16 bytes) (e2fsprogs lib/ext2fs/ext2_fs.h); an MBR
has 0x55AA at 510 and four 16-byte entries from 446 (type at +4, first LBA at
+8); type 0xEE means GPT, whose header in LBA 1 gives the entry array's LBA
(+72), count (+80) and entry size (+84), each entry's first LBA at +32 (UEFI
spec, "GUID Partition Table"). Sectors are 512 bytes, as in qemu-img's raw output.
"""

from __future__ import annotations

import struct
from pathlib import Path

SECTOR = 512
_SUPERBLOCK = 1024
_EXT_MAGIC = 0xEF53


class DiskError(ValueError):
    """No ext filesystem where one was expected."""


def ext_offset(raw: Path) -> int:
    with open(raw, "rb") as fh:
        if _is_ext(fh, 0):
            return 0
        candidates = [start for start in _partition_starts(fh) if _is_ext(fh, start)]
        if not candidates:
            raise DiskError(f"{raw}: no ext2/3/4 filesystem, neither bare nor in an MBR/GPT partition")
        labelled = [start for start in candidates if _label(fh, start) == "root"]
        return (labelled or candidates)[0]


def _read(fh, offset: int, size: int) -> bytes:
    fh.seek(offset)
    return fh.read(size)


def _is_ext(fh, start: int) -> bool:
    magic = _read(fh, start + _SUPERBLOCK + 56, 2)
    return len(magic) == 2 and struct.unpack("<H", magic)[0] == _EXT_MAGIC


def _label(fh, start: int) -> str:
    return _read(fh, start + _SUPERBLOCK + 120, 16).split(b"\0", 1)[0].decode(errors="replace")


def _partition_starts(fh) -> list[int]:
    mbr = _read(fh, 0, SECTOR)
    if len(mbr) < SECTOR or mbr[510:512] != b"\x55\xaa":
        return []
    entries = [mbr[446 + 16 * i: 446 + 16 * (i + 1)] for i in range(4)]
    if any(e[4] == 0xEE for e in entries):
        return _gpt_starts(fh)
    return [struct.unpack_from("<I", e, 8)[0] * SECTOR for e in entries if e[4] != 0]


def _gpt_starts(fh) -> list[int]:
    header = _read(fh, SECTOR, 92)
    if header[:8] != b"EFI PART":
        return []
    entries_lba, = struct.unpack_from("<Q", header, 72)
    count, size = struct.unpack_from("<II", header, 80)
    table = _read(fh, entries_lba * SECTOR, count * size)
    starts = []
    for i in range(count):
        entry = table[i * size:(i + 1) * size]
        if len(entry) >= 40 and entry[:16] != bytes(16):  # an all-zero type GUID is an unused slot
            starts.append(struct.unpack_from("<Q", entry, 32)[0] * SECTOR)
    return starts
