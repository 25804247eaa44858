"""cardgen.codecache: dataclasses' generated methods compiled once and kept on disk."""

from __future__ import annotations

import atexit
import dataclasses
import marshal
import os
import subprocess
import sys
import textwrap
from importlib.util import MAGIC_NUMBER
from pathlib import Path

import pytest

from cardgen import codecache

REPO = Path(__file__).resolve().parents[1]

CLASS = textwrap.dedent("""
    from dataclasses import dataclass, field

    @dataclass(frozen=True, order=True)
    class Point:
        x: int
        y: int = 2
        tags: tuple = field(default=(), compare=False)
""")


def _define(module: str) -> type:
    namespace = {"__name__": module}
    sys.modules[module] = type(sys)(module)  # dataclasses reads the module's globals
    sys.modules[module].__dict__.update(namespace)
    try:
        exec(CLASS, sys.modules[module].__dict__)
        return sys.modules[module].__dict__["Point"]
    finally:
        del sys.modules[module]


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """The cache installed, empty, kept under tmp_path."""
    path = tmp_path / "__pycache__" / "dc.marshal"
    monkeypatch.setattr(codecache, "kept_path", lambda: path)
    monkeypatch.setattr(codecache, "_kept", None)
    monkeypatch.setattr(codecache, "_used", {})
    monkeypatch.setattr(codecache, "_new", False)
    monkeypatch.setattr(codecache.sys, "dont_write_bytecode", False)
    had = getattr(dataclasses, "exec", None)
    codecache.install()
    yield path
    if had is None:  # as before the test: no cache, nothing written at exit
        del dataclasses.exec
        atexit.unregister(codecache._save)


def _behaviour(cls: type) -> tuple:
    a, b = cls(1), cls(1, 2, ("t",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.x = 3
    return (repr(a), a == b, hash(a) == hash(b), cls(0) < a, [f.name for f in
            dataclasses.fields(cls)])


def test_cardgens_classes_go_through_the_cache_and_behave_the_same(fresh):
    cached = _define("cardgen.fake_module")
    assert codecache._used, "no text of a cardgen class was cached"
    for text, code in codecache._used.items():
        assert code == compile(text, "<string>", "exec", dont_inherit=True)
    before = dict(codecache._used)
    plain = _define("elsewhere_module")  # not cardgen's: the builtin exec, no caching
    assert codecache._used == before
    assert _behaviour(cached) == _behaviour(plain)


def test_kept_code_is_read_back_and_not_compiled_again(fresh):
    _define("cardgen.fake_module")
    codecache._save()
    data = fresh.read_bytes()
    assert data.startswith(MAGIC_NUMBER)
    kept = marshal.loads(data[len(MAGIC_NUMBER):])
    assert kept == codecache._used
    codecache._kept, codecache._used, codecache._new = None, {}, False
    cls = _define("cardgen.fake_module")
    assert not codecache._new  # every text was found on disk
    assert _behaviour(cls) == _behaviour(_define("elsewhere_module"))


@pytest.mark.parametrize("content", [b"", b"junk", b"\x00\x00\r\n" + marshal.dumps({}),
                                     MAGIC_NUMBER + b"not marshal",
                                     MAGIC_NUMBER + marshal.dumps({"text": 1})])
def test_unreadable_or_foreign_file_is_ignored(fresh, content):
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(content)
    _define("cardgen.fake_module")
    assert codecache._new  # compiled, as without a cache
    codecache._save()
    assert marshal.loads(fresh.read_bytes()[len(MAGIC_NUMBER):]) == codecache._used


def test_nothing_written_without_bytecode_or_news(fresh, monkeypatch):
    _define("cardgen.fake_module")
    monkeypatch.setattr(codecache.sys, "dont_write_bytecode", True)
    codecache._save()
    assert not fresh.exists()
    monkeypatch.setattr(codecache.sys, "dont_write_bytecode", False)
    monkeypatch.setattr(codecache, "_new", False)
    codecache._save()
    assert not fresh.exists()


def test_a_cli_run_keeps_the_code_and_the_next_compiles_none(tmp_path):
    # Whole processes: the first `cardgen` command writes the file at exit, the second
    # imports the build compiling no dataclass text.
    path = tmp_path / "kept.marshal"
    probe = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from cardgen import codecache
        codecache.kept_path = lambda: Path({str(path)!r})
        from cardgen.cli import main
        main(["list"])
        import cardgen.build, cardgen.claims.check
        print(codecache._new, len(codecache._used))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    runs = [subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                           text=True, check=True, cwd=tmp_path).stdout.split()[-2:]
            for _ in range(2)]
    assert runs[0][0] == "True" and runs[1][0] == "False"
    assert int(runs[1][1]) > 100  # cardgen's classes' methods, all found on disk
