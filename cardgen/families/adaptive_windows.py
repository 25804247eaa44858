"""adaptive.windows: which input cells an adaptive pool's outputs read."""

from __future__ import annotations

from typing import Any

from cardgen.claims import windows_claim
from cardgen.explain.windows import (
    adaptive_bounds,
    adaptive_rule,
    cell_readers,
    read_counts_caption,
    window_list,
)
from cardgen.families.base import MAX_DRAWS, Diagram, Solution, exhausted, layer_code, pick
from cardgen.layers import Layer
from cardgen.solver import adaptive_windows, read_counts

NAME = "adaptive.windows"
TITLE = "Adaptive pooling windows: one output's window, the window lengths, shared cells"
TOPIC = "Adaptive pooling"
LEVELS = (1, 2, 3)


def _accepted(size: int, out: int) -> bool:
    """An uneven split: window bounds need the floor and ceiling (level 2 and up)."""
    return size % out != 0


def generate(rng: Any, level: int) -> dict[str, Any]:
    if level == 1:
        size = rng.randrange(4, 17)
        out = pick(rng, [o for o in (2, 3, 4, 5) if o < size])
        return {"q": "window", "size": size, "out": out, "index": rng.randrange(out)}
    if level == 2:  # uneven splits only, and not window 0 (one ceiling): above level 1
        for _ in range(MAX_DRAWS):
            size = rng.randrange(5, 17)
            out = rng.randrange(2, min(size, 7))
            if _accepted(size, out):
                return {"q": pick(rng, ("lengths", "window")), "size": size, "out": out,
                        "index": rng.randrange(1, out)}
        raise exhausted(NAME, MAX_DRAWS)
    if rng.random() < 0.5:  # one output's 2-D window; the columns split unevenly
        outs = [rng.randrange(3, 10), rng.randrange(3, 10)]
        sizes = [rng.randrange(7, 25), pick(rng, [w for w in range(7, 25) if w % outs[1]])]
        return {"q": "window2d", "sizes": sizes, "outs": outs,
                "index": [rng.randrange(outs[0]), rng.randrange(outs[1])]}
    # more outputs than inputs: how many outputs read a given cell?
    size = rng.randrange(3, 10)
    out = rng.randrange(size + 1, min(2 * size + 4, 19))  # 18 outputs still get labels
    return {"q": "readers", "size": size, "out": out, "cell": rng.randrange(size)}


def identity(params: dict[str, Any]) -> dict[str, Any]:
    """What the card depends on: a lengths question uses no index."""
    if params["q"] == "lengths":
        return {k: v for k, v in params.items() if k != "index"}
    return params


def _strip(size: int, out: int, lead: str = "") -> Diagram:
    shading = read_counts_caption(read_counts(adaptive_windows(size, out), size))
    return Diagram("adaptive_strip", {"size": size, "out": out},
                   f"{lead}{size} input cells, {out} windows" + (f" ({shading})" if shading else "")
                   + ".")


def _window2d(params: dict[str, Any]) -> Solution:
    (h, w), (oh, ow), (i, j) = params["sizes"], params["outs"], params["index"]
    layer = Layer.make("AdaptiveAvgPool2d", output_size=(oh, ow))
    shape = (1, 1, h, w)
    (r0, r1), (c0, c1) = adaptive_windows(h, oh)[i], adaptive_windows(w, ow)[j]
    diagrams = [_strip(h, oh, "Rows: "), _strip(w, ow, "Columns: ")]
    diagrams.insert(0, Diagram("adaptive_grid", {"in_hw": [h, w], "out_hw": [oh, ow],
                                                 "highlight": [i, j]},
                               f"Output ({i}, {j}) reads rows [{r0},{r1}) crossed with "
                               f"columns [{c0},{c1})."))
    return Solution(
        question=f"{layer_code(layer)} runs on an input of spatial size {h}x{w}. Which input "
                 f"rows and columns does output ({i}, {j}) read? (0-based, half-open)",
        answer=f"{r0}:{r1},{c0}:{c1}",
        form="rows start:stop, then columns start:stop: r0:r1,c0:c1",
        steps=["Each dim has its own windows; the output's window is its row window "
               "crossed with its column window.",
               f"Rows ({h} \u2192 {oh}), window {i}: " + adaptive_bounds(i, h, oh) + ".",
               f"Columns ({w} \u2192 {ow}), window {j}: " + adaptive_bounds(j, w, ow) + "."],
        claims=[windows_claim(layer, shape)], diagrams=diagrams)


def solve(params: dict[str, Any]) -> Solution:
    if params["q"] == "window2d":
        return _window2d(params)
    q, size, out = params["q"], params["size"], params["out"]
    layer = Layer.make("AdaptiveAvgPool1d", output_size=out)
    shape = (1, 1, size)
    wins = adaptive_windows(size, out)
    claims = [windows_claim(layer, shape)]
    intro = f"{layer_code(layer)} runs on an input of length {size}."
    diagrams = [_strip(size, out)]
    if q == "window":
        idx = params["index"]
        a, b = wins[idx]
        return Solution(
            question=f"{intro} Which input cells does output index {idx} read? (0-based, "
                     "half-open)",
            answer=f"{a}:{b}",
            form="start:stop like a Python slice",
            steps=[adaptive_rule(size, out), adaptive_bounds(idx, size, out)
                   + f", so cells {a}..{b - 1}."],
            claims=claims, diagrams=diagrams)
    if q == "lengths":
        lengths = [e - s for s, e in wins]
        return Solution(
            question=f"{intro} What are the lengths of its {out} windows, in order?",
            answer=",".join(map(str, lengths)),
            form="the lengths separated by commas",
            steps=[adaptive_rule(size, out), f"Windows: {window_list(wins)}."],
            claims=claims, diagrams=diagrams)
    cell = params["cell"]
    counts = read_counts(wins, size)
    return Solution(
        question=f"{intro} How many of its {out} outputs read input cell {cell}?",
        answer=str(counts[cell]),
        form="a whole number",
        steps=[adaptive_rule(size, out),
               f"Windows: {window_list(wins)}.",
               cell_readers(cell, wins, counts)],
        claims=claims, diagrams=diagrams)
