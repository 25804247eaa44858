"""pool.options: values that depend on pooling options: AvgPool's divisor (padding with
count_include_pad, divisor_override, ceil mode's window hanging past the padded end) and
the output shape of MaxUnpool fed by MaxPool(return_indices=True)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from math import prod
from typing import Any

from cardgen.claims import unpool_claim, values_claim
from cardgen.errors import ShapeError
from cardgen.explain import count_of
from cardgen.explain.pool_options import (
    divisor_text,
    unpool_default_tex,
    unpool_index_text,
    unpool_range_text,
    value_tex,
    window_text,
)
from cardgen.explain.sizes import same_dim_text
from cardgen.explain.windows import ceil_last_window
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    frac_text,
    layer_code,
    pick,
    shape_text,
    size_tex,
)
from cardgen.layers import Layer, unpool_layer
from cardgen.solver import Exact
from cardgen.solver.arith import pool_out_raw
from cardgen.solver.pool_options import (
    AvgWindow,
    avg_divisor,
    avg_values,
    avg_window,
    unpool,
)
from cardgen.solver.shapes import pool_stride

NAME = "pool.options"
TITLE = ("Pooling options: AvgPool's divisor (count_include_pad, divisor_override, ceil "
         "mode) and MaxUnpool's output size")
TOPIC = "Pooling"
LEVELS = (1, 2, 3)

# Per level: level 1 averages the first or last output of a padded AvgPool1d (padding
# counted or not); level 2 the last output of a ceil-mode AvgPool1d whose window hangs
# past the padded end, or an AvgPool2d output with divisor_override; level 3 the output
# shape of MaxUnpool after MaxPool(return_indices=True), with or without output_size,
# or the last (corner) output of a ceil-mode AvgPool2d. Inputs are digits 0..9 and a
# window holds at most 4 of them: every average is worked without a calculator.
MAX_CELLS = 4
UNPOOL_SHARE = 0.65
OVERRIDE_SHARE = 0.4
NAMES = {1: ["L"], 2: ["H", "W"]}
VALUE_FORM = "a number, a fraction as 7/3 (e.g. 25/2)"


def _args(k: int, s: int, p: int, ceil: bool) -> dict[str, Any]:
    """A pool's arguments as Layer.to_json writes them: torch's defaults left out."""
    args: dict[str, Any] = {"kernel_size": k}
    if s != k:
        args["stride"] = s
    if p:
        args["padding"] = p
    if ceil:
        args["ceil_mode"] = True
    return args


def _avg_json(nd: int, k: int, s: int, p: int, ceil: bool, cip: bool,
              override: int | None = None) -> dict[str, Any]:
    args = _args(k, s, p, ceil)
    if not cip:
        args["count_include_pad"] = False
    if override is not None:
        args["divisor_override"] = override
    return {"type": f"AvgPool{nd}d", "args": args}


def _pool_json(nd: int, k: int, s: int, p: int, ceil: bool = False,
               unpool_: bool = False) -> dict[str, Any]:
    return {"type": f"Max{'Unpool' if unpool_ else 'Pool'}{nd}d", "args": _args(k, s, p, ceil)}


def _digits(rng: Any, rows: int, cols: int) -> list[list[int]]:
    return [[rng.randrange(0, 10) for _ in range(cols)] for _ in range(rows)]


def _spatial(params: dict[str, Any]) -> list[int]:
    grid = params["grid"]
    return [len(grid[0])] if params["layer"]["type"].endswith("1d") else \
        [len(grid), len(grid[0])]


def _windows(layer: dict[str, Any], sizes: list[int], index: list[int]
             ) -> list[AvgWindow] | None:
    """The asked output's window per dim, from the drawn (int) arguments; None when the
    index is not an output. Plain arithmetic: a build draws many of these."""
    args = layer["args"]
    k = args["kernel_size"]
    s, p = args.get("stride", k), args.get("padding", 0)
    windows = []
    for size, i in zip(sizes, index, strict=True):
        out = pool_out_raw(size, k, s, p, 1, bool(args.get("ceil_mode")))
        if not 0 <= i < out:
            return None
        windows.append(avg_window(size, k, s, p, i))
    return windows


def _last(layer: dict[str, Any], sizes: list[int]) -> list[int]:
    args = layer["args"]
    k = args["kernel_size"]
    s, p = args.get("stride", k), args.get("padding", 0)
    return [pool_out_raw(n, k, s, p, 1, bool(args.get("ceil_mode"))) - 1 for n in sizes]


def _window_cells(params: dict[str, Any], windows: Sequence[AvgWindow] | None = None
                  ) -> list[int]:
    """The grid's numbers in the asked output's window (`windows`: its per-dim windows,
    when the caller has them)."""
    if windows is None:
        windows = _windows(params["layer"], _spatial(params), params["index"])
    assert windows is not None
    grid = params["grid"]
    rows = range(windows[0].first, windows[0].last) if len(windows) == 2 else [0]
    cols = windows[-1]
    return [grid[r][c] for r in rows for c in range(cols.first, cols.last)]


def _accepted(draw: dict[str, Any]) -> bool:
    """A value card whose answer depends on the rule it drills: 2 to MAX_CELLS cells
    summed (one cell, or a divisor of 1, is a copy, not an average), the divisor rules
    (the whole kernel, padding counted, input cells only, or the override) do not all
    agree, and in ceil mode the window hangs past the padded end in every dim."""
    layer = draw["layer"]
    windows = _windows(layer, draw["sizes"], draw["index"])
    if windows is None:
        return False
    args = layer["args"]
    cells, padded = prod(w.cells for w in windows), prod(w.padded for w in windows)
    override = args.get("divisor_override")
    divisor = override or (cells if args.get("count_include_pad") is False else padded)
    if not 2 <= cells <= MAX_CELLS or divisor < 2:
        return False
    if args.get("ceil_mode") and not all(w.beyond > 0 for w in windows):
        return False
    rules = {prod(w.stop - w.start for w in windows), cells, padded}
    return override not in rules if override is not None else len(rules) > 1


def _geometry(layer: dict[str, Any], sizes: list[int], index: list[int]) -> dict[str, Any]:
    return {"layer": layer, "sizes": sizes, "index": index}


def _value_l1(rng: Any) -> dict[str, Any]:
    k = pick(rng, (2, 3, 3, 4, 5))
    p = rng.randrange(1, k // 2 + 1)
    s = pick(rng, tuple(sorted({1, 2, k})))
    layer = _avg_json(1, k, s, p, False, rng.random() < 0.5)
    sizes = [rng.randrange(4, 9)]
    return _geometry(layer, sizes, _last(layer, sizes) if rng.random() < 0.5 else [0])


def _override_l2(rng: Any) -> dict[str, Any]:
    k = pick(rng, (2, 3))
    layer = _avg_json(2, k, pick(rng, (k, 1, 2)), rng.randrange(0, 2), False,
                      rng.random() < 0.7, rng.randrange(2, 10))
    sizes = [rng.randrange(3, 6), rng.randrange(3, 6)]
    # a corner or an edge: the first or the last output along each dim
    return _geometry(layer, sizes, [last if rng.random() < 0.5 else 0
                                    for last in _last(layer, sizes)])


@functools.cache
def _hanging(k: int, s: int, p: int, sizes: range) -> tuple[int, ...]:
    """The sizes on which ceil mode's last window hangs past the padded end (drawn from
    these, a ceil-mode card is rarely refused: a build stays fast)."""
    out = []
    for n in sizes:
        last = pool_out_raw(n, k, s, p, 1, True) - 1
        if last >= 0 and avg_window(n, k, s, p, last).beyond > 0:
            out.append(n)
    return tuple(out) or tuple(sizes)


def _ceil_l2(rng: Any) -> dict[str, Any]:
    k, s = pick(rng, (2, 3, 3, 4)), pick(rng, (2, 3))
    p = rng.randrange(0, k // 2 + 1)
    layer = _avg_json(1, k, s, p, True, rng.random() < 0.6)
    sizes = [pick(rng, _hanging(k, s, p, range(4, 10)))]
    return _geometry(layer, sizes, _last(layer, sizes))


def _value_l3(rng: Any) -> dict[str, Any]:
    k, s = pick(rng, (2, 3)), pick(rng, (2, 3))
    p = rng.randrange(0, k // 2 + 1)
    layer = _avg_json(2, k, s, p, True, rng.random() < 0.7)
    sizes = [pick(rng, _hanging(k, s, p, range(3, 7))) for _ in range(2)]
    return _geometry(layer, sizes, _last(layer, sizes))


def _unpool_params(rng: Any) -> dict[str, Any]:
    nd = pick(rng, (1, 2, 2))
    k = pick(rng, (2, 3))
    s = pick(rng, (k, 2))
    p = rng.randrange(0, k // 2 + 1)
    ceil = rng.random() < 0.3
    pool = _pool_json(nd, k, s, p, ceil)
    if rng.random() < 0.7:
        un = _pool_json(nd, k, s, p, unpool_=True)
    else:
        uk = pick(rng, (2, 3))
        un = _pool_json(nd, uk, pick(rng, (uk, 2)), rng.randrange(0, 2), unpool_=True)
    sizes = [rng.randrange(5, 17)] * nd  # square: a dim worked once (at most 30 steps)
    shape = [pick(rng, (1, 1, 2, 4)), pick(rng, (1, 3, 8, 16))] + sizes
    params: dict[str, Any] = {"q": "unpool", "pool": pool, "unpool": un,
                              "input_shape": shape, "output_size": None}
    r = rng.random()
    if r < 0.45:
        params["output_size"] = sizes
    elif r < 0.75:
        result = _unpool_result(params)
        if result is not None:
            stride = pool_stride(unpool_layer(un))
            shift = pick(rng, (-1, 0, 1, 2)) * stride[0] + pick(rng, (-1, 0, 1))
            params["output_size"] = [d + shift for d in result.default]
    return params


# The generator and the solution ask the same unpool again: its result, by its text.
_UNPOOLS: dict[str, Any] = {}


def _unpool_result(params: dict[str, Any]) -> Any:
    key = repr((params["pool"], params["unpool"], params["input_shape"],
                params["output_size"]))
    if key not in _UNPOOLS:
        if len(_UNPOOLS) > 4096:
            _UNPOOLS.clear()
        try:
            _UNPOOLS[key] = unpool(Layer.from_json(params["pool"]),
                                   unpool_layer(params["unpool"]), params["input_shape"],
                                   params["output_size"])
        except ShapeError:
            _UNPOOLS[key] = None
    return _UNPOOLS[key]


def _runs(params: dict[str, Any]) -> bool:
    """An unpool card with one answer on every input: not an output_size whose indices
    fit on some inputs only, not a pool that refuses the input."""
    result = _unpool_result(params)
    if result is None or result.depends:
        return False
    if result.out is not None and any(o < 1 for o in result.out):
        return False
    if params["output_size"] is None:  # without output_size, not the input's shape again:
        return result.output_shape != tuple(params["input_shape"])  # that is size's job
    return list(result.default) != params["output_size"]


def generate(rng: Any, level: int) -> dict[str, Any]:
    # The question form is drawn once, so each form keeps its share however often its
    # draws are refused.
    if level == 3 and rng.random() < UNPOOL_SHARE:
        draw, fits = _unpool_params, _runs
    elif level == 2 and rng.random() < OVERRIDE_SHARE:
        draw, fits = _override_l2, _accepted
    else:
        draw, fits = {1: _value_l1, 2: _ceil_l2, 3: _value_l3}[level], _accepted
    for _ in range(MAX_DRAWS):
        params = draw(rng)
        if not fits(params):
            continue
        if params.get("q") == "unpool":
            return params
        # the numbers last, once the geometry is right: digits 0..9, not all 0 in the window
        sizes = params.pop("sizes")
        params = {"q": "value", **params,
                  "grid": _digits(rng, 1 if len(sizes) == 1 else sizes[0], sizes[-1])}
        if sum(_window_cells(params)) > 0:
            return params
    raise exhausted(NAME, MAX_DRAWS)


# ---------------------------------------------------------------- solving


def _size_steps(layer: Layer, spatial: Sequence[int], outs: Sequence[int],
                label: str) -> list[str]:
    """A pool's output size per distinct dim (ceil mode's last-window rule included)."""
    k, s, p = layer.tup("kernel_size"), pool_stride(layer), layer.tup("padding")
    ceil = bool(layer.get("ceil_mode"))
    steps: list[str] = []
    done: dict[int, str] = {}
    for dim, (name, size) in enumerate(zip(NAMES[len(spatial)], spatial, strict=True)):
        if size in done:
            steps.append(same_dim_text(name, size, outs[dim], done[size]))
            continue
        done[size] = name
        if ceil:
            num = size + 2 * p[dim] - (k[dim] - 1) - 1
            steps.append(size_tex(size, k[dim], s[dim], p[dim], 1, -(-num // s[dim]) + 1,
                                  name=f"{name}_{{{label}}}", ceil=True))
            steps.append(ceil_last_window(size, k[dim], s[dim], p[dim], 1, outs[dim]))
        else:
            steps.append(size_tex(size, k[dim], s[dim], p[dim], 1, outs[dim],
                                  name=f"{name}_{{{label}}}"))
    return steps


def _value_solution(params: dict[str, Any]) -> Solution:
    layer = Layer.from_json(params["layer"])
    spatial, index, grid = _spatial(params), params["index"], params["grid"]
    nd = len(spatial)
    x = [[grid[0]]] if nd == 1 else [[grid]]
    outs, flat = avg_values(layer, spatial, [v for row in grid for v in row])
    y = Exact((1, 1, *outs), flat)
    value = flat[index[0] if nd == 1 else index[0] * outs[1] + index[1]]
    d = avg_divisor(layer, spatial, index)
    k, s = layer.tup("kernel_size"), pool_stride(layer)
    ceil = bool(layer.get("ceil_mode"))
    steps: list[str] = []
    names = NAMES[nd]
    if ceil:  # the question asks for the last output: first, how many there are
        steps += _size_steps(layer, spatial, outs, "out")
    for dim in range(nd):
        steps.append(window_text(d.windows[dim], index[dim], k[dim], s[dim],
                                 names[dim] if nd > 1 else ""))
    steps.append(divisor_text(d, k, s, index, names if nd > 1 else ()))
    where = f"{index[0]}" if nd == 1 else f"{index[0]},{index[1]}"
    cells = _window_cells(params, d.windows)
    steps.append("The average: " + value_tex(f"y_{{{where}}}", cells, d.divisor, value))
    # indices count from 0 and, in 2-d, the first is the row: the card says both
    if nd == 1:
        which = (f"the last output (output {index[0]}, counting from 0)" if ceil else
                 f"output {index[0]} (counting from 0)")
    else:
        which = (("the last output, at " if ceil else "the output at ")
                 + f"row {index[0]}, column {index[1]} (both counted from 0)")
    shown = f"sequence of {spatial[0]} numbers" if nd == 1 else \
        f"{spatial[0]}x{spatial[1]} grid"
    question = (f"{layer_code(layer)} runs on this {shown} (one batch, one channel). What "
                f"is {which}?")
    w_last = d.windows[-1]
    pads = w_last.left_pad + w_last.right_pad
    caption = (f"Output {where}'s window: {count_of(w_last.cells, 'input cell')}"
               + (f", {count_of(pads, 'padding cell')}" if pads else "")
               + (f", {w_last.beyond} past the padded end" if w_last.beyond else "")
               + f"; divisor {d.divisor}.")
    if nd == 1:
        p = layer.tup("padding")[0]
        diagram = Diagram("sliding_strip", {
            "size": spatial[0], "kernel": k[0], "stride": s[0], "pad_left": p,
            "pad_right": p, "ceil_mode": ceil}, caption)
    else:
        rows, cols = d.windows
        diagram = Diagram("values_grid", {
            "grid": grid, "window": ((rows.first, rows.last), (cols.first, cols.last)),
            "result": frac_text(value)},
            f"The input cells in the window of the output at row {index[0]}, column "
            f"{index[1]}, shaded; divisor {d.divisor}.")
    return Solution(question=question, table=grid, answer=frac_text(value), form=VALUE_FORM,
                    steps=steps, claims=[values_claim([layer], x, solved=y)],
                    diagrams=[diagram])


def _unpool_solution(params: dict[str, Any]) -> Solution:
    pool = Layer.from_json(params["pool"])
    un = unpool_layer(params["unpool"])
    shape, size = tuple(params["input_shape"]), params["output_size"]
    result = _unpool_result(params)
    nd = pool.ndim
    names = NAMES[nd]
    pool_text = str(pool)[:-1] + ", return_indices=True)"
    call = "unpool(y, idx)" if size is None else \
        f"unpool(y, idx, output_size={tuple(size) if nd > 1 else size})"
    question = (f"`pool` is `nn.{pool_text}` and `unpool` is `nn.{un}`; `y, idx = pool(x)` "
                f"for an input `x` of shape `{shape_text(shape)}`. What is the shape of "
                f"`{call}`? (Answer `error` if PyTorch raises.)")
    steps = _size_steps(pool, shape[2:], result.pooled[2:], "pool")
    steps[0] = "MaxPool: " + steps[0]
    uk, us, up = un.tup("kernel_size"), pool_stride(un), un.tup("padding")
    steps.append(unpool_default_tex(result, uk, us, up, [f"{n}_{{default}}" for n in names]))
    if size is not None:
        steps.append(unpool_range_text(result, us, names))
    if result.refused != "range":
        steps.append(unpool_index_text(result, prod(shape[2:])))
    out = result.output_shape
    answer = "error" if out is None else shape_text(out)
    if out is not None:
        steps.append(f"Batch and channels pass through: `{shape_text(out)}`.")
    return Solution(question=question, answer=answer,
                    form="the shape written like the input's, or error", steps=steps,
                    claims=[unpool_claim(pool, un, shape, size)])


def solve(params: dict[str, Any]) -> Solution:
    if params["q"] == "unpool":
        return _unpool_solution(params)
    return _value_solution(params)


