"""The size writers (cardgen.explain.sizes): every number they print is the solver's.

Each formula the writers emit is read back, turned into arithmetic and evaluated: every
equality and inequality chain between numbers must hold, and the result must be the
solver's size. The expected values come from the solver (cardgen.solver.arith), which
test_golden checks against PyTorch.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction

import pytest

from cardgen.errors import ShapeError
from cardgen.explain import sizes
from cardgen.solver import arith

CONFIGS = 400


def _py(expr: str) -> str:
    """A TeX number expression as Python: \\cdot, floor and ceil of a quotient, mod."""
    expr = expr.replace("\\cdot", "*").replace("\\bmod", "%").replace("\\quad", "")
    expr = re.sub(r"\\lfloor\s*([^\\]+?)\s*\\rfloor", r"((\1) // 1)", expr)
    expr = re.sub(r"\\lceil\s*([^\\]+?)\s*\\rceil", r"(-(-(\1) // 1))", expr)
    expr = re.sub(r"(\d)\s*\(", r"\1*(", expr)  # 2(k-1): implicit product
    return expr


def _value(expr: str, bind: dict[str, int] | None = None) -> Fraction | None:
    """The value of an expression of numbers and the letters bound in `bind` (``in``,
    ``p``, ``n`` ...), or None if it holds anything else."""
    py = _py(expr).strip()
    py = re.sub(r"(\d)\s*([a-z])", r"\1*\2", py)  # implicit products: 2p, d(k-1), (a)s
    py = re.sub(r"\b([a-z]+)\s*\(", r"\1*(", py)
    py = re.sub(r"\)\s*([a-z(])", r")*\1", py)
    names = set(re.findall(r"[A-Za-z_]+", py))
    if not py or not names <= set(bind or {}):
        return None
    py = re.sub(r"\bin\b", "in_", py)
    if not re.fullmatch(r"[\d\s()+\-*/%a-z_]+", py):
        return None
    py = re.sub(r"(\d+)", r"Fraction(\1)", py)
    scope = {"Fraction": Fraction, **{("in_" if k == "in" else k): Fraction(v)
                                      for k, v in (bind or {}).items()}}
    return eval(py, {"__builtins__": {}}, scope)  # noqa: S307 - numbers and bound letters


def _math(text: str) -> list[str]:
    """Inline math \\( ... \\) chunks, and each row of display math."""
    chunks = re.findall(r"\\\((.+?)\\\)", text)
    for body in re.findall(r"\\begin\{aligned\}(.+?)\\end\{aligned\}", text):
        rows, expr = [], ""
        for row in body.split("\\\\"):
            row = row.strip()
            if row.startswith("&\\quad"):  # continues the expression above
                expr += " " + row[len("&\\quad"):]
                rows[-1] = expr
                continue
            lhs, _, rhs = row.partition("&=")
            expr = rhs
            rows.append(rhs if lhs.strip() == "" and rows else f"{lhs} = {rhs}")
        # "a = b" then "= c" rows chain on the same left side
        chain = []
        for r in rows:
            if chain and not re.match(r"\s*[A-Za-z_{}]+\s*=", r) and "=" not in r:
                chain[-1] += " = " + r
            else:
                chain.append(r)
        chunks.extend(chain)
    return chunks


def check_numbers(text: str, bind: dict[str, int] | None = None) -> int:
    """Every chain of terms joined by = or \\le / \\ge / < must hold, where a term holds
    numbers and the letters bound in `bind` (a worked answer's own values); returns how many
    relations were checked."""
    checked = 0
    for chunk in _math(text):
        parts = re.split(r"(=|\\le|\\ge|<|>)", chunk)
        terms, ops = parts[::2], parts[1::2]
        for (a, op, b) in zip(terms, ops, terms[1:], strict=False):
            va, vb = _value(a, bind), _value(b, bind)
            if va is None or vb is None:
                continue
            ok = {"=": va == vb, "\\le": va <= vb, "\\ge": va >= vb, "<": va < vb,
                  ">": va > vb}[op]
            assert ok, f"{a} {op} {b} is false in {chunk!r}"
            checked += 1
    return checked


def _configs(seed: int):
    rng = random.Random(seed)
    for _ in range(CONFIGS):
        yield (rng.randrange(1, 260), rng.randrange(1, 12), rng.randrange(1, 6),
               rng.randrange(0, 8), rng.randrange(1, 5))


# ------------------------------------------------------------------ size formulas


def test_every_row_of_the_size_formula_evaluates_to_the_solvers_size():
    checked = 0
    for size, k, s, p, d in _configs(1):
        try:
            out = arith.conv_out(size, k, s, p, d)
        except ShapeError:
            with pytest.raises(ValueError):
                sizes.size_tex(size, k, s, p, d, 1)
            continue
        tex = sizes.size_tex(size, k, s, p, d, out)
        assert check_numbers(tex) >= 2
        assert tex.rstrip(" \\]").endswith(f"= {out} \\end{{aligned}}")
        text = sizes.conv_size_text(size, k, s, p, d, out)
        left, _, right = text.rpartition(" = ")
        left = left.replace("floor(", "(").replace(") / ", ") // ")
        assert int(right) == out == eval(left, {"__builtins__": {}})  # noqa: S307 - digits
        checked += 1
    assert checked > CONFIGS // 2


def test_the_size_writers_raise_when_their_facts_disagree():
    out = arith.conv_out(224, 7, 2, 3, 1)
    for wrong in (out - 1, out + 1):
        with pytest.raises(ValueError):
            sizes.size_tex(224, 7, 2, 3, 1, wrong)
        with pytest.raises(ValueError):
            sizes.conv_size_text(224, 7, 2, 3, 1, wrong)
        with pytest.raises(ValueError):
            sizes.strip_caption(["H"], 224, 7, 2, 3, 3, 1, wrong, True)
    t_out = arith.conv_transpose_out(4, 3, 2, 1, 1, 1)
    for writer in (sizes.transpose_size_text, sizes.transpose_size_tex,
                   sizes.transposed_caption):
        with pytest.raises(ValueError):
            writer(4, 3, 2, 1, 1, 1, t_out + 1)
    with pytest.raises(ValueError):
        sizes.same_pad_text(5, 1, 1)  # 2p = 4, not 2
    with pytest.raises(ValueError):
        sizes.same_split_steps(4, 1, 2, 1, 10, 11, 9)  # left gets total // 2 = 1
    with pytest.raises(ValueError):
        sizes.tf_same_target_text(224, 2, 111)
    with pytest.raises(ValueError):
        sizes.conv_fit_text(3, 0, 0, 5, 1, fits=True)  # 3 cells cannot hold a span of 5
    with pytest.raises(ValueError):
        sizes.transpose_recover_steps(28, 14, 3, 2, 1, 1, 0)  # the floor dropped 1, not 0


def test_every_row_of_the_transposed_formula_evaluates_to_the_solvers_size():
    rng = random.Random(2)
    for _ in range(CONFIGS):
        size, k, s, d = rng.randrange(1, 60), rng.randrange(1, 8), rng.randrange(1, 5), \
            rng.randrange(1, 4)
        p, op = rng.randrange(0, 4), rng.randrange(0, 4)
        try:
            out = arith.conv_transpose_out(size, k, s, p, op, d)
        except ShapeError:
            continue
        tex = sizes.transpose_size_tex(size, k, s, p, op, d, out)
        assert check_numbers(tex) >= 1 and tex.rstrip(" \\]").endswith(f"= {out} \\end{{aligned}}")
        text = sizes.transpose_size_text(size, k, s, p, op, d, out)
        left, _, right = text.rpartition(" = ")
        assert int(right) == out == eval(left, {"__builtins__": {}})  # noqa: S307 - digits


def test_output_padding_steps_hold_for_every_strided_conv_they_undo():
    rng = random.Random(3)
    checked = 0
    for _ in range(CONFIGS):
        big, k, s, p, d = (rng.randrange(2, 80), rng.randrange(1, 8), rng.randrange(2, 5),
                           rng.randrange(0, 4), rng.randrange(1, 3))
        try:
            size = arith.conv_out(big, k, s, p, d)
            base = arith.conv_transpose_out(size, k, s, p, 0, d)
        except ShapeError:
            continue
        op = big - base
        if not 0 <= op < max(s, d):
            continue
        steps = sizes.transpose_recover_steps(big, size, k, s, p, d, op)
        assert sum(check_numbers(step) for step in steps) >= 4
        assert (f"only output_padding = {op} gives {big}" in steps[-1] if op else
                "so output_padding = 0" in steps[-1])
        checked += 1
    assert checked > 50


# ------------------------------------------------------------------ solving for an unknown

SPACES = {"padding": (0, 16), "stride": (1, 8), "kernel": (1, 15)}


def _candidates(cfg: dict[str, int], unknown: str, target: int) -> list[int]:
    lo, hi = SPACES[unknown]
    found = []
    for v in range(lo, hi + 1):
        c = {**cfg, unknown: v}
        try:
            if arith.conv_out(c["size"], c["kernel"], c["stride"], c["padding"],
                              c["dilation"]) == target:
                found.append(v)
        except ShapeError:
            pass
    return found


@pytest.mark.parametrize("unknown", list(SPACES))
def test_solving_for_the_unknown_shows_true_bounds_and_the_solvers_answer(unknown):
    rng = random.Random(unknown)
    seen = {"one": 0, "several": 0}
    for size, k, s, p, d in _configs(len(unknown)):
        cfg = {"size": size, "kernel": k, "stride": s, "padding": p, "dilation": d}
        try:
            target = arith.conv_out(size, k, s, p, d)
        except ShapeError:
            continue
        if unknown == "stride" and target < 2:
            continue
        found = _candidates(cfg, unknown, target)
        if cfg[unknown] not in found:  # outside the stated space
            continue
        cfg[unknown] = found[0]
        smallest = len(found) > 1
        steps = sizes.solve_for_steps(unknown, cfg, target, SPACES[unknown], found,
                                      smallest=smallest)
        # every relation, also those with letters, holds at the answer's own values
        bind = {"in": size, "p": cfg["padding"], "s": cfg["stride"], "k": cfg["kernel"],
                "d": d, "out": target}
        bind["n"] = size + 2 * bind["p"] - d * (bind["k"] - 1) - 1
        assert sum(check_numbers(step, bind) for step in steps) >= 8
        letter = sizes.LETTER[unknown]
        assert steps[-1].endswith(f"{letter} = {found[0]}.")
        seen["several" if smallest else "one"] += 1
        if smallest:  # without "the smallest" several answers are refused
            with pytest.raises(ValueError):
                sizes.solve_for_steps(unknown, cfg, target, SPACES[unknown], found)
        # the writer refuses candidates the rule does not give
        wrong = [v for v in range(SPACES[unknown][0], SPACES[unknown][1] + 1)
                 if v not in found][:1]
        if wrong and rng.random() < 0.5:
            with pytest.raises(ValueError):
                sizes.solve_for_steps(unknown, cfg, target, SPACES[unknown],
                                      sorted(found + wrong), smallest=True)
    assert seen["one"] > 20


def test_layer_formulas_refuse_a_size_the_rule_does_not_give():
    from cardgen.layers import Layer

    layer = Layer.make("Conv2d", in_channels=1, out_channels=1, kernel_size=3)
    assert sizes.layer_formulas(layer, (1, 1, 8, 8), (1, 1, 6, 6)) == \
        ("floor((8 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 6",) * 2
    with pytest.raises(ValueError):
        sizes.layer_formulas(layer, (1, 1, 8, 8), (1, 1, 6, 7))


def test_size_tex_writes_the_rows_display_rows_would():
    """size_tex writes its aligned rows as one format string: the text display_rows
    makes of the same rows (kept in step with it)."""
    from cardgen.explain.tex import display_rows

    rng = random.Random(11)
    for _ in range(CONFIGS):
        size, k, s, pl, d = (rng.randrange(1, 40), rng.randrange(1, 8), rng.randrange(1, 5),
                             rng.randrange(0, 4), rng.randrange(1, 4))
        pr, ceil = rng.choice([None, pl, pl + 1]), rng.random() < 0.3
        n = size + pl + (pl if pr is None else pr) - d * (k - 1) - 1
        if n < 0:
            continue
        out = (-(-n // s) if ceil else n // s) + 1
        name = rng.choice(["out", "H_{out}"])
        lo, hi = ("\\lceil", "\\rceil") if ceil else ("\\lfloor", "\\rfloor")
        pads = f"2\\cdot {pl}" if pr in (None, pl) else f"{pl} + {pr}"
        rows = display_rows([("n", f"{size} + {pads}"), (None, f"- {d}\\cdot({k}-1) - 1"),
                             ("", str(n)), (name, f"{lo} {n}/{s} {hi} + 1 = {out}")])
        assert sizes.size_tex(size, k, s, pl, d, out, pr, name=name, ceil=ceil) == (
            f"\\( {name} = {lo} n / s {hi} + 1 \\) with \\( n = in + 2p - d(k-1) - 1 \\): "
            + rows)
