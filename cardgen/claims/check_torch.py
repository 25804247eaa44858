"""The torch backend's machinery: importing torch lazily, building real modules from
checked layers, and running them under an a-priori bound that does not trust the solver.

Each claim kind's torch check (in :mod:`cardgen.claims.kinds`) is written with these.
torch is imported only inside functions: ``import cardgen.claims`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import warnings
from collections.abc import Iterator, Sequence
from math import prod
from typing import Any

from cardgen.claims.limits import (
    MAX_COLUMNS,
    MAX_MACS,
    MAX_TENSOR_ELEMENTS,
    SAFETY_FACTOR,
    TooLarge,
    is_int,
    one_line,
)
from cardgen.claims.parse import Item
from cardgen.layers import LAYER_TYPES, RESAMPLE_KINDS, Layer


@functools.cache
def torch_available() -> bool:
    """True when torch can be imported (the import happens here, once)."""
    if importlib.util.find_spec("torch") is None:
        return False
    try:
        import torch  # noqa: F401
    except Exception:  # a broken install counts as absent
        return False
    return True


def torch_version() -> str | None:
    if not torch_available():
        return None
    import torch

    return str(torch.__version__)


def _ints(v: Any, n: int) -> tuple[int, ...] | None:
    if isinstance(v, tuple):
        if len(v) != n or not all(is_int(x) for x in v):
            return None
        return v
    return (v,) * n if is_int(v) else None


def _loose_bound(item: Item, shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    """A-priori (output elements, work, unfolded columns) of one layer, from its arguments.

    An upper bound that does not trust the solver's validity rules: it guards torch's
    allocation even if the solver were wrong. None when the arguments are too odd to bound.
    """
    kind, n = LAYER_TYPES[item.type]
    args = item.kwargs if isinstance(item, Layer) else item.args
    cells = prod(shape)
    if kind == "flatten":
        return cells, cells, 0
    if kind == "linear":
        fin, fout = args.get("in_features"), args.get("out_features")
        if not (is_int(fin) and is_int(fout)):
            return None
        out = cells // max(shape[-1], 1) * abs(fout)
        return out, out * abs(fin), 0
    if kind in RESAMPLE_KINDS:
        return _resample_bound(kind, n, args, shape)
    if len(shape) < n + 1:
        return cells, cells, 0  # torch refuses the rank before allocating anything
    lead, spatial = shape[:-n], shape[-n:]
    if kind in ("adaptive_avg", "adaptive_max"):
        size = args.get("output_size")
        if isinstance(size, tuple) and len(size) == n:
            outs = tuple(s if o is None else o for o, s in zip(size, spatial, strict=True))
        else:
            outs = (size,) * n
        if not all(is_int(o) for o in outs):
            return None
        outs = tuple(abs(o) for o in outs)
        per = prod(-(-s // max(o, 1)) + 1 for s, o in zip(spatial, outs, strict=True))
        return prod(lead) * prod(outs), prod(lead) * prod(outs) * per, 0
    kernel = _ints(args.get("kernel_size"), n)
    stride_arg = args.get("stride", None if kind in ("maxpool", "avgpool") else 1)
    stride = kernel if stride_arg is None else _ints(stride_arg, n)
    if kernel is None or stride is None:
        return None
    kernel = tuple(abs(k) for k in kernel)
    stride = tuple(max(abs(s), 1) for s in stride)
    dilation = _ints(args.get("dilation", 1), n)
    if dilation is None:
        return None
    dilation = tuple(abs(d) for d in dilation)
    padding_arg = args.get("padding", 0)
    if padding_arg in ("same", "valid"):
        padding = tuple((d * max(k - 1, 0) + 1) // 2 + 1 for k, d in
                        zip(kernel, dilation, strict=True))
    else:
        padding = _ints(padding_arg, n)
        if padding is None:
            return None
        padding = tuple(abs(p) for p in padding)
    if kind == "conv_transpose":
        out_pad = _ints(args.get("output_padding", 0), n)
        cout, cin = args.get("out_channels"), args.get("in_channels")
        if out_pad is None or not (is_int(cout) and is_int(cin)):
            return None
        outs = tuple((s - 1) * st + d * k + abs(op) + 1 for s, st, d, k, op in
                     zip(spatial, stride, dilation, kernel, out_pad, strict=True))
        out = prod(lead[:-1]) * abs(cout) * prod(outs)
        return (out, cells * abs(cout) * max(prod(kernel), 1),
                abs(cout) * prod(kernel) * prod(spatial))
    # PyTorch's own size formula, without its validity checks; ceil mode's extra window.
    outs = tuple(max(s + 2 * p - d * max(k - 1, 0) - 1 + st - 1, 0) // st + 1
                 for s, p, st, d, k in zip(spatial, padding, stride, dilation, kernel,
                                           strict=True))
    if kind == "conv":
        cout, cin = args.get("out_channels"), args.get("in_channels")
        if not (is_int(cout) and is_int(cin)):
            return None
        out = prod(lead[:-1]) * abs(cout) * prod(outs)
        return (out, out * abs(cin) * max(prod(kernel), 1),
                abs(cin) * prod(kernel) * prod(outs))
    out = prod(lead) * prod(outs)  # a pool's window is clipped to the input
    window = prod(min(k, s) for k, s in zip(kernel, spatial, strict=True))
    return out, out * max(window, 1), 0


def _numbers(v: Any, n: int) -> tuple[float, ...] | None:
    items = v if isinstance(v, tuple) else (v,) * n
    if len(items) != n or not all(is_int(x) or isinstance(x, float) for x in items):
        return None
    return tuple(abs(x) for x in items)


def _resample_bound(kind: str, n: int, args: Any, shape: tuple[int, ...]
                    ) -> tuple[int, int, int] | None:
    """An a-priori bound for the resamplers (resample.shape), from their arguments."""
    cells = prod(shape)
    if kind in ("pixel_shuffle", "pixel_unshuffle"):
        return cells, cells, 0  # a permutation of the input
    if kind == "upsample":
        if not 3 <= len(shape) <= 5:
            return cells, cells, 0
        spatial = shape[2:]
        size, scale = args.get("size"), args.get("scale_factor")
        value = size if size is not None else scale
        if value is None or (isinstance(value, tuple) and len(value) != len(spatial)):
            return cells, cells, 0  # torch refuses these before allocating
        given = _numbers(value, len(spatial))
        if given is None:
            return None
        outs = [int(g) if size is not None else int(s * g) + 1
                for s, g in zip(spatial, given, strict=True)]
        out = prod(shape[:2]) * prod(outs)
        return out, out * 64, 0  # bicubic reads 4x4 cells an output
    if kind in ("unfold", "fold"):
        kernel, stride = _ints(args.get("kernel_size"), 2), _ints(args.get("stride", 1), 2)
        padding = _ints(args.get("padding", 0), 2)
        if kernel is None or stride is None or padding is None or len(shape) < 2:
            return None
        area = prod(abs(k) for k in kernel)
        if kind == "fold":
            size = _ints(args.get("output_size"), 2)
            if size is None:
                return None
            out = prod(shape[:-2]) // max(area, 1) * prod(abs(s) + 2 * abs(p) for s, p in
                                                         zip(size, padding, strict=True))
            return out + cells, cells + out, 0
        spatial = shape[-2:]
        count = prod((s + 2 * abs(p)) // max(abs(st), 1) + 1 for s, p, st in
                     zip(spatial, padding, stride, strict=True))
        out = prod(shape[:-2]) * area * count
        return out, out, 0
    # a padding module: every padded dim grows by its two pads
    padding = _ints(args.get("padding"), 2 * n)
    if padding is None or len(shape) < n:
        return None if padding is None else (cells, cells, 0)
    grown = [s + abs(padding[2 * (n - 1 - i)]) + abs(padding[2 * (n - 1 - i) + 1])
             for i, s in enumerate(shape[-n:])]
    out = prod(shape[:-n]) * prod(grown)
    return out, out, 0


def torch_module(item: Item) -> Any:
    import torch

    cls = getattr(torch.nn, item.type)  # item.type is in the allow-list (LAYER_TYPES)
    kwargs = item.kwargs if isinstance(item, Layer) else dict(item.args)
    return cls(**kwargs)


def _guard(item: Item, shape: tuple[int, ...], where: str) -> None:
    bound = _loose_bound(item, shape)
    if bound is None:
        raise TooLarge(f"too large: cannot bound the output of {where} {item}")
    elements, work, columns = bound
    if (elements > SAFETY_FACTOR * MAX_TENSOR_ELEMENTS or work > SAFETY_FACTOR * MAX_MACS
            or columns > SAFETY_FACTOR * MAX_COLUMNS):
        raise TooLarge(f"too large: {where} {item} could give {elements} elements")


def torch_run(items: Sequence[Item], modules: Sequence[Any], x: Any) -> Any:
    """Run layer by layer; torch's exceptions propagate, TooLarge stops before a layer."""
    for i, (item, module) in enumerate(zip(items, modules, strict=True)):
        _guard(item, tuple(x.shape), f"layer {i + 1}")
        x = module(x)
    return x


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """torch.no_grad() and no warnings (e.g. 'same' padding with an even kernel)."""
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def torch_raised(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {one_line(exc, 160)}"
