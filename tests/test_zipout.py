"""cardgen.zipout: the deck's zip, its collection deflated in parts on several threads."""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import zipfile
import zlib

import pytest

from cardgen import zipout
from cardgen.zipout import PART, deflate, write_zip

STAMP = (2025, 6, 15, 14, 6, 40)


def _data(size: int, seed: int = 1) -> bytes:
    """Text-like bytes with repeats both near and far (back-references across parts)."""
    rng = random.Random(seed)
    words = [bytes(rng.choices(b"abcdefgh<>/=\" 0123456789", k=rng.randint(2, 12)))
             for _ in range(300)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words)
        if rng.random() < 0.01:
            out += bytes(rng.getrandbits(8) for _ in range(64))  # some noise
    return bytes(out[:size])


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


@pytest.mark.parametrize("size", [0, 1, 1000, PART - 1, PART, PART + 1, 3 * PART + 12345])
def test_parts_inflate_to_the_data_whatever_the_threads(size):
    data = _data(size)
    streams = {threads: deflate(data, 1, threads) for threads in (1, 2, 3, 8)}
    assert len(set(streams.values())) == 1  # the bytes never depend on the threads
    stream = streams[1]
    inflater = zlib.decompressobj(-15)
    assert inflater.decompress(stream) == data
    assert inflater.eof and inflater.unused_data == b""  # one stream, ended once


def test_parts_reach_back_into_the_part_before():
    # the second part repeats the first's tail: with the preset dictionary it costs
    # back-references, not literals
    tail = _data(20_000, seed=2)
    data = _data(PART - len(tail), seed=3) + tail + tail
    alone = len(zlib.compress(tail, 1))
    parted = deflate(data, 1)
    whole = deflate(data[:PART], 1)
    assert len(parted) - len(whole) < alone / 4


def test_one_part_is_zlibs_own_stream():
    data = _data(50_000)
    z = zlib.compressobj(1, zlib.DEFLATED, -15)
    assert deflate(data, 1) == z.compress(data) + z.flush()


def _zipfile_bytes(entries: list[tuple[str, bytes]], level: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            zf.writestr(_entry(name), data, compresslevel=level)
    return buf.getvalue()


def _ours(entries: list[tuple[str, bytes]], level: int) -> bytes:
    buf = io.BytesIO()
    write_zip(buf, [(_entry(name), data) for name, data in entries], level)
    return buf.getvalue()


@pytest.mark.parametrize("level", [1, 6])
def test_single_part_entries_are_zipfiles_bytes(level):
    entries = [("collection.anki2", _data(200_000)), ("media", b"{}")]
    assert _ours(entries, level) == _zipfile_bytes(entries, level)


def test_a_parted_entry_reads_back_with_zipfile_and_unzip(tmp_path):
    data = _data(2 * PART + 999)
    entries = [("collection.anki2", data), ("media", b"{}")]
    path = tmp_path / "a.zip"
    path.write_bytes(_ours(entries, 1))
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # every CRC holds
        assert [i.filename for i in zf.infolist()] == ["collection.anki2", "media"]
        assert all(i.date_time == STAMP and i.compress_type == zipfile.ZIP_DEFLATED
                   for i in zf.infolist())
        assert zf.read("collection.anki2") == data and zf.read("media") == b"{}"
    if shutil.which("unzip") is None:
        pytest.skip("no unzip here to read the file as another reader")
    check = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_an_entry_too_large_for_plain_records_is_left_to_zipfile(monkeypatch):
    entries = [("collection.anki2", _data(3 * PART)), ("media", b"{}")]
    monkeypatch.setattr(zipout, "_ZIP64_FROM", PART)
    assert _ours(entries, 1) == _zipfile_bytes(entries, 1)


def test_a_failing_part_raises_in_the_caller(monkeypatch):
    real = zipout._part

    def part(data, start, level, last):
        if start == PART:
            raise MemoryError("no room")
        return real(data, start, level, last)

    monkeypatch.setattr(zipout, "_part", part)
    with pytest.raises(MemoryError, match="no room"):
        deflate(_data(3 * PART), 1, threads=2)


def test_after_a_failure_no_thread_starts_another_part(monkeypatch):
    real = zipout._part
    started = []

    def part(data, start, level, last):
        started.append(start)
        if start == 0:
            raise KeyboardInterrupt  # as Ctrl-C reaches the main thread
        return real(data, start, level, last)

    monkeypatch.setattr(zipout, "_part", part)
    with pytest.raises(KeyboardInterrupt):
        deflate(_data(40 * PART), 1, threads=2)
    assert len(started) <= 3  # not the 21 the two threads would start without the check


@pytest.mark.parametrize("size", [0, 1, 1000, PART - 1, PART, PART + 1, 3 * PART + 12345])
def test_the_crc_worked_out_part_by_part_is_the_datas(size):
    data = _data(size, seed=size)
    for threads in (1, 3):
        assert zipout.deflate_parts(data, 1, threads).crc == zlib.crc32(data)


def test_crc32_combine_is_the_crc_of_the_joined_data():
    rng = random.Random(5)
    for _ in range(200):
        a = rng.randbytes(rng.randint(0, 5000))
        b = rng.randbytes(rng.choice([0, 1, rng.randint(2, 70_000)]))
        assert zipout.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
