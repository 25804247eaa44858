"""`framework_same`: a TensorFlow/Keras or ONNX `SAME` conv, and whether a PyTorch conv
computes it.

``{"kind": "framework_same", "layers": [L], "input_shape": [...], "dialect": "SAME_UPPER",
"pads": [[before, after], ...], "output_shape": [...], "equal": false}``

The framework's layer F is the conv `L` (a PyTorch Conv1d/2d/3d: channels, kernel, stride,
groups, bias) with its padding replaced by ONNX's ``auto_pad=dialect`` (TensorFlow/Keras
``padding='same'`` is SAME_UPPER). The claim says that F pads ``pads[i]`` zeros before and
after spatial dim i and maps `input_shape` to `output_shape`, and `equal` says whether `L`
itself, with its own PyTorch padding, computes exactly F (same shape, same values, same
weights) on every input. `layers` is a one-layer stack so that a `unique` claim can range
over L's padding.

Judges: the solver applies the documented rule (cardgen/solver/dialect.py). torch runs
the padding-0 conv on the input zero-padded by `pads` (F as the claim describes it), checks
its shape, and runs `L` with the same weights for `equal`. When onnx and onnxruntime are
installed, torch's backend also runs the real ONNX Conv with `auto_pad` on the same input
and weights and must get F's values: the pads are then the runtime's, not the rule's.
Dilation is refused (ONNX Runtime refuses it with SAME), and so is a kernel shorter than
the stride leaves over (the dialects disagree there).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.build import trusted_layer, trusted_plan
from cardgen.claims.check_onnx import onnxruntime_available, run_node
from cardgen.claims.check_torch import quiet, torch_module, torch_raised, torch_run
from cardgen.claims.kind import ClaimKind
from cardgen.claims.kinds.padding import rule
from cardgen.claims.limits import (
    MAX_GEOMETRY,
    MAX_INPUT_ELEMENTS,
    MAX_TENSOR_ELEMENTS,
    Failed,
    is_int,
)
from cardgen.claims.parse import Item, parse_input_shape, parse_items, parse_output_shape
from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.dialect import DIALECTS, same_out, same_pads, same_total

SEED = 20261203
REL, ABS = 1e-9, 1e-9  # torch against torch, float64
ORT_REL, ORT_ABS = 1e-4, 1e-4  # onnxruntime computes in float32


@dataclass(frozen=True)
class FrameworkSame:
    layers: list[Item]  # one conv (a list: a unique claim substitutes its padding)
    input_shape: tuple[int, ...]
    dialect: str
    pads: tuple[tuple[int, int], ...]
    output_shape: tuple[int, ...]
    equal: bool

    @property
    def layer(self) -> Layer:
        layer = self.layers[0]
        assert isinstance(layer, Layer)
        return layer


def _pads(data: Any, n: int) -> tuple[tuple[int, int], ...]:
    if (not isinstance(data, list) or len(data) != n
            or not all(isinstance(p, list) and len(p) == 2
                       and all(is_int(v) and 0 <= v <= MAX_GEOMETRY for v in p) for p in data)):
        raise Failed(f"pads must list {n} pairs [before, after] between 0 and {MAX_GEOMETRY}, "
                     "one per spatial dim")
    return tuple((p[0], p[1]) for p in data)


def parse(claim: Mapping[str, Any]) -> FrameworkSame:
    layers = parse_items(claim["layers"], "layers")
    if len(layers) != 1:
        raise Failed("framework_same claims hold one layer")
    layer = layers[0]
    assert isinstance(layer, Layer)
    if layer.kind != "conv":
        raise Failed(f"framework_same claims are for Conv layers, not {layer.type}")
    if not isinstance(claim["equal"], bool):
        raise Failed("equal must be true or false")
    shape = parse_input_shape(claim["input_shape"], "input_shape")
    return _in_scope(FrameworkSame(layers, shape, claim["dialect"],
                                   _pads(claim["pads"], layer.ndim),
                                   parse_output_shape(claim["output_shape"], "output_shape"),
                                   claim["equal"]))


def _in_scope(c: FrameworkSame) -> FrameworkSame:
    """What every judge refuses: dilation, an unbatched input, an unknown dialect, and a
    kernel shorter than the stride leaves over (the dialects themselves disagree there)."""
    layer = c.layer
    if set(layer.tup("dilation")) != {1}:
        raise Failed("framework_same claims take no dilation (ONNX Runtime refuses dilation "
                     "with SAME)")
    if len(c.input_shape) != layer.ndim + 2:
        raise Failed(f"framework_same claims need a batched input of {layer.ndim + 2} dims")
    if c.dialect not in DIALECTS:
        raise Failed(f"dialect must be one of {', '.join(DIALECTS)}")
    try:
        for size, k, st in zip(c.input_shape[2:], layer.tup("kernel_size"),
                               layer.tup("stride"), strict=True):
            same_total(size, k, st)
    except ShapeError as exc:
        raise Failed(f"refused: {exc}") from None
    return c


def _bare(layer: Layer) -> Layer:
    return Layer.make(layer.type, **{**layer.kwargs, "padding": 0})


def _padded(c: FrameworkSame) -> tuple[int, ...]:
    n = c.layer.ndim
    return c.input_shape[:-n] + tuple(s + a + b for s, (a, b) in
                                      zip(c.input_shape[-n:], c.pads, strict=True))


def _budget(c: FrameworkSame) -> tuple[int, ...] | None:
    """F's output shape (the padding-0 conv on the padded input), with both runs within
    the limits; L's output shape, or None when L raises on the input."""
    shapes, err, _ = plan([_bare(c.layer)], _padded(c), MAX_INPUT_ELEMENTS,
                          MAX_TENSOR_ELEMENTS)
    if err:
        raise Failed(f"the conv raises on the input padded by {[list(p) for p in c.pads]}: "
                     f"{err}")
    own, err, _ = plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    return None if err else own[-1]


def _rule(c: FrameworkSame) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    """The dialect's pads and output shape, by the documented rule (the solver's)."""
    layer, n = c.layer, c.layer.ndim
    try:
        pads = tuple(same_pads(size, k, s, c.dialect) for size, k, s in zip(
            c.input_shape[-n:], layer.tup("kernel_size"), layer.tup("stride"), strict=True))
    except ShapeError as exc:
        raise Failed(f"refused: {exc}") from None
    outs = tuple(same_out(size, s) for size, s in zip(c.input_shape[-n:], layer.tup("stride"),
                                                      strict=True))
    return pads, (c.input_shape[0], layer.get("out_channels"), *outs)


def _mismatch(what: str, got: Any, claimed: Any) -> Failed:
    return Failed(f"{what}: {got}, claimed {claimed}")


def _check_framework(c: FrameworkSame, pads: Any, out: tuple[int, ...], who: str) -> None:
    if pads != c.pads:
        raise _mismatch(f"{who}: {c.dialect} pads", [list(p) for p in pads],
                        [list(p) for p in c.pads])
    if out != c.output_shape:
        raise _mismatch(f"{who}: {c.dialect} output shape", list(out), list(c.output_shape))


def _claimed_equal(c: FrameworkSame, equal: bool, who: str) -> str:
    if equal != c.equal:
        raise Failed(f"{who}: {c.layer} {'computes' if equal else 'does not compute'} the "
                     f"{c.dialect} conv, claimed the opposite")
    return (f"{c.dialect} pads {[list(p) for p in c.pads]}, output {list(c.output_shape)}; "
            f"{c.layer} {'computes' if equal else 'does not compute'} it")


def _equal_by_rule(c: FrameworkSame, own: tuple[int, ...] | None,
                   pads: tuple[tuple[int, int], ...], out: tuple[int, ...]) -> bool:
    """L computes F when its first window starts where F's does (the same zeros before)
    and it has F's output shape (its last window then ends inside F's padded input)."""
    before, _ = rule(c.layer)
    return own == out and all(a == b for a, (b, _) in zip(before, pads, strict=True))


def check_solver(c: FrameworkSame) -> str:
    own = _budget(c)
    pads, out = _rule(c)
    _check_framework(c, pads, out, "solver")
    return _claimed_equal(c, _equal_by_rule(c, own, pads, out), "solver")


def _onnx(bare: Layer, dialect: str, module: Any, x: Any) -> Any:
    """The real ONNX Conv with auto_pad on x and the module's weights (float32)."""
    attrs = {"auto_pad": dialect, "kernel_shape": list(bare.tup("kernel_size")),
             "strides": list(bare.tup("stride")), "group": bare.get("groups")}
    weights = [module.weight.detach().numpy()]
    if module.bias is not None:
        weights.append(module.bias.detach().numpy())
    return run_node("Conv", attrs, x.numpy(), weights)


@functools.lru_cache(maxsize=64)  # a unique claim's candidates share their reference
def _reference(bare: Layer, shape: tuple[int, ...], dialect: str,
               pads: tuple[tuple[int, int], ...], ort: bool) -> tuple[Any, Any, Any]:
    """(x, weights, y): seeded float32 values, and the padding-0 conv on x zero-padded by
    `pads`, in float64. With `ort`, ONNX Runtime's Conv with auto_pad must give the same
    values on the same input and weights. Failed when torch or the runtime raises or they
    disagree. Callers never change what it returns."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    flat: list[int] = []
    for a, b in reversed(pads):
        flat += [a, b]  # F.pad lists the last dim first
    try:
        torch.manual_seed(SEED)
        plain = torch_module(bare)
        x = torch.randn(shape)  # float32 numbers: the runtime sees the same ones
        state = {k: v.clone() for k, v in plain.state_dict().items()}
        y = torch_run([bare], [plain.double()], F.pad(x.double(), flat))
    except Failed:
        raise
    except Exception as exc:
        raise Failed(f"torch raises: {torch_raised(exc)}") from None
    if ort:
        try:
            got = torch.from_numpy(_onnx(bare, dialect, plain.float(), x)).double()
        except Exception as exc:
            raise Failed(f"onnxruntime raises: {torch_raised(exc)}") from None
        if got.shape != y.shape or not torch.allclose(got, y, rtol=ORT_REL, atol=ORT_ABS):
            raise Failed(f"onnxruntime: Conv with auto_pad={dialect} is not the conv on the "
                         f"input padded by {[list(p) for p in pads]}")
    return x, state, y


def check_torch(c: FrameworkSame) -> str:
    import torch

    _budget(c)
    ort = onnxruntime_available()
    with quiet():
        x, state, y = _reference(_bare(c.layer), c.input_shape, c.dialect, c.pads, ort)
        out, n = tuple(y.shape), c.layer.ndim
        if out[-n:] != tuple(same_out(size, s) for size, s in
                             zip(c.input_shape[-n:], c.layer.tup("stride"), strict=True)):
            raise _mismatch("torch: the conv on the input padded by the claimed pads gives "
                            "another size than ceil(in/s)", list(out), list(c.output_shape))
        reach = tuple((o - 1) * st + k for o, st, k in zip(
            out[-n:], c.layer.tup("stride"), c.layer.tup("kernel_size"), strict=True))
        if reach != _padded(c)[-n:]:  # SAME pads only what its last window reads
            raise _mismatch("torch: the windows reach padded sizes", list(reach),
                            list(_padded(c)[-n:]))
        if ort:  # the runtime's values: its pads are the claimed ones
            who = "onnxruntime"
            _check_framework(c, c.pads, out, who)
        else:  # the split is the documented rule's; torch has checked the sizes
            who = "torch (onnxruntime not installed: the split by the documented rule)"
            _check_framework(c, _rule(c)[0], out, who)
        try:
            module = torch_module(c.layer)
            module.load_state_dict(state)
            mine = torch_run(c.layers, [module.double()], x.double())
            equal = mine.shape == y.shape and bool(torch.allclose(mine, y, rtol=REL, atol=ABS))
        except Failed:
            raise
        except Exception:
            equal = False  # L raises on this input: it computes nothing
    return _claimed_equal(c, equal, who) + ("" if ort else "; onnxruntime not installed")


KIND = ClaimKind("framework_same", frozenset({"kind", "layers", "input_shape", "dialect", "pads",
                                              "output_shape", "equal"}),
                 parse, check_solver, check_torch)


# Not kept per configuration (once_per_configuration): a deck's framework_same claims
# seldom repeat (every10k: 18 of 556 calls), and keeping each claim's form cost more
# than the builds it saved
def framework_same_claim(layer: Layer, input_shape: Sequence[int], dialect: str
                         ) -> dict[str, Any]:
    """The `dialect` SAME conv with `layer`'s kernel, stride and channels on `input_shape`,
    and whether `layer` itself (its own PyTorch padding) computes it. ValueError if verify
    would refuse the claim (dilation, a kernel shorter than the stride's leftover, limits)."""
    trusted_layer(layer, "layers[0]")  # the parser's checks of its values, once per layer
    if layer.kind != "conv":
        raise ValueError(f"cannot build this framework_same claim: it is for Conv layers, "
                         f"not {layer.type}")
    shape = tuple(input_shape)
    try:
        c = _in_scope(FrameworkSame([layer], shape, dialect, (), (), False))
        pads, out = _rule(c)
        c = FrameworkSame(c.layers, shape, dialect, pads, out, False)  # (replace's result)
        bare, err = trusted_plan((_bare(layer),), _padded(c))
        own, own_err = trusted_plan((layer,), shape)
    except Failed as exc:
        raise ValueError(f"cannot build this framework_same claim: {exc}") from None
    if err:
        raise ValueError(f"cannot build this framework_same claim: {err}")
    equal = _equal_by_rule(c, None if own_err else own[-1], pads, out)
    return {"kind": "framework_same", "layers": [layer.to_json()], "input_shape": list(shape),
            "dialect": dialect, "pads": [list(p) for p in pads], "output_shape": list(out),
            "equal": equal}
