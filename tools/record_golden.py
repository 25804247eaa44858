#!/usr/bin/env python
"""Record golden vectors from PyTorch into ``tests/golden/*.json.gz``.

    python tools/record_golden.py [--out tests/golden] [--seed N] [--only shapes]

The output is deterministic (fixed seed, gzip mtime 0): re-running it with the same
torch gives byte-identical files.

Every answer in these files comes from torch itself, never from cardgen's solver:

- ``shapes.json.gz``: a layer (or a short stack) on an input shape, and torch's
  output shape or the fact that torch refuses (claim kinds ``shape``/``error``).
  A systematic grid per layer type, a seeded random sample (tuples, groups,
  unbatched inputs, wrong ranks, bad arguments), inputs up to 10^6 cells along
  one dim, and random stacks.
- ``windows.json.gz``: pooling windows (dilation 1), measured by running the
  layer on one-hot inputs: output ``i`` reads input cell ``j`` exactly when the
  one-hot at ``j`` reaches output ``i`` (max of a 0/1 tensor, or a positive
  average); the set must be a contiguous range, recorded as ``[start, stop)``.
- ``values.json.gz``: pooling stacks on small random integer tensors, outputs as
  floats (a dilated max pool window that reads only padding gives ``-Infinity``).
- ``params.json.gz``: Conv/ConvTranspose/Linear layers (groups, bias=False, groups
  that do not divide the channels) with torch's ``numel`` of their weight and bias, or
  null counts where torch refuses to build them; and Conv/Linear layers on an input
  with the multiply-adds torch's flop counter counts (2 FLOPs each) on a real forward.
- ``unbatched.json.gz``: one sample without a batch dim and its neighbours (every
  spatial layer on (C, *spatial), channels-last, without the channel dim, batched, one
  dim too many), Flatten's start_dim/end_dim on ranks 1-5, Linear on ranks 1-4, and small
  models on one image ending in Flatten (and Linear); shape and error claims.
- ``transpose_rules.json.gz``: ConvTranspose 1-3d with an explicit output_padding
  around its limit (shape/error), and called with ``output_size=`` (sizes swept around
  the range torch accepts; a stray output_padding of the layer's own sometimes), with
  torch's output shape or null where the call raises.
- ``pool_options.json.gz``: AvgPool (padding counted or not, ceil mode, divisor_override)
  on positive integer inputs, and MaxPool(return_indices=True) then MaxUnpool (with and
  without output_size) with torch's output shape, or null, on a rising and on a
  falling input.
- ``resample.json.gz``: the resamplers (Upsample with float scales and sizes in every
  mode, PixelShuffle/PixelUnshuffle, Unfold/Fold, the Zero/Constant/Reflection/
  Replication pads with asymmetric tuples) and short stacks of them, with torch's
  output shape or the fact that torch refuses, as in ``shapes.json.gz``.
- ``equivalence.json.gz``: adaptive pool vs fixed pool on random float64 input
  (256 random samples in the batch, so a different window cannot pass by
  chance); ``equivalent`` pairs, plus ``equivalence_search`` records listing
  every (kernel, stride) that torch finds equal for a 1-d adaptive pool.
- ``receptive.json.gz``: stacks of Conv/MaxPool/AvgPool 1d/2d (stride, padding,
  dilation, ceil mode) and an output unit, with the input cells it depends on: one
  spike per input cell, the whole batch at once (real max pools, weights 1), and the
  unit changes exactly when the spike reaches it; recorded as the box ``[start, stop)``
  per dim (null when it reaches nothing) and the number of cells.
- ``thumb.json.gz`` (family rules.of_thumb): what torch does where the rules of thumb
  speak: every padding that keeps a stride-1 conv's size, whether a grouped conv builds,
  ceil-mode pooling sizes, and whether the in // out recipe's pool equals the adaptive
  pool.

Configurations whose result depends on torch's CPU backend (ConvTranspose
giving a 0-sized output: oneDNN returns an empty tensor for batched input, the
native kernels and the meta device refuse) are left out and counted in the
file header. The meta device is not used: it skips ConvTranspose's
output_padding check. Design choices of cardgen that differ from torch
(adaptive output_size 0, zero-size inputs, padding_mode, return_indices) are
never generated.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import itertools
import json
import random
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

try:
    import torch
except ImportError as exc:  # one line, not a traceback: this tool needs torch to record
    print(f"record_golden.py: error: torch is needed to record golden vectors "
          f"(pip install torch==2.13.0): {exc}", file=sys.stderr)
    raise SystemExit(2) from None

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

SEED = 20250611
ROOT = Path(__file__).resolve().parent.parent
BIG = 10**6

Json = dict[str, Any]

_skipped: Counter[str] = Counter()


# ---------------------------------------------------------------- running torch

def layer_json(type_: str, **args: Any) -> Json:
    return {"type": type_, "args": {k: list(v) if isinstance(v, tuple) else v
                                    for k, v in args.items()}}


def _module(layer: Json) -> torch.nn.Module:
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in layer["args"].items()}
    return getattr(torch.nn, layer["type"])(**args)


def _run(layers: list[Json], x: torch.Tensor) -> torch.Tensor | None:
    """torch's output, or None when torch refuses (at construction or when run)."""
    try:
        with torch.no_grad():
            for layer in layers:
                x = _module(layer).to(x.dtype)(x)
        return x
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None


def torch_shape(layers: list[Json], shape: list[int]) -> list[int] | None | str:
    """Output shape, None for an error, or "backend" when torch's backends disagree."""
    x = torch.zeros(shape)
    y = _run(layers, x)
    if any(layer["type"].startswith("Conv") for layer in layers):
        with torch.backends.mkldnn.flags(enabled=False):
            y_native = _run(layers, x)
        if (y is None) != (y_native is None) or (y is not None and y.shape != y_native.shape):
            return "backend"
    return None if y is None else list(y.shape)


def shape_claim(layers: list[Json], shape: list[int], source: str) -> Json | None:
    out = torch_shape(layers, shape)
    if out == "backend":
        _skipped[layers[0]["type"]] += 1
        return None
    if out is None:
        return {"kind": "error", "layers": layers, "input_shape": shape, "source": source}
    return {"kind": "shape", "layers": layers, "input_shape": shape, "output_shape": out,
            "source": source}


def shape_claims(configs: list[tuple[str, list[Json], list[int]]]) -> list[Json]:
    """torch's shape or error claim for each (source, layers, shape), in order; the
    backend-dependent ones left out."""
    return [claim for source, layers, shape in configs
            if (claim := shape_claim(layers, shape, source)) is not None]


# ---------------------------------------------------------------- shape grids

def conv_grid() -> list[tuple[list[Json], list[int]]]:
    out = []
    for nd, sizes, ks, pads, dils in ((1, range(1, 11), range(1, 6), [0, 1, 2, 3], [1, 2, 3]),
                                     (2, range(1, 7), range(1, 5), [0, 1, 2], [1, 2]),
                                     (3, range(1, 6), range(1, 4), [0, 1, 2], [1, 2])):
        for n, k, s, p, d in itertools.product(sizes, ks, [1, 2, 3], pads + ["same", "valid"],
                                               dils):
            layer = layer_json(f"Conv{nd}d", in_channels=1, out_channels=2, kernel_size=k,
                               stride=s, padding=p, dilation=d)
            out.append(([layer], [1, 1] + [n] * nd))
    return out


def conv_transpose_grid() -> list[tuple[list[Json], list[int]]]:
    out = []
    for nd, sizes, ks, ops in ((1, range(1, 9), range(1, 5), [0, 1, 2, 3]),
                               (2, range(1, 5), range(1, 4), [0, 1, 2]),
                               (3, range(1, 4), range(1, 4), [0, 1, 2])):
        dils = [1, 2, 3] if nd == 1 else [1, 2]
        for n, k, s, p, op, d in itertools.product(sizes, ks, [1, 2, 3], [0, 1, 2, 3], ops,
                                                   dils):
            layer = layer_json(f"ConvTranspose{nd}d", in_channels=2, out_channels=1,
                               kernel_size=k, stride=s, padding=p, output_padding=op,
                               dilation=d)
            out.append(([layer], [1, 2] + [n] * nd))
    return out


def maxpool_grid() -> list[tuple[list[Json], list[int]]]:
    out = []
    for nd, sizes, ks, pads, dils in ((1, range(1, 11), range(1, 6), [0, 1, 2, 3], [1, 2, 3]),
                                     (2, range(1, 7), range(1, 5), [0, 1, 2], [1, 2]),
                                     (3, range(1, 6), range(1, 5), [0, 1, 2], [1, 2])):
        for n, k, s, p, d, c in itertools.product(sizes, ks, [None, 1, 2, 3], pads, dils,
                                                  [False, True]):
            layer = layer_json(f"MaxPool{nd}d", kernel_size=k, stride=s, padding=p, dilation=d,
                               ceil_mode=c)
            out.append(([layer], [1, 1] + [n] * nd))
    return out


def avgpool_grid() -> list[tuple[list[Json], list[int]]]:
    out = []
    for nd, sizes, ks, pads in ((1, range(1, 11), range(1, 6), [0, 1, 2, 3]),
                                (2, range(1, 7), range(1, 5), [0, 1, 2]),
                                (3, range(1, 6), range(1, 5), [0, 1, 2])):
        divs = [None] if nd == 1 else [None, 3]
        for n, k, s, p, c, cip, div in itertools.product(sizes, ks, [None, 1, 2, 3], pads,
                                                         [False, True], [True, False], divs):
            args: Json = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": c,
                          "count_include_pad": cip}
            if div is not None:
                args["divisor_override"] = div
            out.append(([layer_json(f"AvgPool{nd}d", **args)], [1, 1] + [n] * nd))
    return out


def adaptive_grid() -> list[tuple[list[Json], list[int]]]:
    out = []
    for kind in ("AdaptiveAvgPool", "AdaptiveMaxPool"):
        for n, o in itertools.product(range(1, 21), range(1, 25)):
            out.append(([layer_json(f"{kind}1d", output_size=o)], [1, 1, n]))
        for (h, w), (oh, ow) in itertools.product(
                itertools.product([1, 2, 3, 5, 7, 8], repeat=2),
                itertools.product([None, 1, 2, 3, 4, 6, 9], repeat=2)):
            size = oh if oh == ow and oh is not None else (oh, ow)
            out.append(([layer_json(f"{kind}2d", output_size=size)], [1, 1, h, w]))
        for (d, h, w), os3 in itertools.product([(1, 1, 1), (2, 3, 4), (5, 5, 5), (7, 2, 6)],
                                                itertools.product([None, 1, 2, 3, 5], repeat=3)):
            out.append(([layer_json(f"{kind}3d", output_size=os3)], [1, 1, d, h, w]))
    return out


def rank_grid() -> list[tuple[list[Json], list[int]]]:
    """Every spatial layer on inputs of rank 0 .. ndim+3 (torch's rank rules and fast paths)."""
    out = []
    for type_ in SPATIAL_TYPES:
        nd = int(type_[-2])
        kind = type_[:-2]
        if kind.startswith("Adaptive"):
            forms: list[Any] = [1, 2]
            if nd > 1:
                forms += [[1] * nd, [None] * nd, [None] + [1] * (nd - 1), [2] + [1] * (nd - 1)]
            # None keeps an input dim only inside a 2d/3d tuple; torch refuses it elsewhere
            forms += [None] + ([[None]] if nd == 1 else [])
            layers = [layer_json(type_, output_size=f) for f in forms]
        elif kind in ("Conv", "ConvTranspose"):
            layers = [layer_json(type_, in_channels=1, out_channels=1, kernel_size=1),
                      layer_json(type_, in_channels=1, out_channels=2, kernel_size=2, padding=1)]
        else:
            layers = [layer_json(type_, kernel_size=1),
                      layer_json(type_, kernel_size=2, ceil_mode=True)]
        for layer in layers:
            for rank, fill in itertools.product(range(nd + 4), (1, 3)):
                shape = [1] * max(0, rank - nd) + [fill] * min(rank, nd)
                out.append(([layer], shape))
    return out


def flatten_linear_grid() -> list[tuple[list[Json], list[int]]]:
    out = []
    for rank in range(0, 6):
        shape = [2, 3, 1, 4, 2][:rank]
        for start, end in itertools.product(range(-6, 7), range(-6, 7)):
            out.append(([layer_json("Flatten", start_dim=start, end_dim=end)], shape))
        out.append(([layer_json("Flatten")], shape))
        for fin, fout in itertools.product([1, 2, 3, 4], [0, 1, 5]):
            out.append(([layer_json("Linear", in_features=fin, out_features=fout)], shape))
        out.append(([layer_json("Linear", in_features=4, out_features=3, bias=False)], shape))
    return out


# ---------------------------------------------------------------- random configs

def _int_or_tuple(rng: random.Random, nd: int, lo: int, hi: int) -> Any:
    if nd > 1 and rng.random() < 0.6:
        return [rng.randint(lo, hi) for _ in range(nd)]
    value = rng.randint(lo, hi)
    return [value] if nd == 1 and rng.random() < 0.1 else value


def random_layer(rng: random.Random, type_: str, spatial: list[int],
                 bad: float = 0.05) -> tuple[Json, int]:
    """A random layer of ``type_`` for ``spatial`` and the channel count it expects."""
    nd = len(spatial)
    kind = type_[:-2]
    args: Json
    if kind in ("Conv", "ConvTranspose"):
        groups = rng.choice([1, 1, 1, 2, 3])
        cin, cout = groups * rng.randint(1, 2), groups * rng.randint(1, 2)
        if rng.random() < bad:
            cout += 1
        args = {"in_channels": cin, "out_channels": cout,
                "kernel_size": _int_or_tuple(rng, nd, 0 if rng.random() < bad else 1, 6),
                "stride": _int_or_tuple(rng, nd, 0 if rng.random() < bad else 1, 4),
                "dilation": _int_or_tuple(rng, nd, 1, 3)}
        if groups > 1:
            args["groups"] = groups
        if kind == "Conv":
            args["padding"] = rng.choice([_int_or_tuple(rng, nd, -1 if rng.random() < bad else 0,
                                                        4), "same", "valid"])
            if args["padding"] == "same" and rng.random() < 0.8:
                args["stride"] = 1
        else:
            args["padding"] = _int_or_tuple(rng, nd, 0, 4)
            args["output_padding"] = _int_or_tuple(rng, nd, 0, 3)
        if rng.random() < 0.2:
            args["bias"] = False
        return layer_json(type_, **args), cin
    if kind in ("MaxPool", "AvgPool"):
        args = {"kernel_size": _int_or_tuple(rng, nd, 0 if rng.random() < bad else 1, 6),
                "padding": _int_or_tuple(rng, nd, -1 if rng.random() < bad else 0, 3)}
        if rng.random() < 0.75:
            args["stride"] = _int_or_tuple(rng, nd, 0 if rng.random() < bad else 1, 4)
        if rng.random() < 0.5:
            args["ceil_mode"] = rng.random() < 0.5
        if kind == "MaxPool" and rng.random() < 0.5:
            args["dilation"] = _int_or_tuple(rng, nd, 1, 3)
        if kind == "AvgPool":
            if rng.random() < 0.5:
                args["count_include_pad"] = rng.random() < 0.5
            if nd > 1 and rng.random() < 0.3:
                args["divisor_override"] = rng.randint(1, 7)
        return layer_json(type_, **args), rng.randint(1, 3)
    if kind in ("AdaptiveAvgPool", "AdaptiveMaxPool"):
        def one(size: int) -> int | None:
            if nd > 1 and rng.random() < 0.15:
                return None
            return rng.choice([1, 2, 3, max(1, size // 2), size, size + rng.randint(1, 5),
                               rng.randint(1, 2 * size + 2)])
        sizes = [one(s) for s in spatial]
        output_size: Any = sizes if nd > 1 or rng.random() < 0.3 else sizes[0]
        if nd > 1 and len(set(sizes)) == 1 and sizes[0] is not None and rng.random() < 0.5:
            output_size = sizes[0]
        return layer_json(type_, output_size=output_size), rng.randint(1, 3)
    raise ValueError(type_)


SPATIAL_TYPES = [f"{k}{n}d" for k in ("Conv", "ConvTranspose", "MaxPool", "AvgPool",
                                      "AdaptiveAvgPool", "AdaptiveMaxPool") for n in (1, 2, 3)]


POOL_TYPES = [f"{k}{n}d" for k in ("MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool")
              for n in (1, 2, 3)]


def random_config(rng: random.Random, type_: str, max_size: int = 12
                  ) -> tuple[list[Json], list[int]]:
    if type_ == "Flatten":
        shape = [rng.randint(1, 4) for _ in range(rng.randint(0, 5))]
        args = {}
        if rng.random() < 0.7:
            args["start_dim"] = rng.randint(-6, 5)
        if rng.random() < 0.7:
            args["end_dim"] = rng.randint(-6, 5)
        return [layer_json("Flatten", **args)], shape
    if type_ == "Linear":
        shape = [rng.randint(1, 5) for _ in range(rng.randint(0, 4))]
        fin = shape[-1] if shape and rng.random() < 0.85 else rng.randint(1, 5)
        args = {"in_features": fin, "out_features": rng.randint(0, 6)}
        if rng.random() < 0.3:
            args["bias"] = False
        return [layer_json("Linear", **args)], shape
    nd = int(type_[-2])
    spatial = [rng.randint(1, max_size) for _ in range(nd)]
    layer, channels = random_layer(rng, type_, spatial)
    if rng.random() < 0.04:
        channels += 1
    lead = [rng.randint(1, 3), channels] if rng.random() < 0.7 else [channels]
    shape = lead + spatial
    if rng.random() < 0.03:
        shape = [1] + shape if len(lead) == 2 else shape[1:]
    return [layer], shape


def large_config(rng: random.Random, type_: str) -> tuple[list[Json], list[int]]:
    """One dim up to 10^6 cells, the others tiny, one channel: cheap for torch to run."""
    nd = int(type_[-2])
    spatial = [rng.randint(1, 3) for _ in range(nd)]
    big = rng.randrange(nd)
    spatial[big] = rng.choice([rng.randint(100, 1000), rng.randint(1000, BIG),
                               rng.randint(BIG - 100, BIG)])
    kind = type_[:-2]
    if kind.startswith("Adaptive"):
        size = spatial[big]
        sizes: list[Any] = [rng.randint(1, 3) if i != big else
                            rng.choice([1, 7, size // 3 or 1, size - 1 or 1, size,
                                        min(size + rng.randint(1, 9), BIG),
                                        rng.randint(1, min(BIG, 2 * size))])
                            for i in range(nd)]
        if nd > 1 and rng.random() < 0.2:
            sizes[(big + 1) % nd] = None
        layer = layer_json(type_, output_size=sizes if nd > 1 else sizes[0])
        return [layer], [1, 1] + spatial

    def per_dim(lo: int, hi: int, big_lo: int, big_hi: int) -> Any:
        values = [rng.randint(lo, hi) for _ in range(nd)]
        values[big] = rng.randint(big_lo, big_hi)
        return values[0] if nd == 1 else values

    args: Json
    if kind in ("Conv", "ConvTranspose"):
        args = {"in_channels": 1, "out_channels": 1, "kernel_size": per_dim(1, 1, 1, 9),
                "stride": per_dim(1, 1, 1, 7), "dilation": per_dim(1, 1, 1, 5),
                "padding": per_dim(0, 0, 0, 6)}
        if kind == "ConvTranspose":
            args["output_padding"] = per_dim(0, 0, 0, 3)
        elif rng.random() < 0.15:
            args["padding"] = "same"
            args["stride"] = 1
        return [layer_json(type_, **args)], [1, 1] + spatial
    args = {"kernel_size": per_dim(1, 1, 1, 9), "stride": per_dim(1, 1, 1, 9),
            "padding": per_dim(0, 0, 0, 4), "ceil_mode": rng.random() < 0.5}
    if kind == "MaxPool":
        args["dilation"] = per_dim(1, 1, 1, 4)
    elif rng.random() < 0.5:
        args["count_include_pad"] = False
    return [layer_json(type_, **args)], [1, 1] + spatial


def random_stack(rng: random.Random) -> tuple[list[Json], list[int]]:
    nd = rng.choice([1, 2, 2, 3])
    spatial = [rng.randint(4, 40 if nd < 3 else 12) for _ in range(nd)]
    channels = rng.randint(1, 3)
    shape = [rng.randint(1, 2), channels] + spatial
    layers = []
    for _ in range(rng.randint(2, 4)):
        type_ = rng.choice(["Conv", "Conv", "ConvTranspose", "MaxPool", "AvgPool",
                            "AdaptiveAvgPool", "AdaptiveMaxPool"]) + f"{nd}d"
        layer, cin = random_layer(rng, type_, spatial, bad=0.0)
        if type_.startswith("Conv"):
            args = layer["args"]
            if channels % args.get("groups", 1):  # keep the stack mostly valid
                args.pop("groups")
            args["in_channels"] = channels
            channels = args["out_channels"]
        layers.append(layer)
    if rng.random() < 0.6:
        layers.append(layer_json("Flatten"))
        if rng.random() < 0.8:
            out = torch_shape(layers, shape)
            features = out[-1] if isinstance(out, list) else 5
            if rng.random() < 0.1:
                features += 1
            layers.append(layer_json("Linear", in_features=features, out_features=10))
    return layers, shape


def fitting_pool(rng: random.Random, type_: str, spatial: list[int],
                 dilation: bool = True) -> tuple[Json, int]:
    """A MaxPool/AvgPool that mostly fits ``spatial``: kernel <= size, padding <= kernel/2."""
    nd = len(spatial)
    kernel = [rng.randint(1, min(size, 5)) for size in spatial]
    padding = [rng.randint(0, k // 2) for k in kernel]
    stride = [rng.randint(1, 3) for _ in spatial]

    def pack(values: list[int]) -> Any:
        return values[0] if nd == 1 or len(set(values)) == 1 and rng.random() < 0.5 else values

    args: Json = {"kernel_size": pack(kernel), "padding": pack(padding)}
    if rng.random() < 0.8:
        args["stride"] = pack(stride)
    if rng.random() < 0.6:
        args["ceil_mode"] = rng.random() < 0.6
    if type_.startswith("MaxPool") and dilation and rng.random() < 0.3:
        args["dilation"] = pack([rng.randint(1, 3) for _ in spatial])
    if type_.startswith("AvgPool"):
        if rng.random() < 0.6:
            args["count_include_pad"] = rng.random() < 0.5
        if nd > 1 and rng.random() < 0.3:
            args["divisor_override"] = rng.randint(1, 7)
    return layer_json(type_, **args), rng.randint(1, 3)


# ---------------------------------------------------------------- windows

def torch_windows(layer: Json, shape: list[int]) -> list[list[list[int]]] | None:
    """Per spatial dim, the [start, stop) each output index reads, from one-hot inputs."""
    nd = int(layer["type"][-2])
    spatial = shape[-nd:]
    result = []
    for d, size in enumerate(spatial):
        x = torch.zeros([size, 1] + spatial, dtype=torch.float64)
        for j in range(size):
            index = [j, 0] + [slice(None)] * nd
            index[2 + d] = j
            x[tuple(index)] = 1.0
        y = _run([layer], x)
        if y is None:
            return None
        others = [0] * nd
        windows = []
        for i in range(y.shape[2 + d]):
            others[d] = i
            column = y[(slice(None), 0) + tuple(others)]
            cells = [j for j in range(size) if column[j] > 0]
            if not cells or cells != list(range(cells[0], cells[-1] + 1)):
                raise AssertionError(f"window not contiguous: {layer} {shape} {cells}")
            windows.append([cells[0], cells[-1] + 1])
        result.append(windows)
    return result


def windows_vectors(rng: random.Random) -> list[Json]:
    configs: list[tuple[Json, list[int]]] = []
    for type_ in ("MaxPool1d", "AvgPool1d"):
        for n, k, s, p, c in itertools.product(range(1, 13), range(1, 6), [None, 1, 2, 3, 4],
                                               [0, 1, 2], [False, True]):
            configs.append((layer_json(type_, kernel_size=k, stride=s, padding=p, ceil_mode=c),
                            [1, 1, n]))
    for type_ in ("AdaptiveAvgPool1d", "AdaptiveMaxPool1d"):
        for n, o in itertools.product(range(1, 17), range(1, 21)):
            configs.append((layer_json(type_, output_size=o), [1, 1, n]))
    for type_ in [t for t in POOL_TYPES if not t.endswith("1d")] * 150:
        nd = int(type_[-2])
        spatial = [rng.randint(1, 9 if nd == 2 else 6) for _ in range(nd)]
        if type_.startswith("Adaptive"):
            layer, channels = random_layer(rng, type_, spatial, bad=0.0)
        else:
            layer, channels = fitting_pool(rng, type_, spatial, dilation=False)
        configs.append((layer, [rng.randint(1, 2), channels] + spatial))
    vectors = []
    for layer, shape in configs:
        windows = torch_windows(layer, shape)
        if windows is not None:
            vectors.append({"kind": "windows", "layer": layer, "input_shape": shape,
                            "windows": windows})
    return vectors


# ---------------------------------------------------------------- values

def values_vectors(rng: random.Random, count: int) -> list[Json]:
    vectors = []
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    tries = 0
    while len(vectors) < count:
        tries += 1
        type_ = POOL_TYPES[tries % len(POOL_TYPES)]
        nd = int(type_[-2])
        spatial = [rng.randint(1, {1: 12, 2: 7, 3: 4}[nd]) for _ in range(nd)]
        if type_.startswith("Adaptive") or rng.random() < 0.2:
            layer, channels = random_layer(rng, type_, spatial, bad=0.0)
        else:
            layer, channels = fitting_pool(rng, type_, spatial)
        channels = min(channels, 2)
        shape = ([rng.randint(1, 2)] if rng.random() < 0.7 else []) + [channels] + spatial
        layers = [layer]
        if rng.random() < 0.15:
            second = rng.choice(POOL_TYPES)
            if int(second[-2]) == nd:
                follow, _ = random_layer(rng, second, spatial, bad=0.0)
                layers.append(follow)
        if rng.random() < 0.1:
            layers.append(layer_json("Flatten", start_dim=rng.choice([0, 1, -2])))
        x = torch.randint(-9, 10, shape, generator=gen).to(torch.float64)
        y = _run(layers, x)
        if y is None or y.numel() == 0:
            continue
        vectors.append({"kind": "values", "layers": layers,
                        "input": x.to(torch.int64).tolist(), "output": y.tolist()})
    return vectors


# ---------------------------------------------------------------- equivalence

def _same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    if a is None or b is None or a.shape != b.shape:
        return False
    return bool(torch.allclose(a, b, rtol=1e-9, atol=1e-12))


def torch_equal(layers: list[Json], other: list[Json], shape: list[int],
                gen: torch.Generator) -> bool:
    """Same shape and values on 256 random float64 samples (the batch dim)."""
    x = torch.randn([256] + shape[1:], generator=gen, dtype=torch.float64)
    return _same(_run(layers, x), _run(other, x))


def equivalence_vectors(rng: random.Random) -> list[Json]:
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    vectors: list[Json] = []
    found: dict[tuple[str, int, int], list[list[int]]] = {}
    # exhaustive 1-d search: every (kernel, stride) torch finds equal
    for kind in ("AdaptiveAvgPool", "AdaptiveMaxPool"):
        fixed = kind.replace("Adaptive", "")
        for n in range(1, 15):
            x = torch.randn(256, 1, n, generator=gen, dtype=torch.float64)
            for o in range(1, n + 3):
                adaptive = layer_json(f"{kind}1d", output_size=o)
                y = _run([adaptive], x)
                equal = [[k, s] for k in range(1, n + 1) for s in range(1, n + 2)
                         if _same(y, _run([layer_json(f"{fixed}1d", kernel_size=k, stride=s)],
                                          x))]
                found[(kind, n, o)] = equal
                vectors.append({"kind": "equivalence_search", "layer": adaptive,
                                "input_shape": [1, 1, n], "equal": equal})
    # pairs in 1d/2d/3d: candidate fixed pools from torch's search, the popular recipe
    # (stride = in // out, kernel = in - (out-1)*stride) and kernel = stride = in // out
    for _ in range(900):
        kind = rng.choice(["AdaptiveAvgPool", "AdaptiveMaxPool"])
        nd = rng.choice([1, 2, 2, 3])
        spatial = [rng.randint(1, {1: 14, 2: 14, 3: 7}[nd]) for _ in range(nd)]
        outs = [None if nd > 1 and rng.random() < 0.1 else rng.randint(1, s + 1)
                for s in spatial]
        adaptive = layer_json(f"{kind}{nd}d", output_size=outs if nd > 1 else outs[0])
        real = [s if o is None else o for s, o in zip(spatial, outs, strict=True)]
        candidates = []
        searched = [found.get((kind, s, o)) for s, o in zip(spatial, real, strict=True)]
        if all(searched):
            candidates.append([rng.choice(e) for e in searched])  # type: ignore[arg-type]
        recipe = [[s - (o - 1) * (s // o), s // o] if s >= o else [1, 1]
                  for s, o in zip(spatial, real, strict=True)]
        candidates.append(recipe)
        candidates.append([[max(1, s // o)] * 2 for s, o in zip(spatial, real, strict=True)])
        seen = []
        for cand in candidates:
            if cand in seen:
                continue
            seen.append(cand)
            ks = [k for k, _ in cand]
            ss = [s for _, s in cand]
            fixed = layer_json(f"{kind.replace('Adaptive', '')}{nd}d",
                               kernel_size=ks if nd > 1 else ks[0],
                               stride=ss if nd > 1 else ss[0])
            shape = [1, rng.randint(1, 2)] + spatial
            vectors.append({"kind": "equivalent", "layers": [adaptive], "other": [fixed],
                            "input_shape": shape,
                            "equal": torch_equal([adaptive], [fixed], shape, gen)})
    return vectors


# ---------------------------------------------------------------- params and macs

PARAM_TYPES = [f"{k}{n}d" for k in ("Conv", "ConvTranspose") for n in (1, 2, 3)] + ["Linear"]


def random_param_layer(rng: random.Random, type_: str) -> Json:
    """Channels, groups (sometimes not dividing them), per-dim kernels, bias=False."""
    bias = rng.random() < 0.6
    if type_ == "Linear":
        return layer_json("Linear", in_features=rng.randint(1, 64),
                          out_features=rng.randint(1, 64), bias=bias)
    nd = int(type_[-2])
    g = rng.choice([1, 1, 2, 3, 4, 8])
    if rng.random() < 0.15:  # groups that need not divide the channels: torch refuses
        cin, cout = rng.randint(1, 24), rng.randint(1, 24)
    else:
        cin, cout = g * rng.randint(1, 6), g * rng.randint(1, 6)
    k = [rng.randint(1, 5) for _ in range(nd)]
    kernel: Any = k if rng.random() < 0.5 else k[0]
    args: Json = {"in_channels": cin, "out_channels": cout, "kernel_size": kernel}
    if type_.startswith("Conv") and not type_.startswith("ConvTranspose"):
        args.update(stride=rng.choice([1, 1, 2, 3]), padding=rng.choice([0, 0, 1, 2]))
    return layer_json(type_, groups=g, bias=bias, **args)


def torch_macs(layer: Json, shape: list[int]) -> int | None:
    """Multiply-adds by torch's flop counter (2 FLOPs each) on a real forward; None when
    torch refuses the input."""
    from torch.utils.flop_counter import FlopCounterMode

    try:
        module = _module(layer)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(torch.zeros(shape))
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None
    return counter.get_total_flops() // 2


def params_vectors(rng: random.Random) -> list[Json]:
    vectors: list[Json] = []
    for type_ in PARAM_TYPES * 300:
        layer = random_param_layer(rng, type_)
        try:
            module = _module(layer)
        except (RuntimeError, ValueError, TypeError):
            vectors.append({"kind": "params", "layer": layer, "weights": None, "biases": None})
            continue
        vectors.append({"kind": "params", "layer": layer, "weights": module.weight.numel(),
                        "biases": 0 if module.bias is None else module.bias.numel()})
        if type_.startswith("ConvTranspose"):
            continue  # MACs are counted for Conv and Linear
        if type_ == "Linear":
            shape = [rng.randint(1, 4) for _ in range(rng.randint(0, 2))] + \
                [layer["args"]["in_features"]]
        else:
            shape = [rng.randint(1, 3), layer["args"]["in_channels"]] + \
                [rng.randint(1, 12) for _ in range(int(type_[-2]))]
        macs = torch_macs(layer, shape)
        if macs is not None:
            vectors.append({"kind": "macs", "layer": layer, "input_shape": shape,
                            "macs": macs})
    return vectors


# ---------------------------------------------------------------- receptive fields

def random_rf_layer(rng: random.Random, nd: int) -> Json:
    kind = rng.choice(["Conv", "Conv", "MaxPool", "AvgPool"])
    k = rng.randint(1, 5)
    if kind == "Conv":
        return layer_json(f"Conv{nd}d", in_channels=1, out_channels=1, kernel_size=k,
                          stride=rng.choice([1, 1, 2, 3]), padding=rng.choice([0, 0, 1, 2, k]),
                          dilation=rng.choice([1, 1, 2, 3]), bias=False)
    args: Json = {"kernel_size": k, "stride": rng.choice([None, 1, 2, 3]),
                  "padding": rng.randint(0, k // 2), "ceil_mode": rng.random() < 0.3}
    if kind == "MaxPool":
        args["dilation"] = rng.choice([1, 1, 2])
    return layer_json(f"{kind}{nd}d", **args)


def torch_depends(layers: list[Json], shape: list[int], index: list[int]
                  ) -> tuple[list[list[int] | None], int] | None:
    """(box per dim, cells) that output `index` depends on: a batch with one spike per
    input cell on a base of ones; the unit changes exactly where the spike reaches it."""
    spatial = shape[2:]
    cells = 1
    for s in spatial:
        cells *= s
    x = torch.ones([cells + 1, 1, *spatial], dtype=torch.float64)
    x.view(cells + 1, -1)[torch.arange(1, cells + 1), torch.arange(cells)] = 1e6
    try:
        with torch.no_grad():
            for layer in layers:
                module = _module(layer).double()
                if hasattr(module, "weight"):
                    module.weight.fill_(1.0)
                x = module(x)
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None
    if any(i >= s for i, s in zip(index, x.shape[2:], strict=True)):
        return None
    unit = x[(slice(None), 0, *index)]
    changed = (unit[1:] != unit[0]).reshape(spatial)
    box: list[list[int] | None] = []
    for d in range(len(spatial)):
        other = tuple(e for e in range(len(spatial)) if e != d)
        along = changed.any(dim=other) if other else changed
        found = along.nonzero().flatten().tolist()
        box.append([found[0], found[-1] + 1] if found else None)
    return box, int(changed.sum())


def receptive_vectors(rng: random.Random) -> list[Json]:
    vectors: list[Json] = []
    while len(vectors) < 3000:
        nd = rng.choice([1, 1, 2])
        layers = [random_rf_layer(rng, nd) for _ in range(rng.randint(1, 3))]
        shape = [1, 1] + [rng.randint(4, 40 if nd == 1 else 14) for _ in range(nd)]
        out = _run(layers, torch.zeros(shape))
        if out is None or min(out.shape[2:]) < 1:
            continue
        for _ in range(2):
            index = [rng.randrange(s) for s in out.shape[2:]]
            found = torch_depends(layers, shape, index)
            if found is not None:
                vectors.append({"layers": layers, "input_shape": shape, "output_index": index,
                                "support": found[0], "cells": found[1]})
    return vectors


# ---------------------------------------------------------------- transposed conv rules

TRANSPOSE_TYPES = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


def _backends_agree(layer: Json, shape: list[int], sizes: list[int] | None
                    ) -> tuple[bool, list[int] | None]:
    """(oneDNN and the native kernels agree, torch's output shape or None) for the layer
    on zeros, called with ``output_size=sizes`` when given."""
    outs = []
    for enabled in (True, False):
        with torch.backends.mkldnn.flags(enabled=enabled), torch.no_grad():
            try:
                module = _module(layer)
                x = torch.zeros(shape)
                y = module(x) if sizes is None else module(x, output_size=sizes)
                outs.append(list(y.shape))
            except (RuntimeError, ValueError, TypeError, IndexError):
                outs.append(None)
    return outs[0] == outs[1], outs[0]


def transpose_rules_vectors(rng: random.Random) -> list[Json]:
    """ConvTranspose with an explicit output_padding around its limit (shape/error), and
    called with ``output_size=`` around the sizes it accepts (``output_size`` vectors):
    the lowest size is torch's own output with output_padding 0, the sizes swept from two
    below it to two above lowest + max(stride, dilation)."""
    vectors: list[Json] = []
    for type_ in TRANSPOSE_TYPES * 260:
        nd = int(type_[-2])
        k = _int_or_tuple(rng, nd, 1, 4)
        s = _int_or_tuple(rng, nd, 1, 4)
        d = _int_or_tuple(rng, nd, 1, 4)
        p = rng.randint(0, 2)
        spatial = [rng.randint(1, 7 if nd < 3 else 4) for _ in range(nd)]
        shape = ([1] if rng.random() < 0.8 else []) + [2] + spatial
        plain = layer_json(type_, in_channels=2, out_channels=3, kernel_size=k, stride=s,
                           padding=p, dilation=d)
        agree, low = _backends_agree(plain, shape, None)
        if not agree:
            _skipped[type_] += 1
        if not agree or low is None or min(low[-nd:]) < 1:
            continue  # no output to recover a range from
        ss = s if isinstance(s, list) else [s] * nd
        ds = d if isinstance(d, list) else [d] * nd
        top = max(max(a, b) for a, b in zip(ss, ds, strict=True))
        op = rng.randint(0, top + 1)
        claim = shape_claim([{**plain, "args": {**plain["args"], "output_padding": op}}],
                            shape, "explicit")
        if claim is not None:
            vectors.append(claim)
        if nd == 1:
            sweeps = [[t] for t in range(low[-1] - 2, low[-1] + top + 3)]
        else:
            # mostly inside each dim's range, so whole calls run as often as they raise
            sweeps = [[lo + (rng.randint(0, st - 1) if rng.random() < 0.8
                             else rng.randint(-2, top + 1))
                       for lo, st in zip(low[-nd:], ss, strict=True)] for _ in range(6)]
        stray = rng.random() < 0.2  # the layer's own output_padding, ignored by the call
        layer = {**plain, "args": {**plain["args"], "output_padding": top + 1}} \
            if stray else plain
        for sizes in sweeps:
            if min(sizes) < 0:
                continue
            agree, out = _backends_agree(layer, shape, sizes)
            if not agree:
                _skipped[type_] += 1
                continue
            vectors.append({"kind": "output_size", "layer": layer, "input_shape": shape,
                            "output_size": sizes, "output_shape": out})
    return vectors


# ---------------------------------------------------------------- pooling options

def avg_option_layer(rng: random.Random, nd: int) -> Json:
    """An AvgPool with the options whose divisor cards drill: padding (counted or not),
    ceil mode (a last window past the padded end), divisor_override (2d/3d)."""
    k = [rng.randint(1, 5) for _ in range(nd)]
    args: Json = {"kernel_size": k if rng.random() < 0.4 else k[0]}
    if args["kernel_size"] == k[0]:
        k = [k[0]] * nd
    if rng.random() < 0.8:
        args["stride"] = rng.choice([1, 2, 3, max(k)])
    args["padding"] = [rng.randint(0, x // 2) for x in k] if rng.random() < 0.3 else \
        rng.randint(0, min(k) // 2)
    args["ceil_mode"] = rng.random() < 0.6
    args["count_include_pad"] = rng.random() < 0.5
    if nd > 1 and rng.random() < 0.3:
        args["divisor_override"] = rng.randint(1, 9)
    return layer_json(f"AvgPool{nd}d", **args)


def unpool_once(pool: Json, unpool: Json, shape: list[int], size: list[int] | None,
                sign: int) -> list[int] | None:
    """torch's output shape of unpool(*pool(x), output_size=size) on a rising (sign 1)
    or falling (-1) input, or None when it raises."""
    x = sign * torch.arange(float(torch.Size(shape).numel())).reshape(shape)
    try:
        with torch.no_grad():
            y, indices = _module(pool)(x)
            return list(_module(unpool)(y, indices, output_size=size).shape)
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None


def pool_options_vectors(rng: random.Random) -> list[Json]:
    """AvgPool outputs of positive integer inputs (so each output times its divisor is
    its window's sum), and MaxPool(return_indices=True) + MaxUnpool output shapes on
    rising and falling inputs, with and without output_size."""
    vectors: list[Json] = []
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    for nd in [1, 2, 3] * 1000:
        layer = avg_option_layer(rng, nd)
        spatial = [rng.randint(1, {1: 12, 2: 7, 3: 5}[nd]) for _ in range(nd)]
        x = torch.randint(1, 10, [1, 1] + spatial, generator=gen).to(torch.float64)
        y = _run([layer], x)
        if y is None or y.numel() == 0:
            continue
        vectors.append({"kind": "values", "layers": [layer],
                        "input": x.to(torch.int64).tolist(), "output": y.tolist()})
    for nd in [1, 2, 3] * 1200:
        k = rng.randint(1, 4)
        pool_args: Json = {"kernel_size": k, "padding": rng.randint(0, k // 2),
                           "ceil_mode": rng.random() < 0.3, "return_indices": True}
        if rng.random() < 0.7:
            pool_args["stride"] = rng.randint(1, 3)
        uk = k if rng.random() < 0.6 else rng.randint(1, 4)
        unpool_args: Json = {"kernel_size": uk, "padding": rng.randint(0, 2)}
        if rng.random() < 0.7:
            unpool_args["stride"] = rng.randint(1, 3)
        spatial = [rng.randint(1, {1: 14, 2: 8, 3: 5}[nd]) for _ in range(nd)]
        shape = [rng.randint(1, 2), rng.randint(1, 2)] + spatial
        size = None if rng.random() < 0.35 else [rng.randint(0, 16) for _ in range(nd)]
        if size is not None and rng.random() < 0.1:
            size = shape[:2] + size  # torch also takes the full shape
        pool, unpool = (layer_json(f"MaxPool{nd}d", **pool_args),
                        layer_json(f"MaxUnpool{nd}d", **unpool_args))
        vectors.append({"kind": "unpool", "layers": [pool, unpool], "input_shape": shape,
                        "output_size": size,
                        "rising": unpool_once(pool, unpool, shape, size, 1),
                        "falling": unpool_once(pool, unpool, shape, size, -1)})
    return vectors


# ---------------------------------------------------------------- resamplers

PAD_TYPES = [f"{k}Pad{n}d" for k in ("Zero", "Constant", "Reflection", "Replication")
             for n in (1, 2, 3)]
RESAMPLE_TYPES = ["Upsample", "PixelShuffle", "PixelUnshuffle", "Unfold", "Fold", *PAD_TYPES]
SCALES = [0.1, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 2.0, 0.3]
MODES = ["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"]


def random_upsample(rng: random.Random) -> tuple[Json, list[int]]:
    rank = rng.choice([3, 4, 4, 5, 2, 6]) if rng.random() < 0.1 else rng.choice([3, 4, 4, 5])
    shape = [rng.randint(1, 2), rng.randint(1, 3)] + [rng.randint(1, 12) for _ in range(rank - 2)]
    n = max(rank - 2, 1)
    mode = rng.choice(MODES[:2] * 3 + MODES[2:] + [{3: "linear", 4: "bilinear",
                                                   5: "trilinear"}.get(rank, "nearest")] * 4)
    args: Json = {"mode": mode}
    if mode not in ("nearest", "nearest-exact") and rng.random() < 0.4:
        args["align_corners"] = rng.random() < 0.5
    if rng.random() < 0.35:
        k = n if rng.random() < 0.9 else rng.choice([1, 2, 3])
        sizes = [rng.randint(0 if rng.random() < 0.05 else 1, 20) for _ in range(k)]
        args["size"] = sizes if rng.random() < 0.7 or k > 1 else sizes[0]
    else:
        k = n if rng.random() < 0.9 else rng.choice([1, 2, 3])
        scales = [rng.choice(SCALES) for _ in range(k)]
        args["scale_factor"] = scales if (rng.random() < 0.4 or k > 1) else scales[0]
    return layer_json("Upsample", **args), shape


def random_shuffle(rng: random.Random, type_: str) -> tuple[Json, list[int]]:
    r = rng.choice([1, 2, 2, 3, 4])
    rank = rng.choice([2, 3, 4, 4, 5])
    if type_ == "PixelShuffle":
        c = r * r * rng.randint(1, 4) if rng.random() < 0.7 else rng.randint(1, 20)
        spatial = [rng.randint(1, 8), rng.randint(1, 8)]
        return layer_json(type_, upscale_factor=r), \
            ([rng.randint(1, 2) for _ in range(rank - 3)] + [c] + spatial)[-rank:]
    hw = [r * rng.randint(1, 5) if rng.random() < 0.7 else rng.randint(1, 16) for _ in "hw"]
    return layer_json(type_, downscale_factor=r), \
        ([rng.randint(1, 2) for _ in range(rank - 3)] + [rng.randint(1, 4)] + hw)[-rank:]


def _geometry(rng: random.Random) -> Json:
    args: Json = {"kernel_size": _int_or_tuple(rng, 2, 1, 4)}
    for name, lo, hi in (("stride", 1, 3), ("padding", 0, 2), ("dilation", 1, 2)):
        if rng.random() < 0.5:
            args[name] = _int_or_tuple(rng, 2, lo, hi)
    return args


def _blocks(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def random_unfold(rng: random.Random) -> tuple[Json, list[int]]:
    rank = rng.choice([3, 4, 4, 4, 2, 5]) if rng.random() < 0.1 else rng.choice([3, 4, 4])
    shape = [rng.randint(1, 2), rng.randint(1, 3)] + [rng.randint(1, 12) for _ in range(2)]
    shape = shape[-rank:] if rank <= 4 else shape + [rng.randint(1, 3)]
    return layer_json("Unfold", **_geometry(rng)), shape


def random_fold(rng: random.Random) -> tuple[Json, list[int]]:
    """Mostly an L that matches output_size's block count; sometimes one that does not."""
    args = _geometry(rng)
    out = [rng.randint(1, 12), rng.randint(1, 12)]
    args["output_size"] = out if rng.random() < 0.7 else out[0]
    out = out if isinstance(args["output_size"], list) else [out[0]] * 2

    def per(name: str, default: int) -> list[int]:
        v = args.get(name, default)
        return v if isinstance(v, list) else [v, v]

    k, s, p, d = per("kernel_size", 1), per("stride", 1), per("padding", 0), per("dilation", 1)
    counts = [_blocks(out[i], k[i], s[i], p[i], d[i]) for i in range(2)]
    blocks = max(counts[0], 1) * max(counts[1], 1)
    if rng.random() < 0.2:
        blocks = max(1, blocks + rng.choice([-2, -1, 1, 2]))
    c = rng.randint(1, 3) * k[0] * k[1] if rng.random() < 0.85 else rng.randint(1, 20)
    shape = [rng.randint(1, 2), c, blocks]
    return layer_json("Fold", **args), shape[rng.choice([0, 0, 0, 1]):]


def random_pad(rng: random.Random, type_: str) -> tuple[Json, list[int]]:
    n = int(type_[-2])
    rank = rng.choice([n + 1, n + 2, n + 2]) if rng.random() < 0.85 else rng.randint(1, 6)
    shape = [rng.randint(1, 2)] * max(rank - n - 1, 0) + [rng.randint(1, 3)] + \
        [rng.randint(1, 8) for _ in range(n)]
    shape = shape[-rank:]
    padding: Any = [rng.randint(0, 5) for _ in range(2 * n)]
    if rng.random() < 0.25:
        padding = padding[0]
    args: Json = {"padding": padding}
    if type_.startswith("Constant"):
        args["value"] = rng.choice([0, 1, -1.5, 0.5])
    return layer_json(type_, **args), shape


def random_resample(rng: random.Random, type_: str) -> tuple[list[Json], list[int]]:
    if type_ == "Upsample":
        layer, shape = random_upsample(rng)
    elif type_.startswith("Pixel"):
        layer, shape = random_shuffle(rng, type_)
    elif type_ == "Unfold":
        layer, shape = random_unfold(rng)
    elif type_ == "Fold":
        layer, shape = random_fold(rng)
    else:
        layer, shape = random_pad(rng, type_)
    return [layer], shape


def resample_stack(rng: random.Random) -> tuple[list[Json], list[int]]:
    """Unfold then the Fold that inverts it; pad then conv; upsample then conv; unshuffle
    then shuffle."""
    pick = rng.randrange(4)
    c, h, w = rng.randint(1, 3), rng.randint(2, 12), rng.randint(2, 12)
    if pick == 0:
        geo = _geometry(rng)
        size = [h, w] if rng.random() < 0.9 else [h + 1, w]
        return [layer_json("Unfold", **geo), layer_json("Fold", output_size=size, **geo)], \
            [1, c, h, w]
    if pick == 1:
        pad, _ = random_pad(rng, rng.choice(PAD_TYPES[3:6] + PAD_TYPES[6:9]))
        k = rng.randint(1, 5)
        return [pad, layer_json("Conv2d", in_channels=c, out_channels=2, kernel_size=k,
                                stride=rng.choice([1, 2]))], [1, c, h, w]
    if pick == 2:
        scale = rng.choice([1.5, 2, 0.5, 2.5, 0.75])
        return [layer_json("Upsample", scale_factor=scale),
                layer_json("Conv2d", in_channels=c, out_channels=4, kernel_size=3,
                           padding=rng.choice([0, 1]))], [1, c, h, w]
    r = rng.choice([2, 3])
    return [layer_json("PixelUnshuffle", downscale_factor=r),
            layer_json("PixelShuffle", upscale_factor=rng.choice([r, r, 2]))], \
        [1, c, r * rng.randint(1, 4), r * rng.randint(1, 4) + (rng.random() < 0.1)]


def resample_vectors(rng: random.Random) -> list[Json]:
    configs = [("random", *random_resample(rng, t)) for t in RESAMPLE_TYPES * 400]
    configs += [("stack", *resample_stack(rng)) for _ in range(800)]
    return shape_claims(configs)


# ---------------------------------------------------------------- rules of thumb

def thumb_vectors(rng: random.Random) -> list[Json]:
    """Torch's side of each rule of thumb, on grids that hold both verdicts."""
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    vectors: list[Json] = []
    for k, d, n in itertools.product(range(1, 12), range(1, 4), (7, 8, 16)):
        layer = layer_json("Conv1d", in_channels=1, out_channels=1, kernel_size=k,
                           dilation=d)
        keeps = []
        for p in range(0, d * (k - 1) + 2):
            y = _run([{**layer, "args": {**layer["args"], "padding": p}}], torch.zeros(1, 1, n))
            if y is not None and y.shape[-1] == n:
                keeps.append(p)
        vectors.append({"kind": "same_pad", "layer": layer, "size": n, "keeps": keeps})
    for cin, cout, g in itertools.product((1, 2, 3, 4, 6, 8, 12), repeat=3):
        layer = layer_json("Conv2d", in_channels=cin, out_channels=cout, kernel_size=1,
                           groups=g, bias=False)
        try:
            _module(layer)
            builds = True
        except (RuntimeError, ValueError):
            builds = False
        vectors.append({"kind": "multiple", "layer": layer, "builds": builds})
    for type_ in ("MaxPool1d", "AvgPool1d"):
        for k, s, n in itertools.product(range(1, 6), range(1, 5), range(1, 18)):
            for p in range(0, k // 2 + 1):
                layer = layer_json(type_, kernel_size=k, stride=s, padding=p, ceil_mode=True)
                y = _run([layer], torch.zeros(1, 1, n))
                if y is not None:
                    vectors.append({"kind": "ceil_docs", "layer": layer,
                                    "input_shape": [1, 1, n], "output": y.shape[-1]})
    for kind in ("AdaptiveAvgPool1d", "AdaptiveMaxPool1d"):
        for n in range(2, 30):
            for o in range(1, n + 1):
                s = n // o
                adaptive = layer_json(kind, output_size=o)
                fixed = layer_json(kind.replace("Adaptive", ""), kernel_size=n - (o - 1) * s,
                                   stride=s)
                vectors.append({"kind": "recipe", "layers": [adaptive], "other": [fixed],
                                "input_shape": [1, 1, n],
                                "equal": torch_equal([adaptive], [fixed], [1, 1, n], gen)})
    return vectors


# ---------------------------------------------------------------- main

# Documented examples (README, DESIGN.md, the CLI acceptance test), as Layer.to_json
# spells them; each stack with all its prefixes, so tests can look up every layer's shape.
EXAMPLES: list[tuple[list[Json], list[int]]] = [
    ([layer_json("Conv2d", in_channels=3, out_channels=64, kernel_size=7, stride=2, padding=3),
      layer_json("MaxPool2d", kernel_size=3, stride=2, padding=1),
      layer_json("AdaptiveAvgPool2d", output_size=[None, 7])], [1, 3, 224, 224]),
    ([layer_json("AdaptiveAvgPool1d", output_size=3)], [1, 1, 7]),
    ([layer_json("AdaptiveAvgPool2d", output_size=[5, 7])], [1, 3, 224, 224]),
    ([layer_json("MaxPool2d", kernel_size=3, stride=2, padding=1, ceil_mode=True)],
     [1, 64, 112, 112]),
    ([layer_json("Conv1d", in_channels=1, out_channels=1, kernel_size=5)], [1, 1, 4]),
    ([layer_json("Flatten"), layer_json("Linear", in_features=512, out_features=10)],
     [1, 512, 1, 1]),
]


def shape_vectors(rng: random.Random) -> list[Json]:
    configs: list[tuple[str, list[Json], list[int]]] = []
    for layers, shape in EXAMPLES:
        configs += [("example", layers[:n], shape) for n in range(1, len(layers) + 1)]
    for grid in (conv_grid, conv_transpose_grid, maxpool_grid, avgpool_grid, adaptive_grid,
                 rank_grid, flatten_linear_grid):
        configs += [("grid", layers, shape) for layers, shape in grid()]
    for type_ in SPATIAL_TYPES * 300 + ["Flatten", "Linear"] * 300:
        configs.append(("random", *random_config(rng, type_)))
    for type_ in SPATIAL_TYPES * 60:
        configs.append(("large", *large_config(rng, type_)))
    for _ in range(600):
        configs.append(("stack", *random_stack(rng)))
    return shape_claims(configs)


def unbatched_vectors(rng: random.Random) -> list[Json]:
    """One sample without a batch dim, and its neighbours, with torch's verdict: every
    spatial layer on (C, *spatial), channels-last (*spatial, C), no channel dim, a batch,
    and one dim too many; Flatten's start_dim/end_dim on ranks 1-5; Linear on ranks 1-4;
    small models on one image ending in Flatten (and Linear: fitting the last dim, or
    sized for every value of the sample as a batched model would be)."""
    configs: list[tuple[str, list[Json], list[int]]] = []
    for type_ in SPATIAL_TYPES * 40:
        nd = int(type_[-2])
        spatial = [rng.randint(2, 16 if nd < 3 else 8) for _ in range(nd)]
        layer, cin = random_layer(rng, type_, spatial, bad=0.0)
        c = cin if rng.random() < 0.8 else cin + rng.randint(1, 3)
        n = rng.randint(1, 4)
        for source, shape in (("unbatched", [c, *spatial]), ("channels_last", [*spatial, c]),
                              ("no_channels", list(spatial)), ("batched", [n, c, *spatial]),
                              ("extra_dim", [n, n, c, *spatial])):
            configs.append((source, [layer], shape))
    for _ in range(400):
        rank = rng.randint(1, 5)
        shape = [rng.randint(1, 9) for _ in range(rank)]
        args: Json = {}
        if rng.random() < 0.7:
            args["start_dim"] = rng.randint(-rank - 1, rank)
        if rng.random() < 0.4:
            args["end_dim"] = rng.randint(-rank - 1, rank)
        configs.append(("flatten", [layer_json("Flatten", **args)], shape))
    for _ in range(300):
        shape = [rng.randint(1, 9) for _ in range(rng.randint(1, 4))]
        features = shape[-1] if rng.random() < 0.8 else shape[-1] + rng.randint(1, 3)
        configs.append(("linear", [layer_json("Linear", in_features=features,
                                              out_features=rng.randint(1, 9))], shape))
    for _ in range(500):
        cin, size = rng.choice([1, 3]), rng.randint(6, 32)
        shape = [cin, size, size if rng.random() < 0.7 else rng.randint(6, 32)]
        channels = rng.choice([4, 8, 16])
        layers = [layer_json("Conv2d", in_channels=cin, out_channels=channels,
                             kernel_size=rng.choice([3, 5]), padding=rng.choice([0, 1, 2]))]
        for _ in range(rng.randint(0, 2)):
            layers.append(layer_json(rng.choice(["MaxPool2d", "AvgPool2d"]), kernel_size=2))
        out = torch_shape(layers, shape)
        if not isinstance(out, list):
            continue
        end = rng.random()
        if end < 0.25:  # Linear on the last dim, then Flatten
            layers += [layer_json("Linear", in_features=out[-1], out_features=3),
                       layer_json("Flatten")]
        elif end < 0.4:
            layers.append(layer_json("Flatten", start_dim=0))
        else:
            layers.append(layer_json("Flatten"))
            if end > 0.6:
                fits = rng.random() < 0.5
                features = out[1] * out[2] if fits else out[0] * out[1] * out[2]
                layers.append(layer_json("Linear", in_features=features, out_features=10))
        configs.append(("stack", layers, shape))
    return shape_claims(configs)


# ---------------------------------------------------------------- framework SAME dialects

DIALECT_COUNTS = {1: 600, 2: 300, 3: 60}  # configurations per Conv1d/2d/3d


def _onnx_conv(dialect: str, k: list[int], s: list[int], x: torch.Tensor,
               w: torch.Tensor) -> torch.Tensor:
    sys.path.insert(0, str(ROOT))
    from cardgen.claims.check_onnx import run_node  # builds the graph; judges nothing

    y = run_node("Conv", {"auto_pad": dialect, "kernel_shape": k, "strides": s},
                 x.numpy(), [w.numpy()])
    return torch.from_numpy(y).double()


def dialect_vectors(rng: random.Random) -> list[Json]:
    """`framework_same` claims measured by running ONNX Runtime's Conv with auto_pad: its
    output shape; the zeros before each dim, as the one choice for which torch's conv on
    the input zero-padded that way (after: what the last window reaches) gives ONNX
    Runtime's values on random input and weights; and whether a torch Conv with a random
    symmetric padding gives those values too. Kernels at least the stride (below that the
    dialects disagree and cardgen refuses), no dilation (ONNX Runtime refuses it)."""
    vectors = []
    torch.manual_seed(rng.randrange(2**31))  # the same file with or without --only
    for nd, count in DIALECT_COUNTS.items():
        for _ in range(count):
            dialect = rng.choice(["SAME_UPPER", "SAME_LOWER"])
            s = [rng.randint(1, 4) for _ in range(nd)]
            k = [rng.randint(si, 7) for si in s]
            n = [rng.randint(1, 40 if nd < 3 else 9) for _ in range(nd)]
            if rng.random() < 0.5:  # the same along every dim, as the cards ask
                s, k, n = [s[0]] * nd, [k[0]] * nd, [n[0]] * nd
            x = torch.randn([1, 2, *n])
            w = torch.randn([3, 2, *k])
            y = _onnx_conv(dialect, k, s, x, w)
            outs = list(y.shape[2:])
            found = []
            for before in itertools.product(*(range(kk + 1) for kk in k)):
                after = [(o - 1) * si + kk - ni - b
                         for o, si, kk, ni, b in zip(outs, s, k, n, before, strict=True)]
                if min(after) < 0:
                    continue
                pads = [v for b, a in zip(reversed(before), reversed(after), strict=True)
                        for v in (b, a)]
                got = getattr(torch.nn.functional, f"conv{nd}d")(
                    torch.nn.functional.pad(x.double(), pads), w.double(), stride=s)
                if got.shape == y.shape and torch.allclose(got, y, rtol=1e-4, atol=1e-4):
                    found.append([[b, a] for b, a in zip(before, after, strict=True)])
            if len(found) != 1:
                _skipped["pads not measured"] += 1
                continue
            # half the time the zeros before dim 0 that the runtime was measured to pad
            p = found[0][0][0] if rng.random() < 0.5 else rng.randint(0, 3)
            layer = layer_json(f"Conv{nd}d", in_channels=2, out_channels=3, kernel_size=k,
                               stride=s, padding=p, bias=False)
            module = _module(layer).double()
            module.weight.data.copy_(w.double())
            try:
                mine = module(x.double())
                equal = mine.shape == y.shape and bool(torch.allclose(mine, y, rtol=1e-4,
                                                                      atol=1e-4))
            except RuntimeError:
                equal = False
            vectors.append({"kind": "framework_same", "layers": [layer],
                            "input_shape": [1, 2, *n], "dialect": dialect, "pads": found[0],
                            "output_shape": list(y.shape), "equal": equal})
    return vectors


def write(path: Path, vectors: list[Json], seed: int, what: str) -> None:
    header = {"format": 1, "torch": torch.__version__, "generator": "tools/record_golden.py",
              "seed": seed, "contents": what, "skipped_backend_dependent": dict(_skipped),
              "count": len(vectors)}
    if path.name == "dialect.json.gz":
        import onnxruntime

        header["onnxruntime"] = onnxruntime.__version__
    text = json.dumps({**header, "vectors": vectors}, separators=(",", ":"))
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                 mtime=0, compresslevel=9) as gz:
        gz.write(text.encode())
    print(f"{path}: {len(vectors)} vectors, {path.stat().st_size} bytes", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "golden")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--only", choices=[
        "shapes", "windows", "values", "equivalence", "params", "unbatched", "dialect",
        "receptive", "transpose_rules", "pool_options", "resample", "thumb",
    ])
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)  # weights do not matter for shapes; fixed for determinism
    jobs = {"shapes": (shape_vectors, "shape and error claims"),
            "windows": (windows_vectors, "pooling windows from one-hot inputs"),
            "values": (lambda rng: values_vectors(rng, 2600), "pooling values"),
            "equivalence": (equivalence_vectors, "adaptive vs fixed pools"),
            "params": (params_vectors, "weights, biases and multiply-adds"),
            "unbatched": (unbatched_vectors, "unbatched inputs, ranks, Flatten and Linear"),
            "dialect": (dialect_vectors, "ONNX Runtime's SAME_UPPER/SAME_LOWER Conv"),
            "receptive": (receptive_vectors, "input cells one output unit depends on"),
            "transpose_rules": (transpose_rules_vectors,
                                "ConvTranspose output_padding and output_size= rules"),
            "pool_options": (pool_options_vectors,
                             "AvgPool divisors and MaxPool + MaxUnpool output shapes"),
            "resample": (resample_vectors, "resampler shape and error claims"),
            "thumb": (thumb_vectors, "torch's side of the rules of thumb"),
            }
    if args.only in (None, "dialect") and any(
            importlib.util.find_spec(m) is None for m in ("onnx", "onnxruntime")):
        print("record_golden.py: error: onnx and onnxruntime are needed to record "
              "dialect.json.gz (pip install '.[onnx]')", file=sys.stderr)
        return 2
    for i, (name, (job, what)) in enumerate(jobs.items()):
        if args.only and name != args.only:
            continue
        # every file after the first five was added, and recorded, as the sixth
        rng = random.Random(args.seed * 10 + min(i, 5))
        _skipped.clear()
        write(args.out / f"{name}.json.gz", job(rng), args.seed, what)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
