"""When an adaptive pool is exactly a fixed pool (DESIGN.md §2).

Decided by the windows: all of length k and starting at i*s. Divisibility is
sufficient but not necessary (7 -> 3 is kernel 3, stride 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from cardgen.layers import Layer
from cardgen.solver.shapes import adaptive_sizes
from cardgen.solver.windows import adaptive_windows


def fixed_equivalent(size: int, out: int) -> tuple[int, int] | None:
    """(kernel, stride) of the fixed pool with the same windows, or None."""
    # A card asks for the same (size, out) in its generator, its steps, its claims and its
    # wrong answers: decided once. Plain ints only: 7.0 == 7 would share a key and get
    # the other's kernel and stride (floats, not ints).
    if type(size) is int and type(out) is int:
        return _fixed_equivalent(size, out)
    return _fixed_equivalent.__wrapped__(size, out)


@lru_cache(maxsize=4096)
def _fixed_equivalent(size: int, out: int) -> tuple[int, int] | None:
    windows = adaptive_windows(size, out)
    kernel = windows[0][1] - windows[0][0]
    stride = windows[1][0] - windows[0][0] if out > 1 else kernel
    if stride < 1:
        return None
    for i, (a, b) in enumerate(windows):
        if a != i * stride or b - a != kernel:
            return None
    return kernel, stride


def recipe_guess(size: int, out: int) -> tuple[int, int]:
    """The popular recipe stride = in // out, kernel = in - (out-1)*stride (not always right)."""
    stride = size // out
    return size - (out - 1) * stride, stride


def fixed_layer_for(layer: Layer, input_shape: Sequence[int]) -> Layer | None:
    """The MaxPool/AvgPool layer equal to adaptive ``layer`` on ``input_shape``, or None."""
    n = layer.ndim
    spatial = tuple(input_shape)[-n:]
    pairs = [fixed_equivalent(s, o) for s, o in zip(spatial, adaptive_sizes(layer, spatial),
                                                     strict=True)]
    if any(p is None for p in pairs):
        return None
    kernel = tuple(p[0] for p in pairs)
    stride = tuple(p[1] for p in pairs)
    kind = "MaxPool" if layer.kind == "adaptive_max" else "AvgPool"
    simplify = (lambda t: t[0]) if n == 1 else (lambda t: t)
    return Layer.make(f"{kind}{n}d", kernel_size=simplify(kernel), stride=simplify(stride))
