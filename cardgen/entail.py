"""What a note's claims say its answer is (DESIGN.md §3: the claims entail the answer).

`cardgen verify` checks that every claim holds; this module checks that the claims pin
the typed answer. For each family it reads the answer off the claims (the shape claim's
output, the unique claim's value, the window claim's range, the values claim's numbers),
using the Spec's params only to know which part of the question is asked (an output
index, a cell), never for a fact. A note whose claims do not determine its answer fails,
however true they are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

# (imported here, not in the readers: a reader runs on every rules.of_thumb note's
# mistakes, and an import statement costs about as much as the reading)
from cardgen.errors import CardgenError
from cardgen.layers import Layer
from cardgen.solver.thumb import ceil_docs_out, multiple_rule_builds, recipe_guess, same_pad_rule

Claim = Mapping[str, Any]


class NotEntailed(Exception):
    """The claims do not give this answer (or no answer at all); the message says why."""


def _kinds(claims: Sequence[Any], *names: str) -> list[Claim]:
    return [c for c in claims if isinstance(c, Mapping) and c.get("kind") in names]


def _only(claims: Sequence[Any], *names: str) -> Claim:
    found = _kinds(claims, *names)
    if len(found) != 1:
        raise NotEntailed(f"expected one {' or '.join(names)} claim to give the answer, "
                          f"found {len(found)}")
    return found[0]


def _shape_text(claim: Claim) -> str:
    shape = claim.get("output_shape")
    if not isinstance(shape, list) or not all(isinstance(v, int) for v in shape):
        raise NotEntailed("the shape claim has no output shape")
    return "x".join(map(str, shape))


def _forward(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """One stack on one shape: its output shape, or "error"."""
    claim = _only(claims, "shape", "error")
    return "error" if claim["kind"] == "error" else _shape_text(claim)


def _runs(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    return "no" if _only(claims, "shape", "error")["kind"] == "error" else "yes"


def _unique_values(claim: Claim) -> list[int] | None:
    """The unique claim's answer, in the order of its space (None: no candidate)."""
    answer, space = claim.get("answer"), claim.get("space")
    if answer is None:
        return None
    if not isinstance(answer, Mapping) or not isinstance(space, Mapping) \
            or set(answer) != set(space):
        raise NotEntailed("the unique claim's answer does not name its variables")
    return [answer[name] for name in space]


def _unique(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """The unknown(s) the question asks for, comma-separated; "none" when none works."""
    values = _unique_values(_only(claims, "unique"))
    return "none" if values is None else ",".join(map(str, values))


def _transpose(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    return _unique(params, claims) if _kinds(claims, "unique") else _forward(params, claims)


def _same_padding(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    if _kinds(claims, "unique"):
        return _unique(params, claims)
    claim = _only(claims, "padding")
    left, right = claim.get("left"), claim.get("right")
    if not (isinstance(left, list) and isinstance(right, list) and left
            and len(set(left)) == 1 and len(set(right)) == 1):
        raise NotEntailed("the padding claim does not give one split for every dim")
    return f"{left[0]},{right[0]}"


def _equivalence(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """`reverse`: the output_size that works, or none. Otherwise one unique claim per dim
    over (kernel, stride): "yes k=.. s=.." when every dim has its pair, else "no"."""
    if params.get("q") == "reverse":
        return _unique(params, claims)
    per_dim = _kinds(claims, "unique")
    if not per_dim:
        raise NotEntailed("no unique claims over kernel and stride")
    pairs = []
    for claim in per_dim:
        if set(claim.get("space") or ()) != {"k", "s"}:
            raise NotEntailed("a unique claim here must range over k and s")
        values = _unique_values(claim)
        pairs.append(None if values is None else dict(zip(claim["space"], values,
                                                          strict=True)))
    if any(p is None for p in pairs):
        return "no"
    ks = ",".join(str(p["k"]) for p in pairs if p)
    ss = ",".join(str(p["s"]) for p in pairs if p)
    return f"yes k={ks} s={ss}"


def _windows_of(claim: Claim, dim: int) -> list[tuple[int, int]]:
    try:
        return [(int(a), int(b)) for a, b in claim["windows"][dim]]
    except (KeyError, IndexError, TypeError, ValueError):
        raise NotEntailed(f"the windows claim has no windows for dim {dim}") from None


def _param(params: Mapping[str, Any], key: str) -> Any:
    if key not in params:
        raise NotEntailed(f"params do not say which {key} the question asks about")
    return params[key]


def _windows(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    claim = _only(claims, "windows")
    q = params.get("q")
    try:
        if q == "window2d":
            i, j = _param(params, "index")
            (r0, r1), (c0, c1) = _windows_of(claim, 0)[i], _windows_of(claim, 1)[j]
            return f"{r0}:{r1},{c0}:{c1}"
        wins = _windows_of(claim, 0)
        if q == "window":
            a, b = wins[_param(params, "index")]
            return f"{a}:{b}"
        if q == "lengths":
            return ",".join(str(b - a) for a, b in wins)
        if q == "readers":
            cell = _param(params, "cell")
            return str(sum(a <= cell < b for a, b in wins))
    except (IndexError, TypeError, ValueError):
        raise NotEntailed("the question's index is not among the claimed windows") from None
    raise NotEntailed(f"no rule for the question {q!r}")


def _flat_rows(output: Any) -> list[list[float]]:
    """The values claim's output plane (one batch, one channel) as rows."""
    plane = output
    while isinstance(plane, list) and len(plane) == 1 and isinstance(plane[0], list) \
            and plane[0] and isinstance(plane[0][0], list):
        plane = plane[0]
    if isinstance(plane, list) and plane and not isinstance(plane[0], list):
        plane = [plane]
    if not (isinstance(plane, list) and all(isinstance(r, list) for r in plane)):
        raise NotEntailed("the values claim's output is not a plane of numbers")
    return plane


_FRACTION = re.compile(r"-?\d+(/\d+)?")


def _values_check(answer: str, claims: Sequence[Any]) -> None:
    rows = _flat_rows(_only(claims, "values").get("output"))
    typed = [r.split(",") for r in answer.split(";")]
    if [len(r) for r in typed] != [len(r) for r in rows]:
        raise NotEntailed(f"the answer has {sum(map(len, typed))} values in another layout "
                          "than the claimed output")
    for t_row, c_row in zip(typed, rows, strict=True):
        for text, value in zip(t_row, c_row, strict=True):
            if not _FRACTION.fullmatch(text) or not isinstance(value, int | float):
                raise NotEntailed(f"{text[:20]!r} is not a number the claim can confirm")
            num, _, den = text.partition("/")
            if not math.isclose(int(num) / int(den or 1), value, rel_tol=1e-9, abs_tol=1e-9):
                raise NotEntailed(f"the answer says {text[:20]}, the claimed output {value}")


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise NotEntailed("the claim's count is not an integer")
    return value


def _params(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """MACs: the macs claim's count. Parameters: the params claim's weights plus biases,
    or "error" when it says the layer cannot be built."""
    if params.get("q") == "macs":
        return str(_count(_only(claims, "macs").get("macs")))
    claim = _only(claims, "params")
    if claim.get("weights") is None and claim.get("biases") is None:
        return "error"
    return str(_count(claim.get("weights")) + _count(claim.get("biases")))


def _stack_step(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """A layer of a named network: the shape entering it is the prefix's shape claim (or
    the network's input), and the answer is read from the claim about that layer on it."""
    layers, shape = params["layers"], params["input_shape"]
    ask = params["ask"]
    if ask == "field":  # the input range of the unit the card names, through its layers
        box = [c for c in _kinds(claims, "support") if c.get("layers") == layers
               and c.get("input_shape") == shape and c.get("output_index") == params["index"]]
        if len(box) != 1:
            raise NotEntailed("no support claim is about this unit of these layers")
        return _receptive({"q": "range"}, box)
    entering = shape
    if len(layers) > 1 and ask != "params":
        prefix = [c for c in _kinds(claims, "shape")
                  if c.get("layers") == layers[:-1] and c.get("input_shape") == shape]
        if len(prefix) != 1:
            raise NotEntailed("no shape claim gives the input of the asked layer")
        entering = prefix[0].get("output_shape")
    if ask == "shape":
        steps = [c for c in _kinds(claims, "shape")
                 if c.get("layers") == layers[-1:] and c.get("input_shape") == entering]
        if len(steps) != 1:
            raise NotEntailed("no shape claim runs the asked layer on its input")
        return _shape_text(steps[0])
    if ask == "macs" and _only(claims, "macs").get("input_shape") != entering:
        raise NotEntailed("the macs claim runs the layer on another input")
    layer_claim = _only(claims, "macs" if ask == "macs" else "params")
    if layer_claim.get("layer") != layers[-1]:
        raise NotEntailed("the claim counts another layer")
    return _params({"q": ask}, claims)


def _module(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """A torchvision model's module: the output shape its module claim gives; or the input
    range one of its output units reads, from a support claim on the module claim's
    layers (before and inside it) and image."""
    module = _only(claims, "module")
    if params.get("ask") != "field":
        return _shape_text(module)
    box = [c for c in _kinds(claims, "support")
           if c.get("layers") == module.get("before", []) + module.get("inside", [])
           and c.get("input_shape") == module.get("input_shape")
           and c.get("output_index") == params.get("index")]
    if len(box) != 1:
        raise NotEntailed("no support claim is about this unit of the module's layers")
    return _receptive({"q": "range"}, box)


def _framework_same(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """Which symmetric padding (the unique claim's value or none); else the framework_same
    claim's output size (params q "size") or its one split for every dim."""
    if _kinds(claims, "unique"):
        return _unique(params, claims)
    claim = _only(claims, "framework_same")
    if params.get("q") == "size":
        return "x".join(str(v) for v in claim["output_shape"][2:])
    pads = claim.get("pads")
    if not (isinstance(pads, list) and pads and all(p == pads[0] for p in pads)):
        raise NotEntailed("the framework_same claim does not give one split for every dim")
    return f"{pads[0][0]},{pads[0][1]}"


def _support_width(claim: Claim) -> tuple[int, int]:
    box = claim.get("support")
    if not (isinstance(box, list) and len(box) == 1 and isinstance(box[0], list)):
        raise NotEntailed("a 1-D support claim gives one [start, stop]")
    start, stop = box[0]
    return int(start), int(stop)


def _receptive(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """size: every support claim's width (they must agree: no layer pads); jump: the
    starts of two neighbouring units' fields, apart; range: the one claim's box."""
    found = _kinds(claims, "support")
    q = params.get("q")
    if q == "range":
        box = _only(claims, "support").get("support")
        if not isinstance(box, list) or any(r is None for r in box):
            raise NotEntailed("the support claim gives no range")
        return ",".join(f"{int(a)}:{int(b)}" for a, b in box)
    if len(found) < 2:
        raise NotEntailed("two support claims are needed: one unit says nothing of the rest")
    if q == "size":
        widths = {b - a for a, b in map(_support_width, found)}
        if len(widths) != 1:
            raise NotEntailed("the support claims give fields of different sizes")
        return str(widths.pop())
    if q == "jump":
        (first, _), (second, _) = map(_support_width, found[:2])
        units = [c.get("output_index") for c in found[:2]]
        if len(found) != 2 or units[1][0] - units[0][0] != 1:
            raise NotEntailed("the jump needs the fields of two neighbouring units")
        return str(second - first)
    raise NotEntailed(f"no rule for the question {q!r}")


def _called(claim: Claim) -> tuple[str, str]:
    """What a transpose_output_size claim calls: its layer and input, as one key."""
    return repr(claim.get("layer")), repr(claim.get("input_shape"))


def _no_padding(layer: Claim) -> tuple[Any, dict[str, Any]]:
    """A layer without its output_padding (a call with output_size= ignores it)."""
    args = {k: v for k, v in layer["args"].items() if k != "output_padding"}
    return layer["type"], args


def _transpose_rules(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """conv_transpose.rules. explicit: the shape or error claim. range: the sizes the
    transpose_output_size claims (one layer, one input, 1-D) say run, a contiguous
    lo..hi whose neighbours lo-1 and hi+1 are claimed to raise. picked: "error" when the
    one transpose_output_size claim raises, else the unique claim's output_paddings,
    whose template must give the very shape that claim does."""
    q = params.get("q")
    if q == "explicit":
        return _forward(params, claims)
    calls = _kinds(claims, "transpose_output_size")
    if q == "range":
        if not calls or len({_called(c) for c in calls}) != 1:
            raise NotEntailed("the range needs output_size claims on one layer and input")
        runs = {}
        for c in calls:
            (size,) = c["output_size"]
            runs[int(size)] = c.get("output_shape") is not None
        ok = sorted(t for t, r in runs.items() if r)
        if not ok or ok != list(range(ok[0], ok[-1] + 1)):
            raise NotEntailed("the sizes claimed to run are not one unbroken range")
        if runs.get(ok[0] - 1) is not False or runs.get(ok[-1] + 1) is not False:
            raise NotEntailed("no claim says the sizes just outside the range raise")
        return f"{ok[0]}..{ok[-1]}"
    call = _only(claims, "transpose_output_size")
    if call.get("output_shape") is None:
        return "error"
    unique = _only(claims, "unique")
    inner = unique.get("claim") or {}
    if inner.get("output_shape") != call["output_shape"] \
            or inner.get("input_shape") != call.get("input_shape") \
            or _no_padding(inner["layers"][0]) != _no_padding(call["layer"]):
        raise NotEntailed("the unique claim is about another layer or shape than the call")
    return _unique(params, claims)


def _pool_options(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """unpool: the unpool claim's output shape, or "error" when it says it raises. A
    value: the values claim's output at the asked index, as an exact fraction (every
    divisor is small, so the nearest fraction with a small denominator is exact)."""
    if params.get("q") == "unpool":
        claim = _only(claims, "unpool")
        return "error" if claim.get("output_shape") is None else _shape_text(claim)
    index = _param(params, "index")
    rows = _flat_rows(_only(claims, "values").get("output"))
    value = rows[0][index[0]] if len(index) == 1 else rows[index[0]][index[1]]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotEntailed("the values claim's output is not a number there")
    exact = Fraction(value).limit_denominator(1000)
    if not math.isclose(float(exact), value, rel_tol=1e-9, abs_tol=1e-9):
        raise NotEntailed(f"{value} is not a fraction with a small denominator")
    return str(exact)


def _layer0(claim: Claim, key: str = "layers") -> Any:
    """The first layer of a claim's stack, as cardgen's Layer (its defaults filled in)."""
    try:
        return Layer.from_json(claim[key][0])
    except CardgenError:
        raise NotEntailed(f"the claim's {key} do not hold a layer cardgen builds") from None


def _verdict(holds: bool) -> str:
    return "true" if holds else "false"


def _thumb_same_pad(claims: Sequence[Any]) -> str:
    """The unique claim's p keeps the size of a stride-1 conv (or none does); the rule's
    P = floor((K-1)/2), from that conv's kernel, is right exactly when it is that p."""
    claim = _only(claims, "unique")
    template = claim.get("claim") or {}
    layer = dict(template.get("layers", [{}])[0])
    args = dict(layer.get("args", {}))
    if (template.get("kind") != "shape" or args.get("padding") != {"var": "p"}
            or template.get("output_shape") != template.get("input_shape")
            or args.get("stride", 1) not in (1, [1], [1, 1], [1, 1, 1])):
        raise NotEntailed("the unique claim is not about the padding that keeps the size of "
                          "a stride-1 conv")
    kernels = set(args["kernel_size"] if isinstance(args["kernel_size"], list)
                  else [args["kernel_size"]])
    if len(kernels) != 1:
        raise NotEntailed("the rule takes one kernel size")
    values = _unique_values(claim)
    rule = same_pad_rule(kernels.pop())
    truth = None if values is None else values[0]
    return f"{_verdict(rule == truth)} {'none' if truth is None else truth}"


def _thumb_multiple(claims: Sequence[Any]) -> str:
    """'C_in must be a multiple of C_out' predicts the build; the params claim says whether
    PyTorch builds it, and its parameters."""
    claim = _only(claims, "params")
    args = claim["layer"]["args"]
    built = claim.get("weights") is not None
    rule = multiple_rule_builds(args["in_channels"], args["out_channels"])
    evidence = str(_count(claim["weights"]) + _count(claim["biases"])) if built else "error"
    return f"{_verdict(rule == built)} {evidence}"


def _thumb_divisible(claims: Sequence[Any]) -> str:
    """For in % out != 0 the rule says no fixed pool matches; the unique claim over
    (kernel, stride) says whether one does."""
    claim = _only(claims, "unique")
    template = claim.get("claim") or {}
    if template.get("kind") != "equivalent" or set(claim.get("space") or ()) != {"k", "s"}:
        raise NotEntailed("the unique claim must range over a fixed pool's k and s")
    layer = _layer0(template)
    (out,), size = layer.tup("output_size"), template["input_shape"][-1]
    if not layer.kind.startswith("adaptive") or len(template["input_shape"]) != 3 \
            or size % out == 0:
        raise NotEntailed("the rule speaks of a 1-D adaptive pool with in % out != 0")
    values = _unique_values(claim)
    if values is None:
        return "true"
    pair = dict(zip(claim["space"], values, strict=True))
    return f"false k={pair['k']} s={pair['s']}"


def _thumb_recipe(claims: Sequence[Any]) -> str:
    """The equivalent claim compares the adaptive pool with the recipe's fixed pool (its
    kernel and stride must be the recipe's, per dim); its `equal` is the verdict."""
    claim = _only(claims, "equivalent")
    adaptive, fixed = _layer0(claim), _layer0(claim, "other")
    spatial = claim["input_shape"][-adaptive.ndim:]
    pairs = [recipe_guess(n, o) for n, o in zip(spatial, adaptive.tup("output_size"),
                                                 strict=True)]
    ks, ss = list(fixed.tup("kernel_size")), list(fixed.tup("stride"))
    if (not adaptive.kind.startswith("adaptive") or fixed.kind not in ("maxpool", "avgpool")
            or set(fixed.tup("padding")) != {0} or fixed.get("ceil_mode")
            or [(k, s) for k, s in zip(ks, ss, strict=True)] != pairs):
        raise NotEntailed("the claim's fixed pool is not the recipe's")
    if not isinstance(claim.get("equal"), bool):
        raise NotEntailed("the equivalent claim says neither equal nor not")
    return (f"{_verdict(claim['equal'])} k={','.join(map(str, ks))} "
            f"s={','.join(map(str, ss))}")


def _thumb_ceil(claims: Sequence[Any]) -> str:
    """The docs' ceil formula, from the shape claim's pool, against its output size."""
    claim = _only(claims, "shape")
    layer = _layer0(claim)
    if layer.kind not in ("maxpool", "avgpool") or not layer.get("ceil_mode"):
        raise NotEntailed("the rule speaks of a pool with ceil_mode=True")
    spatial = claim["input_shape"][-layer.ndim:]
    got = claim["output_shape"][-layer.ndim:]
    dil = layer.tup("dilation") if layer.kind == "maxpool" else (1,) * layer.ndim
    stride = layer.tup("stride") if layer.get("stride") is not None else \
        layer.tup("kernel_size")
    docs = [ceil_docs_out(n, k, s, p, d) for n, k, s, p, d in
            zip(spatial, layer.tup("kernel_size"), stride, layer.tup("padding"), dil,
                strict=True)]
    return f"{_verdict(list(got) == docs)} {'x'.join(map(str, got))}"


_THUMB_RULES: dict[str, Callable[[Sequence[Any]], str]] = {
    "same_pad": _thumb_same_pad, "multiple": _thumb_multiple,
    "divisible": _thumb_divisible, "recipe": _thumb_recipe, "ceil_docs": _thumb_ceil,
}


def _rules_of_thumb(params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """rules.of_thumb: params name the rule (which question is asked); the claims give
    both what PyTorch does and the case the rule is applied to."""
    reader = _THUMB_RULES.get(str(params.get("rule")))
    if reader is None:
        raise NotEntailed(f"no reader for the rule {str(params.get('rule'))[:30]!r}")
    return reader(claims)


Deriver = Callable[[Mapping[str, Any], Sequence[Any]], str]

DERIVERS: dict[str, Deriver] = {
    "conv.output_size": _forward,
    "pool.output_size": _forward,
    "adaptive.output_shape": _forward,
    "network.trace": _forward,
    "conv_transpose.output_size": _transpose,
    "conv.validity": _runs,
    "conv.inverse": _unique,
    "conv.same_padding": _same_padding,
    "adaptive.equivalence": _equivalence,
    "adaptive.windows": _windows,
    "conv.params": _params,
    "network.stack": _stack_step,
    "network.models": _module,
    "input.unbatched": _forward,
    "conv.framework_same": _framework_same,
    "network.receptive_field": _receptive,
    "conv_transpose.rules": _transpose_rules,
    "pool.options": _pool_options,
    "resample.shape": _forward,
    "rules.of_thumb": _rules_of_thumb,
}
CHECKED = {"adaptive.values"}  # numbers compared with the claim's tolerance, not derived
FAMILIES = frozenset(DERIVERS) | CHECKED


def check_entailed(spec: Mapping[str, Any]) -> None:
    """Raise NotEntailed unless the Spec's claims give exactly its answer."""
    family, answer = spec.get("family"), spec.get("answer")
    params = spec.get("params") if isinstance(spec.get("params"), Mapping) else {}
    claims = spec.get("claims") if isinstance(spec.get("claims"), list) else []
    if not isinstance(answer, str):
        raise NotEntailed("the Spec has no answer")
    if family in CHECKED:
        try:
            _values_check(answer, claims)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise NotEntailed("the values claim is not shaped as this family's") from None
        return
    derive = DERIVERS.get(family) if isinstance(family, str) else None
    if derive is None:
        raise NotEntailed("no rule derives an answer for this family")
    try:
        derived = derive(params, claims)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        raise NotEntailed("the claims are not shaped as this family's claims") from None
    if derived != answer:
        raise NotEntailed(f"the claims give {derived[:60]}, the answer says {answer[:60]}")
