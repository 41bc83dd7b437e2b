"""What an ELF program needs to run: its dynamic loader and the shared libraries it names.

    interpreter(data) -> "/lib64/ld-linux-x86-64.so.2" | None     (None: statically linked)
    needed(data)      -> ["libc.so.6", ...]                      (DT_NEEDED, in order)

`data` is the whole file as bytes. Only 64-bit little-endian ELF is read (the
x86-64 and arm64 images stoker builds); anything else raises ElfError. Layout
facts: the System V gABI (ELF header, program headers PT_LOAD=1, PT_DYNAMIC=2,
PT_INTERP=3; dynamic tags DT_NULL=0, DT_NEEDED=1, DT_STRTAB=5), as in elf(5).
Read here, not with readelf, so that binutils is not one more host requirement.
"""

from __future__ import annotations

import struct

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB = 0, 1, 5


class ElfError(ValueError):
    """Not an ELF file this module reads."""


def interpreter(data: bytes) -> str | None:
    for p_type, offset, _vaddr, filesz in _program_headers(data):
        if p_type == PT_INTERP:
            return data[offset:offset + filesz].split(b"\0", 1)[0].decode()
    return None


def needed(data: bytes) -> list[str]:
    headers = _program_headers(data)
    dynamic = next(((off, size) for t, off, _v, size in headers if t == PT_DYNAMIC), None)
    if dynamic is None:
        return []
    tags: list[tuple[int, int]] = []
    off, size = dynamic
    for pos in range(off, off + size - 15, 16):
        tag, value = struct.unpack_from("<qQ", data, pos)
        if tag == DT_NULL:
            break
        tags.append((tag, value))
    strtab_vaddr = next((v for t, v in tags if t == DT_STRTAB), None)
    if strtab_vaddr is None:
        return []
    strtab = _file_offset(headers, strtab_vaddr)
    names = []
    for tag, value in tags:
        if tag == DT_NEEDED:
            start = strtab + value
            names.append(data[start:data.index(b"\0", start)].decode())
    return names


def _program_headers(data: bytes) -> list[tuple[int, int, int, int]]:
    """(type, file offset, virtual address, file size) of every program header."""
    if data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError("not a 64-bit little-endian ELF file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    headers = []
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        headers.append((p_type, p_offset, p_vaddr, p_filesz))
    return headers


def _file_offset(headers: list[tuple[int, int, int, int]], vaddr: int) -> int:
    for p_type, offset, start, size in headers:
        if p_type == PT_LOAD and start <= vaddr < start + size:
            return offset + (vaddr - start)
    raise ElfError(f"address {vaddr:#x} is in no loaded segment")
