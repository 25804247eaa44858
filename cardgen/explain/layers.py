"""One layer worked on one shape: the size rule per distinct spatial size, or the rule of
a layer that has none (Flatten, Linear, adaptive pools)."""

from __future__ import annotations

from cardgen.explain.sizes import and_list, channels_out_text, same_dim_text, size_tex
from cardgen.explain.windows import ceil_last_window
from cardgen.layers import Layer
from cardgen.solver.shapes import conv_paddings, pool_stride

_DIMS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def layer_steps(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...],
                head: str) -> list[str]:
    """`head` opens the first step (it names the layer or the shapes, as the card needs);
    `out` is the solver's output shape."""
    kind = layer.kind
    if kind == "flatten":
        start, end = layer.get("start_dim") % len(shape), layer.get("end_dim") % len(shape)
        merged = shape[start:end + 1]
        product = "\\cdot".join(map(str, merged))
        if (start, end) == (1, len(shape) - 1):
            what = "keeps dim 0 and multiplies the rest"
        else:
            what = f"multiplies dims {start} to {end}"
        return [f"{head}: Flatten {what}, \\( {product} = {out[start]} \\)."]
    if kind == "linear":
        return [f"{head}: Linear replaces the last dim ({shape[-1]} = in_features) by "
                f"out_features."]
    names = _DIMS[layer.ndim]
    if kind.startswith("adaptive"):
        return [f"{head}: the adaptive pool sets {and_list(names)} to its output_size."]
    steps = [head + (f": {channels_out_text(shape[1], out[1])}."
                     if kind == "conv" else ".")]
    stride = layer.tup("stride") if kind == "conv" else pool_stride(layer)
    dil = layer.tup("dilation") if kind in ("conv", "maxpool") else (1,) * layer.ndim
    ceil = kind != "conv" and bool(layer.get("ceil_mode"))
    kernel = layer.tup("kernel_size")
    # every dim's (left, right) padding read once, not per dim
    pads = conv_paddings(layer) if kind == "conv" else [(p, p) for p in layer.tup("padding")]
    done: set[tuple[int, ...]] = set()
    first = len(shape) - layer.ndim
    for d, name in enumerate(names):
        size, new = shape[first + d], out[first + d]
        k, s, dd = kernel[d], stride[d], dil[d]
        pl, pr = pads[d]
        if (size, k, s, dd, pl, pr) in done:
            steps.append(same_dim_text(name, size, new))
            continue
        done.add((size, k, s, dd, pl, pr))
        if ceil:
            num = size + pl + pr - dd * (k - 1) - 1
            steps.append(size_tex(size, k, s, pl, dd, -(-num // s) + 1, pr,
                                  name=f"{name}_{{out}}", ceil=True))
            steps.append(ceil_last_window(size, k, s, pl, dd, new))
        else:
            steps.append(size_tex(size, k, s, pl, dd, new, pr, name=f"{name}_{{out}}"))
    return steps
