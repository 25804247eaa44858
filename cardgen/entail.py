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
from typing import Any

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
    "resample.shape": _forward,
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
