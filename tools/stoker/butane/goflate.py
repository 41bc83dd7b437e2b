"""Go's compress/flate at BestCompression (level 9), and the gzip member Go's
compress/gzip writes around it: the exact bytes the official Butane (a Go program)
produces for a gzip'd data URL.

CPython's zlib is a different deflate implementation: at level 9 its output is
usually a few bytes shorter than Go's, which moves Butane's compress-or-not
decision near the threshold (resources.data_url). This module re-implements, in
plain Python, the procedure of the classic compress/flate (Go 1.7 up to the
rewrite of 2026; unchanged in its level-9 output through the Go 1.2x releases):

* LZ77 with hash chains: a hash of the next 4 bytes (multiplicative, 17 bits),
  a 32 KiB window, lazy matching with level 9's parameters (good 32, lazy 258,
  nice 258, chain 4096); matches of length 4 only within 4096 bytes; the minimum
  emitted match is 4 bytes.
* blocks of at most 16384 tokens; each block is written fixed-Huffman,
  dynamic-Huffman or stored, whichever is smallest (stored only when the block's
  bytes are still in the window and at most 65535 long);
* Go's length-limited Huffman code construction (a boundary package-merge over
  frequency-sorted symbols, ties broken by symbol value) and its own run-length
  coding of the code lengths;
* the stream closes with an empty final stored block.

The official outputs in tests/butane/corpus/ were made by a butane v0.29.0 built
with that classic flate: every gzip stream there is reproduced byte for byte.
Those in tests/butane/corpus-variants/ came from a build with the 2026 rewrite
(ported from the klauspost/compress design: level 9 with a cost model and chain
1024, a new block writer), which ends the stream with an empty fixed-Huffman
block instead (eof_fixed); on their small inputs the blocks before it are the
classic ones, so they are reproduced too with eof_fixed=True. The rest of the
rewrite is not ported.

Only `gzip_bytes` (and `deflate`) are public. Pure Python and slow (about 2 ms
for a 100-byte input, 100 ms for 64 KiB of text, more on data with many short
repeats): resources.py calls it only when zlib's size is close to the threshold,
and imports it lazily.
"""

from __future__ import annotations

import zlib

_WSIZE = 1 << 15
_WMASK = _WSIZE - 1
_HASH_SHIFT = 32 - 17
_HASH_MUL = 0x1E35A7BD
_MIN_MATCH = 4
_MAX_MATCH = 258
_LOOKAHEAD = _MIN_MATCH + _MAX_MATCH  # a window's processing stops this far from its end
_MAX_TOKENS = 1 << 14
_MAX_STORED = 65535
_GOOD, _LAZY, _NICE, _CHAIN = 32, 258, 258, 4096  # level 9
_MATCH = 1 << 28  # token flag: (_MATCH | (length - 3) << 16 | (offset - 1))

# DEFLATE's length and distance codes (RFC 1951 3.2.5).
_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
             67, 83, 99, 115, 131, 163, 195, 227, 258]
_LEN_EXTRA = [0] * 8 + [i // 4 for i in range(4, 24)] + [0]
_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
              1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
_DIST_EXTRA = [0, 0, 0, 0] + [i // 2 for i in range(2, 28)]
_CODEGEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

_LEN_CODE = [0] * 259  # match length -> index into _LEN_BASE
for _c in range(29):
    for _l in range(_LEN_BASE[_c], (_LEN_BASE[_c + 1] if _c < 28 else 259)):
        _LEN_CODE[_l] = _c
_LEN_CODE[258] = 28


def _dist_code(dist: int) -> int:
    """The distance code (index into _DIST_BASE) of a match distance: two codes per
    power of two above 4."""
    x = dist - 1
    if x < 4:
        return x
    nb = x.bit_length() - 1
    return 2 * nb + ((x >> (nb - 1)) & 1)


def _reverse(code: int, nbits: int) -> int:
    return int(format(code, f"0{nbits}b")[::-1], 2) if nbits else 0


def _fixed_lit_lens() -> list[int]:
    # 288 lengths for the canonical codes (RFC 1951 3.2.6); symbols 286 and 287
    # never occur but take part in the code assignment
    return [8] * 144 + [9] * 112 + [7] * 24 + [8] * 8


def _codes_from_lens(lens: list[int]) -> list[int]:
    """Canonical codes (bit-reversed, ready for LSB-first writing) for code lengths."""
    maxlen = max(lens, default=0)
    count = [0] * (maxlen + 2)
    for n in lens:
        if n:
            count[n] += 1
    nxt = [0] * (maxlen + 2)
    code = 0
    for bits in range(1, maxlen + 1):
        code = (code + count[bits - 1]) << 1 if bits > 1 else 0
        nxt[bits] = code
    out = [0] * len(lens)
    for sym, n in enumerate(lens):
        if n:
            out[sym] = _reverse(nxt[n], n)
            nxt[n] += 1
    return out


_FIXED_LIT_LENS = _fixed_lit_lens()
_FIXED_LIT_CODES = _codes_from_lens(_FIXED_LIT_LENS)
_FIXED_DIST_LENS = [5] * 30
_FIXED_DIST_CODES = [_reverse(i, 5) for i in range(30)]

_MAXI32 = (1 << 31) - 1


def _huffman_lens(freq: list[int], max_bits: int) -> tuple[list[int], list[int]]:
    """(lengths, codes) as Go's huffmanEncoder.generate assigns them."""
    lens = [0] * len(freq)
    codes = [0] * len(freq)
    nodes = [(f, sym) for sym, f in enumerate(freq) if f]
    if len(nodes) <= 2:
        # one or two symbols: each gets a 1-bit code, in symbol order
        for i, (_, sym) in enumerate(nodes):
            lens[sym], codes[sym] = 1, i
        return lens, codes
    nodes.sort()  # by frequency, ties by symbol
    n = len(nodes)
    fr = [f for f, _ in nodes] + [_MAXI32]
    max_bits = min(max_bits, n - 1)
    # per level: [lastFreq, nextCharFreq, nextPairFreq, needed]
    last = [0] * (max_bits + 2)
    next_char = [0] * (max_bits + 2)
    next_pair = [0] * (max_bits + 2)
    needed = [0] * (max_bits + 2)
    leaf = [[0] * (max_bits + 2) for _ in range(max_bits + 2)]
    for lv in range(1, max_bits + 1):
        last[lv] = fr[1]
        next_char[lv] = fr[2]
        next_pair[lv] = fr[0] + fr[1] if lv != 1 else _MAXI32
        leaf[lv][lv] = 2
    needed[max_bits] = 2 * n - 4
    lv = max_bits
    while True:
        if next_pair[lv] == _MAXI32 and next_char[lv] == _MAXI32:
            needed[lv] = 0
            next_pair[lv + 1] = _MAXI32
            lv += 1
            continue
        prev_freq = last[lv]
        if next_char[lv] < next_pair[lv]:
            k = leaf[lv][lv] + 1
            last[lv] = next_char[lv]
            leaf[lv][lv] = k
            next_char[lv] = fr[k]
        else:
            last[lv] = next_pair[lv]
            leaf[lv][:lv] = leaf[lv - 1][:lv]
            needed[lv - 1] = 2
        needed[lv] -= 1
        if needed[lv] == 0:
            if lv == max_bits:
                break
            next_pair[lv + 1] = prev_freq + last[lv]
            lv += 1
        else:
            while needed[lv - 1] > 0:
                lv -= 1
    if leaf[max_bits][max_bits] != n:
        raise AssertionError("goflate: huffman leaf count")
    counts = leaf[max_bits]
    bit_count = [0] * (max_bits + 1)
    bits = 1
    for level in range(max_bits, 0, -1):
        bit_count[bits] = counts[level] - counts[level - 1]
        bits += 1
    # assign: the most frequent symbols take the shortest codes; within a length,
    # codes go up in symbol order
    code = 0
    end = n
    for nb, cnt in enumerate(bit_count):
        code <<= 1
        if nb == 0 or cnt == 0:
            continue
        for _, sym in sorted(nodes[end - cnt:end], key=lambda t: t[1]):
            lens[sym] = nb
            codes[sym] = _reverse(code, nb)
            code += 1
        end -= cnt
    return lens, codes


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.bits = 0
        self.nbits = 0

    def write(self, value: int, nbits: int) -> None:
        self.bits |= value << self.nbits
        self.nbits += nbits
        if self.nbits >= 64:
            self.out += (self.bits & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
            self.bits >>= 64
            self.nbits -= 64

    def flush(self) -> None:
        """Pad to a byte boundary and move everything to `out`."""
        nbytes = (self.nbits + 7) // 8
        self.out += self.bits.to_bytes(nbytes, "little")
        self.bits = self.nbits = 0


def _codegen(lit_lens: list[int], n_lit: int, off_lens: list[int], n_off: int):
    """Go's run-length coding of the code lengths: (codegen list, codegen freqs)."""
    src = lit_lens[:n_lit] + off_lens[:n_off] + [None]
    freq = [0] * 19
    out: list[int] = []
    size = src[0]
    count = 1
    i = 1
    while size is not None:
        nxt = src[i]
        i += 1
        if nxt == size:
            count += 1
            continue
        if size != 0:
            out.append(size)
            freq[size] += 1
            count -= 1
            while count >= 3:
                k = min(6, count)
                out += (16, k - 3)
                freq[16] += 1
                count -= k
        else:
            while count >= 11:
                k = min(138, count)
                out += (18, k - 11)
                freq[18] += 1
                count -= k
            if count >= 3:
                out += (17, count - 3)
                freq[17] += 1
                count = 0
        for _ in range(count):
            out.append(size)
            freq[size] += 1
        size = nxt
        count = 1
    return out, freq


def _bit_length(freq: list[int], lens: list[int]) -> int:
    return sum(f * lens[i] for i, f in enumerate(freq) if f)


def _write_block(w: _BitWriter, tokens: list[int], raw: bytes | None) -> None:
    """huffmanBitWriter.writeBlock (never the final block): the smallest of fixed,
    dynamic and (if `raw` is given and short enough) stored."""
    lit_freq = [0] * 286
    off_freq = [0] * 30
    len_code, dist_code = _LEN_CODE, _dist_code
    for t in tokens:
        if t < _MATCH:
            lit_freq[t] += 1
        else:
            lit_freq[257 + len_code[((t >> 16) & 0xFF) + 3]] += 1
            off_freq[dist_code((t & 0xFFFF) + 1)] += 1
    lit_freq[256] += 1  # end of block
    n_lit = 286
    while lit_freq[n_lit - 1] == 0:
        n_lit -= 1
    n_off = 30
    while n_off > 0 and off_freq[n_off - 1] == 0:
        n_off -= 1
    if n_off == 0:
        off_freq[0] = 1
        n_off = 1
    lit_lens, lit_codes = _huffman_lens(lit_freq, 15)
    off_lens, off_codes = _huffman_lens(off_freq, 15)

    storable = raw is not None and len(raw) <= _MAX_STORED
    extra = 0
    if storable:
        for c in range(8, n_lit - 257):
            extra += lit_freq[257 + c] * _LEN_EXTRA[c]
        for c in range(4, n_off):
            extra += off_freq[c] * _DIST_EXTRA[c]
    size = 3 + _bit_length(lit_freq, _FIXED_LIT_LENS) + _bit_length(off_freq, _FIXED_DIST_LENS) + extra

    cg, cg_freq = _codegen(lit_lens, n_lit, off_lens, n_off)
    cg_lens, cg_codes = _huffman_lens(cg_freq, 7)
    n_cg = 19
    while n_cg > 4 and cg_freq[_CODEGEN_ORDER[n_cg - 1]] == 0:
        n_cg -= 1
    dyn = (3 + 5 + 5 + 4 + 3 * n_cg + _bit_length(cg_freq, cg_lens)
           + cg_freq[16] * 2 + cg_freq[17] * 3 + cg_freq[18] * 7
           + _bit_length(lit_freq, lit_lens) + _bit_length(off_freq, off_lens) + extra)
    dynamic = dyn < size
    if dynamic:
        size = dyn
    if storable and (len(raw) + 5) * 8 < size:
        w.write(0, 3)
        w.flush()
        w.write(len(raw) | (len(raw) ^ 0xFFFF) << 16, 32)
        w.flush()
        w.out += raw
        return
    if dynamic:
        w.write(4, 3)
        w.write(n_lit - 257, 5)
        w.write(n_off - 1, 5)
        w.write(n_cg - 4, 4)
        for i in range(n_cg):
            w.write(cg_lens[_CODEGEN_ORDER[i]], 3)
        i = 0
        while i < len(cg):
            c = cg[i]
            w.write(cg_codes[c], cg_lens[c])
            if c >= 16:
                i += 1
                w.write(cg[i], (2, 3, 7)[c - 16])
            i += 1
        ll, lc, ol, oc = lit_lens, lit_codes, off_lens, off_codes
    else:
        w.write(2, 3)
        ll, lc, ol, oc = _FIXED_LIT_LENS, _FIXED_LIT_CODES, _FIXED_DIST_LENS, _FIXED_DIST_CODES
    write = w.write
    for t in tokens:
        if t < _MATCH:
            write(lc[t], ll[t])
            continue
        length = ((t >> 16) & 0xFF) + 3
        dist = (t & 0xFFFF) + 1
        c = len_code[length]
        write(lc[257 + c], ll[257 + c])
        if _LEN_EXTRA[c]:
            write(length - _LEN_BASE[c], _LEN_EXTRA[c])
        c = dist_code(dist)
        write(oc[c], ol[c])
        if _DIST_EXTRA[c]:
            write(dist - _DIST_BASE[c], _DIST_EXTRA[c])
    write(lc[256], ll[256])


def deflate(data: bytes, *, eof_fixed: bool = False) -> bytes:
    """The raw DEFLATE stream Go's flate.NewWriter(w, 9) writes for one Write of
    `data` followed by Close.

    eof_fixed: end with an empty final fixed-Huffman block (10 bits) instead of an
    empty final stored block (3 bits, padding, 4 bytes), as the compress/flate
    rewrite of 2026 does. That rewrite also changed level 9's match search (a
    cost model, chain 1024) and block writer; on the small inputs of the
    reference outputs its blocks were still the classic ones, but in general they
    are not: this flag reproduces only its end marker."""
    data = bytes(data)
    n = len(data)
    w = _BitWriter()
    # Hash of the 4 bytes at each position (only positions < n - 3 are inserted).
    if n >= 4:
        words = memoryview(data)
        hashes = [((int.from_bytes(words[i:i + 4], "big") * _HASH_MUL) & 0xFFFFFFFF) >> _HASH_SHIFT
                  for i in range(n - 3)]
    else:
        hashes = []
    max_insert = n - 3
    head: dict[int, int] = {}  # hash -> absolute position + 1 of the newest entry
    prev = [0] * _WSIZE  # position & mask -> previous position + 1 in its chain

    tokens: list[int] = []
    # Go keeps a 64 KiB window that slides by 32 KiB; positions here are absolute,
    # `base` is where Go's window starts. It matters in two places: a match
    # candidate before `base` is gone, and a block whose first byte slid out of
    # the window can no longer be written stored.
    base = 0
    block_start: int | None = 0
    index = 0
    length, offset = _MIN_MATCH - 1, 0
    byte_available = False
    chain_head = -1  # stored form (position + 1); stale between insertions, as in Go

    def write_block(end: int) -> None:
        nonlocal block_start
        raw = data[block_start:end] if block_start is not None and block_start <= end else None
        block_start = end
        _write_block(w, tokens, raw)
        tokens.clear()

    def find_match(pos: int, cand: int, lookahead: int) -> tuple[int, int]:
        look = min(_MAX_MATCH, lookahead)
        nice = min(_NICE, look)
        tries = _CHAIN
        best = _MIN_MATCH - 1  # (prevLength passed by Go is always 3: never >= good)
        best_off = 0
        w_end = data[pos + best]
        min_index = pos - _WSIZE
        target = data[pos:pos + look]
        target_int = int.from_bytes(target, "big")
        i = cand
        while tries > 0:
            if data[i + best] == w_end:
                other = data[i:i + look]
                if other == target:
                    m = look
                else:
                    x = int.from_bytes(other, "big") ^ target_int
                    m = look - 1 - (x.bit_length() - 1) // 8
                if m > best and (m > _MIN_MATCH or pos - i <= 4096):
                    best, best_off = m, pos - i
                    if m >= nice:
                        break
                    w_end = data[pos + m]
            if i == min_index:
                break
            i = prev[i & _WMASK] - 1
            if i < min_index or i < base:
                break
            tries -= 1
        return best, best_off

    def run(wend: int, sync: bool) -> None:
        nonlocal index, length, offset, byte_available, chain_head
        while True:
            lookahead = wend - index
            if lookahead < _LOOKAHEAD:
                if not sync:
                    return
                if lookahead == 0:
                    if byte_available:
                        tokens.append(data[index - 1])
                        byte_available = False
                    if tokens:
                        write_block(index)
                    return
            if index < max_insert:
                h = hashes[index]
                chain_head = head.get(h, 0)
                prev[index & _WMASK] = chain_head
                head[h] = index + 1
            prev_length, prev_offset = length, offset
            length, offset = _MIN_MATCH - 1, 0
            min_index = max(index - _WSIZE, base)
            if chain_head - 1 >= min_index and lookahead > prev_length and prev_length < _LAZY:
                m, off = find_match(index, chain_head - 1, lookahead)
                if off:
                    length, offset = m, off
            if prev_length >= _MIN_MATCH and length <= prev_length:
                tokens.append(_MATCH | (prev_length - 3) << 16 | (prev_offset - 1))
                new_index = index + prev_length - 1
                index += 1
                while index < new_index:
                    if index < max_insert:
                        h = hashes[index]
                        prev[index & _WMASK] = head.get(h, 0)
                        head[h] = index + 1
                    index += 1
                byte_available = False
                length = _MIN_MATCH - 1
                if len(tokens) == _MAX_TOKENS:
                    write_block(index)
            else:
                if byte_available:
                    tokens.append(data[index - 1])
                    if len(tokens) == _MAX_TOKENS:
                        write_block(index)
                index += 1
                byte_available = True

    # One Write: fill 64 KiB, then process and slide by 32 KiB until all is in.
    wend = min(n, 2 * _WSIZE)
    while wend < n:
        run(wend, False)
        base += _WSIZE  # Go slides once per fill here: index is past 64 KiB - 262
        if block_start is not None and block_start < base:
            block_start = None
        wend = min(n, base + 2 * _WSIZE)
    run(wend, True)  # Close: flush what is left,
    if eof_fixed:
        w.write(3, 3)  # then an empty final block: fixed Huffman, end-of-block code 0000000
        w.write(0, 7)
        w.flush()
    else:
        w.write(1, 3)  # then an empty final stored block
        w.flush()
        w.write(0xFFFF0000, 32)
        w.flush()
    return bytes(w.out)


def gzip_bytes(data: bytes, *, eof_fixed: bool = False) -> bytes:
    """Go's gzip.NewWriterLevel(w, gzip.BestCompression) output for `data`: no
    name, mtime 0, extra flags 2, OS byte 255, then CRC-32 and size (eof_fixed:
    see deflate)."""
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "little") + \
        (len(data) & 0xFFFFFFFF).to_bytes(4, "little")
    return header + deflate(data, eof_fixed=eof_fixed) + trailer
