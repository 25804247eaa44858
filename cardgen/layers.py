"""The Layer value: a torch.nn class name plus keyword arguments, and a safe parser.

Layer text such as ``nn.Conv2d(3, 64, 7, stride=2, padding=3)`` is parsed with
``ast`` and only literals are accepted; nothing is ever evaluated.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from marshal import dumps as _marshal
from typing import Any, ClassVar

from cardgen.errors import LayerSyntaxError, ShapeError

MAX_TEXT = 2000
MAX_INT = 2**31 - 1

_REQ = object()  # marks a required parameter

# Constructor parameters in torch's positional order, with defaults.
_CONV = [("in_channels", _REQ), ("out_channels", _REQ), ("kernel_size", _REQ), ("stride", 1),
         ("padding", 0), ("dilation", 1), ("groups", 1), ("bias", True),
         ("padding_mode", "zeros")]
_CONVT = [("in_channels", _REQ), ("out_channels", _REQ), ("kernel_size", _REQ), ("stride", 1),
          ("padding", 0), ("output_padding", 0), ("groups", 1), ("bias", True),
          ("dilation", 1), ("padding_mode", "zeros")]
_MAXPOOL = [("kernel_size", _REQ), ("stride", None), ("padding", 0), ("dilation", 1),
            ("return_indices", False), ("ceil_mode", False)]
_AVGPOOL1 = [("kernel_size", _REQ), ("stride", None), ("padding", 0), ("ceil_mode", False),
             ("count_include_pad", True)]
_AVGPOOL = _AVGPOOL1 + [("divisor_override", None)]
_ADAPTIVE_AVG = [("output_size", _REQ)]
_ADAPTIVE_MAX = [("output_size", _REQ), ("return_indices", False)]
_FLATTEN = [("start_dim", 1), ("end_dim", -1)]
_LINEAR = [("in_features", _REQ), ("out_features", _REQ), ("bias", True)]
_MAXUNPOOL = [("kernel_size", _REQ), ("stride", None), ("padding", 0)]
# The resamplers (resample.shape): interpolation, pixel (un)shuffle, unfold/fold, padding.
_UPSAMPLE = [("size", None), ("scale_factor", None), ("mode", "nearest"),
             ("align_corners", None), ("recompute_scale_factor", None)]
_UNFOLD = [("kernel_size", _REQ), ("dilation", 1), ("padding", 0), ("stride", 1)]
_FOLD = [("output_size", _REQ)] + _UNFOLD

KIND_SIGNATURES: dict[str, list[tuple[str, Any]]] = {
    "conv": _CONV, "conv_transpose": _CONVT, "maxpool": _MAXPOOL, "avgpool": _AVGPOOL,
    "adaptive_avg": _ADAPTIVE_AVG, "adaptive_max": _ADAPTIVE_MAX, "flatten": _FLATTEN,
    "linear": _LINEAR, "maxunpool": _MAXUNPOOL,
    "upsample": _UPSAMPLE, "pixel_shuffle": [("upscale_factor", _REQ)],
    "pixel_unshuffle": [("downscale_factor", _REQ)], "unfold": _UNFOLD, "fold": _FOLD,
    "pad_zero": [("padding", _REQ)], "pad_constant": [("padding", _REQ), ("value", _REQ)],
    "pad_reflect": [("padding", _REQ)], "pad_replicate": [("padding", _REQ)],
}

_PREFIX_KIND = {"Conv": "conv", "ConvTranspose": "conv_transpose", "MaxPool": "maxpool",
                "AvgPool": "avgpool", "AdaptiveAvgPool": "adaptive_avg",
                "AdaptiveMaxPool": "adaptive_max"}

# The allow-list: torch.nn class name -> (kind, number of spatial dims).
LAYER_TYPES: dict[str, tuple[str, int]] = {
    f"{prefix}{n}d": (kind, n) for prefix, kind in _PREFIX_KIND.items() for n in (1, 2, 3)
}
LAYER_TYPES["Flatten"] = ("flatten", 0)
LAYER_TYPES["Linear"] = ("linear", 0)
# resample.shape: ndim is the number of spatial dims a layer acts on (Upsample: any)
LAYER_TYPES.update({"Upsample": ("upsample", 0), "PixelShuffle": ("pixel_shuffle", 2),
                    "PixelUnshuffle": ("pixel_unshuffle", 2), "Unfold": ("unfold", 2),
                    "Fold": ("fold", 2)})
PAD_KINDS = {"ZeroPad": "pad_zero", "ConstantPad": "pad_constant",
             "ReflectionPad": "pad_reflect", "ReplicationPad": "pad_replicate"}
LAYER_TYPES.update({f"{prefix}{n}d": (kind, n) for prefix, kind in PAD_KINDS.items()
                    for n in (1, 2, 3)})
RESAMPLE_KINDS = ("upsample", "pixel_shuffle", "pixel_unshuffle", "unfold", "fold",
                  *PAD_KINDS.values())
UPSAMPLE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")

POOL_KINDS = ("maxpool", "avgpool", "adaptive_avg", "adaptive_max")

# MaxUnpool reads a MaxPool's output AND its indices, which no plain stack passes on: its
# types are Layers (validated, printed, built for torch by the `unpool` claim) but not in
# the stack allow-list LAYER_TYPES; ``unpool_layer`` builds them.
UNPOOL_TYPES: dict[str, tuple[str, int]] = {f"MaxUnpool{n}d": ("maxunpool", n)
                                            for n in (1, 2, 3)}
_TYPES = {**LAYER_TYPES, **UNPOOL_TYPES}


def _signature(type_: str) -> list[tuple[str, Any]]:
    if type_ == "AvgPool1d":
        return _AVGPOOL1
    return KIND_SIGNATURES[_TYPES[type_][0]]


# Per type, looked up on every build and every `get` (hot in large builds).
_DEFAULTS: dict[str, dict[str, Any]] = {
    t: {n: (None if d is _REQ else d) for n, d in _signature(t)} for t in _TYPES}
_ORDER: dict[str, dict[str, int]] = {
    t: {n: i for i, (n, _) in enumerate(_signature(t))} for t in _TYPES}
_REQUIRED: dict[str, tuple[str, ...]] = {
    t: tuple(n for n, d in _signature(t) if d is _REQ) for t in _TYPES}
_REQUIRED_NAMES: dict[str, frozenset[str]] = {t: frozenset(r) for t, r in _REQUIRED.items()}
# (name, required) in torch's order: a Layer's text gives the required ones positionally
_SHOWN: dict[str, tuple[tuple[str, bool], ...]] = {
    t: tuple((n, d is _REQ) for n, d in _signature(t)) for t in _TYPES}


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):  # a tuple, not list | tuple: no union made per call
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Layer:
    """One torch.nn layer: class name and the keyword arguments it was given.

    ``args`` holds only what was given (positionals named), tuples for sequences;
    ``get`` fills in torch's defaults.
    """

    type: str
    args: tuple[tuple[str, Any], ...]

    # ``kind`` (conv, maxpool, ...) and ``ndim`` (number of spatial dims, 0 for Flatten
    # and Linear) are plain attributes set with the others below, not properties: every
    # shape step, budget and wrong answer reads them.
    kind: ClassVar[str]
    ndim: ClassVar[int]
    _hash: ClassVar[int | None] = None  # the instance's own, once hashed

    def __post_init__(self) -> None:
        _fill(self.__dict__, self.type, self.args)

    def __hash__(self) -> int:
        # Layers key the build's caches (layer steps, plans, claims): hashed once, not per
        # lookup; the dataclass's own hash, of the same fields, made when first asked
        # (None from the class until then: a new Layer's first hash paid for an
        # AttributeError, and new Layers are made all the time)
        value = self._hash
        if value is None:
            value = self.__dict__["_hash"] = hash((self.type, self.args))
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from its fields, so the cached hash is this process's (str hashes differ
        # between processes)
        return (Layer, (self.type, self.args))

    # make and from_json build Layers only: static, so that a call does not bind a
    # method to the class first (thousands of calls in a build)
    @staticmethod
    def make(type_: str, **kwargs: Any) -> Layer:
        return _build_keywords(type_, kwargs)

    @property
    def kwargs(self) -> dict[str, Any]:
        return self._given.copy()  # type: ignore[attr-defined]

    def get(self, name: str) -> Any:
        return self._params[name]  # type: ignore[attr-defined]

    def tup(self, name: str) -> tuple[Any, ...]:
        """An int-or-tuple argument expanded to one entry per spatial dim."""
        # Asked ~12 times a Layer over every family, of ~4 names: this first call gives
        # the Layer its own tup, a lookup of the names' expansions (_PerDim), each
        # expanded when first asked; a Python call only then
        per_dim = _PerDim()
        per_dim.params, per_dim.ndim = self._params, self.ndim  # type: ignore[attr-defined]
        self.__dict__["tup"] = per_dim.__getitem__
        return per_dim[name]

    def to_json(self) -> dict[str, Any]:
        # (scalars as they are, without a call each: a build writes every claim's layers;
        # a layer without tuples, known once per object, copies its given arguments whole)
        state = self.__dict__
        flat = state.get("_flat")
        if flat is None:
            flat = state["_flat"] = not any(isinstance(v, tuple) for _, v in self.args)
        if flat:
            # (a dict's copy method: a third cheaper than a dict() call on it)
            return {"type": self.type, "args": state["_given"].copy()}
        return {"type": self.type,
                "args": {k: _thaw(v) if isinstance(v, tuple) else v for k, v in self.args}}

    @staticmethod
    def from_json(data: Any) -> Layer:
        # a dict (JSON's objects) told by its type first: Mapping is an ABC, slower to test
        if type(data) is dict:  # (its keys told without making a set)
            if len(data) != 2 or "type" not in data or "args" not in data:
                raise LayerSyntaxError('a layer must be {"type": ..., "args": {...}}')
        elif not isinstance(data, Mapping) or set(data) != {"type", "args"}:
            raise LayerSyntaxError('a layer must be {"type": ..., "args": {...}}')
        args = data["args"]
        if type(args) is dict:  # read, never kept: no copy needed
            return _build_keywords(data["type"], args)
        if not isinstance(args, Mapping):
            raise LayerSyntaxError(f"{data['type']!r}: args must be an object")
        return _build_keywords(data["type"], dict(args))

    def __str__(self) -> str:
        # kept on the instance: a card names its layers in its question, steps and
        # captions (about six times per Layer in a build)
        state = self.__dict__
        text = state.get("_text")
        if text is None:
            given = state["_given"]
            # (a value's repr is _fmt's text: a tuple's has the same parentheses and the
            # comma after a lone item, and a Layer's tuples are plain ones of scalars)
            parts = [repr(given[name]) if required else f"{name}={given[name]!r}"
                     for name, required in _SHOWN[self.type] if name in given]
            text = state["_text"] = f"{self.type}({', '.join(parts)})"
        return text


def _fill(state: dict[str, Any], type_: str, args: tuple[tuple[str, Any], ...]) -> None:
    """A Layer's attributes besides its fields: the given arguments, and every parameter
    with torch's default filled in (read on every shape step; not fields, so not
    compared; never handed out to mutate), its kind and ndim."""
    given = dict(args)
    state["_given"] = given
    state["_params"] = {**_DEFAULTS[type_], **given}
    state["kind"], state["ndim"] = _TYPES[type_]


class _PerDim(dict[str, tuple[Any, ...]]):
    """One Layer's tup: its parameters' values expanded per spatial dim, each worked out
    when first asked and then kept (the Layer's parameters never change)."""

    __slots__ = ("params", "ndim")
    params: dict[str, Any]
    ndim: int

    def __missing__(self, name: str) -> tuple[Any, ...]:
        value = self.params[name]
        if not isinstance(value, tuple):
            value = (value,) * self.ndim
        self[name] = value
        return value  # type: ignore[no-any-return]


def _new_layer(type_: str, args: tuple[tuple[str, Any], ...]) -> Layer:
    """``Layer(type_, args)`` for build_layer's checked arguments: the same attributes,
    written straight into the new instance's dict instead of through the frozen
    dataclass's __init__ and __post_init__ (a build makes thousands)."""
    layer = object.__new__(Layer)
    state = layer.__dict__
    state["type"] = type_
    state["args"] = args
    _fill(state, type_, args)
    return layer


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(_fmt(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_int(type_: str, name: str, v: Any, lo: int) -> None:
    if type(v) is int and lo <= v <= MAX_INT:  # the common case, as the checks below
        return
    if not _is_int(v):
        raise LayerSyntaxError(f"{type_}: {name} must be an integer, got {v!r}")
    if v > MAX_INT:
        raise LayerSyntaxError(f"{type_}: {name}={v} is too large")
    if v < lo:
        raise ShapeError(f"{type_}: {name} must be at least {lo}, got {v}")


def _check_tuple(type_: str, name: str, v: Any, ndim: int, lo: int,
                 allow_none: bool = False) -> None:
    if type(v) is int and lo <= v <= MAX_INT:  # the common case, as _check_int passes it
        return
    items = v if isinstance(v, tuple) else (v,)
    if isinstance(v, tuple) and len(v) != ndim:
        raise LayerSyntaxError(f"{type_}: {name} must be an int or a tuple of {ndim} ints, got "
                               f"{_fmt(v)}")
    for item in items:
        if allow_none and item is None:
            continue
        _check_int(type_, name, item, lo)


_FLAGS = frozenset({"bias", "ceil_mode", "count_include_pad", "return_indices"})


# Per type, the parameters an int passes every check of when it is in [low, MAX_INT]
# (not groups, which the channels must divide; none of the resamplers): a layer given
# only such ints, and flags that are bools (return_indices only False), passes
# `_validate`'s checks (most layers built are such layers).
_INT_LOWS_OF_KIND: dict[str, dict[str, int]] = {
    "conv": {"in_channels": 1, "out_channels": 1, "kernel_size": 1, "stride": 1,
             "dilation": 1, "padding": 0},
    "conv_transpose": {"in_channels": 1, "out_channels": 1, "kernel_size": 1, "stride": 1,
                       "dilation": 1, "padding": 0, "output_padding": 0},
    "maxpool": {"kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1},
    "avgpool": {"kernel_size": 1, "stride": 1, "padding": 0, "divisor_override": 1},
    "maxunpool": {"kernel_size": 1, "stride": 1, "padding": 0},
    "adaptive_avg": {"output_size": 1}, "adaptive_max": {"output_size": 1},
    "flatten": {"start_dim": -MAX_INT, "end_dim": -MAX_INT},
    "linear": {"in_features": 1, "out_features": 0},
}
_INT_LOWS: dict[str, dict[str, int]] = {
    t: _INT_LOWS_OF_KIND[kind] for t, (kind, _) in _TYPES.items() if kind in _INT_LOWS_OF_KIND}


def _plain_ints(type_: str, args: dict[str, Any]) -> bool:
    """Whether `args` are of the layers `_INT_LOWS` describes (so `_validate` passes)."""
    lows = _INT_LOWS.get(type_)
    if lows is None:
        return False
    for name, value in args.items():
        if type(value) is int:
            low = lows.get(name)
            if low is None or not low <= value <= MAX_INT:
                return False
        elif type(value) is not bool or name not in _FLAGS \
                or (value and name == "return_indices"):
            return False
    return True


def _validate(type_: str, args: dict[str, Any]) -> None:
    if not _plain_ints(type_, args):  # (they pass every check: tests/test_layers.py)
        _check_args(type_, args)


def _check_args(type_: str, args: dict[str, Any]) -> None:
    kind, nd = _TYPES[type_]
    if not _FLAGS.isdisjoint(args):  # (most layers are given none)
        for flag in ("bias", "ceil_mode", "count_include_pad", "return_indices"):
            if flag in args and not isinstance(args[flag], bool):
                raise LayerSyntaxError(f"{type_}: {flag} must be True or False, got "
                                       f"{args[flag]!r}")
        if args.get("return_indices"):
            raise LayerSyntaxError(f"{type_}: return_indices=True returns a tuple; not "
                                   "supported")
    if kind in ("conv", "conv_transpose"):
        _check_int(type_, "in_channels", args["in_channels"], 1)
        _check_int(type_, "out_channels", args["out_channels"], 1)
        _check_tuple(type_, "kernel_size", args["kernel_size"], nd, 1)
        _check_tuple(type_, "stride", args.get("stride", 1), nd, 1)
        _check_tuple(type_, "dilation", args.get("dilation", 1), nd, 1)
        groups = args.get("groups", 1)
        _check_int(type_, "groups", groups, 1)
        if args["in_channels"] % groups:
            raise ShapeError(f"{type_}: in_channels must be divisible by groups")
        if args["out_channels"] % groups:
            raise ShapeError(f"{type_}: out_channels must be divisible by groups")
        if args.get("padding_mode", "zeros") != "zeros":
            raise LayerSyntaxError(f"{type_}: only padding_mode='zeros' is supported")
        padding = args.get("padding", 0)
        if kind == "conv" and isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ShapeError(f"{type_}: invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in _as_tuple(args.get("stride", 1), nd)):
                raise ShapeError(f"{type_}: padding='same' is not supported for strided "
                                 "convolutions")
        else:
            _check_tuple(type_, "padding", padding, nd, 0)
        if kind == "conv_transpose":
            _check_tuple(type_, "output_padding", args.get("output_padding", 0), nd, 0)
    elif kind in ("maxpool", "avgpool", "maxunpool"):
        _check_tuple(type_, "kernel_size", args["kernel_size"], nd, 1)
        if args.get("stride") is not None:
            _check_tuple(type_, "stride", args["stride"], nd, 1)
        _check_tuple(type_, "padding", args.get("padding", 0), nd, 0)
        if kind == "maxpool":
            _check_tuple(type_, "dilation", args.get("dilation", 1), nd, 1)
        if args.get("divisor_override") is not None:
            _check_int(type_, "divisor_override", args["divisor_override"], 1)
    elif kind in ("adaptive_avg", "adaptive_max"):
        # torch: None keeps an input dim only inside a 2d/3d tuple; the 1d pools take ints only.
        size = args["output_size"]
        _check_tuple(type_, "output_size", size, nd, 1,
                     allow_none=nd > 1 and isinstance(size, tuple))
    elif kind == "flatten":
        _check_int(type_, "start_dim", args.get("start_dim", 1), -MAX_INT)
        _check_int(type_, "end_dim", args.get("end_dim", -1), -MAX_INT)
    elif kind == "linear":
        _check_int(type_, "in_features", args["in_features"], 1)
        _check_int(type_, "out_features", args["out_features"], 0)
    elif kind in RESAMPLE_KINDS:
        _validate_resample(type_, kind, nd, args)


MAX_SCALE = 1024  # an Upsample scale_factor beyond it makes no card and no sane tensor


def _is_number(v: Any) -> bool:
    return (_is_int(v) and abs(v) <= MAX_INT) or (isinstance(v, float) and math.isfinite(v))


def _validate_resample(type_: str, kind: str, nd: int, args: dict[str, Any]) -> None:
    """Validation of the resamplers. LayerSyntaxError for what cardgen does not take
    (negative pads, which torch reads as crops; unknown modes); ShapeError where torch
    raises (at construction or on any input)."""
    if kind == "upsample":
        size, scale = args.get("size"), args.get("scale_factor")
        if size is not None:
            _check_tuple(type_, "size", size, len(size) if isinstance(size, tuple) else 1,
                         -MAX_INT)
            if isinstance(size, tuple) and not 1 <= len(size) <= 3:
                raise LayerSyntaxError(f"{type_}: size must be an int or 1 to 3 ints")
        if scale is not None:
            items = scale if isinstance(scale, tuple) else (scale,)
            if not 1 <= len(items) <= 3 or not all(_is_number(v) for v in items):
                raise LayerSyntaxError(f"{type_}: scale_factor must be a number or 1 to 3 "
                                       f"numbers, got {_fmt(scale)}")
            if any(abs(v) > MAX_SCALE for v in items):
                raise LayerSyntaxError(f"{type_}: scale_factor above {MAX_SCALE}")
        mode = args.get("mode", "nearest")
        if mode not in UPSAMPLE_MODES:
            raise LayerSyntaxError(f"{type_}: mode must be one of {', '.join(UPSAMPLE_MODES)}"
                                   f", got {mode!r}")
        corners = args.get("align_corners")
        if corners is not None and not isinstance(corners, bool):
            raise LayerSyntaxError(f"{type_}: align_corners must be None, True or False")
        if args.get("recompute_scale_factor") is not None:
            raise LayerSyntaxError(f"{type_}: only recompute_scale_factor=None is supported")
        # torch raises these on any input (in forward)
        if (size is None) == (scale is None) or scale in (0, 0.0):
            raise ShapeError(f"{type_}: give exactly one of size and scale_factor")
        if corners is not None and mode.startswith("nearest"):
            raise ShapeError(f"{type_}: align_corners can only be set with the linear, "
                             "bilinear, bicubic and trilinear modes")
        if any(v <= 0 for v in (size if isinstance(size, tuple) else (size,))
               if v is not None):
            raise ShapeError(f"{type_}: every output size must be at least 1")
        if scale is not None and any(
                v <= 0 for v in (scale if isinstance(scale, tuple) else (scale,))):
            raise ShapeError(f"{type_}: scale_factor must be positive, got {_fmt(scale)}")
    elif kind in ("pixel_shuffle", "pixel_unshuffle"):
        name = "upscale_factor" if kind == "pixel_shuffle" else "downscale_factor"
        _check_int(type_, name, args[name], 1)
    elif kind in ("unfold", "fold"):
        if kind == "fold":
            _check_tuple(type_, "output_size", args["output_size"], nd, 1)
        _check_tuple(type_, "kernel_size", args["kernel_size"], nd, 1)
        _check_tuple(type_, "dilation", args.get("dilation", 1), nd, 1)
        _check_tuple(type_, "padding", args.get("padding", 0), nd, 0)
        _check_tuple(type_, "stride", args.get("stride", 1), nd, 1)
    else:  # the padding modules
        padding = args["padding"]
        items = padding if isinstance(padding, tuple) else (padding,)
        if isinstance(padding, tuple) and len(padding) != 2 * nd:
            raise LayerSyntaxError(f"{type_}: padding must be an int or a tuple of {2 * nd} "
                                   f"ints, got {_fmt(padding)}")
        for v in items:
            if not _is_int(v) or abs(v) > MAX_INT:
                raise LayerSyntaxError(f"{type_}: padding must hold integers, got {v!r}")
            if v < 0:
                raise LayerSyntaxError(f"{type_}: negative padding (a crop) is not supported")
        if kind == "pad_constant" and not _is_number(args["value"]):
            raise LayerSyntaxError(f"{type_}: value must be a number, got {args['value']!r}")


def pad_pairs(layer: Layer) -> tuple[tuple[int, int], ...]:
    """(before, after) padding of each padded dim, first to last spatial dim. torch's
    tuple lists the last dim first: (left, right, top, bottom, front, back)."""
    padding = layer.get("padding")
    n = layer.ndim
    flat = padding if isinstance(padding, tuple) else (padding,) * (2 * n)
    pairs = [(flat[2 * i], flat[2 * i + 1]) for i in range(n)]  # last dim first
    return tuple(reversed(pairs))


def _as_tuple(v: Any, nd: int) -> tuple[Any, ...]:
    return v if isinstance(v, tuple) else (v,) * nd


def build_layer(type_: Any, positional: list[Any], keywords: dict[str, Any],
                allowed: Mapping[str, tuple[str, int]] = LAYER_TYPES) -> Layer:
    """Bind arguments as torch's constructor would, validate, and make a Layer of one of
    the ``allowed`` types (the stack allow-list unless told)."""
    if not isinstance(type_, str) or type_ not in allowed:
        raise LayerSyntaxError(f"unknown layer type {type_!r}; allowed: "
                               + ", ".join(sorted(allowed)))
    sig = _signature(type_)
    order = _ORDER[type_]
    if len(positional) > len(sig):
        raise LayerSyntaxError(f"{type_}() takes at most {len(sig)} positional arguments, "
                               f"got {len(positional)}")
    bound: dict[str, Any] = {}
    for (name, _), value in zip(sig, positional, strict=False):
        bound[name] = _freeze(value)
    for name, value in keywords.items():
        if name not in order:
            raise LayerSyntaxError(f"{type_}() got an unexpected keyword argument {name!r}")
        if name in bound:
            raise LayerSyntaxError(f"{type_}() got multiple values for argument {name!r}")
        # (_freeze only where there is something to freeze: most values are scalars)
        bound[name] = _freeze(value) if isinstance(value, (list, tuple)) else value
    for name in _REQUIRED[type_]:
        if name not in bound:
            raise LayerSyntaxError(f"{type_}() missing required argument {name!r}")
    _validate(type_, bound)
    # in torch's parameter order (every bound name is in `order`, which is that order)
    return _new_layer(type_, tuple([(name, bound[name]) for name in order if name in bound]))


def unpool_layer(data: Any) -> Layer:
    """A MaxUnpool layer from its JSON form ``{"type": "MaxUnpool1d", "args": {...}}``."""
    if not isinstance(data, Mapping) or set(data) != {"type", "args"} \
            or not isinstance(data["args"], Mapping):
        raise LayerSyntaxError('a layer must be {"type": ..., "args": {...}}')
    return build_layer(data["type"], [], dict(data["args"]), UNPOOL_TYPES)


# Generators and solvers make the same layers again and again. A made layer is kept under
# its type and its keywords' marshal form (version 2: each value written as it is, with
# its type, nothing shared), so only keywords equal in value and type find it: True is not
# 1 nor 1.0 (validation tells them apart; a kept layer is exactly what it accepted). The
# form costs less than the keywords' items and a test of their types, and far less than
# their repr (the key where a value was a list: a JSON layer's tuple).
_BUILT: dict[tuple[str, bytes], Layer] = {}
_BUILT_MAX = 8192


def _build_keywords(type_: Any, keywords: dict[str, Any]) -> Layer:
    if not isinstance(type_, str):
        return build_layer(type_, [], keywords)  # refuses it
    try:
        key = (type_, _marshal(keywords, 2))
    except ValueError:  # a value marshal does not write (an int subclass): made each time
        return _keyword_layer(type_, keywords)
    layer = _BUILT.get(key)
    if layer is None:
        layer = _keyword_layer(type_, keywords)
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        _BUILT[key] = layer
    return layer


# A type and its keyword names in the order given -> those names in torch's order, for
# names build_layer binds (a stack type's, none unknown, none required missing). Layers
# come in a few dozen such shapes: each is checked and ordered once, not per new Layer.
_BINDINGS: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
_BINDINGS_MAX = 1024


def _binding(type_: str, names: tuple[str, ...]) -> tuple[str, ...] | None:
    """`names` in torch's order, or None where build_layer refuses them (not kept)."""
    order = _ORDER.get(type_) if type_ in LAYER_TYPES else None
    if order is None or not all(name in order for name in names) \
            or not _REQUIRED_NAMES[type_].issubset(names):
        return None
    ordered = tuple(sorted(names, key=order.__getitem__))
    if len(_BINDINGS) >= _BINDINGS_MAX:
        _BINDINGS.clear()
    _BINDINGS[type_, names] = ordered
    return ordered


def _keyword_layer(type_: str, keywords: dict[str, Any]) -> Layer:
    """``build_layer(type_, [], keywords)``: the same binding, checks and Layer, less what
    keywords alone never need (positionals, a name bound twice). Keywords given in torch's
    order (most are) are that order already, so the arguments are not sorted again.
    Anything build_layer refuses before validation goes to it, for its message."""
    names = tuple(keywords)
    ordered = _BINDINGS.get((type_, names))
    if ordered is None:
        ordered = _binding(type_, names)
        if ordered is None:
            return build_layer(type_, [], keywords)  # refuses the type, a name, or a lack
    if _plain_ints(type_, keywords):
        # ints and bools that pass every check (_validate's shortcut, most new Layers):
        # nothing to freeze, and no tuple for to_json to look for
        layer = _new_layer(type_, tuple(keywords.items()) if ordered == names
                           else tuple([(name, keywords[name]) for name in ordered]))
        layer.__dict__["_flat"] = True
        return layer
    bound = {name: _freeze(value) if isinstance(value, (list, tuple)) else value
             for name, value in keywords.items()}
    _check_args(type_, bound)
    if ordered != names:
        return _new_layer(type_, tuple([(name, bound[name]) for name in ordered]))
    return _new_layer(type_, tuple(bound.items()))


_LITERAL_NODES = (ast.Constant, ast.Tuple, ast.List, ast.UnaryOp, ast.USub, ast.UAdd,
                  ast.Load)


# The only parameters that take floats (Upsample's scale_factor, ConstantPad's value):
# a float anywhere else is refused as a literal, before validation.
FLOAT_PARAMS = frozenset({"scale_factor", "value"})


def _literal(node: ast.AST, text: str, floats: bool = False) -> Any:
    # The common literals, read directly: what the checks and literal_eval below give them
    # (an int, a negative int, a tuple of ints; a bool is no number to negate)
    kind = type(node)
    if kind is ast.Constant and type(node.value) is int:  # type: ignore[attr-defined]
        return node.value  # type: ignore[attr-defined]
    if kind is ast.UnaryOp and type(node.op) is ast.USub \
            and type(node.operand) is ast.Constant \
            and type(node.operand.value) is int:  # type: ignore[attr-defined]
        return -node.operand.value  # type: ignore[attr-defined]
    if kind is ast.Tuple and all(type(e) is ast.Constant and type(e.value) is int
                                 for e in node.elts):  # type: ignore[attr-defined]
        return tuple([e.value for e in node.elts])  # type: ignore[attr-defined]
    allowed = int | float | str | type(None) if floats else int | str | type(None)
    for sub in ast.walk(node):
        if not isinstance(sub, _LITERAL_NODES):
            raise LayerSyntaxError(f"{text!r}: only literal arguments are allowed "
                                   f"(found {type(sub).__name__})")
        if isinstance(sub, ast.UnaryOp) and not isinstance(sub.operand, ast.Constant):
            raise LayerSyntaxError(f"{text!r}: only literal arguments are allowed")
        if isinstance(sub, ast.Constant) and not isinstance(sub.value, allowed):
            raise LayerSyntaxError(f"{text!r}: {sub.value!r} is not an allowed literal")
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise LayerSyntaxError(f"{text!r}: not a literal ({exc})") from None


def parse_layer(text: str) -> Layer:
    """Parse ``Conv2d(3, 64, 7, stride=2)``, optionally prefixed ``nn.`` or ``torch.nn.``."""
    if len(text) > MAX_TEXT:
        raise LayerSyntaxError(f"layer text longer than {MAX_TEXT} characters")
    if "__" in text:
        raise LayerSyntaxError(f"{text!r}: dunder names are not allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise LayerSyntaxError(f"{text!r}: not a layer expression ({exc.__class__.__name__})") \
            from None
    call = tree.body
    if not isinstance(call, ast.Call):
        raise LayerSyntaxError(f"{text!r}: expected a call such as Conv2d(3, 64, 3)")
    chain = []
    func = call.func
    while isinstance(func, ast.Attribute):
        chain.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        raise LayerSyntaxError(f"{text!r}: expected a layer name such as nn.Conv2d")
    chain.append(func.id)
    chain.reverse()
    if chain[:-1] not in ([], ["nn"], ["torch", "nn"]):
        raise LayerSyntaxError(f"{text!r}: only the prefixes nn. and torch.nn. are allowed")
    name = chain[-1]
    if name not in LAYER_TYPES:
        raise LayerSyntaxError(f"{text!r}: unknown layer {name!r}; allowed: "
                               + ", ".join(sorted(LAYER_TYPES)))
    positional = []
    names = [n for n, _ in _signature(name)]
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            raise LayerSyntaxError(f"{text!r}: *args are not allowed")
        floats = i < len(names) and names[i] in FLOAT_PARAMS
        positional.append(_literal(arg, text, floats))
    keywords = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise LayerSyntaxError(f"{text!r}: **kwargs are not allowed")
        keywords[kw.arg] = _literal(kw.value, text, kw.arg in FLOAT_PARAMS)
    try:
        return build_layer(name, positional, keywords)
    except ShapeError as exc:
        raise ShapeError(f"{text}: {exc}") from None


_SHAPE_RE = re.compile(r"^\s*\d+(\s*[,x]\s*\d+)*\s*$")


def parse_shape(text: str) -> tuple[int, ...]:
    """``1,3,224,224`` (or ``1x3x224x224``) -> (1, 3, 224, 224); every dim at least 1."""
    if not _SHAPE_RE.match(text) or len(text) > 200:
        raise LayerSyntaxError(f"--input {text!r}: expected sizes such as 1,3,224,224")
    dims = tuple(int(p) for p in re.split(r"[,x]", text.replace(" ", "")))
    if any(d < 1 or d > MAX_INT for d in dims):
        raise LayerSyntaxError(f"--input {text!r}: every size must be between 1 and {MAX_INT}")
    return dims
