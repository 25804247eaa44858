"""Mutation testing of the modules whose bugs users feel most (README, Development).

    python tools/mutation.py [GROUP ...] [--jobs N]

Runs mutmut (the test extras install it) once per group, each in its own copy of the
repository under build/mutation/GROUP, with only the fast tests that exercise that group,
then prints one table: per module, the mutants killed out of the total, the score, and
every survivor by name. `mutmut show NAME` in build/mutation/GROUP shows a mutant's
diff; the diffs of a group's survivors are also written to build/mutation/GROUP/survivors.txt.
Slow (tens of minutes on 2 cores): not part of .ci/run. Exit status 0 when every group's
score reaches its target, 1 otherwise.

The common settings are [tool.mutmut] in pyproject.toml (a plain `mutmut run` there mutates
every module below with every test listed); a group replaces `only_mutate` and
`pytest_add_cli_args_test_selection` with its own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "mutation"
SURVIVORS = "tests/test_mutation_survivors.py"

# name: (modules to mutate, tests that exercise them, target score in % or None)
GROUPS: dict[str, tuple[list[str], list[str], float | None]] = {
    "solver": (["cardgen/solver/*"],
               ["tests/test_golden.py", "tests/test_layers.py", SURVIVORS], 90.0),
    "layers": (["cardgen/layers.py"],
               ["tests/test_layers.py", "tests/test_golden.py", SURVIVORS], 90.0),
    "anki": (["cardgen/anki.py", "cardgen/apkg.py"],
             ["tests/test_anki_writer.py", "tests/test_verify.py", SURVIVORS], 90.0),
    # Partly: the untrusted-claim parsing and dispatch; not yet the kinds/ modules,
    # the torch machinery (check_torch.py) or the budget.
    "claims": (["cardgen/claims/parse.py", "cardgen/claims/check.py", "cardgen/claims/limits.py",
                "cardgen/claims/kind.py", "cardgen/claims/build.py"],
               ["tests/test_claims.py", SURVIVORS], None),
}
# The writer's target is anki.py's; apkg.py (the reader) is reported beside it.
TARGET_MODULES = {"anki": ["cardgen/anki.py"]}
COPY = ["pyproject.toml", "cardgen", "tests", "templates", "decks"]

KILLED = {1, 3, 36, 37, 24, -24, 152, 255}  # failed a test, timed out, or caught by a check
NAMES = {0: "survived", 5: "no tests", 33: "no tests", None: "not checked"}


def _toml_value(value: object) -> str:
    return json.dumps(value)  # strings, numbers, booleans and lists of them: valid TOML


def prepare(group: str) -> Path:
    """A fresh copy of the repository with the group's [tool.mutmut] section."""
    modules, tests, _ = GROUPS[group]
    work = WORK / group
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "artifacts", ".hypothesis", "*.pyc")
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=ignore)
        else:
            shutil.copy2(src, work / name)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    settings = dict(tomllib.loads(pyproject)["tool"]["mutmut"])
    settings["only_mutate"] = modules
    settings["pytest_add_cli_args_test_selection"] = [t for t in tests if (ROOT / t).exists()]
    section = "[tool.mutmut]\n" + "".join(f"{k} = {_toml_value(v)}\n"
                                          for k, v in settings.items())
    pyproject = re.sub(r"^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", pyproject, flags=re.M | re.S)
    (work / "pyproject.toml").write_text(pyproject + "\n" + section, encoding="utf-8")
    return work


def run_group(group: str, jobs: int) -> float:
    work = prepare(group)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MUTANT_UNDER_TEST")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    cmd = [sys.executable, "-c", "from mutmut.__main__ import cli; cli()", "run",
           "--max-children", str(jobs)]
    start = time.monotonic()
    with open(work / "mutmut.log", "w", encoding="utf-8") as log:
        subprocess.run(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    return time.monotonic() - start


def results(group: str) -> dict[str, dict[str, int | None]]:
    """module path -> {mutant name: exit code} from mutmut's files."""
    by_module: dict[str, dict[str, int | None]] = {}
    mutants = WORK / group / "mutants"
    for meta in sorted(mutants.glob("cardgen/**/*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        if codes:
            by_module[str(meta.relative_to(mutants))[: -len(".meta")]] = codes
    return by_module


def write_survivor_diffs(group: str, names: list[str]) -> None:
    work = WORK / group
    with open(work / "survivors.txt", "w", encoding="utf-8") as out:
        for name in names:
            shown = subprocess.run(
                [sys.executable, "-c", "from mutmut.__main__ import cli; cli()", "show", name],
                cwd=work, capture_output=True, text=True, check=False)
            out.write(f"## {name}\n{shown.stdout}{shown.stderr}\n")


def report(groups: list[str], seconds: dict[str, float]) -> bool:
    ok = True
    rows, lost = [], []
    for group in groups:
        _, _, target = GROUPS[group]
        by_module = results(group)
        group_lost: list[str] = []
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for module, codes in by_module.items():
            killed = sum(1 for c in codes.values() if c in KILLED)
            rows.append((group, module, killed, len(codes)))
            for name, code in sorted(codes.items()):
                if code not in KILLED:
                    group_lost.append(name)
                    lost.append(f"  {NAMES.get(code, f'exit {code}'):11} {name}")
            checked = TARGET_MODULES.get(group)
            if checked is None or module in checked:
                totals[group][0] += killed
                totals[group][1] += len(codes)
        write_survivor_diffs(group, group_lost)
        if target is not None:
            killed, total = totals[group]
            if not total or 100 * killed / total < target:
                ok = False
    print("| group | module | killed / total | score |")
    print("|---|---|---|---|")
    for group, module, killed, total in rows:
        print(f"| {group} | `{module}` | {killed} / {total} | {100 * killed / total:.1f}% |")
    print()
    for group in groups:
        print(f"{group}: {seconds.get(group, 0) / 60:.1f} min "
              f"(log and survivors' diffs in {(WORK / group).relative_to(ROOT)}/)")
    print(f"total: {sum(seconds.values()) / 60:.1f} min")
    if lost:
        print("\nnot killed:")
        print("\n".join(lost))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="*", metavar="GROUP",
                        help=f"one or more of {', '.join(GROUPS)} (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (2)")
    parser.add_argument("--report-only", action="store_true",
                        help="print the table of the last run without running")
    args = parser.parse_args(argv)
    groups = args.groups or list(GROUPS)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group {unknown[0]!r}; choose from {', '.join(GROUPS)}")
    seconds: dict[str, float] = {}
    if not args.report_only:
        for group in groups:
            print(f"mutating {group} ...", flush=True)
            seconds[group] = run_group(group, args.jobs)
    return 0 if report(groups, seconds) else 1


if __name__ == "__main__":
    sys.exit(main())
