"""adaptive.equivalence: when is an adaptive pool a fixed pool, and with which kernel/stride?

Every answer is the only one in the space the question states. A 2-D pool's windows are
the products of its per-dim windows, so a 2-D fixed pool matches exactly when each dim's
1-D fixed pool matches: per-dim uniqueness is the 2-D uniqueness, and each card proves it
with one 1-D ``unique`` claim per spatial dim.
"""

from __future__ import annotations

from typing import Any

from cardgen.claims import equivalent_claim, equivalent_template, windows_claim
from cardgen.claims.build import once_per_configuration
from cardgen.explain.windows import fixed_pool_match, never_read, window_list
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    layer_code,
    pick,
)
from cardgen.layers import Layer
from cardgen.solver import adaptive_windows, fixed_equivalent, fixed_layer_for
from cardgen.solver.windows import fixed_windows

NAME = "adaptive.equivalence"
TITLE = "Can an adaptive pool be replaced by a fixed pool? With which kernel and stride?"
TOPIC = "Adaptive pooling"
LEVELS = (1, 2, 3)

SMALL = (7, 14, 28, 13, 27, 6, 9, 10, 11, 15, 17, 19, 21, 12, 16, 20)
# Real feature-map sizes. Each dim's uniqueness claim re-checks in*in candidates (k, s):
# up to 56 keeps that a few thousand.
REAL = (7, 14, 28, 56, 13, 27, 55, 6, 9, 10, 11, 15, 17, 19, 21, 24, 32, 48)


def _equivalent(sizes: list[int], outs: list[int]) -> bool:
    return all(fixed_equivalent(s, o) is not None for s, o in zip(sizes, outs, strict=True))


def _count(size: int, kernel: int, stride: int) -> int:
    """How many windows a fixed pool (no padding) places on `size` cells."""
    return (size - kernel) // stride + 1


def generate(rng: Any, level: int) -> dict[str, Any]:
    want = rng.random() < 0.56  # "no" is one answer, "yes k=.. s=.." many: keep "no" < 50%
    kind = pick(rng, ("Avg", "Max"))
    q = "fixed" if level != 2 else pick(rng, ("fixed", "reverse"))
    for _ in range(MAX_DRAWS):
        if q == "reverse":  # which output_size makes the adaptive pool this fixed pool?
            size, kernel = pick(rng, REAL), rng.randrange(2, 8)
            stride = rng.randrange(1, kernel + 1)
            count = _count(size, kernel, stride) if size >= kernel else 0
            if 2 <= count <= 6 and (fixed_windows(size, count, kernel, stride, 0)
                                    == adaptive_windows(size, count)) == want:
                return {"q": q, "kind": kind, "size": size, "kernel": kernel,
                        "stride": stride}
            continue
        if level == 1:
            sizes = [rng.randrange(4, 17)]
            outs = [rng.randrange(2, min(sizes[0], 4) + 1)]
        elif level == 2:  # an even split is one division: level 2 splits unevenly
            sizes = [pick(rng, REAL)]
            outs = [rng.randrange(2, min(sizes[0], 6) + 1)]
            if sizes[0] % outs[0] == 0:
                continue
        else:
            sizes = [pick(rng, SMALL), pick(rng, SMALL)]
            # out >= 2 per dim: with one window any stride works, no single answer; out <= 4
            # keeps two dims' window checks within a card's worth of mental steps
            outs = [rng.randrange(2, min(s, 4) + 1) for s in sizes]
            if sum(o for s, o in zip(sizes, outs, strict=True) if s % o) > 6:
                continue  # uneven dims are checked window by window: at most 6 windows
        if outs[0] < sizes[0] and _equivalent(sizes, outs) == want:
            return {"q": q, "kind": kind, "sizes": sizes, "outs": outs}
    raise exhausted(NAME, MAX_DRAWS)


def _fmt(values: tuple[int, ...]) -> str:
    return ",".join(map(str, values))


@once_per_configuration  # dims repeat across a deck's notes
def _unique_dim(kind: str, size: int, out: int) -> dict[str, Any]:
    """One dim's claim: AdaptiveXPool1d(out) on (1, 1, size) equals XPool1d(k, s) for
    exactly one (k, s) with k and s each in 1..size (holds=False: for none)."""
    from cardgen.claims import unique_claim

    pair = fixed_equivalent(size, out)
    k, s = pair if pair is not None else (size - out + 1, 1)  # any candidate, for "none"
    claim = equivalent_template([Layer.make(f"Adaptive{kind}Pool1d", output_size=out)],
                                [Layer.make(f"{kind}Pool1d", kernel_size=k, stride=s)],
                                (1, 1, size))
    return unique_claim(claim, {"k": ("other", 0, "args", "kernel_size"),
                                "s": ("other", 0, "args", "stride")},
                        {"k": (1, size), "s": (1, size)}, holds=pair is not None)


def _reverse(params: dict[str, Any]) -> Solution:
    from cardgen.claims import unique_claim

    kind, size, k, s = params["kind"], params["size"], params["kernel"], params["stride"]
    fixed = Layer.make(f"{kind}Pool1d", kernel_size=k, stride=s)
    shape = (1, 1, size)
    count = _count(size, k, s)
    adaptive = Layer.make(f"Adaptive{kind}Pool1d", output_size=count)
    fixed_wins, wins = fixed_windows(size, count, k, s, 0), adaptive_windows(size, count)
    same = fixed_wins == wins
    claim = equivalent_template([adaptive], [fixed], shape)
    claims = [unique_claim(claim, {"o": ("layers", 0, "args", "output_size")},
                           {"o": (1, size)}, holds=same),
              windows_claim(adaptive, shape), windows_claim(fixed, shape)]
    steps = [f"Only one output_size can work: the one that gives as many outputs as "
             f"{layer_code(fixed)}, \\( \\lfloor ({size}-{k})/{s} \\rfloor + 1 = {count} "
             "\\).",
             f"{layer_code(fixed)}'s windows: {window_list(fixed_wins)} (window i is "
             f"[{s}\u00b7i, {s}\u00b7i+{k})).",
             f"{layer_code(adaptive)}'s windows: {window_list(wins)}."]
    if same:
        steps.append(f"They are the same windows, so the answer is {count}.")
    else:
        i = next(i for i, (a, b) in enumerate(zip(wins, fixed_wins, strict=True)) if a != b)
        steps.append(f"Window {i} differs ([{wins[i][0]},{wins[i][1]}) against "
                     f"[{fixed_wins[i][0]},{fixed_wins[i][1]})), so no output_size works: "
                     "none.")
    return Solution(
        question=f"{layer_code(fixed)} runs on an input of length {size}. For which "
                 f"output_size (between 1 and {size}) does `nn.Adaptive{kind}Pool1d` give "
                 "exactly the same output on every input?",
        answer=str(count) if same else "none",
        form="the output_size (a whole number), or none",
        steps=steps, claims=claims,
        diagrams=[Diagram("sliding_strip", {"size": size, "kernel": k, "stride": s,
                                            "pad_left": 0, "pad_right": 0},
                          f"{layer_code(fixed)} on {size} cells: its {count} windows"
                          + "".join(f"; {t}" for t in [never_read(size, 0, 0,
                                                                   (count - 1) * s + k)] if t)
                          + ".")])  # the adaptive windows, at a size worked out, are in the steps


def solve(params: dict[str, Any]) -> Solution:
    if params["q"] == "reverse":
        return _reverse(params)
    sizes, outs, nd = params["sizes"], params["outs"], len(params["sizes"])
    kind = params["kind"]
    layer = Layer.make(f"Adaptive{kind}Pool{nd}d", output_size=outs[0] if nd == 1 else outs)
    shape = (1, 1, *sizes)
    fixed = fixed_layer_for(layer, shape)
    claims = [windows_claim(layer, shape)]
    claims += [_unique_dim(kind, s, o) for s, o in zip(sizes, outs, strict=True)]
    names = ("H", "W") if nd == 2 else ("",)
    steps = [(f"{name}: " if name else "") + fixed_pool_match(s, o)
             for name, s, o in zip(names, sizes, outs, strict=True)]
    rule = ("A fixed pool (no padding) matches exactly when every window has the same "
            "length k and window i starts at s\u00b7i.")
    # divisibility is the rule learners are told; say so where this card refutes it
    uneven = [(s, o) for s, o in zip(sizes, outs, strict=True)
              if s % o and fixed_equivalent(s, o) is not None]
    if uneven:
        s0, o0 = uneven[0]
        rule += (f" Divisibility is not the test: {s0} is not a multiple of {o0}, yet "
                 f"{s0} \u2192 {o0} matches.")
    steps.append(rule)
    if nd == 2:
        failing = [name for name, s, o in zip(names, sizes, outs, strict=True)
                   if fixed_equivalent(s, o) is None]
        steps.append("A 2-D pool's windows are its row windows crossed with its column "
                     "windows, so a fixed pool matches exactly when H and W each do"
                     + ((f"; {' and '.join(failing)} "
                         f"{'have' if len(failing) > 1 else 'has'} none, so no fixed pool "
                         "matches.")
                        if failing else
                        ", and each dim's (k, s) is the only one there: so is the pair."))
    if fixed is not None:
        claims.append(equivalent_claim([layer], [fixed], shape))
        k, s = fixed.tup("kernel_size"), fixed.tup("stride")
        answer = f"yes k={_fmt(k)} s={_fmt(s)}"
        steps.append(f"So {layer_code(layer)} equals {layer_code(fixed)} on this input.")
    else:
        answer = "no"
        steps.append(f"So no fixed {kind}Pool{nd}d gives {layer_code(layer)}'s windows: no.")
    diagrams = [Diagram("adaptive_strip", {"size": s, "out": o},
                        f"Adaptive pooling from {s} to {o}"
                        + (f" along {name}" if name else "") + f": its {o} windows.")
                for name, s, o in zip(names, sizes, outs, strict=True)]
    if nd == 2 and max(sizes) <= 14:
        diagrams.insert(0, Diagram("adaptive_grid", {"in_hw": sizes, "out_hw": outs,
                                                     "highlight": [outs[0] - 1, outs[1] - 1]},
                                   "The last output's window: its row window crossed with its "
                                   "column window."))
    space = ("kernel and stride each between 1 and the input size" if nd == 1 else
             "kernel and stride each between 1 and the input size, per dim")
    return Solution(
        question=f"Can {layer_code(layer)} on an input of spatial size "
                 f"{'x'.join(map(str, sizes))} be replaced exactly by a fixed "
                 f"{kind}Pool{nd}d (no padding, {space})? If so, with which kernel size and "
                 "stride?",
        answer=answer,
        # symbols, not numbers: an example could be this very card's answer
        form=("no, or yes k=K1,K2 s=S1,S2 (one value per dim)" if nd == 2 else
              "no, or yes k=K s=S"),
        steps=steps, claims=claims, diagrams=diagrams)
