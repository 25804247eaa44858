"""A zip of deflated entries, with the bytes zipfile would write, the deflating of a
large entry spread over threads.

zipfile deflates an entry as one stream on one core, and a build's last step is
deflating the collection (46 MB for 10,000 notes) while the cores that rendered it are
idle. Here an entry is cut into fixed parts; each part is deflated on its own, with the
32 KiB before it as its preset dictionary, and ends on a byte boundary (a sync flush),
as pigz does. The parts joined are one deflate stream that any inflater reads. The bytes
depend on the data, the level and the part size only, never on the number of threads;
an entry of one part is exactly zipfile's.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import zipfile
import zlib
from collections.abc import Sequence
from typing import IO, NamedTuple

__all__ = ["PART", "Deflated", "crc32_combine", "deflate", "deflate_parts", "write_zip"]

# Bytes per independently deflated part. The default deck's collection (3 MiB) is six
# parts, three per thread on 2 cores (in 1 MiB parts one thread deflated two and the
# other one); a 40 MiB one takes about 1.5% more instructions than in 1 MiB parts.
PART = 1 << 19
_WINDOW = 32 * 1024  # deflate's window: what a part's back-references can reach
# Above this an entry needs zip64 records (zipfile's rule for an entry of known size);
# such a deck is left to zipfile itself.
_ZIP64_FROM = zipfile.ZIP64_LIMIT / 1.05
_CENTRAL = struct.Struct(zipfile.structCentralDir)
_END = struct.Struct(zipfile.structEndArchive)


def _part(data: memoryview, start: int, level: int, last: bool) -> bytes:
    # zipfile's compressor: raw deflate (wbits -15), zlib's default memLevel 8
    if start:
        z = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY,
                             zdict=data[start - _WINDOW:start])
    else:
        z = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = z.compress(data[start:start + PART])
    return body + z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def deflate(data: bytes, level: int, threads: int = 1) -> bytes:
    """`data` as one raw deflate stream, its parts deflated on up to `threads` threads
    (zlib lets go of the GIL while it works)."""
    return b"".join(deflate_parts(data, level, threads).parts)


# CRC-32 arithmetic (zlib's crc32_combine, which Python's zlib does not offer): a part's
# CRC is worked out on the thread that deflates it, instead of the whole data's on one
# core after the last part.
_POLY = 0xEDB88320  # reflected


def _multmodp(a: int, b: int) -> int:
    """a times b modulo the CRC polynomial (zlib's multmodp); a is not 0."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _x2n_table() -> list[int]:
    table, p = [], 1 << 30  # x^1
    for _ in range(32):
        table.append(p)
        p = _multmodp(p, p)
    return table


_X2N = _x2n_table()  # x^(2^n) modulo the polynomial


def _shift(length: int) -> int:
    """x^(8 * length) modulo the polynomial (zlib's x2nmodp(length, 3))."""
    p, k = 1 << 31, 3
    while length:
        if length & 1:
            p = _multmodp(_X2N[k & 31], p)
        length >>= 1
        k += 1
    return p


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from A's, B's and B's length."""
    return _multmodp(_shift(length2), crc1) ^ crc2


class Deflated(NamedTuple):
    parts: list[bytes]  # joined, the raw deflate stream
    crc: int  # the data's CRC-32


def deflate_parts(data: bytes | mmap.mmap, level: int, threads: int = 1) -> Deflated:
    """`deflate`'s stream in its parts, which joined are the stream (written one after
    the other, a large collection is not copied once more), and the data's CRC-32."""
    view = memoryview(data)
    starts = range(0, len(data), PART) if data else range(1)
    last = len(starts) - 1
    out: list[bytes] = [b""] * len(starts)
    crcs = [0] * len(starts)
    errors: list[BaseException] = []

    def work(first: int, step: int) -> None:
        try:
            for i in range(first, len(starts), step):
                if errors:  # another thread failed, or Ctrl-C reached the main one
                    return
                out[i] = _part(view, starts[i], level, i == last)
                crcs[i] = zlib.crc32(view[starts[i]:starts[i] + PART])
        except BaseException as exc:  # raised again in the calling thread
            errors.append(exc)

    step = max(1, min(threads, len(starts)))
    helpers = [threading.Thread(target=work, args=(k, step)) for k in range(1, step)]
    for t in helpers:
        t.start()
    work(0, step)
    for t in helpers:
        t.join()
    if errors:
        raise errors[0]
    crc, shift = crcs[0], _shift(PART)
    for i in range(1, len(starts)):
        size = min(PART, len(data) - starts[i])
        crc = _multmodp(shift if size == PART else _shift(size), crc) ^ crcs[i]
    return Deflated(out, crc)


def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    dt = date_time
    return (dt[0] - 1980) << 9 | dt[1] << 5 | dt[2], dt[3] << 11 | dt[4] << 5 | dt[5] // 2


def write_zip(fh: IO[bytes], entries: Sequence[tuple[zipfile.ZipInfo, bytes | mmap.mmap]],
              level: int) -> None:
    """Write `entries` (deflated, in order) as a zip to `fh`, byte for byte what
    `zipfile.ZipFile(fh, "w")` and `writestr(info, data, compresslevel=level)` give for
    an entry of one part, its deflating spread over the machine's cores."""
    if sum(len(data) for _, data in entries) >= _ZIP64_FROM:
        with zipfile.ZipFile(fh, "w") as zf:
            for info, data in entries:
                zf.writestr(info, data, compresslevel=level)
        return
    threads = min(os.cpu_count() or 1, 8)
    offsets = []
    for info, data in entries:
        if info.compress_type != zipfile.ZIP_DEFLATED:
            raise ValueError(f"{info.filename}: only deflated entries are written")
        body, crc = deflate_parts(data, level, threads)
        info.flag_bits = 0  # sizes in the local header: no data descriptor
        info.CRC, info.file_size = crc, len(data)
        info.compress_size = sum(map(len, body))
        offsets.append(fh.tell())
        fh.write(info.FileHeader(zip64=False))
        fh.writelines(body)
    directory = fh.tell()
    for (info, _), offset in zip(entries, offsets, strict=True):
        date, time = _dos_time(info.date_time)
        name = info.filename.encode("ascii")  # zipfile would flag a UTF-8 name
        fh.write(_CENTRAL.pack(
            zipfile.stringCentralDir, info.create_version, info.create_system,
            info.extract_version, info.reserved, info.flag_bits, info.compress_type, time,
            date, info.CRC, info.compress_size, info.file_size, len(name), len(info.extra),
            len(info.comment), 0, info.internal_attr, info.external_attr, offset))
        fh.write(name + info.extra + info.comment)
    end = fh.tell()
    fh.write(_END.pack(zipfile.stringEndArchive, 0, 0, len(entries), len(entries),
                       end - directory, directory, 0))
