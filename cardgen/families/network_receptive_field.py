"""network.receptive_field: how much of the input one output unit of a stack sees."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cardgen.claims import support_claim
from cardgen.errors import ShapeError
from cardgen.explain.receptive import (
    field_rule_text,
    jump_tex,
    range_answer_text,
    size_step_tex,
    walk_rule_text,
    walk_step_tex,
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
from cardgen.solver.receptive import Field, dim_sizes, field_rows, fields, tap

NAME = "network.receptive_field"
TITLE = "Receptive field through a stack: its size, the jump, and the input range of a unit"
TOPIC = "Networks"
LEVELS = (1, 2, 3)

# Per level: level 1 asks the field size of a 2-3 layer 1-D stack of convs and pools
# with strides (no padding, no dilation: every unit's field has one size), or the jump
# of 4 layers, 3 of them strided (a product of strides: the easiest form, so it stays at
# level 1); level 2 the size through a dilated conv (3 layers); level 3 the input range
# [start, stop) of one given unit through padded layers, 1-D (up to 3 layers) or 2-D
# (2 layers), where a unit near the edge loses its padding cells.
MAX_SIZE = 64  # a field wider than this is no mental arithmetic
MAX_INPUT = 80  # cells per dim: the diagram keeps each cell visible at 360 px
DEFINITIONS = {
    "size": "An output unit's receptive field is the stretch of input cells from the first "
            "one the unit depends on to the last one (cells it skips in between count "
            "too). No layer pads, so every output unit's field has the same size.",
    "jump": "Each output unit depends on a stretch of input cells (its receptive field). "
            "No layer pads, and the fields of two neighbouring output units start the same "
            "number of input cells apart everywhere: the jump (the stack's effective "
            "stride).",
    "range": "Cells and units are numbered from 0. Padding cells are not input cells: a "
             "unit depends only on the input cells that reach it through the layers.",
}


@lru_cache(maxsize=4096)  # a few thousand distinct layers, drawn many times over
def _conv(nd: int, cin: int, cout: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> Layer:
    args: dict[str, Any] = {"in_channels": cin, "out_channels": cout, "kernel_size": k}
    if s != 1:
        args["stride"] = s
    if p:
        args["padding"] = p
    if d != 1:
        args["dilation"] = d
    return Layer.from_json({"type": f"Conv{nd}d", "args": args})


@lru_cache(maxsize=1024)
def _pool(nd: int, k: int, s: int | None = None, p: int = 0, avg: bool = False) -> Layer:
    args: dict[str, Any] = {"kernel_size": k}
    if s is not None and s != k:
        args["stride"] = s
    if p:
        args["padding"] = p
    return Layer.from_json({"type": f"{'Avg' if avg else 'Max'}Pool{nd}d", "args": args})


def _draw_layer(rng: Any, nd: int, channels: list[int], level: int, dilate: bool) -> Layer:
    """One conv or pool; `channels` holds the running channel count."""
    if rng.random() < 0.35:
        if level == 3:
            k, s, p = pick(rng, ((3, 2, 1), (2, 2, 0), (3, 1, 1), (3, 2, 0)))
        else:
            k, s, p = pick(rng, ((2, 2, 0), (3, 2, 0), (3, 3, 0), (2, 1, 0)))
        return _pool(nd, k, s, p, avg=rng.random() < 0.3)
    cin = channels[-1]
    cout = pick(rng, (8, 16, 32, 64))
    channels.append(cout)
    if level == 3:
        k, p = pick(rng, ((3, 1), (3, 1), (5, 2), (7, 3), (3, 0), (4, 1)))
        return _conv(nd, cin, cout, k, pick(rng, (1, 2, 2)), p)
    k = pick(rng, (2, 3, 3, 5, 7))
    d = pick(rng, (2, 3)) if dilate else 1
    return _conv(nd, cin, cout, k if d == 1 else pick(rng, (2, 3)), pick(rng, (1, 1, 2, 3)), 0, d)


def _stack(rng: Any, level: int, q: str, nd: int) -> tuple[list[Layer], int]:
    """The layers and the input's channels."""
    count = {1: pick(rng, (2, 3)) if q == "size" else 4, 2: 3,
             3: pick(rng, (2, 3)) if nd == 1 else 2}[level]
    channels = [pick(rng, (1, 3))]
    dilated = rng.randrange(count) if level == 2 and q == "size" else -1
    layers = []
    for i in range(count):
        if i == dilated:
            while True:  # the dilated layer is a conv
                layer = _draw_layer(rng, nd, channels, level, True)
                if layer.kind == "conv":
                    break
        else:
            layer = _draw_layer(rng, nd, channels, level, level == 2 and rng.random() < 0.2)
        layers.append(layer)
    return layers, channels[0]


def _literals(layers: list[Layer], shape: list[int]) -> set[int]:
    """Every number the question shows: the sizes and the layers' arguments."""
    values = [v for x in layers for _, a in x.args  # (its given arguments: no dict copy)
              for v in (a if isinstance(a, tuple) else (a,))]
    return set(shape) | {v for v in values if type(v) is int}  # bools are not sizes


def _runs(layers: list[Layer], shape: list[int]) -> bool:
    """Whether the stack runs on the shape with at least 2 output units per dim (verify's
    limits are checked last, by _accepted)."""
    try:
        out = dim_sizes(layers, shape)[-1]
    except ShapeError:
        return False
    return min(out) >= 2


def _accepted(layers: list[Layer], shape: list[int], q: str,
              index: list[int] | None) -> bool:
    """A problem worth asking: its answer is no number the question shows, the numbers
    stay mental, a range question's unit needs the walk (not the whole input), and verify
    re-checks it quickly. The arithmetic first: it turns most draws away before the stack
    is run; the limits last (the costliest check, and every stack drawn here fits)."""
    nd = len(shape) - 2
    per_dim = [[tap(layer, d) for layer in layers] for d in range(nd)]
    rows = [field_rows(dim_taps) for dim_taps in per_dim]
    taps = per_dim[0]
    if q == "range":
        if max(r[-1].size for r in rows) > MAX_SIZE:
            return False
    else:
        answer = rows[0][-1].size if q == "size" else rows[0][-1].jump
        if q == "size" and (answer > MAX_SIZE or answer <= max(t.span for t in taps)):
            return False  # too wide, or one layer's window alone would answer it
        if q == "jump" and (answer > 36 or sum(t.stride > 1 for t in taps) < 3):
            return False
        if answer in _literals(layers, shape):
            return False
    if not _runs(layers, shape):
        return False
    if q == "range":
        assert index is not None
        found = fields(layers, shape, index)
        # the whole input needs no walk
        if not all(f.support not in (None, (0, n)) for f, n in zip(found, shape[2:],
                                                                      strict=True)):
            return False
    return fits_claim(layers, shape)


def generate(rng: Any, level: int) -> dict[str, Any]:
    # the question is drawn once, so its share is the drawn one whatever each accepts
    if level == 3:
        q, nd = "range", pick(rng, (1, 1, 2))
    else:
        q, nd = ("jump" if level == 1 and rng.random() < 0.25 else "size"), 1
    for _ in range(MAX_DRAWS):
        layers, cin = _stack(rng, level, q, nd)
        size = rng.randrange(16, MAX_INPUT + 1) if nd == 1 else rng.randrange(8, 25)
        shape = [1, cin] + [size] * nd
        if nd == 2 and rng.random() < 0.5:
            shape[3] = rng.randrange(8, 25)
        index = None
        if q == "range":
            try:
                out = dim_sizes(layers, shape)[-1]
            except ShapeError:
                continue
            # half the units at an edge, where the padding cuts the field
            index = [pick(rng, (0, o - 1)) if rng.random() < 0.5 else rng.randrange(o)
                     for o in out]
        if _accepted(layers, shape, q, index):
            params: dict[str, Any] = {"q": q, "layers": [x.to_json() for x in layers],
                                      "input_shape": shape}
            if index is not None:
                params["index"] = index
            return params
    raise exhausted(NAME, MAX_DRAWS)


_code = lru_cache(maxsize=4096)(layer_code)  # each layer is named in the question and steps


def _diagram(f: Field, caption: str) -> Diagram:
    return Diagram("receptive_strip", {
        "sizes": list(f.sizes), "runs": [[list(r) for r in row] for row in f.runs],
        "ranges": [None if r is None else list(r) for r in f.ranges]}, caption)


def _caption(f: Field, dim: str = "") -> str:
    start, stop = f.support or (0, 0)
    skipped = stop - start - f.cells
    where = f" along {dim}" if dim else ""
    text = (f"One output unit{where}, top, and the cells it depends on in each tensor "
            "below it (row n is layer n's output); ticks mark each range's start and stop.")
    if skipped:
        text += (f" It skips {skipped} of the {stop - start} input cells inside its "
                 "range, which still count in the range.")
    return text


def _recurrence_steps(layers: list[Layer], with_jump: bool) -> list[str]:
    taps = [tap(layer, 0) for layer in layers]
    rows = field_rows(taps)
    steps = [field_rule_text()]
    for n, (layer, t) in enumerate(zip(layers, taps, strict=True), start=1):
        steps.append(f"Layer {n}, {_code(layer)}: k={t.kernel}"
                     + (f", d={t.dilation}" if t.dilation > 1 else "")
                     + f", s={t.stride}. "
                     + size_step_tex(n, t, rows[n - 1], rows[n], with_jump or n < len(taps)))
    return steps


def solve(params: dict[str, Any]) -> Solution:
    layers = [Layer.from_json(j) for j in params["layers"]]
    shape = params["input_shape"]
    nd = len(shape) - 2
    q = params["q"]
    listing = " → ".join(map(_code, layers))
    head = f"An input of shape `{shape_text(shape)}` goes through {listing}."
    # a pool written without a stride strides by its kernel: say so where it counts
    pool_note = (" A pool without a stride argument strides by its kernel size."
                 if any(x.kind != "conv" and "stride" not in x.kwargs
                        for x in layers) else "")
    if q in ("size", "jump"):
        taps = [tap(layer, 0) for layer in layers]
        rows = field_rows(taps)
        out = dim_sizes(layers, shape)[-1][0]
        if q == "size":
            units = [[0], [out - 1]]
            answer = rows[-1].size
            question = f"{head} {DEFINITIONS['size']} How many input cells long is it?"
            steps = _recurrence_steps(layers, with_jump=False)
            steps[0] += pool_note
            steps.append(f"The field is \\(r_{len(layers)} = {answer}\\) input cells.")
        else:
            units = [[0], [1]]
            answer = rows[-1].jump
            question = (f"{head} {DEFINITIONS['jump']} How many input cells apart do the "
                        "fields of neighbouring output units start?")
            steps = [jump_tex([t.stride for t in taps], answer) + pool_note]
        found = [fields(layers, shape, u)[0] for u in units]
        first, last = found[0].support, found[1].support
        assert first is not None and last is not None
        steps.append(f"Check: output unit {units[0][0]} depends on input cells "
                     f"{first[0]} to {first[1] - 1}, unit {units[1][0]} on "
                     f"{last[0]} to {last[1] - 1}.")
        return Solution(question=question, answer=str(answer), form="a whole number",
                        steps=steps, claims=[support_claim(layers, shape, u) for u in units],
                        diagrams=[_diagram(found[0], _caption(found[0]))])
    index = params["index"]
    found = fields(layers, shape, index)
    names = ["H", "W"] if nd == 2 else [""]
    unit = (f"the output unit at row {index[0]}, column {index[1]}" if nd == 2
            else f"output unit {index[0]}")
    question = (f"{head} {DEFINITIONS['range']} Which input cells does {unit} "
                "depend on? Give the first and one past the last"
                + (", per spatial dim" if nd == 2 else "")
                + " (cells it skips in between are inside the range).")
    steps = [walk_rule_text() + pool_note]
    done: dict[tuple[Any, ...], str] = {}
    for d, f in enumerate(found):
        key = (tuple(f.sizes), index[d], tuple(tap(x, d) for x in layers))
        if key in done:
            steps.append(f"W is walked like {done[key]}: the same sizes, layers and index.")
            continue
        done[key] = names[d]
        if nd == 2:
            steps.append(f"Along {names[d]} (output {('row', 'column')[d]} {index[d]}):")
        for n in range(len(layers), 0, -1):
            units, got = f.ranges[n], f.ranges[n - 1]
            assert units is not None and got is not None
            t = tap(layers[n - 1], d)
            unit_text = (f"unit {units[0]}" if units[1] - units[0] == 1
                         else f"units {units[0]} to {units[1] - 1}")
            steps.append(f"{_code(layers[n - 1])} (k={t.kernel}, s={t.stride}, "
                         f"p={t.left}; its input has {f.sizes[n - 1]} cells): {unit_text} "
                         + walk_step_tex(t, f.sizes[n - 1], units, got))
        start, stop = f.support or (0, 0)
        steps.append(range_answer_text(start, stop - 1))
    answer = ",".join(f"{f.support[0]}:{f.support[1]}" for f in found if f.support)
    # W drawn only when it differs from H (the steps say so when it does not)
    diagrams = [_diagram(f, _caption(f, names[d])) for d, f in enumerate(found)
                if d == 0 or (f.sizes, f.ranges) != (found[0].sizes, found[0].ranges)]
    return Solution(
        question=question, answer=answer,
        form=("rows start:stop, then columns start:stop: r0:r1,c0:c1" if nd == 2
              else "start:stop like a Python slice"),
        steps=steps, claims=[support_claim(layers, shape, index)], diagrams=diagrams)
