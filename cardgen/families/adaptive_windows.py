"""adaptive.windows: which input cells an adaptive pool's outputs read."""

from __future__ import annotations

from typing import Any

from cardgen.claims import windows_claim
from cardgen.families.base import MAX_DRAWS, Diagram, Solution, exhausted, layer_code, pick
from cardgen.layers import Layer
from cardgen.solver import adaptive_windows, read_counts

NAME = "adaptive.windows"
TITLE = "Adaptive pooling windows: one output's window, the window lengths, overlaps"
TOPIC = "Adaptive pooling"
LEVELS = (1, 2, 3)


def generate(rng: Any, level: int) -> dict[str, Any]:
    if level == 1:
        size = rng.randrange(4, 17)
        out = pick(rng, [o for o in (2, 3, 4, 5) if o < size])
        return {"q": "window", "size": size, "out": out, "index": rng.randrange(out)}
    if level == 2:
        size = rng.randrange(5, 17)
        out = rng.randrange(2, min(size, 7))
        return {"q": pick(rng, ("lengths", "window")), "size": size, "out": out,
                "index": rng.randrange(out)}
    # overlap of windows i and i+1: balanced yes/no by choosing which we want first
    want = rng.random() < 0.5
    for _ in range(MAX_DRAWS):
        size = rng.randrange(5, 40)
        out = rng.randrange(3, 12)
        index = rng.randrange(out - 1)
        if out != size and _shares(adaptive_windows(size, out), index) == want:
            return {"q": "overlap", "size": size, "out": out, "index": index}
    raise exhausted(NAME, MAX_DRAWS)


def _shares(wins: list[tuple[int, int]], index: int) -> bool:
    return wins[index + 1][0] < wins[index][1]


def _shading(counts: list[int]) -> str:
    """What the diagram's shading means, from how often each cell is really read."""
    shared = sorted({c for c in counts if c > 1})
    if not shared:
        return ""
    times = {2: "twice", 3: "3 times", 4: "4 times"}
    return f" (shaded cells are read {' or '.join(times.get(c, f'{c} times') for c in shared)})"


def solve(params: dict[str, Any]) -> Solution:
    q, size, out, idx = params["q"], params["size"], params["out"], params["index"]
    layer = Layer.make("AdaptiveAvgPool1d", output_size=out)
    shape = (1, 1, size)
    wins = adaptive_windows(size, out)
    a, b = wins[idx]
    general = (f"Window i is \\( [\\lfloor i\\cdot {size}/{out} \\rfloor, "
               f"\\lceil (i+1)\\cdot {size}/{out} \\rceil) \\).")
    diagram = Diagram("adaptive_strip", {"size": size, "out": out},
                      f"{size} input cells, {out} windows{_shading(read_counts(wins, size))}.")
    claims = [windows_claim(layer, shape)]
    intro = f"{layer_code(layer)} runs on an input of length {size}."
    if q == "window":
        return Solution(
            question=f"{intro} Which input cells does output index {idx} read? (0-based, "
                     "half-open)",
            answer=f"{a}:{b}",
            form="start:stop like a Python slice, e.g. 2:5",
            steps=[general,
                   f"\\( \\lfloor {idx}\\cdot{size}/{out} \\rfloor = {a} \\), "
                   f"\\( \\lceil {idx + 1}\\cdot{size}/{out} \\rceil = {b} \\), so cells "
                   f"{a}..{b - 1}."],
            claims=claims, diagrams=[diagram])
    if q == "lengths":
        lengths = [e - s for s, e in wins]
        return Solution(
            question=f"{intro} What are the lengths of its {out} windows, in order?",
            answer=",".join(map(str, lengths)),
            form="lengths separated by commas, e.g. 2,3,2",
            steps=[general, "Windows: " + ", ".join(f"[{s},{e})" for s, e in wins) + "."],
            claims=claims, diagrams=[diagram])
    shared = _shares(wins, idx)
    (a2, b2) = wins[idx + 1]
    return Solution(
        question=f"{intro} Do the windows of output {idx} and output {idx + 1} share an input "
                 "cell?",
        answer="yes" if shared else "no",
        form="yes or no",
        steps=[general, f"Window {idx} = [{a},{b}), window {idx + 1} = [{a2},{b2}).",
               (f"They share cell(s) {a2}..{b - 1}: \\( {idx + 1}\\cdot{size}/{out} \\) is "
                "not a whole number, so the end of one window is rounded up and the start of "
                "the next rounded down." if shared else
                f"\\( {idx + 1}\\cdot{size}/{out} = {(idx + 1) * size // out} \\) is a whole "
                "number: one window ends exactly where the next begins.")],
        claims=claims, diagrams=[diagram])
