"""The pooling-window writers (cardgen.explain.windows) and the cards that use them: every
sentence agrees with the solver (and with torch where it is installed), and the cards of
the pooling families show their own problem and drill something."""

from __future__ import annotations

import itertools
import re

import pytest

from cardgen.explain import windows as W
from cardgen.families import FAMILIES
from cardgen.generate import family_rng
from cardgen.layers import Layer
from cardgen.solver import adaptive_windows, arith, fixed_equivalent, read_counts, trace
from cardgen.solver.windows import fixed_windows


def _pool_configs():
    """Every valid ceil-mode pool along one dim in a small box, with ceil mode adding a
    window (the quotient not whole)."""
    for size, k, s, d in itertools.product(range(1, 61), range(1, 7), range(2, 6), (1, 2)):
        for p in range(k // 2 + 1):
            num = size + 2 * p - d * (k - 1) - 1
            if num >= 0 and num % s:
                yield size, k, s, p, d


CEIL = list(_pool_configs())


def test_ceil_writer_verdict_agrees_with_the_solver_in_one_coordinate_system():
    assert len(CEIL) > 3000
    for size, k, s, p, d in CEIL:
        out = arith.pool_out(size, k, s, p, d, ceil_mode=True)
        text = W.ceil_last_window(size, k, s, p, d, out)
        extra = (size + 2 * p - d * (k - 1) - 1) // s + 1
        # one coordinate system: the start and the limit are both padded cells, and the
        # sentence states the rule with the same numbers, kept or dropped
        start = re.search(r"(\d+)\\cdot(\d+) = (\d+)", text)
        limit = re.search(r"input \+ left padding \\\( = (\d+) \+ (\d+) = (\d+) \\\)", text)
        assert start and limit, text
        assert int(start[1]) == extra and int(start[3]) == extra * s, text
        assert (int(limit[1]), int(limit[2]), int(limit[3])) == (size, p, size + p), text
        dropped = arith.ceil_dropped(size, k, s, p, d)
        assert ("PyTorch drops it" in text) == dropped, text
        assert ("PyTorch keeps it" in text) == (not dropped), text
        assert (f"\\( {extra * s} \\ge {size + p} \\)" in text) == dropped, text
        assert text.endswith(f": {out}."), text
        assert "right padding" not in text


def test_ceil_writer_matches_torch(require):
    torch = require("torch")
    import torch.nn.functional as F

    for size, k, s, p, d in CEIL[::7]:
        x = torch.zeros(1, 1, size)
        got = F.max_pool1d(x, k, s, p, d, ceil_mode=True).shape[-1]
        text = W.ceil_last_window(size, k, s, p, d, got)  # raises if the solver disagrees
        floor = F.max_pool1d(x, k, s, p, d).shape[-1]
        assert ("PyTorch drops it" in text) == (got == floor), (size, k, s, p, d)


def test_ceil_writer_refuses_facts_that_disagree():
    with pytest.raises(ValueError):
        W.ceil_last_window(11, 3, 3, 1, 1, 5)  # the solver says 4
    assert "whole number" in W.ceil_last_window(7, 3, 2, 0, 1, 3)


def test_read_counts_caption_names_exactly_the_counts_above_one():
    for size, out in itertools.product(range(1, 30), range(1, 30)):
        counts = read_counts(adaptive_windows(size, out), size)
        caption = W.read_counts_caption(counts)
        named = {2 if t == "twice" else int(t.split()[0])
                 for t in re.findall(r"twice|\d+ times", caption)}
        assert named == {c for c in counts if c > 1}, (size, out, caption)


def test_cell_readers_lists_the_windows_that_hold_the_cell():
    for size, out in itertools.product(range(1, 12), range(1, 25)):
        wins = adaptive_windows(size, out)
        counts = read_counts(wins, size)
        for cell in range(size):
            text = W.cell_readers(cell, wins, counts)
            found = re.search(r"lies in windows? ([\d, and]+):", text)
            listed = [int(i) for i in re.findall(r"\d+", found[1])] if found else []
            assert listed == [i for i, (a, b) in enumerate(wins) if a <= cell < b]
            assert f"read {W.times(counts[cell])}" in text


def test_adaptive_bounds_writer_gives_the_solver_window():
    for size, out in itertools.product(range(1, 40), range(1, 20)):
        for i in range(out):
            text = W.adaptive_bounds(i, size, out)
            a, b = map(int, re.search(r"\[(\d+),(\d+)\)$", text).groups())
            assert (a, b) == arith.adaptive_bounds(i, size, out)
            assert f"\\lfloor {i * size}/{out} \\rfloor = {a}" in text


def test_never_read_tells_input_from_padding():
    for size, k, s, p in itertools.product(range(1, 30), range(1, 6), range(1, 5), range(3)):
        if p > k // 2 or size + 2 * p < k:
            continue
        out = arith.pool_out(size, k, s, p)
        end = (out - 1) * s + k  # padded coordinates
        text = W.never_read(size, p, p, end)
        lost_inputs = [c for c in range(size) if c + p >= end]
        lost_pads = size + 2 * p - end - len(lost_inputs)
        if not lost_inputs and not lost_pads:
            assert text == ""
            continue
        if lost_inputs:
            first, last = lost_inputs[0], lost_inputs[-1]
            want = f"input cell {first}" if first == last else f"input cells {first}..{last}"
            assert want in text, (size, k, s, p, text)
        else:
            assert "input" not in text, text
            assert "(padding only)" in text
        if lost_pads:
            assert f"{lost_pads} padding cell" in text, text
        else:
            assert "padding" not in text


def test_gaps_skipped_counts_the_input_cells_no_tap_reads(require):
    torch = require("torch")
    for size, k, s, p, d in itertools.product(range(3, 20), range(1, 4), range(1, 6),
                                             range(2), (1, 2, 3)):
        if p > k // 2 or size + 2 * p < d * (k - 1) + 1:
            continue
        out = arith.pool_out(size, k, s, p, d)
        # a spike at cell c reaches the output exactly when some tap reads c
        end = (out - 1) * s + d * (k - 1) + 1 - p  # input coordinates
        gaps = []
        for c in range(min(size, end)):
            x = torch.zeros(1, 1, size)
            x[0, 0, c] = 1.0
            if torch.nn.functional.max_pool1d(x, k, s, p, d).max() == 0:
                gaps.append(c)
        text = W.gaps_skipped(size, k, s, p, d, out)
        if not gaps:
            assert text == ""
        else:
            assert re.search(f"skips? {len(gaps)} input cell", text), (size, k, s, p, d, text)
            assert f"({', '.join(map(str, gaps[:4]))}" in text


def test_pool_padding_refusal_is_our_explanation_and_torch_refuses(require):
    text = W.pool_padding_refused(3, 2)
    # the rule in our words, with the card's numbers; nothing dressed up as torch's message
    assert "\\lfloor 3/2 \\rfloor = 1" in text and "p = 2" in text
    assert '"' not in text and "message" not in text
    with pytest.raises(ValueError):
        W.pool_padding_refused(3, 1)
    torch = require("torch")
    with pytest.raises(RuntimeError):
        torch.nn.MaxPool2d(3, padding=2)(torch.zeros(1, 1, 9, 9))


def test_fixed_pool_match_agrees_with_the_solver():
    for size, out in itertools.product(range(2, 60), range(2, 70)):
        text = W.fixed_pool_match(size, out)
        pair = fixed_equivalent(size, out)
        found = re.search(r"kernel (\d+), stride (\d+)\.", text)
        assert (found is not None) == (pair is not None), (size, out, text)
        if pair:
            assert (int(found[1]), int(found[2])) == pair


# ------------------------------------------------------------------ the cards

def _draws(name: str, level: int, n: int = 60):
    module = FAMILIES[name]
    out = []
    for seed in (0, 1, 2):
        rng = family_rng(seed, name)
        out += [(p, module.solve(p)) for p in (module.generate(rng, level) for _ in range(n))]
    return out


def test_pool_error_cards_draw_no_run_of_the_refused_layer():
    found = 0
    for _, sol in _draws("pool.output_size", 3, 100):
        if sol.answer == "error":
            found += 1
            assert sol.diagrams == []
            assert any("never runs" in step for step in sol.steps)
    assert found > 10


def test_pool_captions_say_what_the_strip_shows():
    for level in (1, 2, 3):
        for _, sol in _draws("pool.output_size", level):
            for diagram in sol.diagrams:
                a = diagram.args
                assert f"on {a['size']} cells" in diagram.caption
                total = a["size"] + 2 * a["pad_left"]
                assert ("condensed" in diagram.caption) == (total > 26), diagram.caption


def test_adaptive_output_shape_draws_each_pooled_dim_at_the_question_sizes():
    for level in (1, 2, 3):
        for p, sol in _draws("adaptive.output_shape", level):
            layers = [Layer.from_json(p["before"])] if "before" in p else []
            pool = Layer.make(f"Adaptive{p['kind']}Pool{p['nd']}d", output_size=p["output_size"])
            shape = trace(layers, p["input_shape"])[-1].output_shape if layers \
                else tuple(p["input_shape"])
            pairs = {(s, o) for s, o in zip(shape[-p["nd"]:], pool.tup("output_size"),
                                             strict=True) if o is not None}
            if layers:  # the layer before the pool: one strip per distinct input size
                nd = p["nd"]
                sizes = list(dict.fromkeys(p["input_shape"][-nd:]))
                assert [d.args["size"] for d in sol.diagrams] == sizes
                assert all(d.kind == "sliding_strip" for d in sol.diagrams)
                named = [d.caption.split(" through ")[0] for d in sol.diagrams]
                assert sorted(" ".join(named).replace(",", "").replace("and", "").split()) \
                    == sorted("DHW"[3 - nd:])  # every dim named once
                continue
            strips = {(d.args["size"], d.args["out"]) for d in sol.diagrams
                      if d.kind == "adaptive_strip"}
            assert sol.diagrams and strips == pairs


def test_adaptive_values_need_no_calculator_and_work_every_output():
    for level in (1, 2, 3):
        for p, sol in _draws("adaptive.values", level):
            grid, out = p["grid"], p["out"]
            rows = [(0, 1)] if p["nd"] == 1 else adaptive_windows(len(grid), out[0])
            cols = adaptive_windows(len(grid[0]), out[-1])
            assert len(rows) * len(cols) <= 4
            assert all((b - a) * (d - c) <= 4 for a, b in rows for c, d in cols)
            assert all(-9 <= v <= 9 for row in grid for v in row)
            assert sum(step.startswith("Output ") for step in sol.steps) == len(rows) * len(cols)
            assert "likewise" not in " ".join(sol.steps)
            even = all(b - a == rows[0][1] - rows[0][0] for a, b in rows) and \
                all(b - a == cols[0][1] - cols[0][0] for a, b in cols) and \
                len(grid[0]) % out[-1] == 0 and len(grid) % (out[0] if p["nd"] == 2 else 1) == 0
            if even:  # disjoint windows of one size: a fraction would teach nothing
                assert "/" not in sol.answer, (p, sol.answer)


def test_network_trace_answers_are_not_read_off_the_question():
    for level in (1, 2):
        for p, sol in _draws("network.trace", level):
            # a head like "... -> Linear(512, 10)" gives away batch x 10: the answer past the
            # batch dim must not be read off the last layer's own arguments
            last = Layer.from_json(p["layers"][-1])
            numbers = set(map(int, re.findall(r"\d+", str(last))))
            dims = set(map(int, sol.answer.split("x")[1:]))
            assert not dims <= numbers, (sol.question, sol.answer)
            assert f"`{sol.answer}`" not in sol.question


def test_adaptive_windows_level_3_asks_numbers():
    for _, sol in _draws("adaptive.windows", 3):
        assert sol.answer not in ("yes", "no")


def test_adaptive_equivalence_states_its_space_and_each_dim_has_one_answer():
    for level in (1, 2, 3):
        for p, sol in _draws("adaptive.equivalence", level, 30):
            uniques = [c for c in sol.claims if c["kind"] == "unique"]
            if p["q"] == "reverse":
                assert f"between 1 and {p['size']}" in sol.question
                [claim] = uniques
                count = (p["size"] - p["kernel"]) // p["stride"] + 1
                same = fixed_windows(p["size"], count, p["kernel"], p["stride"], 0) == \
                    adaptive_windows(p["size"], count)
                assert claim["answer"] == ({"o": count} if same else None)
                continue
            assert "kernel and stride each between 1 and the input size" in sol.question
            assert len(uniques) == len(p["sizes"])
            for claim, size, out in zip(uniques, p["sizes"], p["outs"], strict=True):
                assert out >= 2  # with one window any stride would do
                assert claim["space"] == {"k": [1, size], "s": [1, size]}
                # brute force with the solver's windows: the answer is the only (k, s)
                fits = [(k, s) for k in range(1, size + 1) for s in range(1, size + 1)
                        if (size - k) // s + 1 == out
                        and fixed_windows(size, out, k, s, 0) == adaptive_windows(size, out)]
                assert fits == ([tuple(claim["answer"].values())] if claim["answer"] else [])


def test_a_kept_ceil_window_reads_the_cells_the_floor_leaves():
    from cardgen.render import diagrams as D

    # 224 cells, k3 s2 p1: ceil mode keeps window 112, which ends at the last padded cell
    assert arith.pool_out(224, 3, 2, 1, ceil_mode=True) == arith.pool_out(224, 3, 2, 1) + 1
    kept = D.sliding_strip(224, 3, 2, 1, 1, ceil_mode=True)
    assert "cg-unread" not in kept and "never read" not in kept
    # floor mode leaves one cell, a padding cell: grey, not the red of lost input
    floor = D.sliding_strip(224, 3, 2, 1, 1)
    assert "cg-unread" in floor and "cg-left" not in floor and "(padding only)" in floor
    # 11 cells, k3 s3 p1: the extra window is dropped, the last padding cell stays unread
    assert arith.ceil_dropped(11, 3, 3, 1)
    dropped = D.sliding_strip(11, 3, 3, 1, 1, ceil_mode=True)
    assert "cg-unread" in dropped and "PyTorch drops it" in dropped
    # input left unread is red: k3 s2 without padding reads 11 of 12 cells
    lost = D.sliding_strip(12, 3, 2, 0, 0)
    assert "cg-left" in lost and "(padding only)" not in lost
