"""The compiled-template cache: used when present, never stale, never in the way."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cardgen.render import jinja as render_env
from cardgen.render.jinja import TemplateCodeCache, make_environment
from cardgen.resources import templates_dir


@pytest.fixture
def writes_bytecode(monkeypatch):
    # The test shell may set PYTHONDONTWRITEBYTECODE; these tests are about writing.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def _cache_files(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.cache"))


def test_a_changed_template_is_recompiled_not_served_from_the_cache(tmp_path, writes_bytecode):
    templates, cache = tmp_path / "t", tmp_path / "c"
    templates.mkdir()
    page = templates / "page.html.j2"
    page.write_text("old {{ x }}", encoding="utf-8")
    assert make_environment(templates, cache).get_template("page.html.j2").render(x=1) == "old 1"
    [entry] = _cache_files(cache)
    page.write_text("new {{ x }}", encoding="utf-8")
    # A fresh process's environment, same cache folder, same template name.
    assert make_environment(templates, cache).get_template("page.html.j2").render(x=1) == "new 1"
    assert _cache_files(cache) == [entry]  # rewritten in place for the new source


def test_the_cached_code_is_what_a_later_start_runs(tmp_path, writes_bytecode, monkeypatch):
    templates, cache = tmp_path / "t", tmp_path / "c"
    templates.mkdir()
    (templates / "page.html.j2").write_text("{{ x }}!", encoding="utf-8")
    make_environment(templates, cache).get_template("page.html.j2")
    compiled = []
    original = render_env.jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(render_env.jinja2.Environment, "compile", counting)
    assert make_environment(templates, cache).get_template("page.html.j2").render(x=2) == "2!"
    assert compiled == []


def test_options_that_shape_the_code_name_the_cache_folder(tmp_path, monkeypatch):
    before = TemplateCodeCache(tmp_path).folder
    monkeypatch.setitem(render_env._OPTIONS, "trim_blocks", False)
    assert TemplateCodeCache(tmp_path).folder != before


def test_an_unwritable_cache_is_no_error(tmp_path, writes_bytecode):
    templates = tmp_path / "t"
    templates.mkdir()
    (templates / "page.html.j2").write_text("{{ x }}", encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")  # a file where the cache folder would go
    environment = make_environment(templates, blocker / "cache")
    assert environment.get_template("page.html.j2").render(x=3) == "3"


def test_nothing_is_written_when_python_writes_no_bytecode(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    templates, cache = tmp_path / "t", tmp_path / "c"
    templates.mkdir()
    (templates / "page.html.j2").write_text("{{ x }}", encoding="utf-8")
    assert make_environment(templates, cache).get_template("page.html.j2").render(x=4) == "4"
    assert not cache.exists()


def test_shipped_templates_load_the_code_jinja_compiles(tmp_path, writes_bytecode):
    # front/back.html.j2 at the top are Anki's template syntax, not jinja's
    names = sorted(p.relative_to(templates_dir()).as_posix()
                   for p in templates_dir().rglob("*.j2") if p.parent != templates_dir())
    assert names
    plain = make_environment(templates_dir(), None)
    writer = make_environment(templates_dir(), tmp_path)
    for name in names:
        writer.get_template(name)
    assert len(_cache_files(tmp_path)) == len(names)
    cache = TemplateCodeCache(tmp_path)
    for name in names:
        source, filename, _ = plain.loader.get_source(plain, name)
        bucket = cache.get_bucket(plain, name, filename, source)
        assert bucket.code == plain.compile(source, name, filename)


# The macros' text kept on disk (cardgen.render.macros): a build that finds it imports no
# jinja; a changed template is read again; nothing is written without bytecode.
_MACRO_BUILD = """
import sys
from pathlib import Path
import cardgen.resources as resources
folder = Path(sys.argv[1])
resources.templates_dir = lambda: folder  # before any module takes it by name
from cardgen.build import build_recipe
from cardgen.recipes import parse_recipe
text = ('[deck]\\nname = "Small"\\nseed = 1\\nvariants = 2\\n'
        '[families."conv.output_size"]\\ncount = 6\\n'
        '[families."adaptive.windows"]\\ncount = 3\\n')
build_recipe(parse_recipe(text, "small.toml"), Path(sys.argv[2]), 1750000000)
print("jinja2" in sys.modules)
"""


def _macro_build(templates: Path, out: Path, write: bool) -> tuple[bool, bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = str(Path(__file__).parents[1])
    result = subprocess.run([sys.executable, "-c", _MACRO_BUILD, str(templates), str(out)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    [deck] = out.glob("*.apkg")
    return result.stdout.split()[-1] == "True", deck.read_bytes()


def _templates_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(templates_dir(), folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_kept_macro_text_spares_a_later_build_jinja(tmp_path):
    folder = _templates_copy(tmp_path)
    used_jinja, first = _macro_build(folder, tmp_path / "a", write=True)
    assert used_jinja and list((folder / "__pycache__").glob("macros-*.json"))
    used_jinja, second = _macro_build(folder, tmp_path / "b", write=True)
    assert not used_jinja
    assert second == first


def test_a_changed_template_is_not_served_from_kept_macro_text(tmp_path):
    folder = _templates_copy(tmp_path)
    _macro_build(folder, tmp_path / "a", write=True)
    worked = folder / "worked" / "steps.html.j2"
    text = worked.read_text(encoding="utf-8")
    assert "<ol" in text
    worked.write_text(text.replace("<ol", '<ol data-changed="1"', 1), encoding="utf-8")
    used_jinja, deck = _macro_build(folder, tmp_path / "b", write=True)
    assert used_jinja
    image = zipfile.ZipFile(io.BytesIO(deck)).read("collection.anki2")
    db = tmp_path / "c.anki2"
    db.write_bytes(image)
    fields = [row[0] for row in sqlite3.connect(db).execute("SELECT flds FROM notes")]
    assert fields and all('<ol data-changed="1"' in f for f in fields)


def test_macro_text_is_not_kept_when_python_writes_no_bytecode(tmp_path):
    folder = _templates_copy(tmp_path)
    used_jinja, _ = _macro_build(folder, tmp_path / "a", write=False)
    assert used_jinja and not (folder / "__pycache__").exists()
