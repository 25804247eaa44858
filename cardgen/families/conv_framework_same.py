"""conv.framework_same: TensorFlow/Keras and ONNX `SAME` against PyTorch's padding.

Level 1 asks SAME's output size, ceil(in/s) (and shows that PyTorch's padding='same'
refuses the stride); level 2 the zeros SAME pads before and after, and which side gets the
odd one (SAME_UPPER, TensorFlow's 'same': after; ONNX's SAME_LOWER: before); level 3 which
symmetric PyTorch padding computes the framework's layer exactly, or none (then F.pad
before a padding-0 conv does). Every rule was checked against ONNX Runtime (see
cardgen/solver/dialect.py); the framework_same claims carry it into each note.
"""

from __future__ import annotations

from typing import Any

from cardgen.claims import error_claim, framework_same_claim, unique_claim
from cardgen.explain.dialect import (
    first_window_text,
    fpad_text,
    same_size_rule_text,
    same_size_text,
    same_split_text,
    same_total_text,
    symmetric_outcome_text,
)
from cardgen.explain.sizes import same_strided_refused_text, strip_caption
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    fits_claim,
    pick,
)
from cardgen.layers import Layer
from cardgen.render.diagrams.strip import condensed
from cardgen.solver.arith import conv_out
from cardgen.solver.dialect import (
    SAME_LOWER,
    SAME_UPPER,
    same_out,
    same_pads,
    same_total,
    symmetric_padding,
)

NAME = "conv.framework_same"
TITLE = "TensorFlow/ONNX 'SAME' vs PyTorch padding: output size, the pad split, which padding"
TOPIC = "Padding"
LEVELS = (1, 2, 3)

CHANNELS = 1  # the questions are about spatial sizes; one channel keeps re-checks cheap
SIZES = (7, 9, 10, 13, 14, 15, 17, 19, 21, 25, 28, 31, 32, 33, 45, 50, 56, 57, 63, 64, 75,
         99, 100, 112, 113, 150, 224, 227)
SMALL = (5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 23, 25, 28, 31, 32)
PAD_MAX = 5  # level 3's space: p between 0 and this (kernels up to 7: answers up to 3)
NONE_SHARE = 0.4  # level 3: about this share of cards answer "none"
FRAMEWORKS = {"keras": "TensorFlow/Keras", "onnx": "ONNX"}


def _dims(nd: int) -> list[str]:
    return ["L"] if nd == 1 else ["H", "W"]


def _conv(nd: int, k: int, s: int, padding: Any = 0) -> Layer:
    kw: dict[str, Any] = {"in_channels": CHANNELS, "out_channels": CHANNELS, "kernel_size": k,
                          "stride": s, "padding": padding}
    if padding == "same" and s > 1:  # PyTorch refuses to build it: keep it unvalidated
        return Layer(f"Conv{nd}d", tuple(kw.items()))
    return Layer.make(f"Conv{nd}d", **kw)


def _shape(params: dict[str, Any]) -> tuple[int, ...]:
    return (1, CHANNELS, *params["size"])


def _draw(rng: Any, level: int) -> dict[str, Any]:
    nd = pick(rng, (1, 2))
    if level == 1:  # a stride: ceil(in/s) is arithmetic, and PyTorch's 'same' refuses it
        s = pick(rng, (2, 2, 3, 4))
        size = [pick(rng, SIZES) for _ in range(nd)]
        k = rng.randrange(s, 8)
    else:
        s = pick(rng, (1, 2, 2, 3) if level == 2 else (1, 2, 2, 3))
        n = pick(rng, SMALL if level == 3 else SIZES)
        size = [n] * nd
        k = rng.randrange(max(s, 2), 8)
    framework = pick(rng, ("keras", "onnx"))
    dialect = SAME_UPPER if framework == "keras" else pick(rng, (SAME_UPPER, SAME_LOWER))
    return {"q": ("size", "pads", "torch")[level - 1], "nd": nd, "size": size, "kernel": k,
            "stride": s, "framework": framework, "dialect": dialect}


def _accepted(params: dict[str, Any], want_none: bool) -> bool:
    """Cards that ask something: level 2 needs zeros to split; level 3 draws "none" about
    NONE_SHARE of the time (the generator decides first, then draws until it fits)."""
    n, k, s, dialect = params["size"][0], params["kernel"], params["stride"], params["dialect"]
    if params["q"] == "pads":
        return same_total(n, k, s) > 0
    if params["q"] == "torch":  # and PyTorch's padding=before runs on the input
        before = same_pads(n, k, s, dialect)[0]
        return n + 2 * before >= k and \
            (symmetric_padding(n, k, s, dialect) is None) == want_none
    return True


def generate(rng: Any, level: int) -> dict[str, Any]:
    want_none = rng.random() < NONE_SHARE
    for _ in range(MAX_DRAWS):
        params = _draw(rng, level)
        padded = [n + sum(same_pads(n, params["kernel"], params["stride"], params["dialect"]))
                  for n in params["size"]]
        bare = _conv(params["nd"], params["kernel"], params["stride"])
        if fits_claim([bare], (1, CHANNELS, *padded)) and _accepted(params, want_none):
            return params
    raise exhausted(NAME, MAX_DRAWS)


def _framework_text(params: dict[str, Any]) -> str:
    """The framework's layer, in its own words (ONNX names the dialect itself)."""
    nd, k, s = params["nd"], params["kernel"], params["stride"]
    if params["framework"] == "keras":
        return f"A TensorFlow/Keras `Conv{nd}D` with `kernel_size={k}`, `strides={s}` and " \
               "`padding='same'`"
    shape = ", ".join([str(k)] * nd)
    strides = ", ".join([str(s)] * nd)
    return (f"An ONNX `Conv` with `kernel_shape=[{shape}]`, `strides=[{strides}]` and "
            f"`auto_pad='{params['dialect']}'`")


def _input_text(params: dict[str, Any]) -> str:
    size = params["size"]
    return f"a length-{size[0]} input" if params["nd"] == 1 else \
        f"an input of spatial size {size[0]}x{size[1]} (H x W)"


def _dialect_step(params: dict[str, Any]) -> str:
    if params["framework"] == "keras":
        return "TensorFlow/Keras `padding='same'` is ONNX's SAME_UPPER."
    return f"auto_pad='{params['dialect']}' is ONNX's name for this dialect."


def _strip(params: dict[str, Any], n: int, before: int, after: int) -> Diagram:
    """The framework's conv along one dim, with its uneven padding."""
    k, s, nd = params["kernel"], params["stride"], params["nd"]
    out = conv_out(n, k, s, before, 1, after)
    return Diagram("sliding_strip", {"size": n, "kernel": k, "stride": s, "pad_left": before,
                                     "pad_right": after, "dilation": 1},
                   strip_caption(_dims(nd), n, k, s, before, after, 1, out,
                                 condensed(n + before + after)))


def solve(params: dict[str, Any]) -> Solution:
    q = params["q"]
    if q == "size":
        return _solve_size(params)
    if q == "pads":
        return _solve_pads(params)
    return _solve_torch(params)


def _solve_size(params: dict[str, Any]) -> Solution:
    nd, k, s, size = params["nd"], params["kernel"], params["stride"], params["size"]
    shape = _shape(params)
    claim = framework_same_claim(_conv(nd, k, s), shape, params["dialect"])
    outs = claim["output_shape"][2:]
    steps = [same_size_rule_text()]
    names = _dims(nd)
    seen: dict[int, list[str]] = {}
    for name, n in zip(names, size, strict=True):
        seen.setdefault(n, []).append(name)
    for n, where in seen.items():
        steps.append(same_size_text(where, n, s, same_out(n, s)))
    steps.append(same_strided_refused_text(s))
    return Solution(
        question=f"{_framework_text(params)} gets {_input_text(params)}. What is its output's "
                 + ("length?" if nd == 1 else "spatial size?"),
        answer="x".join(map(str, outs)),
        form="a whole number" if nd == 1 else "HxW: two whole numbers",
        steps=steps,
        claims=[claim, error_claim([_conv(nd, k, s, "same")], shape)],
    )


def _solve_pads(params: dict[str, Any]) -> Solution:
    nd, k, s, n = params["nd"], params["kernel"], params["stride"], params["size"][0]
    claim = framework_same_claim(_conv(nd, k, s), _shape(params), params["dialect"])
    before, after = claim["pads"][0]
    out = claim["output_shape"][-1]
    total = before + after
    along = "" if nd == 1 else " along each spatial dim"
    return Solution(
        question=f"{_framework_text(params)} gets {_input_text(params)}. How many zeros does "
                 + ("it pad before (left) and after (right) the input?" if nd == 1 else
                    f"it pad before (left/top) and after (right/bottom) the input{along}?"),
        answer=f"{before},{after}",
        form="before,after: two whole numbers",
        steps=[_dialect_step(params), same_size_text(_dims(nd), n, s, out),
               same_total_text(n, k, s, out, total),
               same_split_text(params["dialect"], total, before, after)],
        claims=[claim],
        diagrams=[_strip(params, n, before, after)],
    )


def _solve_torch(params: dict[str, Any]) -> Solution:
    nd, k, s, n, dialect = (params[x] for x in ("nd", "kernel", "stride", "size", "dialect"))
    n = n[0]
    shape = _shape(params)
    before, after = same_pads(n, k, s, dialect)
    out = same_out(n, s)
    answer = symmetric_padding(n, k, s, dialect)
    # the template: nn.ConvNd(..., padding=p) computes the framework's layer (equal true)
    template = {**framework_same_claim(_conv(nd, k, s, before), shape, dialect), "equal": True}
    unique = unique_claim(template, {"p": ("layers", 0, "args", "padding")},
                          {"p": (0, PAD_MAX)}, holds=answer is not None)
    torch_out = conv_out(n, k, s, before)  # k <= 7 < n: it always runs
    steps = [_dialect_step(params), same_size_text(_dims(nd), n, s, out),
             same_total_text(n, k, s, out, before + after),
             same_split_text(dialect, before + after, before, after),
             first_window_text(before),
             symmetric_outcome_text(n, k, s, dialect, out, torch_out, answer)]
    claims = [unique]
    if answer is None:
        steps.append(fpad_text(nd, before, after))
    if s == 1:  # PyTorch's own 'same' puts the odd zero after: SAME_UPPER's split
        same = framework_same_claim(_conv(nd, k, 1, "same"), shape, dialect)
        claims.append(same)
        steps.append("At stride 1 PyTorch's `padding='same'` (which, like SAME_UPPER, puts "
                     f"any odd zero after) "
                     f"{'computes' if same['equal'] else 'does not compute'} this layer"
                     + ("." if same["equal"] else ": it pads the odd zero on the other side."))
    layer = f"nn.Conv{nd}d({CHANNELS}, {CHANNELS}, {k}, stride={s}, padding=p)"
    return Solution(
        question=f"{_framework_text(params)} gets {_input_text(params)}. Which padding p, "
                 f"between 0 and {PAD_MAX} (p zeros on each side), makes `{layer}` compute "
                 "exactly the same output with the same weights, on every input? Type none if "
                 "no p does.",
        answer="none" if answer is None else str(answer),
        form="a whole number, or none",
        steps=steps,
        claims=claims,
        diagrams=[_strip(params, n, before, after)],
    )
