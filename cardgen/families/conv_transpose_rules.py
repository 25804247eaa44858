"""conv_transpose.rules: output_padding's limit, and the sizes `output_size=` can reach."""

from __future__ import annotations

from typing import Any

from cardgen.claims import error_claim, shape_claim, transpose_output_size_claim, unique_claim
from cardgen.explain.sizes import transpose_size_tex, transposed_caption
from cardgen.explain.transpose import (
    dilation_cap_text,
    explicit_rule_text,
    lowest_size_text,
    picked_text,
    range_text,
)
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.solver.arith import conv_transpose_out
from cardgen.solver.transpose import explicit_allowed, picked, size_range

NAME = "conv_transpose.rules"
TITLE = "ConvTranspose: output_padding's limit, and the sizes output_size= accepts"
TOPIC = "Transposed conv"
LEVELS = (1, 2, 3)

# Level 1: an explicit output_padding, which must be smaller than the stride or the
# dilation (about a third of the cards break the rule). Level 2: the range of sizes
# forward(x, output_size=...) accepts, or the output_padding it picks for one size.
# Level 3: dilation larger than the stride (the explicit limit is the dilation, the
# output_size range still only the stride), and 2-D calls with a size per dim, some out
# of range.
SIZES = (3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16)
ERROR_SHARE = 0.35
EXPLICIT_ERROR_SHARE = 0.28  # level 1 redraws some layers that run, so it lands near 1/3
CIN, COUT = 8, 4
DIMS = ("H", "W")


def _dim(rng: Any, strides: tuple[int, ...], dilations: tuple[int, ...]) -> dict[str, int]:
    k = pick(rng, (2, 3, 3, 4, 5))
    return {"size": pick(rng, SIZES), "kernel": k, "stride": pick(rng, strides),
            "padding": rng.randrange(0, k // 2 + 1), "dilation": pick(rng, dilations)}


def _explicit(rng: Any) -> dict[str, Any] | None:
    dim = _dim(rng, (1, 2, 2, 3), (1, 1, 1, 2))
    top = max(dim["stride"], dim["dilation"])
    if rng.random() < EXPLICIT_ERROR_SHARE:
        op = top + rng.randrange(0, 2)
    elif top > 1:
        op = rng.randrange(1, top)
    else:
        return None
    return {"q": "explicit", **dim, "output_padding": op}


def _range_or_pick(rng: Any, level: int) -> dict[str, Any] | None:
    if level == 2:
        dim = _dim(rng, (2, 3, 3, 4), (1, 1, 2))
        if dim["dilation"] > dim["stride"]:
            return None
    else:  # a dilation larger than the stride: the trap of level 3
        dim = _dim(rng, (1, 2, 2), (2, 3, 3, 4))
        if dim["dilation"] <= dim["stride"]:
            return None
    lo, _ = size_range(dim["size"], dim["kernel"], dim["stride"], dim["padding"],
                       dim["dilation"])
    if level == 3 or rng.random() < 0.6:
        return {"q": "range", **dim}
    return {"q": "picked", **dim, "target": lo + rng.randrange(0, dim["stride"])}


def _picked2d(rng: Any) -> dict[str, Any] | None:
    dims = [_dim(rng, (1, 2, 2, 3), (1, 1, 2, 3)) for _ in DIMS]
    k = dims[0]["kernel"]
    for dim in dims:  # one kernel and padding for both dims, per-dim strides and dilations
        dim["kernel"], dim["padding"] = k, dims[0]["padding"]
    if all(d["stride"] == 1 for d in dims):
        return None
    fail = rng.randrange(2) if rng.random() < ERROR_SHARE else None
    targets = []
    for i, dim in enumerate(dims):
        lo, hi = size_range(dim["size"], k, dim["stride"], dim["padding"], dim["dilation"])
        if i != fail:
            targets.append(lo + rng.randrange(0, dim["stride"]))
        elif dim["dilation"] > dim["stride"] and rng.random() < 0.7:
            targets.append(lo + rng.randrange(dim["stride"], dim["dilation"]))  # the trap
        else:
            targets.append(pick(rng, (lo - 1, hi + 1)))
    if dims[0] == dims[1] and targets[0] == targets[1]:
        return None  # two equal dims ask one skill twice
    return {"q": "picked2d", "dims": dims, "targets": targets}


def _accepted(params: dict[str, Any]) -> bool:
    """A card worth asking: a layer that runs changes the size (a kept size is a copy of
    the question), and output_size= ranges start at 2 or more (a size below 1 is no
    size, so the neighbour below the range must be one)."""
    dims = _dims_of(params)
    if params["q"] == "explicit":
        dim, op = dims[0], params["output_padding"]
        if not explicit_allowed(op, dim["stride"], dim["dilation"]):
            return True
        return conv_transpose_out(dim["size"], dim["kernel"], dim["stride"], dim["padding"],
                                  op, dim["dilation"]) != dim["size"]
    return all(size_range(d["size"], d["kernel"], d["stride"], d["padding"],
                          d["dilation"])[0] >= 2 for d in dims)


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        if level == 1:
            params = _explicit(rng)
        elif level == 2 or rng.random() < 0.35:
            params = _range_or_pick(rng, level)
        else:
            params = _picked2d(rng)
        if params is not None and _accepted(params):
            return params
    raise exhausted(NAME, MAX_DRAWS)


# ---------------------------------------------------------------- solving


def _per_dim(dims: list[dict[str, int]], key: str) -> Any:
    values = [d[key] for d in dims]
    return values[0] if len(set(values)) == 1 else tuple(values)


def _layer(dims: list[dict[str, int]], output_padding: Any = None) -> Layer:
    """The question's layer (no output_padding), or with `output_padding` given even when
    it is 0 (a unique claim's template names it)."""
    kw: dict[str, Any] = {"in_channels": CIN, "out_channels": COUT,
                          "kernel_size": _per_dim(dims, "kernel")}
    for key, default in (("stride", 1), ("padding", 0), ("dilation", 1)):
        value = _per_dim(dims, key)
        if value != default:
            kw[key] = value
    if output_padding is not None:
        kw["output_padding"] = output_padding
    return Layer.make(f"ConvTranspose{len(dims)}d", **kw)


def _shape(dims: list[dict[str, int]]) -> tuple[int, ...]:
    return (1, CIN, *(d["size"] for d in dims))


def _strip(dim: dict[str, int], op: int, out: int) -> Diagram:
    size, k, s, p, d = (dim[x] for x in ("size", "kernel", "stride", "padding", "dilation"))
    return Diagram("transposed_strip", {"size": size, "kernel": k, "stride": s, "padding": p,
                                        "output_padding": op, "dilation": d},
                   transposed_caption(size, k, s, p, op, d, out))


def _dims_of(params: dict[str, Any]) -> list[dict[str, int]]:
    if "dims" in params:
        return [dict(d) for d in params["dims"]]
    return [{x: params[x] for x in ("size", "kernel", "stride", "padding", "dilation")}]


def _lowest(dim: dict[str, int], name: str = "lo") -> str:
    lo, _ = size_range(dim["size"], dim["kernel"], dim["stride"], dim["padding"],
                       dim["dilation"])
    return lowest_size_text(dim["size"], dim["kernel"], dim["stride"], dim["padding"],
                            dim["dilation"], lo, name)


def _range_text(dim: dict[str, int]) -> str:
    lo, hi = size_range(dim["size"], dim["kernel"], dim["stride"], dim["padding"],
                        dim["dilation"])
    return range_text(dim["size"], dim["kernel"], dim["stride"], dim["padding"],
                      dim["dilation"], lo, hi)


def _solve_explicit(params: dict[str, Any]) -> Solution:
    dim = _dims_of(params)[0]
    op = params["output_padding"]
    layer = _layer([dim], op)
    shape = _shape([dim])
    runs = explicit_allowed(op, dim["stride"], dim["dilation"])
    steps = [explicit_rule_text(op, dim["stride"], dim["dilation"], runs)]
    question = f"{layer_code(layer)} receives `{shape_text(shape)}`. What is the output shape?"
    form = "the shape as NxCxL, written like the input's, or error if PyTorch refuses to run it"
    if not runs:
        return Solution(question=question, answer="error", form=form, steps=steps,
                        claims=[error_claim([layer], shape)])
    claim = shape_claim([layer], shape)
    out = claim["output_shape"]
    steps += [f"Channels become out_channels = {out[1]}.",
              transpose_size_tex(dim["size"], dim["kernel"], dim["stride"], dim["padding"], op,
                                 dim["dilation"], out[-1])]
    return Solution(question=question, answer=shape_text(out), form=form, steps=steps,
                    claims=[claim], diagrams=[_strip(dim, op, out[-1])])


def _range_claims(layer: Layer, shape: tuple[int, ...], lo: int, hi: int
                  ) -> list[dict[str, Any]]:
    """Every size of the range runs, and the sizes just outside it raise."""
    return [transpose_output_size_claim(layer, shape, [t]) for t in range(lo - 1, hi + 2)]


def _call(layer: Layer, shape: tuple[int, ...], targets: list[int]) -> str:
    return (f"{layer_code(layer)} is `m`, and `x` has shape `{shape_text(shape)}`; the call "
            f"is `m(x, output_size={targets})`.")


def _solve_range(params: dict[str, Any]) -> Solution:
    dim = _dims_of(params)[0]
    layer, shape = _layer([dim]), _shape([dim])
    s, d = dim["stride"], dim["dilation"]
    lo, hi = size_range(dim["size"], dim["kernel"], s, dim["padding"], d)
    steps = [_lowest(dim), _range_text(dim)]
    claims = _range_claims(layer, shape, lo, hi)
    if d > s:
        steps.append(dilation_cap_text(s, d, hi))
        claims.append(shape_claim([_layer([dim], d - 1)], shape))  # the explicit one runs
    return Solution(
        question=f"{layer_code(layer)} is `m`, and `x` has shape `{shape_text(shape)}`. "
                 "Which sizes L can `m(x, output_size=[L])` ask for without an error?",
        answer=f"{lo}..{hi}",
        form="the range as lo..hi: the smallest size, two dots, the largest",
        steps=steps,
        claims=claims,
    )


def _solve_picked(params: dict[str, Any]) -> Solution:
    dims = _dims_of(params)
    targets = [params["target"]] if "target" in params else list(params["targets"])
    layer, shape = _layer(dims), _shape(dims)
    result = picked(layer, shape, targets)
    two = len(dims) == 2
    steps: list[str] = []
    for i, (dim, t, (lo, hi)) in enumerate(zip(dims, targets, result.ranges, strict=True)):
        name = DIMS[i] if two else "L"
        steps.append(_lowest(dim, f"{name}_{{lo}}" if two else "lo"))
        steps.append((f"{name}: " if two else "") + _range_text(dim))
        op = t - lo if lo <= t <= hi else None
        steps.append(picked_text(name, t, lo, hi, op, result.output_padding is None))
        if op is None and dim["dilation"] > t - lo >= dim["stride"]:
            steps.append(dilation_cap_text(dim["stride"], dim["dilation"], hi, t - lo))
    claims = [transpose_output_size_claim(layer, shape, targets)]
    if result.output_padding is None:
        trap = [t - lo if d["dilation"] > t - lo >= d["stride"] else 0
                for d, t, (lo, _) in zip(dims, targets, result.ranges, strict=True)]
        if any(trap):  # the explicit output_padding the step names does run
            claims.append(shape_claim([_layer(dims, tuple(trap) if two else trap[0])], shape))
        answer = "error"
    else:
        pads = result.output_padding
        template = shape_claim([_layer(dims, pads if two else pads[0])], shape)
        path = ("layers", 0, "args", "output_padding")
        names = ("a", "b") if two else ("op",)
        where = {n: (*path, i) if two else path for i, n in enumerate(names)}
        space = {n: (0, max(d["stride"], d["dilation"]) - 1)
                 for n, d in zip(names, dims, strict=True)}
        claims.append(unique_claim(template, where, space))
        answer = ",".join(map(str, pads))
    if two:
        question = (_call(layer, shape, targets) + " Which output_padding does PyTorch use "
                    "in each dim?")
        form = ("the two output_paddings as H,W (height first, comma, no space), or error if "
                "the call raises")
    else:
        question = (_call(layer, shape, targets) + " It runs. Which output_padding does "
                    "PyTorch use for it?")
        form = "a whole number"
    diagrams = []
    if not two and result.output_padding is not None:
        diagrams.append(_strip(dims[0], result.output_padding[0], targets[0]))
    return Solution(question=question, answer=answer, form=form, steps=steps, claims=claims,
                    diagrams=diagrams)


def solve(params: dict[str, Any]) -> Solution:
    q = params["q"]
    if q == "explicit":
        return _solve_explicit(params)
    if q == "range":
        return _solve_range(params)
    if q in ("picked", "picked2d"):
        return _solve_picked(params)
    raise ValueError(f"{NAME}: unknown question {q!r}")
