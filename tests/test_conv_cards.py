"""The conv families' cards as a strict teacher reads them: one right answer in the stated
space, every number in the steps and captions the solver's, diagrams of the question's own
problem, and no card that gives its answer away.

Answers and sizes come from the solver (checked against PyTorch by test_golden and, for
these cards' claims, by test_families); the unique claims are re-checked here with the
solver, candidate by candidate.
"""

from __future__ import annotations

import json
import re

import pytest

from cardgen.claims import check_claim
from cardgen.families import FAMILIES
from cardgen.generate import family_rng
from cardgen.layers import Layer
from cardgen.render.diagrams import DIAGRAMS
from cardgen.solver import output_shape
from cardgen.solver.arith import conv_out
from tests.test_explain_sizes import check_numbers

SEEDS = (0, 1, 2)
DRAWS = 40  # per seed and level
CONV = ("conv.output_size", "conv.same_padding", "conv.inverse", "conv.validity",
        "conv_transpose.output_size")


def _cards(name: str, level: int):
    module = FAMILIES[name]
    for seed in SEEDS:
        rng = family_rng(seed, name)
        for _ in range(DRAWS):
            params = module.generate(rng, level)
            yield params, module.solve(params)


CASES = [(name, level) for name in CONV for level in FAMILIES[name].LEVELS]


@pytest.mark.parametrize(("name", "level"), CASES)
def test_every_number_in_the_steps_and_captions_is_true(name, level):
    checked = 0
    for _, solution in _cards(name, level):
        for text in [*solution.steps, *(d.caption for d in solution.diagrams)]:
            checked += check_numbers(text)
        for diagram in solution.diagrams:  # each caption's placement count is the solver's
            a = diagram.args
            m = re.search(r"(\d+) (?:placements?|outputs)(?:; (.*))?\.$", diagram.caption)
            assert m, diagram.caption
            if m[2]:  # input cells that no tap reads: exactly those the solver's taps miss
                skipped = re.fullmatch(r".* skips? (\d+) input cells?.*", m[2])
                assert skipped, diagram.caption
                k, s, p, d = (a[key] for key in ("kernel", "stride", "pad_left", "dilation"))
                out = conv_out(a["size"], k, s, p, d, a["pad_right"])
                taps = {i * s + j * d for i in range(out) for j in range(k)}
                reach = (out - 1) * s + d * (k - 1) + 1
                assert int(skipped[1]) == sum(1 for c in range(a["size"])
                                              if c + p < reach and c + p not in taps)
            if diagram.kind == "sliding_strip":
                want = conv_out(a["size"], a["kernel"], a["stride"], a["pad_left"],
                                a["dilation"], a["pad_right"])
                assert f"on {a['size']} cells" in diagram.caption
                assert ("middle condensed" in diagram.caption) == \
                    (a["size"] + a["pad_left"] + a["pad_right"] > 26)
                assert int(m[1]) == want
    assert checked > 0


UNIQUE = [(n, lv) for n, lv in CASES if n in ("conv.same_padding", "conv.inverse")
          or (n, lv) == ("conv_transpose.output_size", 3)]


@pytest.mark.parametrize(("name", "level"), UNIQUE)
def test_questions_for_an_unknown_state_the_space_and_claim_one_answer_in_it(name, level):
    for params, solution in _cards(name, level):
        uniques = [c for c in solution.claims if c["kind"] == "unique"]
        if params.get("q") == "split":  # left,right of 'same': no argument to vary
            assert not uniques
            continue
        (claim,) = uniques
        # the question names exactly the space the claim re-checks
        for lo, hi in claim["space"].values():
            assert re.search(rf"between {lo} and {hi}\b", solution.question), \
                (solution.question, claim["space"])
        if claim["pick"] == "smallest":
            assert "smallest" in solution.question
        answer = ",".join(str(v) for v in claim["answer"].values())
        assert solution.answer == answer
        check = check_claim(json.loads(json.dumps(claim)), "solver")
        assert check.ok, (params, check.detail)


def test_conv_output_size_gives_nothing_away():
    for level in FAMILIES["conv.output_size"].LEVELS:
        for params, _ in _cards("conv.output_size", level):
            layer = Layer.from_json(params["layer"])
            assert layer.get("padding") != "same", params
            shape = tuple(params["input_shape"])
            out = output_shape(layer, shape)
            trivial = all(layer.tup("kernel_size")[d] == 1 and layer.tup("stride")[d] == 1
                          and (layer.get("padding") == "valid"
                               or layer.tup("padding")[d] == 0)
                          for d in range(layer.ndim))
            assert not trivial, params
            assert out[2:] != shape[2:], params  # a kept size is a copy of the question


def test_conv_inverse_level_3_never_asks_for_stride_1_or_a_size_keeping_layer():
    seen = set()
    for params, _ in _cards("conv.inverse", 3):
        assert params["target"] != params["size"], params
        if params["unknown"] == "stride":
            assert params["stride"] > 1, params
        seen.add(params["unknown"])
    assert seen == {"kernel", "stride", "padding"}


def test_same_padding_level_1_drills_more_than_a_handful_of_facts():
    facts = set()
    for params, _ in _cards("conv.same_padding", 1):
        k = params["kernel"]
        facts.add(tuple(k) if isinstance(k, list) else k)
    assert len(facts) >= 12, facts


def test_same_padding_level_3_asks_for_a_number_harder_than_level_2():
    for params, solution in _cards("conv.same_padding", 3):
        assert params["stride"] > 1 and solution.answer.isdigit()
        assert any("\\le" in step for step in solution.steps)  # solved, not recalled


def test_same_padding_draws_the_questions_own_size():
    solution = FAMILIES["conv.same_padding"].solve(
        {"q": "pad", "nd": 2, "size": 224, "kernel": 3, "dilation": 1})
    (diagram,) = solution.diagrams
    assert diagram.args["size"] == 224
    assert "224 cells, middle condensed" in diagram.caption
    svg = DIAGRAMS[diagram.kind](**diagram.args)
    assert ">223<" in svg and "…" in svg  # the last input cell, and the visible break


def test_a_conv3d_with_one_real_kernel_dim_draws_only_that_dim():
    layer = Layer.make("Conv3d", in_channels=3, out_channels=8, kernel_size=(1, 1, 3))
    solution = FAMILIES["conv.output_size"].solve(
        {"layer": layer.to_json(), "input_shape": [1, 3, 8, 16, 15]})
    (diagram,) = solution.diagrams
    assert diagram.caption.startswith("W: ") and diagram.args["size"] == 15
    assert any(step.startswith("D and H: kernel 1, stride 1, no padding") for step in
               solution.steps)


def test_a_refused_conv_has_no_diagram_of_a_run():
    refused = 0
    for level in FAMILIES["conv.validity"].LEVELS:
        for _, solution in _cards("conv.validity", level):
            if solution.answer == "no":
                refused += 1
                assert not solution.diagrams
                assert all(not s.startswith("It runs") for s in solution.steps)
            else:
                assert len(solution.diagrams) == 1
    assert refused > 50


def test_validity_draws_are_judged_as_the_solution_runs_them():
    # generate turns draws away by the numbers (_fits), the card by a Layer's step (_runs):
    # the two agree on every draw the levels can make (stride, channels and nd included)
    module = FAMILIES["conv.validity"]
    for nd in (1, 2):
        for size in range(2, 24):
            for kernel in range(2, 10):
                for padding in range(4):
                    for dilation in range(1, 5):
                        for stride in (1, 2):
                            for cin, xin in ((3, 3), (1, 64), (16, 8)):
                                params = {"nd": nd, "size": size, "kernel": kernel,
                                          "padding": padding, "dilation": dilation,
                                          "in_channels": cin, "x_channels": xin,
                                          "stride": stride}
                                assert module._fits(params) == module._runs(params), params
