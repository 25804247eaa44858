"""Naming the mistake (issue 12): every named wrong rule's answer differs from the right
one, follows from the variant's JSON data by the same code verify runs, and, where torch
can play the wrong rule (dilation 1, output_padding 0, a Conv for a ConvTranspose, the
other ceil_mode, half the padding), torch gives that very answer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cardread import step_problems

from cardgen.claims.check_torch import torch_available
from cardgen.families import FAMILIES as ALL_FAMILIES
from cardgen.generate import family_rng, generate_family
from cardgen.layers import Layer
from cardgen.mistakes import (
    FAMILIES,
    RULES,
    NotApplicable,
    _is_json,
    _worked,
    check_mistakes,
    derive,
    mistakes,
)
from cardgen.solver.shapes import dim_args
from cardgen.variants import family_variants

SEEDS = (0, 1)
DRAWS = 15  # per family, level and seed


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def problems(family: str) -> Iterator[tuple[dict[str, Any], Any]]:
    module = ALL_FAMILIES[family]
    for level in module.LEVELS:
        for seed in SEEDS:
            rng = family_rng(seed, family)
            for _ in range(DRAWS):
                params = module.generate(rng, level)
                yield params, module.solve(params)


def _rendered(tex: str) -> str:
    """Roughly what MathJax shows: one glyph per command, no spaces."""
    return re.sub(r"\\[a-z]+", "#", tex).replace(" ", "").replace("{", "").replace("}", "")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_mistakes_differ_and_derive_from_json(family: str) -> None:
    named = 0
    for params, solution in problems(family):
        found = mistakes(family, params, solution)
        answers = [m.answer for m in found]
        assert solution.answer not in answers
        assert len(set(answers)) == len(answers)
        p, claims = _json(params), _json(solution.claims)
        for m in found:
            named += 1
            assert m.rule in RULES and len(m.rule) <= 32
            assert m.answer.isascii() and m.answer.strip() == m.answer and m.answer
            assert derive(m.rule, family, p, claims) == m.answer
            # one short sentence; its math fits a 360 px phone
            assert m.line.endswith(".") and "\n" not in m.line and len(m.line) < 200
            for tex in re.findall(r"\\\((.*?)\\\)", m.line):
                assert len(_rendered(tex)) <= 28, m.line
        spec = [{"rule": m.rule, "answer": m.answer} for m in found]
        assert check_mistakes(family, p, claims, solution.answer, spec) == []
    assert named, f"{family}: no mistake named on any drawn card"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_mistakes_are_written_like_answers(family: str) -> None:
    """A mistake's answer has a form the family's own answers have (numbers aside): a
    shape, a range, a verdict, `error`, `none`."""
    def form(answer: str) -> str:  # a shape of any rank is a shape
        return "shape" if re.fullmatch(r"\d+(x\d+)*", answer) else re.sub(r"\d+", "9", answer)

    drawn = list(problems(family))
    forms = {form(solution.answer) for _, solution in drawn}
    for params, solution in drawn:
        for m in mistakes(family, params, solution):
            assert form(m.answer) in forms, (m.rule, m.answer, sorted(forms)[:8])


def _rejected(family: str, params: Any, claims: Any, answer: str, items: Any) -> list[str]:
    return check_mistakes(family, params, claims, answer, items)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_check_mistakes_rejects(family: str) -> None:
    checked = 0
    for params, solution in problems(family):
        found = mistakes(family, params, solution)
        if not found:
            continue
        p, claims, right = _json(params), _json(solution.claims), solution.answer
        m = found[0]
        good = {"rule": m.rule, "answer": m.answer}
        assert _rejected(family, p, claims, right, {"rule": m.rule})  # not a list
        assert _rejected(family, p, claims, right, [[m.rule, m.answer]])
        assert _rejected(family, p, claims, right, [{**good, "line": "x"}])
        assert _rejected(family, p, claims, right, [{**good, "answer": m.answer + "1"}])
        assert _rejected(family, p, claims, right, [{**good, "rule": "no_such_rule"}])
        assert _rejected(family, p, claims, right, [{**good, "answer": right}])
        assert _rejected(family, p, claims, right, [good, good])
        other = [r for r in RULES if r not in {f.rule for f in found}]
        unused = [r for r in other if _applies(r, family, p, claims) is None]
        if unused:  # a rule that does not apply to this card
            assert _rejected(family, p, claims, right, [{"rule": unused[0],
                                                         "answer": m.answer}])
        checked += 1
    assert checked


def _applies(rule: str, family: str, params: Any, claims: Any) -> str | None:
    try:
        return derive(rule, family, params, claims)
    except NotApplicable:
        return None


def test_unknown_rule_and_family() -> None:
    params, solution = next(problems("conv.output_size"))
    with pytest.raises(NotApplicable):
        derive("no_such_rule", "conv.output_size", params, solution.claims)
    assert mistakes("adaptive.values", *next(problems("adaptive.values"))) == []
    assert check_mistakes("conv.output_size", params, solution.claims, solution.answer,
                          []) == []


def _json_shaped(value: Any, where: str = "claims") -> None:
    """Fail where `value` holds anything JSON would read back otherwise: a tuple, a key
    that is not a str, a type other than dict, list, str, int, float, bool and None."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            assert type(key) is str, f"{where}: key {key!r}"
            _json_shaped(item, f"{where}[{key!r}]")
    elif kind is list:
        for i, item in enumerate(value):
            _json_shaped(item, f"{where}[{i}]")
    else:
        assert kind in (str, int, float, bool, type(None)), f"{where}: {kind.__name__} {value!r}"


@pytest.mark.parametrize("family", sorted(ALL_FAMILIES))
def test_solve_claims_are_json(family: str) -> None:
    """A build hands mistakes() the params and the claims a family's generate() and
    solve() made as they are (json_data=True, no look for tuples): every builder's claim,
    every list of them a family makes, and the params, variants' too, must be JSON
    values already."""
    module = ALL_FAMILIES[family]
    for seed in SEEDS:
        found = generate_family(family, seed, 12 * len(module.LEVELS), module.LEVELS)
        for problem, more in zip(found, family_variants(found, seed, 3), strict=True):
            params = (problem.params, *more.params)
            solutions = more.solutions or [module.solve(problem.params)]
            assert len(solutions) == len(params)
            for p, solution in zip(params, solutions, strict=True):
                _json_shaped(p, "params")
                _json_shaped(solution.claims)
                assert _is_json(p) and _is_json(solution.claims)
                assert mistakes(family, p, solution, json_data=True) == \
                    mistakes(family, p, solution)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_worked_in_rules_order(family: str) -> None:
    """_worked gives its rules in RULES order (the first of equal answers wins), also
    where it takes a worker's dict as it comes (_IN_ORDER: _forward tries its rules in
    that order)."""
    order = list(RULES)
    for params, solution in problems(family):
        ranks = [order.index(rule) for rule in _worked(family, params, solution.claims)]
        assert ranks == sorted(ranks), (params, ranks)


def test_json_shaped_finds_a_tuple() -> None:
    claims = [{"kind": "shape", "layers": [{"type": "Conv2d", "args": {"kernel_size": [3, 3]}}],
               "input_shape": [1, 3, 8, 8]}]
    _json_shaped(claims)
    claims[0]["layers"][0]["args"]["kernel_size"] = (3, 3)
    with pytest.raises(AssertionError, match="kernel_size"):
        _json_shaped(claims)
    with pytest.raises(AssertionError, match="key 1"):
        _json_shaped([{1: 2}])


_MATH = re.compile(r"\\\((.*?)\\\)")
_OPERATOR = re.compile(r"[-+/<>]|\\cdot|\\lfloor|\\lceil")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_lines_show_the_wrong_work(family: str) -> None:
    """A line shows the computation that gives the typed answer, not a bare result: no
    math is an identity ("4 = 4") or only a name for a number ("n = 10"), and what the
    line computes is true arithmetic."""
    for params, solution in problems(family):
        for m in mistakes(family, params, solution):
            spans = _MATH.findall(m.line)
            for tex in spans:
                sides = [side.strip() for side in tex.split("=")]
                assert len(set(sides)) == len(sides), m.line  # "a = a"
            if spans:  # one of them works something out
                assert any(_OPERATOR.search(side) for tex in spans
                           for side in tex.split("=")[:-1] or [tex]), m.line
            # "gives 3 here, not 3" contradicts itself
            assert not re.search(r"(?<![\d.])(\d+)\)?( here)?, not \1(?!\d)", m.line), m.line
            checked, bad = step_problems(m.line)
            assert not bad, (m.line, bad)


SINGLE = ("conv.output_size", "pool.output_size", "conv_transpose.output_size")


def _layer_of(solution: Any) -> tuple[Layer, list[int]] | None:
    claims = [c for c in _json(solution.claims) if c["kind"] in ("shape", "error")]
    if len(claims) != 1 or len(claims[0]["layers"]) != 1:
        return None
    return Layer.from_json(claims[0]["layers"][0]), claims[0]["input_shape"]


@pytest.mark.parametrize("family", SINGLE)
def test_size_lines_name_the_key_numbers(family: str) -> None:
    """A one-layer size line ends on the wrong size it computed and the right one, both
    sizes of their answers, and names the numbers its rule gets wrong: the dilated span,
    the doubled padding, the output_padding left out, the limit ignored."""
    seen = set()
    for params, solution in problems(family):
        found = _layer_of(solution)
        if found is None:
            continue
        layer, shape = found
        spatial = shape[-layer.ndim:]
        for m in mistakes(family, params, solution):
            end = re.search(r"= (\d+) \\\)(?:, not (\d+))?[.;]", m.line)
            if m.rule not in ("no_plus_one", "no_dilation", "ceil_not_floor",
                              "floor_not_ceil", "keeps_dropped_window", "padding_once",
                              "pad_over_half", "no_output_padding", "conv_formula",
                              "op_over_limit") or end is None:
                continue
            seen.add(m.rule)
            assert end.group(1) in m.answer.split("x"), m.line
            if end.group(2):
                assert end.group(2) in solution.answer.split("x"), m.line
            args = [dim_args(layer, d, n) for d, n in enumerate(spatial)]
            if m.rule == "no_dilation":  # dim_args puts a transposed conv's dilation last
                at = 5 if layer.kind == "conv_transpose" else 4
                assert any(f"d(k-1) = {a[at] * (a[1] - 1)}" in m.line for a in args), m.line
            if m.rule == "padding_once":
                pads = layer.tup("padding")
                assert any(f"2p = {2 * p}" in m.line for p in pads), m.line
            if m.rule == "no_output_padding":
                assert any(f"output_padding={op}" in m.line
                           for op in layer.tup("output_padding")), m.line
            if m.rule == "op_over_limit":
                assert any(f"{op} is not below the stride {s} or the dilation {d}" in m.line
                           for op, s, d in zip(layer.tup("output_padding"),
                                               layer.tup("stride"), layer.tup("dilation"),
                                               strict=True)), m.line
    assert seen


def test_a_shared_answer_names_every_rule_that_gives_it() -> None:
    """The verdict names one rule per wrong answer; when another rule gives the same
    answer (padding 1 counted once is the +1 forgotten), the line says so."""
    shared = 0
    for family in sorted(FAMILIES):
        for params, solution in problems(family):
            p, claims = _json(params), _json(solution.claims)
            for m in mistakes(family, params, solution):
                others = [r for r in RULES if r != m.rule
                          and _applies(r, family, p, claims) == m.answer
                          and (m.rule, r) != ("pad_count_flipped", "kernel_divisor")]
                if not others or not m.line:
                    continue
                shared += 1
                assert m.line.endswith(" it too."), m.line
                for r in others:
                    assert RULES[r][1:] in m.line, (r, m.line)
    assert shared


# ------------------------------------------------------------------ live torch

def _torch_shape(layers: list[dict[str, Any]], shape: list[int]) -> str | None:
    """The output shape torch gives for this stack (on the meta device: no compute), or
    None when torch refuses."""
    import torch

    x = torch.empty(shape, device="meta")
    try:
        for layer in layers:
            args = {k: tuple(v) if isinstance(v, list) else v for k, v in layer["args"].items()}
            x = getattr(torch.nn, layer["type"])(**args).to("meta")(x)
    except (RuntimeError, ValueError):
        return None
    return "x".join(map(str, x.shape))


def _halved(pads: Any) -> Any:
    if isinstance(pads, list):
        return [v // 2 for v in pads]
    return pads // 2


def _as_torch(rule: str, layer: dict[str, Any]) -> dict[str, Any] | None:
    """The layer whose real arithmetic is the wrong rule's, or None where torch has none."""
    type_, args = layer["type"], dict(layer["args"])
    conv, pool = type_.startswith("Conv"), "Pool" in type_ and "Adaptive" not in type_
    pads = args.get("padding", 0)
    if rule == "no_dilation":
        args.pop("dilation", None)
    elif rule in ("no_output_padding", "conv_formula") and "Transpose" in type_:
        args.pop("output_padding", None)
        if rule == "conv_formula":
            type_ = type_.replace("ConvTranspose", "Conv")
    elif rule in ("ceil_not_floor", "floor_not_ceil") and (pool or conv):
        if conv:  # a conv has no ceil mode to play it
            return None if rule == "ceil_not_floor" else layer
        args["ceil_mode"] = rule == "ceil_not_floor"
    elif rule == "padding_once" and (pool or conv) and pads != 0:
        values = pads if isinstance(pads, list) else [pads]
        if isinstance(pads, str) or any(v % 2 for v in values) or args.get("ceil_mode"):
            return None
        args["padding"] = _halved(pads)
    elif rule == "flatten_all" and type_ == "Flatten":
        args["start_dim"] = 0
    elif rule == "none_as_one" and "Adaptive" in type_:
        size = args["output_size"]
        args["output_size"] = [1 if v is None else v for v in size] \
            if isinstance(size, list) else size
    elif rule not in ("no_dilation", "no_output_padding", "conv_formula", "ceil_not_floor",
                      "floor_not_ceil", "padding_once", "flatten_all", "none_as_one"):
        return None
    return {"type": type_, "args": args}


TORCH_RULES = ("no_dilation", "no_output_padding", "conv_formula", "ceil_not_floor",
               "floor_not_ceil", "padding_once", "flatten_all", "none_as_one")
PLAYED = {"conv.output_size": {"no_dilation", "padding_once"},
          "pool.output_size": {"no_dilation", "ceil_not_floor", "floor_not_ceil",
                               "padding_once"},
          "conv_transpose.output_size": {"no_output_padding", "conv_formula", "padding_once"},
          "conv_transpose.rules": {"no_output_padding", "conv_formula", "padding_once",
                                   "no_dilation"},
          "network.trace": {"flatten_all", "floor_not_ceil", "padding_once"},
          "adaptive.output_shape": {"flatten_all", "none_as_one"},
          "input.unbatched": {"flatten_all", "padding_once"},
          "network.stack": {"padding_once", "floor_not_ceil"}}


@pytest.mark.skipif(not torch_available(), reason="needs torch (pip install torch==2.13.0)")
@pytest.mark.parametrize("family", sorted(PLAYED))
def test_wrong_rules_agree_with_torch(family: str) -> None:
    """Each rule torch can play, on the whole stack of the card's shape question."""
    played: dict[str, int] = {}
    for params, solution in problems(family):
        claims = _json(solution.claims)
        if family == "network.stack":
            if params["ask"] != "shape":
                continue
            layers, shape = params["layers"], params["input_shape"]
        else:
            shape_claims = [c for c in claims if c["kind"] in ("shape", "error")]
            if params.get("q") not in (None, "size", "explicit", "shape", "check") \
                    or len(shape_claims) != 1:
                continue
            layers, shape = shape_claims[0]["layers"], shape_claims[0]["input_shape"]
        for rule in TORCH_RULES:
            wrong = _applies(rule, family, _json(params), claims)
            changed = [_as_torch(rule, layer) for layer in layers]
            if wrong is None or None in changed:
                continue
            assert _torch_shape(changed, shape) == wrong, (rule, changed, shape)
            played[rule] = played.get(rule, 0) + 1
    assert PLAYED[family] <= set(played), played


def _torch_avg(layer: dict[str, Any], plane: list[Any], index: list[int]) -> float:
    import torch

    args = {k: tuple(v) if isinstance(v, list) else v for k, v in layer["args"].items()}
    out = getattr(torch.nn, layer["type"])(**args)(torch.tensor(plane, dtype=torch.float64))
    return float(out[0, 0][tuple(index)])


@pytest.mark.skipif(not torch_available(), reason="needs torch (pip install torch==2.13.0)")
def test_avgpool_divisor_rules_agree_with_torch() -> None:
    """count_include_pad read the other way is torch with it flipped; divisor_override
    ignored is torch without it."""
    from fractions import Fraction

    played = set()
    for params, solution in problems("pool.options"):
        if params["q"] != "value":
            continue
        claims = _json(solution.claims)
        (claim,) = claims
        layer = claim["layers"][0]
        for rule, change in (("pad_count_flipped", "count_include_pad"),
                             ("override_ignored", "divisor_override")):
            wrong = _applies(rule, "pool.options", _json(params), claims)
            if wrong is None:
                continue
            args = dict(layer["args"])
            if change == "count_include_pad":
                args[change] = not args.get(change, True)
            else:
                del args[change]
            got = _torch_avg({"type": layer["type"], "args": args}, claim["input"],
                             params["index"])
            assert got == pytest.approx(float(Fraction(wrong))), (rule, layer)
            played.add(rule)
    assert played == {"pad_count_flipped", "override_ignored"}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_hostile_specs_give_reasons_not_exceptions(family: str) -> None:
    """verify reads untrusted decks: malformed or huge data gives reasons, never a crash
    or a loop over a billion candidates."""
    params, solution = next(problems(family))
    item = [{"rule": "no_plus_one", "answer": "1"}]
    for claims in ([], [1, "x", None], [{"kind": "shape"}], [{"kind": "unique", "space": 5}]):
        assert check_mistakes(family, params, claims, solution.answer, item)
    huge = _json(solution.claims)

    def blow(value: Any) -> Any:  # every integer a trillion: ranges, sizes, spaces
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return 10**12
        if isinstance(value, list):
            return [blow(v) for v in value]
        if isinstance(value, dict):
            return {k: blow(v) for k, v in value.items()}
        return value

    assert check_mistakes(family, blow(params), blow(huge), solution.answer, item)
