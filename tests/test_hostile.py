"""Hostile decks and hostile machines (issue 17): every case ends in bounded time and
memory with the stated exit status and one line on stderr.

Each case runs `python -m cardgen` in a subprocess under a timeout, through a launcher
that reports the child's peak memory. With CARDGEN_HOSTILE_TABLE=FILE set, the cases'
exit status, time and peak memory are written to FILE as JSON lines.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cardgen.anki import NoteData, make_model, write_apkg
from cardgen.claims import equivalent_claim, shape_claim
from cardgen.layers import parse_layer

ROOT = Path(__file__).resolve().parent.parent
TS = 1_700_000_000

# Runs argv as its child and writes the child's peak RSS (KB) to argv[1]; Ctrl-C is the
# child's to handle.
_LAUNCH = ("import resource, signal, subprocess, sys\n"
           "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
           "rc = subprocess.call(sys.argv[2:])\n"
           "open(sys.argv[1], 'w').write(str(resource.getrusage("
           "resource.RUSAGE_CHILDREN).ru_maxrss))\n"
           "sys.exit(rc if rc >= 0 else 128 - rc)\n")


@dataclass
class Run:
    rc: int
    out: str
    err: str
    seconds: float
    peak_mb: float

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()


def _ctrl_c_reaches() -> None:
    """In the child before exec: Ctrl-C's default disposition. A job that a shell put in
    the background (as CI runners may) inherits SIGINT ignored, and Python, like any
    well-behaved program, keeps an inherited ignore: the test would send nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["SOURCE_DATE_EPOCH"] = str(TS)
    env.update(extra or {})
    return env


def run(case: str, args: Sequence[str], cwd: Path, *, timeout: float = 60,
        env: dict[str, str] | None = None, prefix: Sequence[str] = (),
        preexec_fn: Callable[[], None] | None = None, stdout: Any = subprocess.PIPE,
        module: Sequence[str] = ("-m", "cardgen")) -> Run:
    peak = cwd / f".peak-{os.getpid()}-{time.monotonic_ns()}"
    argv = [*prefix, sys.executable, "-c", _LAUNCH, str(peak), sys.executable, *module, *args]
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=_env(env), stdout=stdout,
                            stderr=subprocess.PIPE, preexec_fn=preexec_fn,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and cardgen under it
        proc.communicate()
        raise
    seconds = time.monotonic() - start
    peak_kb = float(peak.read_text()) if peak.exists() else float("nan")
    peak.unlink(missing_ok=True)
    result = Run(proc.returncode, (out or b"").decode("utf-8", "replace"),
                 err.decode("utf-8", "replace"), seconds, peak_kb / 1024)
    _record(case, result)
    return result


_TABLE = os.environ.get("CARDGEN_HOSTILE_TABLE")


def _record(case: str, result: Run) -> None:
    if _TABLE:
        with open(_TABLE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"case": case, "rc": result.rc, "seconds": result.seconds,
                                 "peak_mb": result.peak_mb}) + "\n")


def one_error_line(result: Run, *needles: str) -> str:
    lines = result.err_lines
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- crafted decks -----------------------------------------------------------------------


def spec(answer: str, claims: list[Any], family: str = "conv.output_size") -> str:
    return json.dumps({"v": 1, "family": family, "level": 1, "params": {}, "answer": answer,
                       "claims": claims}, separators=(",", ":"))


CONV = parse_layer("Conv2d(3, 16, 3, stride=2, padding=1)")
GOOD_SPEC = spec("1x16x16x16", [shape_claim([CONV], [1, 3, 32, 32])])


def note(i: int, *, front: str = "", answer: str = "1x16x16x16", spec_text: str = GOOD_SPEC,
         guid: str | None = None) -> NoteData:
    return NoteData((front or f"<p>Question {i}</p>", answer, "worked", spec_text),
                    ("cardgen::test",), guid or f"guid-{i}", "Hostile")


def write_deck(path: Path, notes: list[NoteData]) -> Path:
    write_apkg(path, notes, make_model("{{Front}}", "{{Answer}}", ""), timestamp=TS)
    return path


def tamper(path: Path, *sql: str) -> Path:
    """Run `sql` on the deck's collection and package it again."""
    with zipfile.ZipFile(path) as zf:
        data = zf.read("collection.anki2")
    db = path.with_suffix(".sqlite")
    db.write_bytes(data)
    conn = sqlite3.connect(db)
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(db, "collection.anki2")
        zf.writestr("media", "{}")
    db.unlink()
    return path


def verify(case: str, deck: Path, *args: str, timeout: float = 60) -> Run:
    return run(case, ["verify", str(deck), "--backend", "solver", *args], deck.parent,
               timeout=timeout)


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    return write_deck(tmp_path / "deck.apkg", [note(i) for i in range(3)])


def test_a_genuine_deck_verifies(deck: Path) -> None:
    result = verify("genuine 3-note deck", deck)
    assert result.rc == 0, result.err
    assert "total" in result.out


_NOTES_VIEW = ("CREATE VIEW notes AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
               "FROM r) SELECT i AS id, 'g' || i AS guid, (SELECT mid FROM real_notes) AS mid, "
               "'' AS tags, (SELECT flds FROM real_notes LIMIT 1) AS flds FROM r")


@pytest.mark.parametrize("case,sql,needle", [
    ("notes is a recursive view", ["ALTER TABLE notes RENAME TO real_notes", _NOTES_VIEW],
     "notes is a view"),
    ("col is a view", ["ALTER TABLE col RENAME TO real_col",
                       "CREATE VIEW col AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL "
                       "SELECT i + 1 FROM r) SELECT (SELECT models FROM real_col) AS models "
                       "FROM r ORDER BY i DESC"], "col is a view"),
    ("generated column", [
        "CREATE TABLE n2 (id INTEGER PRIMARY KEY, guid TEXT, mid INTEGER, mod INTEGER, "
        "usn INTEGER, tags TEXT, flds TEXT GENERATED ALWAYS AS "
        "(printf('%.*c', 900000000, 'x')) VIRTUAL, sfld, csum, flags, data)",
        "INSERT INTO n2 (id, guid, mid, tags) SELECT id, guid, mid, tags FROM notes",
        "DROP TABLE notes", "ALTER TABLE n2 RENAME TO notes"], "generated column"),
    ("notes.id not the rowid", [
        "CREATE TABLE n2 (id TEXT, guid TEXT, mid INTEGER, mod INTEGER, usn INTEGER, "
        "tags TEXT, flds TEXT, sfld, csum, flags, data)",
        "INSERT INTO n2 SELECT * FROM notes", "DROP TABLE notes",
        "ALTER TABLE n2 RENAME TO notes"], "integer primary key"),
    ("a 40 MB row", ["UPDATE notes SET flds = flds || printf('%.*c', 40000000, ' ')"],
     "too big"),
])
def test_hostile_collections_are_refused(deck: Path, case: str, sql: list[str],
                                         needle: str) -> None:
    result = verify(case, tamper(deck, *sql), timeout=30)
    assert result.rc == 2
    one_error_line(result, "cardgen verify: error:", needle)
    assert result.seconds < 20
    assert result.peak_mb < 400


def test_notes_are_read_one_at_a_time(tmp_path: Path) -> None:
    path = write_deck(tmp_path / "d.apkg", [note(i) for i in range(30)])
    # 30 notes with an 8 MB Front each: 240 MB if the notes were all held at once
    tamper(path, "UPDATE notes SET flds = printf('%.*c', 8000000, 'x') || flds")
    result = verify("30 notes of 8 MB each (240 MB of fields)", path, timeout=120)
    assert result.rc == 0, result.err
    assert result.peak_mb < 150


def test_a_huge_spec_fails_its_note(tmp_path: Path) -> None:
    big = spec("1x16x16x16", [shape_claim([CONV], [1, 3, 32, 32])] * 1) + " " * 5_000_000
    path = write_deck(tmp_path / "d.apkg", [note(0, spec_text=big), note(1)])
    result = verify("a 5 MB Spec", path)
    assert result.rc == 1, result.err
    assert "longer than" in result.out
    assert result.peak_mb < 400


def test_quadratic_front_text_is_linear(tmp_path: Path) -> None:
    front = "<svg " * 400_000  # 2 MB: the old shortening took minutes on 12 KB
    path = write_deck(tmp_path / "d.apkg", [note(0, front=front, answer="9x9")])
    result = verify("2 MB of '<svg ' in a failing Front", path)
    assert result.rc == 1, result.err
    assert "FAILED" in result.out
    assert result.seconds < 15


def test_work_past_the_budget_ends_with_one_line(tmp_path: Path) -> None:
    slow = equivalent_claim([parse_layer("AdaptiveMaxPool2d(5)")], [parse_layer("MaxPool2d(2)")],
                            [1, 2, 10, 10])
    slow_spec = spec("yes", [slow] * 16, family="adaptive.equivalence")
    path = write_deck(tmp_path / "d.apkg",
                      [note(i, answer="yes", spec_text=slow_spec) for i in range(50)])
    result = verify("50 notes x 16 slow claims, --budget 2", path, "--budget", "2")
    assert result.rc == 2, (result.out, result.err)
    one_error_line(result, "work budget of 2 s", "--budget")
    assert result.seconds < 30


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    forged = "x\x1b[2K\rFAKE: all 480 notes ok\nFAKE"
    bad_family = spec("no", [{"kind": "\x1b[2Jshape"}], family="conv\x1b[31m\u202eevil")
    path = write_deck(tmp_path / "d.apkg", [
        note(0, guid=forged, answer="9x9"),
        note(1, front="\x1b]0;owned\x07<p>Q\x1b[1A</p>", answer="no", spec_text=bad_family),
    ])
    result = verify("control characters in GUID, family, Front, claim", path)
    assert result.rc == 1, result.err
    for text in (result.out, result.err):
        assert not any(c in text for c in "\x1b\x07\r\u202e")
    assert not any(line.startswith("FAKE") for line in result.out.splitlines())
    assert "\\x1b[2K\\rFAKE" in result.out


# --- output paths ------------------------------------------------------------------------


SMALL = '[deck]\nname = "{name}"\nseed = 1\n[families."conv.output_size"]\ncount = {count}\n'


def recipe(folder: Path, file: str, name: str = "Small", count: int = 20) -> Path:
    path = folder / file
    path.write_text(SMALL.format(name=name, count=count), encoding="utf-8")
    return path


def _special(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        target = path.with_name("elsewhere")
        target.write_bytes(b"keep")
        path.symlink_to(target)
    else:
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
        except PermissionError:
            pytest.skip("mknod needs root")


_KIND_WORDS = {"fifo": "a FIFO", "symlink": "a symbolic link", "device": "a character device"}


@pytest.mark.parametrize("kind", ["fifo", "symlink", "device"])
def test_build_refuses_to_replace_a_special_file(tmp_path: Path, kind: str) -> None:
    recipe(tmp_path, "small.toml")
    out = tmp_path / "out"
    out.mkdir()
    _special(kind, out / "small.apkg")
    mode = os.lstat(out / "small.apkg").st_mode
    result = run(f"build --out: {kind} at the deck's path", ["build", "small.toml",
                                                              "--out", "out"], tmp_path)
    assert result.rc == 2
    one_error_line(result, "small.apkg", _KIND_WORDS[kind], "refusing")
    assert os.lstat(out / "small.apkg").st_mode == mode
    assert sorted(p.name for p in out.iterdir()) == ["elsewhere", "small.apkg"][
        kind != "symlink":]


@pytest.mark.parametrize("kind", ["fifo", "symlink", "device"])
def test_preview_refuses_to_replace_a_special_file(tmp_path: Path, kind: str) -> None:
    recipe(tmp_path, "small.toml")
    _special(kind, tmp_path / "p.html")
    result = run(f"preview --out: {kind}", ["preview", "small.toml", "--out", "p.html"],
                 tmp_path)
    assert result.rc == 2
    one_error_line(result, "p.html", _KIND_WORDS[kind])
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_preview_writes_through_a_unique_temp_file(tmp_path: Path) -> None:
    recipe(tmp_path, "small.toml")
    (tmp_path / "p.html.tmp").write_bytes(b"someone else's")
    result = run("preview into a regular file", ["preview", "small.toml", "--out", "p.html"],
                 tmp_path)
    assert result.rc == 0, result.err
    assert (tmp_path / "p.html.tmp").read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.html", "p.html.tmp",
                                                          "small.toml"]


def test_preview_into_a_missing_folder(tmp_path: Path) -> None:
    recipe(tmp_path, "small.toml")
    result = run("preview --out into a missing folder",
                 ["preview", "small.toml", "--out", "nope/p.html"], tmp_path)
    assert result.rc == 2
    one_error_line(result, "nope")


def test_build_out_under_a_file(tmp_path: Path) -> None:
    recipe(tmp_path, "small.toml")
    (tmp_path / "afile").write_text("x")
    result = run("build --out under a file", ["build", "small.toml", "--out", "afile/sub"],
                 tmp_path)
    assert result.rc == 2
    one_error_line(result, "afile/sub", "Not a directory")


def _without_dac() -> list[str]:
    """A prefix under which even root obeys file permissions."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root without setpriv: cannot make a folder read-only for this run")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("out", ["ro", "ro/sub"])
def test_read_only_folder(tmp_path: Path, out: str) -> None:
    recipe(tmp_path, "small.toml")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        result = run(f"build --out {out} (read-only)", ["build", "small.toml", "--out", out],
                     tmp_path, prefix=_without_dac())
    finally:
        (tmp_path / "ro").chmod(0o755)
    assert result.rc == 2
    one_error_line(result, out, "Permission denied")
    assert list((tmp_path / "ro").iterdir()) == []


def test_full_disk(tmp_path: Path) -> None:
    recipe(tmp_path, "small.toml", count=400)
    out = tmp_path / "out"
    out.mkdir()
    (out / "small.apkg").write_bytes(b"the old deck")

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = run("build with RLIMIT_FSIZE 64 KB (a full disk)",
                 ["build", "small.toml", "--out", "out"], tmp_path, preexec_fn=small_files,
                 env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert result.rc == 2, result.err
    # the scratch collection beside the deck is the first file to outgrow the limit:
    # SQLite's words ("disk I/O error") for it, then no file left but the old deck
    one_error_line(result, "small.apkg", "cannot write")
    assert [p.name for p in out.iterdir()] == ["small.apkg"]
    assert (out / "small.apkg").read_bytes() == b"the old deck"


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("sig,delay", [(signal.SIGINT, 1.0), (signal.SIGINT, 2.5),
                                       (signal.SIGTERM, 1.5)])
def test_interrupted_parallel_build(tmp_path: Path, sig: signal.Signals, delay: float) -> None:
    # over build.PARALLEL_FROM, so a pool; big enough (about 10 s) that no machine
    # finishes before the signal, which would leave the test nothing to check
    recipe(tmp_path, "big.toml", "Big", count=40_000)
    proc = subprocess.Popen([sys.executable, "-m", "cardgen", "build", "big.toml", "--out",
                             "out"], cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_ctrl_c_reaches)
    time.sleep(delay)
    start = time.monotonic()
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole process group
    else:
        os.kill(proc.pid, sig)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    seconds = time.monotonic() - start
    _record(f"{sig.name} {delay:g} s into a 40,000-note parallel build",
            Run(proc.returncode, "", err.decode(), seconds, float("nan")))
    assert proc.returncode != 0, "the build finished before the signal"
    time.sleep(0.5)
    assert _group_alive(proc.pid) == []
    expected = (130, "cardgen: interrupted") if sig == signal.SIGINT else \
        (143, "cardgen: terminated")
    assert (proc.returncode, err.decode().strip()) == expected
    assert seconds < 3
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []


def test_broken_pipe(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        result = run("cardgen list into a closed pipe", ["list"], tmp_path, stdout=write)
    finally:
        os.close(write)
    assert result.rc == 2
    one_error_line(result, "pipe")


def test_several_recipes_write_all_or_nothing(tmp_path: Path) -> None:
    recipe(tmp_path, "a.toml", "Deck A")
    (tmp_path / "b.toml").write_text(  # more problems than the family holds
        '[deck]\nname = "Deck B"\nseed = 1\n[families."adaptive.equivalence"]\ncount = 5000\n')
    result = run("build a.toml b.toml, b fails", ["build", "a.toml", "b.toml", "--out", "out"],
                 tmp_path, timeout=120)
    assert result.rc == 2
    one_error_line(result, "b.toml")
    out = tmp_path / "out"
    assert list(out.iterdir()) == []


def test_two_recipes_for_one_file_are_named(tmp_path: Path) -> None:
    recipe(tmp_path, "a.toml", "A B")
    recipe(tmp_path, "b.toml", "a-b")
    result = run("two recipes, one deck file", ["build", "a.toml", "b.toml"], tmp_path)
    assert result.rc == 2
    one_error_line(result, "a.toml", "b.toml", "a-b.apkg")


def test_a_recipe_may_not_replace_the_default_deck(tmp_path: Path) -> None:
    recipe(tmp_path, "mine.toml", "Conv Arithmetic")
    result = run("a recipe named like the default deck", ["build", "mine.toml"], tmp_path)
    assert result.rc == 2
    one_error_line(result, "mine.toml", "default.toml", "conv-arithmetic.apkg")
    assert not (tmp_path / "dist").exists()


def test_the_readme_example_has_its_own_deck(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    name = tomllib.loads(example)["deck"]["name"]
    (tmp_path / "decks").mkdir()
    shutil.copy(ROOT / "decks" / "default.toml", tmp_path / "decks" / "default.toml")
    (tmp_path / "mine.toml").write_text(example, encoding="utf-8")
    result = run("the README's example recipe", ["build", "mine.toml"], tmp_path, timeout=120)
    assert result.rc == 0, result.err
    from cardgen.build import deck_filename
    from cardgen.recipes import load_recipe
    file = deck_filename(load_recipe(tmp_path / "mine.toml"))
    assert file != "conv-arithmetic.apkg" and name != "Conv Arithmetic"
    assert [p.name for p in (tmp_path / "dist").iterdir()] == [file]


def test_long_and_non_ascii_deck_names(tmp_path: Path) -> None:
    from cardgen.build import deck_filename
    from cardgen.recipes import parse_recipe

    def name_of(deck: str) -> str:
        return deck_filename(parse_recipe(SMALL.format(name=deck, count=1), "x.toml"))

    assert name_of("Café") == "café.apkg"
    assert name_of("畳み込み") == "畳み込み.apkg"
    assert name_of("Conv Arithmetic") == "conv-arithmetic.apkg"
    assert name_of("A::B c") == "a-b-c.apkg"
    long_a, long_b = "x" * 299 + "a", "x" * 299 + "b"
    assert name_of(long_a) != name_of(long_b)
    assert len(name_of(long_a).encode()) < 200
    recipe(tmp_path, "long.toml", long_a)
    result = run("a 300-character deck name", ["build", "long.toml"], tmp_path)
    assert result.rc == 0, result.err
    assert [p.name for p in (tmp_path / "dist").iterdir()] == [name_of(long_a)]


def test_version(tmp_path: Path) -> None:
    result = run("cardgen --version", ["--version"], tmp_path)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (result.rc, result.out.strip()) == (0, f"cardgen {project}")


@pytest.mark.parametrize("size", [10_000_000, 2**31 - 1])
def test_solve_computes_only_what_it_prints(tmp_path: Path, size: int) -> None:
    result = run(f"solve MaxPool1d(1) on {size:,} cells", ["solve", "MaxPool1d(1)",
                                                           "--input", f"1,1,{size}"], tmp_path)
    assert result.rc == 0, result.err
    assert f"... ({size} windows)" in result.out
    assert result.seconds < 10 and result.peak_mb < 200
    as_json = run(f"solve --json MaxPool1d(1) on {size:,} cells",
                  ["solve", "MaxPool1d(1)", "--input", f"1,1,{size}", "--json"], tmp_path)
    assert as_json.rc == 2
    one_error_line(as_json, "--json", "100,000")
    assert as_json.seconds < 10 and as_json.peak_mb < 200


def test_record_golden_without_torch(tmp_path: Path) -> None:
    shim = tmp_path / "shim" / "torch"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    result = run("tools/record_golden.py without torch", ["--out", str(tmp_path / "g")],
                 tmp_path, module=[str(ROOT / "tools" / "record_golden.py")],
                 env={"PYTHONPATH": f"{shim.parent}{os.pathsep}{ROOT}"})
    assert result.rc == 2
    one_error_line(result, "torch")


# --- in process --------------------------------------------------------------------------


def test_note_count_cap(deck: Path) -> None:
    from cardgen.apkg import ApkgError, open_notes

    with pytest.raises(ApkgError, match="limit 2"), open_notes(deck, max_notes=2):
        pass


def test_notes_are_streamed_and_the_copy_is_gone(deck: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from cardgen.apkg import open_notes

    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(private))
    with open_notes(deck) as notes:
        assert list(private.iterdir()) == []  # removed once SQLite holds it open
        assert len(notes) == 3
        assert [n.guid for n in notes] == ["guid-0", "guid-1", "guid-2"]


def test_progress_lines_in_a_log(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    import cardgen.cli as cli

    clock = iter([0.0, 1.0, 5.0, 11.0, 12.0, 22.0, 23.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    report = cli._progress("deck.apkg\x1b[2J")
    for done in range(1, 7):
        report(done, 6)
    err = capsys.readouterr().err.splitlines()
    assert err == ["deck.apkg\\x1b[2J: 3/6 notes (11 s)", "deck.apkg\\x1b[2J: 5/6 notes (22 s)",
                   "deck.apkg\\x1b[2J: 6/6 notes (23 s)"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("backend", ["solver", "torch"])
def test_interrupted_verify(tmp_path: Path, backend: str) -> None:
    from cardgen.claims import torch_available

    if backend == "torch" and not torch_available():
        pytest.skip("torch is not installed")
    slow = equivalent_claim([parse_layer("AdaptiveMaxPool2d(5)")], [parse_layer("MaxPool2d(2)")],
                            [1, 2, 10, 10])
    path = write_deck(tmp_path / "d.apkg", [note(i, answer="yes", spec_text=spec(
        "yes", [slow] * 16, family="adaptive.equivalence")) for i in range(400)])
    proc = subprocess.Popen([sys.executable, "-m", "cardgen", "verify", str(path), "--backend",
                             backend], cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_ctrl_c_reaches)
    time.sleep(6)  # past torch's import in the checker process
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    seconds = time.monotonic() - start
    _record(f"SIGINT 6 s into verify ({backend})",
            Run(proc.returncode, "", err.decode(), seconds, float("nan")))
    time.sleep(0.5)
    assert _group_alive(proc.pid) == []
    assert (proc.returncode, err.decode().strip()) == (130, "cardgen: interrupted")
    assert seconds < 3


def test_terminal_safe() -> None:
    from cardgen.terminal import terminal_safe

    assert terminal_safe("Café 畳み込み 1x16") == "Café 畳み込み 1x16"
    assert terminal_safe("a\x1b[2K\rb\nc\u202ed\\") == "a\\x1b[2K\\rb\\nc\\u202ed\\\\"
    assert terminal_safe("a\\nb", backslash=False) == "a\\nb"


def test_failures_past_the_list_are_counted(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import cardgen.verify as verify_module

    monkeypatch.setattr(verify_module, "MAX_LISTED", 2)
    path = write_deck(tmp_path / "d.apkg", [note(i, answer="9x9") for i in range(5)])
    report = verify_module.verify_deck(path, "solver")
    assert (report.failed, len(report.failures), report.unlisted) == (5, 2, 3)
    assert verify_module.format_report(report).endswith("... and 3 more failures, not listed")


def test_a_grown_checker_process_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    import cardgen.verify as verify_module

    monkeypatch.setattr(verify_module, "_RSS_EVERY", 2)
    monkeypatch.setattr(verify_module, "WORKER_RSS_LIMIT", 1)  # every process is too big
    worker = verify_module._Worker("solver")
    worker.start()
    claim = shape_claim([CONV], [1, 3, 32, 32])
    try:
        assert all(worker.check(claim).ok for _ in range(5))
        assert worker.restarts == (2 if verify_module._resident(os.getpid()) else 0)
    finally:
        worker.close()
