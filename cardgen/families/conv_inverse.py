"""conv.inverse: the missing padding, stride or kernel size that gives a target size."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cardgen.claims import shape_claim, unique_claim
from cardgen.errors import ShapeError
from cardgen.explain.sizes import LETTER, size_tex, solve_for_steps
from cardgen.families.base import (
    MAX_DRAWS,
    Solution,
    exhausted,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.solver.arith import conv_out

NAME = "conv.inverse"
TITLE = "Find the missing padding, stride or kernel size for a target output size"
TOPIC = "Output size"
LEVELS = (1, 2, 3)

# Level 1 works with small and mid sizes; levels 2 and 3 with real networks' larger ones.
SIZES = {1: (7, 12, 14, 15, 16, 28, 31, 32, 48, 56, 57, 64),
         2: (28, 32, 48, 56, 57, 64, 96, 99, 112, 113, 128, 224, 227)}
UNKNOWNS = {1: ("padding",), 2: ("padding", "stride"), 3: ("kernel", "stride", "padding")}
# The answer space each question states; the generator keeps only problems with exactly
# one answer in it (the unique claim re-checks every candidate).
SEARCH = {"padding": range(0, 13), "stride": range(1, 9), "kernel": range(1, 16)}


def _out(cfg: dict[str, int]) -> int | None:
    try:
        return conv_out(cfg["size"], cfg["kernel"], cfg["stride"], cfg["padding"],
                        cfg["dilation"])
    except ShapeError:
        return None


def candidates(cfg: dict[str, int], unknown: str, target: int) -> list[int]:
    """Every value of ``unknown`` in a generous range that gives ``target``."""
    return list(_candidates(cfg["size"], cfg["kernel"], cfg["stride"], cfg["padding"],
                            cfg["dilation"], unknown, target))


# The generator searches the space of the problem it keeps, and its solution searches it
# again: once per configuration. The result holds values of SEARCH only, and equal keys
# (1 == 1.0) compute equal sizes, so a hit is what the search would find.
@lru_cache(maxsize=16384)
def _candidates(size: int, kernel: int, stride: int, padding: int, dilation: int,
                unknown: str, target: int) -> tuple[int, ...]:
    cfg = {"size": size, "kernel": kernel, "stride": stride, "padding": padding,
           "dilation": dilation}
    found = []
    for v in SEARCH[unknown]:  # (one dict, the unknown set in turn: not a copy per value)
        cfg[unknown] = v
        if _out(cfg) == target:
            found.append(v)
    return tuple(found)


# Per level: the kernels, strides and dilations drawn. Level 1 finds the padding with
# stride 1 or 2; level 2 always divides by a stride (2 to 4; the padding is found through
# a stride of 3) and may ask for it; level 3 always dilates (one more product, larger
# spans) and may ask for the kernel size.
KERNELS = {1: (1, 2, 3, 4, 5, 6, 7, 8, 9, 11), 2: (2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
           3: (2, 3, 4, 5, 7, 9, 11)}
STRIDES = {1: (1, 2), 2: (2, 3, 3, 4), 3: (2, 2, 3, 4)}
DILATIONS = {1: (1,), 2: (1,), 3: (2, 2, 3)}
DEFAULTS = {"padding": 0, "stride": 1}


def variant_form(params: dict[str, Any]) -> dict[str, Any]:
    """What a variant keeps (cardgen.variants): not the unknown's value, which is the
    answer (a padding of 0 or 1 would otherwise fix every variant's answer)."""
    return {k: v for k, v in params.items() if k != params["unknown"]}


def generate(rng: Any, level: int) -> dict[str, Any]:
    # the unknown first: redrawing it with the rest would favour the one found most often
    unknown = pick(rng, UNKNOWNS[level])
    for _ in range(MAX_DRAWS):
        cfg = {"size": pick(rng, SIZES[min(level, 2)]), "kernel": pick(rng, KERNELS[level]),
               "stride": pick(rng, STRIDES[level]), "padding": 0,
               "dilation": pick(rng, DILATIONS[level])}
        # above level 1 a given padding is never 0: it always enters the arithmetic
        low = 1 if level > 1 and unknown != "padding" else 0
        cfg["padding"] = rng.randrange(low, cfg["kernel"] // 2 + 2)
        target = _out(cfg)
        if target is None or target < 2:
            continue
        # the unknown's default on a size-keeping layer (48 -> 48: stride 1? padding 0?)
        # is read off the question, no arithmetic
        if target == cfg["size"] and DEFAULTS.get(unknown) == cfg[unknown]:
            continue
        # above level 1 a padding to find is never 0 (the space's edge alone would make
        # it unique, as it does for any with stride 4); level 2 finds it through the
        # floor of a stride of 3 (level 1 has stride 2)
        if level > 1 and unknown == "padding" and (
                cfg["padding"] == 0 or (level == 2 and cfg["stride"] != 3)):
            continue
        # level 3 drills the method: no size-keeping layer, no stride or kernel 1 to find
        if level == 3 and (target == cfg["size"] or (unknown in ("stride", "kernel")
                                                     and cfg[unknown] == 1)):
            continue
        if candidates(cfg, unknown, target) == [cfg[unknown]]:
            return {**cfg, "unknown": unknown, "target": target}
    raise exhausted(NAME, MAX_DRAWS)


def _layer(cfg: dict[str, int]) -> Layer:
    kw: dict[str, Any] = {"in_channels": 1, "out_channels": 1, "kernel_size": cfg["kernel"],
                          "stride": cfg["stride"], "padding": cfg["padding"]}
    if cfg["dilation"] != 1:
        kw["dilation"] = cfg["dilation"]
    return Layer.make("Conv2d", **kw)


def solve(params: dict[str, Any]) -> Solution:
    unknown, target = params["unknown"], params["target"]
    cfg = {k: params[k] for k in ("size", "kernel", "stride", "padding", "dilation")}
    answer = cfg[unknown]
    size, k, s, p, d = (cfg[x] for x in ("size", "kernel", "stride", "padding", "dilation"))
    known = [f"{name} {cfg[key]}" for name, key in (("kernel size", "kernel"),
                                                   ("stride", "stride"), ("padding", "padding"),
                                                   ("dilation", "dilation"))
             if key != unknown and not (key == "dilation" and d == 1)]
    layer = _layer(cfg)
    shape = (1, 1, size, size)
    space = (SEARCH[unknown].start, SEARCH[unknown].stop - 1)
    name = unknown.replace("kernel", "kernel size")
    letter = LETTER[unknown]
    claim = shape_claim([layer], shape)
    arg = {"padding": "padding", "stride": "stride", "kernel": "kernel_size"}[unknown]
    return Solution(
        question=f"A Conv2d maps {size}x{size} inputs to {target}x{target} outputs with "
                 f"{', '.join(known)}. What is the {name} {letter} (a whole number between "
                 f"{space[0]} and {space[1]})?",
        answer=str(answer),
        form="a whole number",
        steps=[*solve_for_steps(unknown, cfg, target, space, candidates(cfg, unknown, target)),
               "Check: " + size_tex(size, k, s, p, d, target),
               f"{layer_code(layer)} on `{shape_text(shape)}` gives "
               f"`{shape_text((1, 1, target, target))}`."],
        claims=[claim, unique_claim(claim, {letter: ("layers", 0, "args", arg)},
                                    {letter: space})],
    )
