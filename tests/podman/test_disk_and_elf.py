"""Finding the root filesystem in a raw disk, and what a program needs to run."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from stoker.podman import elf
from stoker.podman.disk import DiskError, ext_offset

MIB = 1 << 20


def _disk(path: Path, size: int = 8 * MIB) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def _write(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def _ext_at(path: Path, start: int, label: str = "") -> None:
    _write(path, start + 1024 + 56, struct.pack("<H", 0xEF53))
    _write(path, start + 1024 + 120, label.encode().ljust(16, b"\0"))


def _mbr(path: Path, starts: list[int]) -> None:
    for i, start in enumerate(starts):
        entry = struct.pack("<BBBBBBBBII", 0, 0, 0, 0, 0x83, 0, 0, 0, start // 512, MIB // 512)
        _write(path, 446 + 16 * i, entry)
    _write(path, 510, b"\x55\xaa")


def test_a_bare_filesystem_starts_at_zero(tmp_path):
    raw = _disk(tmp_path / "d")
    _ext_at(raw, 0)
    assert ext_offset(raw) == 0


def test_an_mbr_partition_prefers_the_one_labelled_root(tmp_path):
    raw = _disk(tmp_path / "d")
    _mbr(raw, [1 * MIB, 3 * MIB])
    _ext_at(raw, 1 * MIB, "boot")
    _ext_at(raw, 3 * MIB, "root")
    assert ext_offset(raw) == 3 * MIB


def test_a_gpt_partition(tmp_path):
    raw = _disk(tmp_path / "d")
    _write(raw, 446, struct.pack("<BBBBBBBBII", 0, 0, 0, 0, 0xEE, 0, 0, 0, 1, 0xFFFFFFFF))
    _write(raw, 510, b"\x55\xaa")
    header = b"EFI PART" + bytes(64) + struct.pack("<QII", 2, 128, 128)
    _write(raw, 512, header)
    entry = bytes(range(1, 17)) + bytes(16) + struct.pack("<QQ", 4096, 8191)  # any non-zero type GUID
    _write(raw, 2 * 512 + 128, entry)  # the second slot; the first stays unused
    _ext_at(raw, 4096 * 512)
    assert ext_offset(raw) == 4096 * 512


def test_no_filesystem_is_an_error(tmp_path):
    with pytest.raises(DiskError):
        ext_offset(_disk(tmp_path / "d"))


def test_elf_interpreter_and_needed_of_a_host_program():
    ls = shutil.which("ls")
    data = Path(ls).read_bytes() if ls else b""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        pytest.skip("no 64-bit ELF ls here")
    assert elf.interpreter(data).startswith("/")
    assert "libc.so.6" in elf.needed(data)


def test_not_elf():
    with pytest.raises(elf.ElfError):
        elf.needed(b"#!/bin/sh\n")
