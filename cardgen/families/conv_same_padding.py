"""conv.same_padding: the padding that keeps the size; PyTorch's padding='same'; the
padding that gives a strided conv TensorFlow's 'SAME' size."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cardgen.claims import error_claim, padding_claim, shape_claim, unique_claim
from cardgen.errors import ShapeError
from cardgen.explain.sizes import (
    same_pad_text,
    same_rule_text,
    same_split_steps,
    same_strided_refused_text,
    size_tex,
    solve_for_steps,
    strip_caption,
    tf_same_target_text,
)
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    fits_claim,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.render.diagrams.strip import condensed
from cardgen.solver.arith import conv_out, same_padding

NAME = "conv.same_padding"
TITLE = "Padding that keeps the size; padding='same' for even kernels and with stride"
TOPIC = "Padding"
LEVELS = (1, 2, 3)

SIZES = (7, 8, 12, 14, 16, 28, 32, 56, 64, 112, 224)
SMALL = (7, 8, 12, 14, 16, 28, 32)  # per-dim kernels: 81 candidates to re-check, keep it cheap
TF_SIZES = (7, 9, 14, 15, 16, 27, 28, 31, 32, 56, 57, 64, 100, 112, 224, 227)
ODD = (3, 5, 7, 9, 11, 13, 15, 17)
# The answer spaces the questions state: p between 0 and this (answers reach 8 and 20;
# every candidate is re-checked with torch, so the spaces stay no larger than they need).
PAD_MAX = {1: 8, 2: 20, 3: 10}
PER_DIM_MAX = 6  # ph and pw each between 0 and this (kernels up to 11: answers up to 5)
CHANNELS = 1  # the question is about spatial sizes; one channel keeps re-checks cheap


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        params = _draw(rng, level)
        if params is None:
            continue
        nd, k, d = params["nd"], params["kernel"], params["dilation"]
        # the size of the work is the stride-1 layer's (a strided 'same' is never built)
        layer = _conv(nd, k, d, _answer_padding(params), params.get("stride", 1))
        if fits_claim([layer], (1, CHANNELS) + (params["size"],) * nd):
            return params
    raise exhausted(NAME, MAX_DRAWS)


def _draw(rng: Any, level: int) -> dict[str, Any] | None:
    if level == 1:  # odd kernels, no dilation: p = (k-1)/2; in 2-D half the time one per dim
        if rng.random() < 0.5:
            kh, kw = pick(rng, ODD[:5]), pick(rng, ODD[:5])
            if kh == kw:
                return None
            return {"q": "pad", "nd": 2, "size": pick(rng, SMALL), "kernel": [kh, kw],
                    "dilation": 1}
        return {"q": "pad", "nd": pick(rng, (1, 2)), "size": pick(rng, SIZES),
                "kernel": pick(rng, ODD), "dilation": 1}
    if level == 2:
        size = pick(rng, SIZES)
        if rng.random() < 0.5:  # odd kernel, dilated: one more product, larger spans
            k, d = pick(rng, ODD[:4]), rng.randrange(2, 7)
            if same_padding(k, d)[0] > PAD_MAX[2]:
                return None
            return {"q": "pad", "nd": 2, "size": size, "kernel": k, "dilation": d}
        return {"q": "split", "nd": pick(rng, (1, 2)), "size": size,
                "kernel": pick(rng, (2, 4, 6, 8, 10)), "dilation": pick(rng, (1, 2, 3, 5))}
    # level 3: a strided conv; which symmetric p gives TensorFlow's 'SAME' size ceil(in/s)?
    params = {"q": "tf", "nd": 2, "size": pick(rng, TF_SIZES),
              "kernel": pick(rng, (2, 3, 3, 4, 5, 7)), "dilation": pick(rng, (1, 1, 2)),
              "stride": pick(rng, (2, 2, 3, 4))}
    found = _tf_candidates(params)
    # stride 2 asks for "the" padding: the solver must find exactly one in the space
    if not found or (params["stride"] == 2 and len(found) != 1):
        return None
    return params


def _tf_candidates(params: dict[str, Any]) -> list[int]:
    """Every p in the stated space that gives ceil(in/s), by the solver."""
    return list(_tf_search(*(params[x] for x in ("size", "kernel", "dilation", "stride"))))


# The draw, the generator's size check and the solution search the same space: once per
# configuration. The result holds values of the space only, and equal keys (1 == 1.0)
# compute equal sizes, so a hit is what the search would find.
@lru_cache(maxsize=4096)
def _tf_search(size: int, k: int, d: int, s: int) -> tuple[int, ...]:
    target = -(-size // s)
    found = []
    for p in range(PAD_MAX[3] + 1):
        try:
            if conv_out(size, k, s, p, d) == target:
                found.append(p)
        except ShapeError:
            pass
    return tuple(found)


def _answer_padding(params: dict[str, Any]) -> Any:
    q, k, d = params["q"], params["kernel"], params["dilation"]
    if q == "tf":
        return _tf_candidates(params)[0]
    if q == "split":
        return "same"
    if isinstance(k, list):
        return [same_padding(kk, d)[0] for kk in k]
    return same_padding(k, d)[0]


def _conv(nd: int, k: Any, d: int, padding: Any, stride: int = 1) -> Layer:
    kw: dict[str, Any] = {"in_channels": CHANNELS, "out_channels": CHANNELS, "kernel_size": k,
                          "padding": padding}
    if d != 1:
        kw["dilation"] = d
    if stride != 1:
        kw["stride"] = stride
    if padding == "same" and stride > 1:  # PyTorch refuses to build it: keep it unvalidated
        return Layer(f"Conv{nd}d", tuple(kw.items()))
    return Layer.make(f"Conv{nd}d", **kw)


def _strip(name: list[str], size: int, k: int, s: int, pl: int, pr: int, d: int) -> Diagram:
    """The question's own strip: its real size (a long one drawn condensed)."""
    out = conv_out(size, k, s, pl, d, pr)
    return Diagram("sliding_strip", {"size": size, "kernel": k, "stride": s, "pad_left": pl,
                                     "pad_right": pr, "dilation": d},
                   strip_caption(name, size, k, s, pl, pr, d, out,
                                 condensed(size + pl + pr)))


def _dim_names(nd: int) -> list[str]:
    return ["L"] if nd == 1 else ["H", "W"]


def solve(params: dict[str, Any]) -> Solution:
    q, nd, size, k, d = (params[x] for x in ("q", "nd", "size", "kernel", "dilation"))
    shape = (1, CHANNELS) + (size,) * nd
    dil_text = f", dilation {d}" if d > 1 else ""
    if q == "pad":
        return _solve_pad(params, shape)
    if q == "split":
        left, right = same_padding(k, d)
        same = _conv(nd, k, d, "same")
        # nn.Conv's own padding is symmetric, so no padding argument holds the split: the
        # padding claim pins it (torch: 'same' equals the unpadded conv on the input padded
        # left,right); the shape claims show 'same' keeps the size and neither symmetric
        # padding does.
        out_left = conv_out(size, k, 1, left, d)
        out_right = conv_out(size, k, 1, right, d)
        claims = [padding_claim(same, shape), shape_claim([same], shape),
                  shape_claim([_conv(nd, k, d, left)], shape),
                  shape_claim([_conv(nd, k, d, right)], shape)]
        return Solution(
            question=f"`nn.Conv{nd}d({CHANNELS}, {CHANNELS}, {k}"
                     f"{', dilation=' + str(d) if d > 1 else ''}, padding='same')` runs on a "
                     + (f"length-{size} input. How many zeros does PyTorch pad on its left and "
                        "on its right?" if nd == 1 else
                        f"length-{size} input along each spatial dim. How many zeros does "
                        "PyTorch pad on the left and on the right of each dim?"),
            answer=f"{left},{right}",
            form="left,right: two whole numbers",
            steps=same_split_steps(k, d, left, right, size, out_left, out_right),
            claims=claims,
            diagrams=[_strip(_dim_names(nd), size, k, 1, left, right, d)],
        )
    s = params["stride"]
    found = _tf_candidates(params)
    p, target, top = found[0], -(-size // s), PAD_MAX[3]
    layer = _conv(nd, k, d, p, s)
    smallest = s > 2
    which = "What is the smallest padding p" if smallest else "Which padding p"
    out_shape = (1, CHANNELS, target, target)
    cfg = {"size": size, "kernel": k, "stride": s, "padding": p, "dilation": d}
    claim = shape_claim([layer], shape)
    return Solution(
        question=f"A Conv2d with kernel size {k}, stride {s}{dil_text} and the same padding "
                 f"p on each side gets an input of shape `{shape_text(shape)}`. "
                 f"{which}, between 0 and {top}, {'that gives' if smallest else 'gives'} "
                 "TensorFlow's 'SAME' output size \\( \\lceil in/s \\rceil \\) in each "
                 "spatial dim?",
        answer=str(p),
        form="a whole number",
        steps=[same_strided_refused_text(s), tf_same_target_text(size, s, target),
               *solve_for_steps("padding", cfg, target, (0, top), found, smallest=smallest),
               "Check: " + size_tex(size, k, s, p, d, target),
               f"{layer_code(layer)} maps `{shape_text(shape)}` to "
               f"`{shape_text(out_shape)}`."],
        claims=[claim, error_claim([_conv(nd, k, d, "same", s)], shape),
                unique_claim(claim, {"p": ("layers", 0, "args", "padding")}, {"p": (0, top)},
                             pick="smallest" if smallest else "only")],
        diagrams=[_strip(["H", "W"], size, k, s, p, p, d)],
    )


def _solve_pad(params: dict[str, Any], shape: tuple[int, ...]) -> Solution:
    """Stride 1: the symmetric padding (one per dim for per-dim kernels) that keeps the size."""
    nd, size, k, d, level_top = (params["nd"], params["size"], params["kernel"],
                                 params["dilation"], PAD_MAX[1 if params["dilation"] == 1 else 2])
    dil_text = f", dilation {d}" if d > 1 else ""
    pad = _answer_padding(params)
    layer = _conv(nd, k, d, pad)
    claim = shape_claim([layer], shape)
    if isinstance(k, list):  # per-dim kernels: one padding per dim
        names = ["H", "W"]
        return Solution(
            question=f"A stride-1 Conv2d with kernel size ({k[0]}, {k[1]}){dil_text} gets an "
                     f"input of shape `{shape_text(shape)}`. Which padding (ph, pw), each "
                     f"between 0 and {PER_DIM_MAX}, keeps both spatial sizes unchanged?",
            answer=f"{pad[0]},{pad[1]}",
            form="ph,pw: two whole numbers",
            steps=[same_rule_text(),
                   *[same_pad_text(kk, d, pp, name) for name, kk, pp in zip(names, k, pad,
                                                                              strict=True)],
                   f"Check: {layer_code(layer)} maps `{shape_text(shape)}` to the same size."],
            claims=[claim, unique_claim(claim, {"ph": ("layers", 0, "args", "padding", 0),
                                                "pw": ("layers", 0, "args", "padding", 1)},
                                        {"ph": (0, PER_DIM_MAX), "pw": (0, PER_DIM_MAX)})],
            diagrams=[_strip([name], size, kk, 1, pp, pp, d)
                      for name, kk, pp in zip(names, k, pad, strict=True)],
        )
    return Solution(
        question=f"A stride-1 Conv{nd}d with kernel size {k}{dil_text} gets an input of "
                 f"shape `{shape_text(shape)}`. What padding p (the same on each side), "
                 f"between 0 and {level_top}, keeps the spatial size unchanged?",
        answer=str(pad),
        form="a whole number",
        steps=[same_rule_text(), same_pad_text(k, d, pad),
               f"Check: {layer_code(layer)} maps `{shape_text(shape)}` to the same size."],
        claims=[claim, unique_claim(claim, {"p": ("layers", 0, "args", "padding")},
                                    {"p": (0, level_top)})],
        diagrams=[_strip(_dim_names(nd), size, k, 1, pad, pad, d)],
    )
