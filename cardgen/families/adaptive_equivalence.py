"""adaptive.equivalence: when is an adaptive pool a fixed pool, and with which kernel/stride?"""

from __future__ import annotations

from typing import Any

from cardgen.claims import equivalent_claim, windows_claim
from cardgen.families.base import MAX_DRAWS, Diagram, Solution, exhausted, layer_code, pick
from cardgen.layers import Layer
from cardgen.solver import adaptive_windows, fixed_equivalent, fixed_layer_for, recipe_guess
from cardgen.solver.windows import fixed_windows

NAME = "adaptive.equivalence"
TITLE = "Can an adaptive pool be replaced by a fixed pool? With which kernel and stride?"
TOPIC = "Adaptive pooling"
LEVELS = (1, 2, 3)

SMALL = (7, 14, 28, 13, 27, 6, 9, 10, 11, 15, 17, 19, 21, 12, 16, 20)
REAL = (7, 14, 28, 56, 112, 224, 13, 27, 55, 6, 9, 10, 11, 15, 17, 19, 21)


def _equivalent(sizes: list[int], outs: list[int]) -> bool:
    return all(fixed_equivalent(s, o) is not None for s, o in zip(sizes, outs, strict=True))


def generate(rng: Any, level: int) -> dict[str, Any]:
    want = rng.random() < 0.56  # "no" is one answer, "yes k=.. s=.." many: keep "no" < 50%
    kind = pick(rng, ("Avg", "Max"))
    for _ in range(MAX_DRAWS):
        if level == 1:
            sizes = [rng.randrange(4, 17)]
            outs = [rng.randrange(2, min(sizes[0], 6) + 1)]
            q = "fixed"
        elif level == 2:
            sizes = [pick(rng, REAL)]
            outs = [rng.randrange(2, min(sizes[0], 8) + 1)]
            q = pick(rng, ("fixed", "recipe"))
        else:
            sizes = [pick(rng, SMALL), pick(rng, SMALL)]
            outs = [rng.randrange(1, min(s, 8) + 1) for s in sizes]
            q = "fixed"
        if outs[0] < sizes[0] and _equivalent(sizes, outs) == want:
            return {"q": q, "kind": kind, "sizes": sizes, "outs": outs}
    raise exhausted(NAME, MAX_DRAWS)


def _fmt(values: tuple[int, ...]) -> str:
    return ",".join(map(str, values))


def solve(params: dict[str, Any]) -> Solution:
    sizes, outs, nd = params["sizes"], params["outs"], len(params["sizes"])
    kind = params["kind"]
    out_arg: Any = outs[0] if nd == 1 else outs
    layer = Layer.make(f"Adaptive{kind}Pool{nd}d", output_size=out_arg)
    shape = (1, 1, *sizes)
    fixed = fixed_layer_for(layer, shape)
    claims = [windows_claim(layer, shape)]
    steps = []
    for dim, (size, out) in enumerate(zip(sizes, outs, strict=True)):
        wins = adaptive_windows(size, out)
        lengths = [b - a for a, b in wins]
        starts = [a for a, _ in wins]
        pair = fixed_equivalent(size, out)
        label = f"dim {dim + 1}: " if nd > 1 else ""
        text = (f"{label}{size} -> {out}: windows "
                + ", ".join(f"[{a},{b})" for a, b in wins[:8])
                + (", ..." if len(wins) > 8 else "") + f"; lengths {_fmt(tuple(lengths[:8]))}")
        if pair:
            text += f"; all length {pair[0]}, starting every {pair[1]}: kernel {pair[0]}, " \
                    f"stride {pair[1]}."
        elif len(set(lengths)) > 1:
            text += ": the lengths differ, so no fixed kernel fits."
        else:
            text += f": equal lengths, but the starts {_fmt(tuple(starts[:8]))} are not evenly " \
                    "spaced."
        steps.append(text)
    steps.append("A fixed pool (no padding) matches exactly when every window has the same "
                 "length k and window i starts at i*s. Divisibility is not the test: "
                 "7 -> 3 works (k=3, s=2).")
    if fixed is not None:
        claims.append(equivalent_claim([layer], [fixed], shape))
        k, s = fixed.tup("kernel_size"), fixed.tup("stride")
        answer = f"yes k={_fmt(k)} s={_fmt(s)}"
        steps.append(f"So {layer_code(layer)} equals {layer_code(fixed)} on this input.")
    else:
        answer = "no"
    guesses = [recipe_guess(s, o) for s, o in zip(sizes, outs, strict=True)]
    guess = Layer.make(f"{kind}Pool{nd}d", kernel_size=tuple(g[0] for g in guesses) if nd > 1
                       else guesses[0][0], stride=tuple(g[1] for g in guesses) if nd > 1
                       else guesses[0][1])
    if fixed is None:
        claims.append(equivalent_claim([layer], [guess], shape))
        steps.append(f"The recipe stride = in // out, kernel = in - (out-1)*stride gives "
                     f"{layer_code(guess)}, which differs here.")
    diagrams = [Diagram("adaptive_strip", {"size": s, "out": o},
                        f"{s} -> {o}" + (f" (dim {i + 1})" if nd > 1 else ""))
                for i, (s, o) in enumerate(zip(sizes, outs, strict=True))
                ][:2]
    if nd == 2 and max(sizes) <= 14:
        diagrams.insert(0, Diagram("adaptive_grid", {"in_hw": sizes, "out_hw": outs,
                                                     "highlight": [outs[0] - 1, outs[1] - 1]},
                                   "The last output's window: its row window crossed with its "
                                   "column window."))
    where = f"an input of spatial size {'x'.join(map(str, sizes))}"
    if params["q"] == "recipe":
        k, s = guesses[0]
        recipe_ok = fixed_windows(sizes[0], outs[0], k, s, 0) == adaptive_windows(sizes[0],
                                                                                   outs[0])
        return Solution(
            question=f"A common recipe replaces {layer_code(layer)} on {where} by a fixed pool "
                     "with stride = in // out and kernel = in - (out-1)*stride. Does that fixed "
                     "pool give exactly the same output?",
            answer="yes" if recipe_ok else "no",
            form="yes or no",
            steps=[f"Recipe: stride = {sizes[0]} // {outs[0]} = {s}, kernel = "
                   f"{sizes[0]} - ({outs[0]}-1)*{s} = {k}.", *steps],
            claims=claims + ([equivalent_claim([layer], [guess], shape)]
                             if fixed is not None else []),
            diagrams=diagrams)
    return Solution(
        question=f"Can {layer_code(layer)} on {where} be replaced exactly by a fixed "
                 f"{kind}Pool{nd}d (no padding)? If so, with which kernel size and stride?",
        answer=answer,
        form="no, or yes k=K s=S (per dim: yes k=3,2 s=2,2)",
        steps=steps, claims=claims, diagrams=diagrams)
