"""Output shapes of layers and stacks on full (N, C, ...) shapes, as PyTorch gives them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from math import prod

from cardgen.errors import ShapeError
from cardgen.layers import RESAMPLE_KINDS, Layer
from cardgen.solver import arith
from cardgen.solver.resample import resample_shape

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Step:
    """One layer of a trace: its input and output shapes (the formulas that show how are
    written by ``cardgen.explain.sizes.layer_formulas``)."""

    layer: Layer
    input_shape: Shape
    output_shape: Shape


def _split(layer: Layer, shape: Shape) -> tuple[Shape, Shape]:
    """(leading dims, spatial dims); PyTorch takes unbatched (C, ...) or batched (N, C, ...)."""
    n = layer.ndim
    if len(shape) not in (n + 1, n + 2):
        raise ShapeError(f"{layer.type} expects a {n + 1}-D (unbatched) or {n + 2}-D (batched) "
                         f"input, got shape {list(shape)}")
    return shape[:-n], shape[-n:]


def conv_paddings(layer: Layer) -> list[tuple[int, int]]:
    """(left, right) padding of each spatial dim of a Conv layer, resolving 'same'/'valid'
    (the padding read once for every dim)."""
    padding = layer.get("padding")
    kernels = layer.tup("kernel_size")
    if padding == "valid":
        return [(0, 0)] * len(kernels)
    if padding == "same":
        dilation = layer.tup("dilation")
        return [arith.same_padding(k, d) for k, d in zip(kernels, dilation, strict=True)]
    pads = layer.tup("padding")
    return list(zip(pads, pads, strict=True))  # (each pair made in C)


def conv_padding(layer: Layer, dim: int) -> tuple[int, int]:
    """(left, right) padding of one spatial dim of a Conv layer, resolving 'same'/'valid'."""
    if layer.kind == "conv":  # read from the tails kept on the Layer (conv_paddings')
        tail = _tails(layer)[dim]
        return tail[2], tail[4]
    return conv_paddings(layer)[dim]


def pool_stride(layer: Layer) -> tuple[int, ...]:
    """Pool stride defaults to the kernel size."""
    if layer.get("stride") is None:
        return layer.tup("kernel_size")
    return layer.tup("stride")


def adaptive_sizes(layer: Layer, spatial: Shape) -> Shape:
    """output_size with None replaced by the input size along that dim."""
    sizes = layer.tup("output_size")
    if None not in sizes and len(sizes) == len(spatial):
        return sizes  # (no None: the sizes as they are, without a generator)
    return tuple(s if o is None else o for o, s in zip(sizes, spatial, strict=True))


def dim_args(layer: Layer, d: int, size: int) -> tuple[int, ...]:
    """The arguments of ``arith``'s size function for one spatial dim of a Conv,
    ConvTranspose or pool layer (the facts the size writers word)."""
    return (size, *_tails(layer)[d])


def _tails(layer: Layer) -> tuple[tuple[int, ...], ...]:
    """Per spatial dim, `dim_args` less the size: the layer's own, so worked out once per
    Layer object and kept on it (like its text); every step, solution and wrong answer
    asks again."""
    tails = layer.__dict__.get("_dim_tails")
    if tails is None:
        tails = _dim_tails(layer)
        object.__setattr__(layer, "_dim_tails", tails)
    return tails  # type: ignore[no-any-return]


def _dim_tails(layer: Layer) -> tuple[tuple[int, ...], ...]:
    # (each dim's tuple made by zip, in C, not by a generator per Layer: every tup has
    # one entry per spatial dim)
    kind, kernels = layer.kind, layer.tup("kernel_size")
    if kind == "conv":
        lefts, rights = zip(*conv_paddings(layer), strict=True)
        return tuple(zip(kernels, layer.tup("stride"), lefts, layer.tup("dilation"), rights,
                         strict=True))
    if kind == "conv_transpose":
        return tuple(zip(kernels, layer.tup("stride"), layer.tup("padding"),
                         layer.tup("output_padding"), layer.tup("dilation"), strict=True))
    stride, padding = pool_stride(layer), layer.tup("padding")
    dilation = layer.tup("dilation") if kind == "maxpool" else (1,) * len(kernels)
    ceil = bool(layer.get("ceil_mode"))
    return tuple(zip(kernels, stride, padding, dilation, (ceil,) * len(kernels),
                     strict=True))


_SIZE = {"conv": arith.conv_out, "conv_transpose": arith.conv_transpose_out,
         "maxpool": arith.pool_out, "avgpool": arith.pool_out}


def is_adaptive_mean(layer: Layer, shape: Shape) -> bool:
    """AdaptiveAvgPool2d/3d with every output size 1 is a mean over the last 2/3 dims in torch.

    That path skips the 3D-or-4D (4D-or-5D) rank check: any rank from ndim up works; an
    output_size given as a tuple still needs rank > ndim (torch's _list_with_default).
    """
    n = layer.ndim
    sizes = layer.get("output_size")
    if n < 2 or len(shape) < (n + 1 if isinstance(sizes, tuple) else n):
        return False
    return adaptive_sizes(layer, shape[-n:]) == (1,) * n  # (every size 1: no generator)


def layer_step(layer: Layer, shape: Sequence[int]) -> Step:
    """The output shape of one layer on ``shape``; raises ShapeError where PyTorch would."""
    step = _layer_step(layer, tuple(shape))
    if type(step) is str:
        raise ShapeError(step)
    return step


# A build asks for the same step many times (the generator's limit check, the solution,
# its claims, the worked text): a Step is immutable and equal Layers step alike. A refusal
# is kept as its reason: generators test refused configurations again and again.
@lru_cache(maxsize=32768)  # a deck of 10,000 notes over every family takes ~20,000 steps
def _layer_step(layer: Layer, shape: Shape) -> Step | str:
    try:
        return _step(layer, shape)
    except ShapeError as exc:
        return str(exc)


# For hot callers that want a refusal as a value (claims.budget.plan): the Step, or the
# reason layer_step's ShapeError would give.
step_or_reason = _layer_step


def _new_step(layer: Layer, shape: Shape, out: Shape) -> Step:
    """``Step(layer, shape, out)`` with its fields written straight into the new
    instance's dict, not through the frozen dataclass's __init__ (one per distinct step)."""
    step = object.__new__(Step)
    step.__dict__.update(layer=layer, input_shape=shape, output_shape=out)
    return step


def _step(layer: Layer, shape: Shape) -> Step:
    kind = layer.kind
    size_of = _SIZE.get(kind)
    if size_of is not None:
        # conv, conv_transpose and the plain pools (most steps)
        # (_split, _tails and the channels' gets inline: every distinct step comes here)
        n = layer.ndim
        if len(shape) != n + 1 and len(shape) != n + 2:
            _split(layer, shape)  # raises
        lead, spatial = shape[:-n], shape[-n:]
        if kind == "conv" or kind == "conv_transpose":
            params = layer._params  # type: ignore[attr-defined]
            channels = params["in_channels"]
            if lead[-1] != channels:
                raise ShapeError(f"{layer.type} expects {channels} input channels, got "
                                 f"{lead[-1]} (shape {list(shape)})")
            lead = lead[:-1] + (params["out_channels"],)
        tails = layer.__dict__.get("_dim_tails")
        if tails is None:
            tails = _tails(layer)
        # each dim's size_of(size, *tail), in order; 1-d and 2-d layers (most) written
        # out, without the loop's list and steps
        if n == 2:
            first, second = tails
            return _new_step(layer, shape, lead + (size_of(spatial[0], *first),
                                                   size_of(spatial[1], *second)))
        if n == 1:
            return _new_step(layer, shape, lead + (size_of(spatial[0], *tails[0]),))
        sizes = []
        for d, size in enumerate(spatial):
            tail = tails[d]
            if kind == "avgpool" and size < tail[0]:  # (3-d here)
                # avg_pool3d (only the 3d one) checks the unpadded input against the kernel
                raise ShapeError(f"input size {size} is smaller than kernel size {tail[0]}: "
                                 "AvgPool3d needs the unpadded input to hold the kernel")
            sizes.append(size_of(size, *tail))
        return _new_step(layer, shape, lead + tuple(sizes))
    if kind == "flatten":
        rank = max(len(shape), 1)
        start, end = layer.get("start_dim"), layer.get("end_dim")
        for name, v in (("start_dim", start), ("end_dim", end)):
            if not -rank <= v < rank:
                raise ShapeError(f"Flatten: {name}={v} is out of range for a {len(shape)}-D "
                                 f"input (expected [{-rank}, {rank - 1}])")
        s, e = start % rank, end % rank
        if s > e:
            raise ShapeError("Flatten: start_dim cannot come after end_dim")
        out = shape[:s] + (prod(shape[s:e + 1]),) + shape[e + 1:] if shape else (1,)
        return _new_step(layer, shape, out)
    if kind == "linear":
        features = layer.get("in_features")
        if not shape or shape[-1] != features:
            last = shape[-1] if shape else None
            raise ShapeError(f"Linear expects the last dim to be in_features={features}, "
                             f"got {last} (shape {list(shape)})")
        return _new_step(layer, shape, shape[:-1] + (layer.get("out_features"),))
    if kind in RESAMPLE_KINDS:
        return _new_step(layer, shape, resample_shape(layer, shape))
    if kind == "adaptive_avg" and is_adaptive_mean(layer, shape):
        n = layer.ndim
        return _new_step(layer, shape, shape[:-n] + (1,) * n)
    lead, spatial = _split(layer, shape)
    if kind not in ("adaptive_avg", "adaptive_max"):
        raise KeyError(kind)  # no size rule for this kind (MaxUnpool: unpool's own)
    return _new_step(layer, shape, lead + adaptive_sizes(layer, spatial))


def _refused(layer: Layer, reason: str, position: int | None = None) -> ShapeError:
    """The error for a layer that cannot run: its position named in a stack of several."""
    where = str(layer) if position is None else f"layer {position} {layer}"
    return ShapeError(f"{where}: {reason}")


def trace(layers: Sequence[Layer], shape: Sequence[int]) -> list[Step]:
    """Each layer's step in turn; ShapeError names the failing layer's position."""
    steps: list[Step] = []
    current = tuple(shape)
    for i, layer in enumerate(layers):
        step = _layer_step(layer, current)  # layer_step's cache, its refusal as a reason
        if type(step) is str:
            raise _refused(layer, step, i + 1 if len(layers) > 1 else None)
        steps.append(step)
        current = step.output_shape
    return steps


def output_shape(layers: Layer | Sequence[Layer], shape: Sequence[int]) -> Shape:
    if type(layers) is Layer:  # one layer (most calls): its step, as trace takes it
        step = _layer_step(layers, tuple(shape))
        if type(step) is str:
            raise _refused(layers, step)
        return step.output_shape  # type: ignore[union-attr]
    if isinstance(layers, Layer):
        layers = [layers]
    steps = trace(layers, shape)
    return steps[-1].output_shape if steps else tuple(shape)
