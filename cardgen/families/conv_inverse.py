"""conv.inverse: the missing padding, stride or kernel size that gives a target size."""

from __future__ import annotations

from typing import Any

from cardgen.claims import shape_claim
from cardgen.errors import ShapeError
from cardgen.families.base import (
    MAX_DRAWS,
    Solution,
    exhausted,
    layer_code,
    pick,
    shape_text,
    size_tex,
)
from cardgen.layers import Layer
from cardgen.solver.arith import conv_out

NAME = "conv.inverse"
TITLE = "Find the missing padding, stride or kernel size for a target output size"
TOPIC = "Output size"
LEVELS = (1, 2, 3)

SIZES = (224, 112, 56, 32, 28, 64, 14, 16, 227, 128, 96, 48, 7, 12)
UNKNOWNS = {1: ("padding",), 2: ("padding", "stride"), 3: ("kernel", "stride", "padding")}
SEARCH = {"padding": range(0, 33), "stride": range(1, 9), "kernel": range(1, 16)}


def _out(cfg: dict[str, int]) -> int | None:
    try:
        return conv_out(cfg["size"], cfg["kernel"], cfg["stride"], cfg["padding"],
                        cfg["dilation"])
    except ShapeError:
        return None


def candidates(cfg: dict[str, int], unknown: str, target: int) -> list[int]:
    """Every value of ``unknown`` in a generous range that gives ``target``."""
    return [v for v in SEARCH[unknown] if _out({**cfg, unknown: v}) == target]


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        cfg = {"size": pick(rng, SIZES), "kernel": pick(rng, (1, 3, 3, 5, 7, 11)),
               "stride": pick(rng, (1, 2, 2, 4) if level > 1 else (1, 2)),
               "padding": 0, "dilation": pick(rng, (1, 1, 1, 2)) if level == 3 else 1}
        cfg["padding"] = rng.randrange(0, cfg["kernel"] // 2 + 2)
        unknown = pick(rng, UNKNOWNS[level])
        target = _out(cfg)
        if target is None or target < 2:
            continue
        if candidates(cfg, unknown, target) == [cfg[unknown]]:
            return {**cfg, "unknown": unknown, "target": target}
    raise exhausted(NAME, MAX_DRAWS)


def solve(params: dict[str, Any]) -> Solution:
    unknown, target = params["unknown"], params["target"]
    cfg = {k: params[k] for k in ("size", "kernel", "stride", "padding", "dilation")}
    answer = cfg[unknown]
    size, k, s, p, d = (cfg[x] for x in ("size", "kernel", "stride", "padding", "dilation"))
    known = [f"{name} {cfg[key]}" for name, key in (("kernel size", "kernel"),
                                                   ("stride", "stride"), ("padding", "padding"),
                                                   ("dilation", "dilation"))
             if key != unknown and not (key == "dilation" and d == 1)]
    layer_kw: dict[str, Any] = {"in_channels": 3, "out_channels": 16, "kernel_size": k,
                                "stride": s, "padding": p}
    if d != 1:
        layer_kw["dilation"] = d
    layer = Layer.make("Conv2d", **layer_kw)
    shape = (1, 3, size, size)
    numerator = {
        "padding": f"{size} + 2p - {d}({k}-1) - 1",
        "stride": f"{size} + 2\\cdot{p} - {d}({k}-1) - 1",
        "kernel": f"{size} + 2\\cdot{p} - {d}(k-1) - 1",
    }[unknown]
    divisor = "s" if unknown == "stride" else str(s)
    letter = {"padding": "p", "stride": "s", "kernel": "k"}[unknown]
    why = " (each unit of padding adds 2 to the numerator)" if unknown == "padding" else ""
    solve_step = (f"Solve for {letter}: with \\( n = {numerator} \\), we need "
                  f"\\( \\lfloor n/{divisor} \\rfloor = {target - 1} \\), which holds only "
                  f"for {letter} = {answer}{why}.")
    return Solution(
        question=f"A Conv2d maps {size}x{size} inputs to {target}x{target} outputs with "
                 f"{', '.join(known)}. What is the {unknown.replace('kernel', 'kernel size')}? "
                 f"(Only one value in {SEARCH[unknown].start}..{SEARCH[unknown].stop - 1} "
                 "works.)",
        answer=str(answer),
        form="a whole number, e.g. 3",
        steps=["\\( out = \\lfloor n/s \\rfloor + 1 \\) with \\( n = in + 2p - d(k-1) - 1 \\).",
               solve_step,
               "Check: " + size_tex(size, k, s, p, d, target),
               f"{layer_code(layer)} on `{shape_text(shape)}` gives "
               f"`{shape_text((1, 16, target, target))}`."],
        claims=[shape_claim([layer], shape)],
    )
