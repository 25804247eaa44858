"""A difficulty model you can measure (issue 11): features of a solved card, a score, and
the rules a deck must keep.

Features are computed from the Solution (its answer, question and claims: layers, shapes,
windows, values, and ``unique`` claims), not from a family's params, so a generator may
change its params format without breaking them. Where a claim alone cannot say what the
question asks (which parameter of a shape claim is the unknown), one small rule per family
(``FAMILY_RULES``) reads the claims first and params only as a fallback.

Counting model ("steps": one mental arithmetic operation each):

- a conv/pool size along one dim: ``2p`` and ``+2p`` (when p > 0), ``k-1``, ``d(k-1)``
  (when d > 1) and the subtraction (when k > 1), then ``-1``, ``/s`` and ``+1`` when
  s > 1 (with s = 1 the +-1 cancel); ceil mode's last-window rule costs 2 more
  (``(out-1)s`` and the comparison) when ceil adds a window. ``padding='same'`` costs
  nothing (it keeps the size). Identical dims of one layer count once.
- ConvTranspose: ``in-1``, ``x s``, ``2p``, ``-2p``, ``k-1``, ``d(k-1)``, ``+``,
  ``+op``, ``+1``, each only when it is not a no-op.
- adaptive pools copy ``output_size``: no arithmetic. Flatten: one product per extra
  factor > 1. Linear: one comparison (does in_features fit?).
- "does it run?": the padded size (2 ops with padding), the kernel span (up to 3), one
  comparison per dim, one channel comparison; ``padding='same'`` with a stride: one check;
  the checks stop at the first that fails (it already answers "no").
- an inverse problem (a ``unique`` claim, or a family rule): the forward steps of the
  claim with the answer put in, plus one per unknown to isolate it (each forward
  operation is undone once). A null answer (no candidate works) counts the forward work
  of the space's lowest candidate.
- the padding that keeps the size at stride 1 (conv.same_padding): per distinct dim
  ``k-1``, ``d(k-1)`` (when d > 1) and the halving; the size cancels, so it is no operand.
- a comparison counts as a step but adds no operand: checking 2048 == 2048 is no
  arithmetic.
- adaptive windows: a bound ``floor(i*in/out)`` or ``ceil((i+1)*in/out)`` is 2 steps
  (multiply, divide) unless it is 0 or ``in``; one quotient gives both the floor and the
  ceil, so listing all windows costs one bound per window; lengths add one subtraction
  each; equivalence adds, per window, the comparison with the first length and the
  subtraction that checks the start moved by the stride, and stops at the first window
  that breaks the pattern (or, when ``in % out == 0``, just the test and the division).
- values: each output's window sum or max is (cells - 1) steps, an average one more,
  plus the windows (one division when ``in % out == 0``, else two per inner bound).

``largest`` is the largest absolute operand that enters any counted operation.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain, product
from operator import attrgetter
from typing import Any

from cardgen.errors import CardgenError
from cardgen.families.base import Solution
from cardgen.layers import RESAMPLE_KINDS, Layer, pad_pairs, unpool_layer
from cardgen.solver import adaptive_windows, layer_step, pool_windows
from cardgen.solver.arith import ceil_dropped, same_padding
from cardgen.solver.pool_options import avg_divisor, unpool
from cardgen.solver.receptive import Tap, field_rows, fields, tap
from cardgen.solver.shapes import adaptive_sizes, conv_padding, pool_stride

# ---------------------------------------------------------------- features and score


@dataclass(frozen=True)
class Features:
    """What a learner must do to answer one card."""

    family: str
    level: int
    form: str  # shape, error, int, ints, window, yesno, fixed, values
    steps: int  # mental arithmetic operations (see the module doc)
    largest: int  # largest absolute operand of those operations
    typed: int  # values to type (a word such as yes/no/error counts as one)
    per_output: int  # values cards: most cells summed or compared for one output, else 0
    small_inputs: bool  # values cards: every input an integer with |x| <= SMALL_INT
    fractions: int  # typed values that are fractions
    averages: bool  # values cards: an average (sum then divide), not a max
    giveaway: bool  # the answer is a copy of the question (see is_copy_of_question)
    yes_no: bool
    signature: tuple[Any, ...]

    @property
    def score(self) -> float:
        return score(self)


# Weights of the score, and why:
# - one unit per mental step: the work itself;
# - half a unit per extra typed value: each is one more chance to slip, but copying a
#   worked value is easier than working it;
# - half a unit per doubling of the largest operand (log2): 7 + 2 and 224 + 6 are one
#   step each, but the larger one is slower and easier to get wrong, by about that much;
# - a giveaway needs no step and no operand: only the typing counts;
# - a yes/no card is halved: a guess is right half the time, so the same work earns half
#   the credit of a card whose answer is a number.
STEP_WEIGHT = 1.0
TYPED_WEIGHT = 0.5
OPERAND_WEIGHT = 0.5
YES_NO_FACTOR = 0.5


def score(f: Features) -> float:
    """One number per card: higher is harder (weights and reasons above)."""
    typing = TYPED_WEIGHT * max(f.typed - 1, 0)
    if f.giveaway:
        return typing
    work = STEP_WEIGHT * f.steps + OPERAND_WEIGHT * math.log2(1 + f.largest) + typing
    return work * (YES_NO_FACTOR if f.yes_no else 1.0)


# ---------------------------------------------------------------- the rules

# No calculator. A values card asks at most 4 outputs (a 2x2 grid of results: what one
# can hold while summing), each an average of at most 4 single-digit integers (a sum of
# 4 such numbers stays under 40 and its mean has a denominator of at most 4). A max
# reads at most 9 cells (a 3x3 window scanned by eye). Any card: at most MAX_STEPS steps
# and operands up to MAX_OPERAND: three-digit sizes (224 + 2*3) are everyday mental
# arithmetic; a five-digit product (512*7*7) is calculator work. 30 steps is a 4-layer
# stem traced by hand (about 7 steps a layer), the most a single card should ask.
MAX_VALUES_TYPED = 4
MAX_AVG_CELLS = 4
MAX_MAX_CELLS = 9
SMALL_INT = 9
MAX_STEPS = 30
MAX_OPERAND = 1024
# At most this many cards of one family share a skill signature in the default deck:
# three reps of one form is a drill; more repeats a fact instead of a skill, and with
# about 13 cards a level it still leaves room for 5 or more forms per level.
MAX_PER_SIGNATURE = 3


def calculator_reasons(f: Features) -> list[str]:
    """Why this card needs a calculator (empty when it does not)."""
    reasons = []
    if f.form == "values":
        if f.typed > MAX_VALUES_TYPED:
            reasons.append(f"{f.typed} values to type > {MAX_VALUES_TYPED}")
        cap = MAX_AVG_CELLS if f.averages else MAX_MAX_CELLS
        if f.per_output > cap:
            reasons.append(f"{f.per_output} cells per output > {cap}")
        if not f.small_inputs:
            reasons.append(f"inputs beyond +-{SMALL_INT}")
    if f.steps > MAX_STEPS:
        reasons.append(f"{f.steps} steps > {MAX_STEPS}")
    if f.largest > MAX_OPERAND:
        reasons.append(f"operand {f.largest} > {MAX_OPERAND}")
    return reasons


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def rising_scores(by_level: dict[int, Sequence[Features]]) -> list[str]:
    """Rule: the mean score rises strictly from each level to the next."""
    levels = sorted(by_level)
    means = {lv: mean(f.score for f in by_level[lv]) for lv in levels}
    return [f"L{a} mean score {means[a]:.2f} >= L{b} {means[b]:.2f}"
            for a, b in zip(levels, levels[1:], strict=False) if means[a] >= means[b]]


def giveaways(cards: Sequence[Features]) -> list[Features]:
    """Rule: no giveaways (the cards that break it)."""
    return [f for f in cards if f.giveaway]


def calculator_cards(cards: Sequence[Features]) -> list[tuple[Features, list[str]]]:
    """Rule: no card needs a calculator (the cards that break it, with why)."""
    return [(f, r) for f in cards if (r := calculator_reasons(f))]


def crowded_signatures(cards: Sequence[Features],
                       limit: int = MAX_PER_SIGNATURE) -> dict[tuple[Any, ...], int]:
    """Rule: at most `limit` cards of one family per skill signature (those above it)."""
    counts: dict[tuple[Any, ...], int] = {}
    for f in cards:
        key = (f.family, f.signature)
        counts[key] = counts.get(key, 0) + 1
    return {k: n for k, n in counts.items() if n > limit}


def yes_no_only_levels(by_level: dict[int, Sequence[Features]]) -> list[str]:
    """Rule: no level asks only yes/no when the level below asks for a number."""
    levels = sorted(by_level)
    bad = []
    for below, level in zip(levels, levels[1:], strict=False):
        only = all(f.yes_no for f in by_level[level])
        asks_number = any(not f.yes_no for f in by_level[below])
        if by_level[level] and only and asks_number:
            bad.append(f"L{level} is only yes/no, L{below} asks for numbers")
    return bad


# ---------------------------------------------------------------- decks and draws


def draw_features(family: str, level: int, seed: int, n: int) -> list[Features]:
    """`n` fresh draws of one family level (a stream of its own per seed and level)."""
    from cardgen.families import get_family
    from cardgen.generate import family_rng

    module = get_family(family)
    rng = family_rng(seed, f"difficulty/{family}/L{level}")
    cards = []
    for _ in range(n):
        params = module.generate(rng, level)
        cards.append(features(family, level, module.solve(params), params))
    return cards


def deck_features(recipe: Any = None) -> list[Features]:
    """Every card of a recipe (default: cardgen's default deck), solved but not rendered."""
    from cardgen.build import recipe_problems
    from cardgen.families import get_family
    from cardgen.recipes import default_recipe

    problems = recipe_problems(recipe if recipe is not None else default_recipe())
    return [features(p.family, p.level, get_family(p.family).solve(p.params), p.params)
            for p in problems]


def summary(cards: Sequence[Features]) -> dict[str, float]:
    """The mean features of some cards (one row of the difficulty table)."""
    counts: dict[tuple[Any, ...], int] = {}
    for f in cards:
        counts[f.signature] = counts.get(f.signature, 0) + 1
    n = max(len(cards), 1)
    return {
        "cards": len(cards),
        "steps": mean(f.steps for f in cards),
        "largest": mean(f.largest for f in cards),
        "max_largest": max((f.largest for f in cards), default=0),
        "typed": mean(f.typed for f in cards),
        "max_per_output": max((f.per_output for f in cards), default=0),
        "giveaway": sum(f.giveaway for f in cards) / n,
        "yes_no": sum(f.yes_no for f in cards) / n,
        "calculator": sum(bool(calculator_reasons(f)) for f in cards) / n,
        "signatures": len(counts),
        "max_per_signature": max(counts.values(), default=0),
        "score": mean(f.score for f in cards),
    }


# ---------------------------------------------------------------- extraction


@dataclass
class _Work:
    """The counted operations: each is the tuple of its operands."""

    ops: list[tuple[int, ...]] = field(default_factory=list)

    def op(self, *operands: int) -> None:
        self.ops.append(tuple(map(int, operands)))

    def compare(self) -> None:
        """A comparison is a step, but no arithmetic: its numbers are not operands."""
        self.ops.append(())

    @property
    def steps(self) -> int:
        return len(self.ops)

    @property
    def largest(self) -> int:
        return max(map(abs, chain.from_iterable(self.ops)), default=0)


@dataclass
class _Measure:
    work: _Work
    signature: tuple[Any, ...]
    giveaway: bool = False
    per_output: int = 0
    small_inputs: bool = True
    averages: bool = False


UNMEASURED = "unmeasured"
_NUMBER = re.compile(r"-?\d+(?:/\d+)?")
_SHAPE = re.compile(r"\d+(?:x\d+)*")
# compiled once: features() runs on every card the difficulty rules measure
_WINDOW = re.compile(r"\d+:\d+")
_INT = re.compile(r"-?\d+")
_INTS = re.compile(r"-?\d+(?:,-?\d+)+")
_WORD = re.compile(r"[a-z]")
_ND_SUFFIX = re.compile(r"[123]d$")
_NATURALS = re.compile(r"\d+(?:,\d+)+")
_TWO_OUTPUTS = re.compile(r"output (\d+) and output (\d+)")
_TWO_WINDOWS = re.compile(r"(\d+):(\d+),(\d+):(\d+)")
_READ_CELL = re.compile(r"read input cell (\d+)")
_PAIR = re.compile(r"\d+,\d+")


def answer_form(solution: Solution) -> str:
    a = solution.answer.strip()
    kinds = {c.get("kind") for c in solution.claims}
    # "no, or yes k=K s=S" asks for numbers when the answer is yes: not a yes/no card
    if a.startswith("yes ") or (a == "no" and "k=" in solution.form):
        return "fixed"
    if a in ("yes", "no"):
        return "yesno"
    if a == "error":
        return "error"
    if "values" in kinds:
        return "values"
    if _WINDOW.fullmatch(a):
        return "window"
    if _INT.fullmatch(a):
        return "int"
    if _INTS.fullmatch(a):
        return "ints"
    if _SHAPE.fullmatch(a):
        return "shape"
    return "other"


def typed_values(answer: str) -> int:
    numbers = len(_NUMBER.findall(answer))
    word = 1 if _WORD.match(answer.strip()) else 0
    return max(numbers + word, 1)


def features(family: str, level: int, solution: Solution,
             params: dict[str, Any] | None = None) -> Features:
    """The features of one solved card. `params` is used only by family rules that cannot
    read what they need from the claims, and only as a fallback."""
    form = answer_form(solution)
    try:
        m = _measure(family, form, solution, params or {})
    except (CardgenError, KeyError, IndexError, TypeError, ValueError) as exc:
        # a claim shape this model does not know yet: no steps, and a signature that says
        # so (the tests require every drawn card to be measured)
        kinds = tuple(sorted(str(c.get("kind")) for c in solution.claims))
        m = _Measure(_Work(), (UNMEASURED, kinds, type(exc).__name__))
    fractions = sum(1 for t in _NUMBER.findall(solution.answer) if "/" in t) \
        if form == "values" else 0
    return Features(
        family=family, level=level, form=form, steps=m.work.steps, largest=m.work.largest,
        typed=typed_values(solution.answer), per_output=m.per_output,
        small_inputs=m.small_inputs, fractions=fractions, averages=m.averages,
        giveaway=m.giveaway, yes_no=form == "yesno", signature=(form, *m.signature))


def _measure(family: str, form: str, sol: Solution, params: dict[str, Any]) -> _Measure:
    rule = FAMILY_RULES.get(family)
    if rule is not None:
        found = rule(form, sol, params)
        if found is not None:
            return found
    unique = [c for c in sol.claims if c.get("kind") == "unique"]
    if unique:
        return _unique(unique[0], form, sol)
    return _generic(form, sol, params)


def _generic(form: str, sol: Solution, params: dict[str, Any]) -> _Measure:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for c in sol.claims:
        by_kind.setdefault(c.get("kind", ""), []).append(c)
    if "values" in by_kind:
        return _values(by_kind["values"][0])
    if "equivalent" in by_kind:
        recipe = form == "yesno" and "recipe" in sol.question.lower()
        return _equivalence(by_kind["equivalent"][0], recipe)
    if "windows" in by_kind:
        return _windows(by_kind["windows"][0], sol, params)
    stacks = by_kind.get("shape", []) + by_kind.get("error", [])
    if not stacks:
        return _Measure(_Work(), ("claims", tuple(sorted(by_kind))))
    claim = stacks[-1]
    if form == "yesno":
        return _runs(claim)
    m = _forward(claim)
    if form in ("int", "ints", "other"):  # a number the claim does not show: one more step
        m.work.compare()
    return m


# ---------------------------------------------------------------- layers and stacks

_NOT_SKILL = ("in_channels", "out_channels", "in_features", "out_features", "bias")


def _frozen(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def _layer_signature(data: dict[str, Any], spatial: Sequence[int] | None,
                     flags: Sequence[str] = ()) -> tuple[Any, ...]:
    """A layer's form: its type and the arguments that shape the arithmetic (channels and
    features are copied, so left out); an adaptive output_size as its relation to the
    input (None, <, =, >), since the sizes themselves are copied."""
    args = dict(data.get("args", {}))
    items = []
    for key, value in sorted(args.items()):
        if key in _NOT_SKILL:
            continue
        if key == "output_size" and spatial is not None:
            outs = value if isinstance(value, list) else [value] * len(spatial)
            value = tuple("N" if o is None else "?" if isinstance(o, (dict, str))
                          else "<" if o < s else "=" if o == s else ">"
                          for o, s in zip(outs, spatial, strict=False))
        items.append((key, _frozen(value)))
    # Conv1d and Conv2d with the same arguments drill the same fact along each dim
    return (_ND_SUFFIX.sub("", str(data.get("type"))), tuple(items), tuple(flags))


def _spatial(layer: Layer, shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(shape[len(shape) - layer.ndim:]) if layer.ndim else ()


def _conv_dim(w: _Work, size: int, k: int, s: int, pl: int, pr: int, d: int,
              ceil: bool = False) -> str:
    """Count one conv/pool size computation; returns the rule that fired."""
    padded = size + pl + pr
    if pl or pr:
        if pl == pr:
            w.op(2, pl)
        w.op(size, pl + pr)
    span = d * (k - 1)
    if k > 1:
        w.op(k, 1)
        if d > 1:
            w.op(d, k - 1)
        w.op(padded, span)
    n = padded - span - 1
    if s == 1:
        return "s1"
    w.op(n + 1, 1)
    w.op(n, s)
    w.op(n // s, 1)
    if ceil and n % s:
        w.op(n // s, s)
        w.compare()
        return "dropped" if ceil_dropped(size, k, s, pl, d) else "kept"
    return "exact" if n % s == 0 else "floor"


def _convt_dim(w: _Work, size: int, k: int, s: int, p: int, op: int, d: int) -> None:
    w.op(size, 1)
    x = size - 1
    if s > 1:
        w.op(x, s)
        x *= s
    if p:
        w.op(2, p)
        w.op(x, 2 * p)
        x -= 2 * p
    if k > 1:
        w.op(k, 1)
        if d > 1:
            w.op(d, k - 1)
        w.op(x, d * (k - 1))
        x += d * (k - 1)
    if op:
        w.op(x, op)
        x += op
    w.op(x, 1)


def _layer_work(w: _Work, layer: Layer, shape: Sequence[int]) -> list[str]:
    """Count one layer's forward arithmetic on `shape`; returns the rules that fired."""
    kind, spatial = layer.kind, _spatial(layer, shape)
    if kind in RESAMPLE_KINDS:
        return _resample_work(w, layer, shape)
    flags: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    if kind == "conv" and layer.get("padding") == "same":
        return ["same"]
    for d, size in enumerate(spatial):
        if kind == "conv":
            pl, pr = conv_padding(layer, d)
            key: tuple[Any, ...] = (size, layer.tup("kernel_size")[d], layer.tup("stride")[d],
                                    pl, pr, layer.tup("dilation")[d])
            if key not in seen:
                flags.append(_conv_dim(w, *key))
        elif kind in ("maxpool", "avgpool"):
            dil = layer.tup("dilation")[d] if kind == "maxpool" else 1
            p = layer.tup("padding")[d]
            key = (size, layer.tup("kernel_size")[d], pool_stride(layer)[d], p, p, dil,
                   bool(layer.get("ceil_mode")))
            if key not in seen:
                flags.append(_conv_dim(w, *key))
        elif kind == "conv_transpose":
            key = (size, layer.tup("kernel_size")[d], layer.tup("stride")[d],
                   layer.tup("padding")[d], layer.tup("output_padding")[d],
                   layer.tup("dilation")[d])
            if key not in seen:
                _convt_dim(w, *key)
        else:
            break
        seen.add(key)
    if kind == "flatten":
        rank = max(len(shape), 1)
        lo, hi = layer.get("start_dim") % rank, layer.get("end_dim") % rank
        acc = 1
        for dim in shape[lo:hi + 1]:
            if dim > 1 and acc > 1:
                w.op(acc, dim)
            acc *= dim
    elif kind == "linear":
        w.compare()
    return flags


def _check_work(w: _Work, layer: Layer, shape: Sequence[int]) -> list[str]:
    """Count "does this layer run on `shape`?" (see the module doc), stopping at the first
    check that fails: that one already answers "no"."""
    kind, spatial = layer.kind, _spatial(layer, shape)
    if kind in RESAMPLE_KINDS:
        return _resample_work(w, layer, shape)
    flags: list[str] = []
    if kind in ("conv", "conv_transpose") and len(shape) >= layer.ndim + 1:
        channels = shape[len(shape) - layer.ndim - 1]
        w.compare()
        if layer.get("in_channels") != channels:
            return ["channels!"]
        flags.append("channels")
    if kind == "conv" and layer.get("padding") == "same":
        w.compare()
        return [*flags, "same"]
    if kind == "linear":
        w.compare()
        return flags
    if kind not in ("conv", "maxpool", "avgpool"):
        return flags
    seen = set()
    for d, size in enumerate(spatial):
        k = layer.tup("kernel_size")[d]
        dil = layer.tup("dilation")[d] if kind != "avgpool" else 1
        pl, pr = conv_padding(layer, d) if kind == "conv" else (layer.tup("padding")[d],) * 2
        if (size, k, dil, pl, pr) in seen:
            continue
        seen.add((size, k, dil, pl, pr))
        if kind != "conv" and pl:
            w.op(k, 2)
            w.compare()
            if pl > k // 2:
                return [*flags, "pad > k/2"]
        if pl or pr:
            if pl == pr:
                w.op(2, pl)
            w.op(size, pl + pr)
        if k > 1:
            w.op(k, 1)
            if dil > 1:
                w.op(dil, k - 1)
            w.op(dil * (k - 1), 1)
        w.compare()
        if size + pl + pr < dil * (k - 1) + 1:
            return [*flags, "too small"]
        flags.append("fits")
    return flags


def _layer(data: dict[str, Any]) -> Layer:
    """A claim's layer; one PyTorch refuses to build (an error claim's) kept unvalidated,
    as the families that pose it do, so its arguments can still be read."""
    try:
        return Layer.from_json(data)
    except CardgenError:
        args = tuple((k, _frozen(v) if isinstance(v, list) else v)
                     for k, v in data.get("args", {}).items())
        return Layer(data["type"], args)


def _stack(claim: dict[str, Any]) -> tuple[list[Layer], tuple[int, ...]]:
    layers = [_layer(j) for j in claim.get("layers", [])]
    return layers, tuple(claim.get("input_shape", ()))


def _forward(claim: dict[str, Any], masked: dict[str, Any] | None = None) -> _Measure:
    """Trace a shape or error claim layer by layer, counting each layer's arithmetic; a
    layer that raises costs its checks."""
    layers, shape = _stack(claim)
    w, sigs, current = _Work(), [], shape
    shown = (masked or claim).get("layers", [])
    for layer, data in zip(layers, shown, strict=True):
        try:
            step = layer_step(layer, current)
        except CardgenError:
            flags = _check_work(w, layer, current)
            sigs.append(_layer_signature(data, _spatial(layer, current), [*flags, "raises"]))
            break
        flags = _layer_work(w, layer, current)
        sigs.append(_layer_signature(data, _spatial(layer, current), flags))
        current = step.output_shape
    giveaway = claim.get("kind") == "shape" and _copy_model(claim, (layers, shape)) is not None
    return _Measure(w, (claim.get("kind"), tuple(sigs)), giveaway=giveaway)


def _runs(claim: dict[str, Any], masked: dict[str, Any] | None = None) -> _Measure:
    layers, shape = _stack(claim)
    w, sigs, current = _Work(), [], shape
    for layer, data in zip(layers, (masked or claim).get("layers", []), strict=True):
        flags = _check_work(w, layer, current)
        sigs.append(_layer_signature(data, _spatial(layer, current), flags))
        try:
            current = layer_step(layer, current).output_shape
        except CardgenError:
            break
    return _Measure(w, ("runs", claim.get("kind"), tuple(sigs)))


def is_copy_of_question(claim: dict[str, Any]) -> bool:
    """Whether a shape claim's output is a copy of its question: the input shape pushed
    through the copy model (conv and conv-transpose set the channels to out_channels and
    keep every size; fixed pools keep everything; adaptive pools set the sizes to
    output_size as written, None keeping the input's; Linear sets the last dim to
    out_features; Flatten multiplies) equals the output, and every number of the output
    is written in the question (an input dim or a layer argument). Such an answer needs
    no arithmetic: copying the question gets it right."""
    return _copy_model(claim) is not None


def _copy_model(claim: dict[str, Any],
                stack: tuple[list[Layer], tuple[int, ...]] | None = None
                ) -> tuple[int, ...] | None:
    """(`stack`: the claim's layers and input shape, when the caller has parsed them.)"""
    if claim.get("kind") != "shape":
        return None
    if stack is not None:
        layers, shape = stack
    else:
        try:
            layers, shape = _stack(claim)
        except CardgenError:
            return None
    literals = set(shape)
    current = list(shape)
    for layer in layers:
        for _, value in layer.args:  # the given arguments (kwargs' values, no dict copy)
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, int) and not isinstance(v, bool):
                    literals.add(v)
        kind, nd = layer.kind, layer.ndim
        if kind in ("conv", "conv_transpose") and len(current) > nd:
            current[len(current) - nd - 1] = layer.get("out_channels")
        elif kind.startswith("adaptive"):
            spatial = tuple(current[len(current) - nd:])
            current[len(current) - nd:] = adaptive_sizes(layer, spatial)
        elif kind == "flatten":
            rank = max(len(current), 1)
            lo, hi = layer.get("start_dim") % rank, layer.get("end_dim") % rank
            current[lo:hi + 1] = [math.prod(current[lo:hi + 1])]
        elif kind == "linear" and current:
            current[-1] = layer.get("out_features")
    copied = tuple(current)
    if copied != tuple(claim.get("output_shape", ())) or not set(copied) <= literals:
        return None
    return copied


# ---------------------------------------------------------------- inverse problems

_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "output_padding": 0}


def _fill(value: Any, answer: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"var"}:
            return answer[value["var"]]
        return {k: _fill(v, answer) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, answer) for v in value]
    return value


def _mask(value: Any) -> Any:
    """The template with each unknown shown as "?" (for the signature)."""
    if isinstance(value, dict):
        if set(value) == {"var"}:
            return "?"
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _var_paths(value: Any, path: tuple[Any, ...] = ()) -> dict[str, tuple[Any, ...]]:
    found: dict[str, tuple[Any, ...]] = {}
    if isinstance(value, dict):
        if set(value) == {"var"}:
            return {value["var"]: path}
        for k, v in value.items():
            found.update(_var_paths(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.update(_var_paths(v, (*path, i)))
    return found


def _unique(claim: dict[str, Any], form: str, sol: Solution) -> _Measure:
    """An inverse problem: the claim's forward work with the answer put in, plus one step
    per unknown to isolate it. A null answer (no candidate works) uses the space's lowest
    candidate for the forward work."""
    template, space = claim.get("claim", {}), claim.get("space", {})
    answer = claim.get("answer") or {v: lo for v, (lo, _hi) in space.items()}
    filled = _fill(template, answer)
    masked = _mask(template)
    names = sorted(space)
    if filled.get("kind") == "equivalent":
        inner = _equivalence(filled, "recipe" in sol.question.lower())
    elif filled.get("kind") in ("shape", "error"):
        inner = _forward(filled, masked) if form != "yesno" else _runs(filled, masked)
        inner.giveaway = False
        if filled.get("kind") == "shape" and claim.get("answer"):
            inner.giveaway = _default_on_identity(filled, _var_paths(template), answer)
    else:
        inner = _generic(form, Solution(sol.question, sol.answer, sol.form, sol.steps,
                                        [filled]), {})
    for _name in names:
        inner.work.compare()  # isolate the unknown: its operands are counted already
    pick = claim.get("pick", "only")
    return _Measure(inner.work, ("unique", tuple(names), pick, inner.signature[1:]),
                    giveaway=inner.giveaway)


def _arg_name(path: tuple[Any, ...]) -> str:
    named = [p for p in path if isinstance(p, str)]
    return named[-1] if named else ""


def _default_on_identity(claim: dict[str, Any], paths: dict[str, tuple[Any, ...]],
                         answer: dict[str, Any]) -> bool:
    """An inverse answer that is the unknown's default (stride 1, padding 0, ...) when the
    sizes do not change: "48 -> 48, which stride?" is answered without arithmetic."""
    ins, outs = claim.get("input_shape", []), claim.get("output_shape", [])
    if len(ins) != len(outs) or len(ins) < 3 or list(ins[2:]) != list(outs[2:]):
        return False
    return all(_DEFAULTS.get(_arg_name(paths[v])) == answer[v] for v in paths)


def _inverse(claim: dict[str, Any], unknown: str, answer: int) -> _Measure:
    """A shape claim whose layer argument `unknown` is asked (families without a unique
    claim yet): the same model as a unique claim over that argument."""
    layers = claim.get("layers", [])
    if not layers:
        return _forward(claim)
    template = {**claim, "layers": [
        {**data, "args": {k: ({"var": unknown} if k == unknown else v)
                          for k, v in data.get("args", {}).items()}}
        if i == len(layers) - 1 else data for i, data in enumerate(layers)]}
    if unknown not in layers[-1].get("args", {}):
        template["layers"][-1]["args"][unknown] = {"var": unknown}
    unique = {"kind": "unique", "claim": template, "space": {unknown: [answer, answer]},
              "answer": {unknown: answer}, "pick": "only"}
    return _unique(unique, "int", Solution("", str(answer), "", [], [template]))


# ---------------------------------------------------------------- pooling windows and values


def _bound_ops(w: _Work, i: int, size: int, out: int) -> None:
    """floor(i*in/out) or ceil(i*in/out): multiply, divide; free at 0 and at in."""
    if 0 < i < out:
        w.op(i, size)
        w.op(i * size, out)


def _windows_of(claim: dict[str, Any]) -> tuple[list[int], list[int], list[list[Any]]]:
    layer = Layer.from_json(claim.get("layer") or claim.get("layers", [{}])[0])
    shape = tuple(claim["input_shape"])
    spatial = list(_spatial(layer, shape))
    wins = claim.get("windows") or pool_windows(layer, shape)
    return spatial, [len(d) for d in wins], wins


def _windows(claim: dict[str, Any], sol: Solution, params: dict[str, Any]) -> _Measure:
    spatial, outs, wins = _windows_of(claim)
    size, out = spatial[0], outs[0]
    w = _Work()
    a = sol.answer.strip()
    if _WINDOW.fullmatch(a):
        lo, hi = (int(x) for x in a.split(":"))
        i = next((j for j, win in enumerate(wins[0]) if list(win) == [lo, hi]), out - 1)
        _bound_ops(w, i, size, out)
        _bound_ops(w, i + 1, size, out)
        return _Measure(w, ("window", tuple(spatial), tuple(outs)))
    if _NATURALS.fullmatch(a):
        for i in range(1, out):
            _bound_ops(w, i, size, out)
        for win in wins[0]:
            w.op(win[1], win[0])
        return _Measure(w, ("lengths", tuple(spatial), tuple(outs)))
    found = _TWO_OUTPUTS.search(sol.question)
    i = int(found[1]) if found else int(params.get("index", out - 2))
    _bound_ops(w, i + 1, size, out)
    return _Measure(w, ("overlap", tuple(spatial), tuple(outs)))


def _equivalence(claim: dict[str, Any], recipe: bool) -> _Measure:
    """Whether (and how) an adaptive pool is a fixed pool, per dim: the divisibility
    shortcut, or window by window (bounds, length, compare with the first length and the
    spacing of starts) until one breaks the pattern, which answers "no" (see the doc)."""
    layer = Layer.from_json(claim["layers"][0])
    shape = tuple(claim["input_shape"])
    spatial = _spatial(layer, shape)
    outs = adaptive_sizes(layer, spatial)
    w = _Work()
    for size, out in zip(spatial, outs, strict=True):
        if recipe:
            w.op(size, out)
            w.op(out - 1, size // out)
            w.op(size, (out - 1) * (size // out))
        w.op(size, out)
        if out == 1 or size % out == 0:
            if out > 1:
                w.op(size, out)
            continue
        wins = adaptive_windows(size, out)
        broken = False
        for i, (a, b) in enumerate(wins):
            # window i's start and window i-1's end share i*in/out: one bound per window
            _bound_ops(w, i + 1, size, out)
            w.op(b, a)
            if i:
                w.compare()
                broken = b - a != wins[0][1] - wins[0][0]
            if i > 1 and not broken:
                w.op(a, wins[i - 1][0])  # the start moved by the same stride
                broken = a - wins[i - 1][0] != wins[1][0] - wins[0][0]
            if broken:
                break
        if broken and not recipe:
            break
    key = tuple(zip(spatial, outs, strict=True))
    return _Measure(w, ("recipe" if recipe else "fixed", key))


def _nested_shape(values: Any) -> tuple[int, ...]:
    shape = []
    while isinstance(values, list):
        shape.append(len(values))
        values = values[0] if values else None
    return tuple(shape)


def _flat(values: Any) -> list[Any]:
    if isinstance(values, list):
        return [x for v in values for x in _flat(v)]
    return [values]


def _values(claim: dict[str, Any]) -> _Measure:
    """Each output's window: (cells - 1) sums or comparisons, an average one more; plus
    the windows themselves (see the module doc)."""
    layers = [Layer.from_json(j) for j in claim.get("layers", [])]
    data = claim.get("input", [])
    shape = _nested_shape(data)
    w = _Work()
    cells = _flat(data)
    small = all(isinstance(c, int) and abs(c) <= SMALL_INT for c in cells)
    if len(layers) != 1 or layers[0].kind not in ("maxpool", "avgpool", "adaptive_avg",
                                                  "adaptive_max"):
        out_n = max(len(_flat(claim.get("output", []))), 1)
        return _Measure(w, ("values", tuple(d.get("type") for d in claim.get("layers", [])),
                            shape), per_output=len(cells) // out_n, small_inputs=small)
    layer = layers[0]
    wins = pool_windows(layer, shape)
    spatial = _spatial(layer, shape)
    outs = tuple(len(d) for d in wins)
    for size, out in zip(spatial, outs, strict=True):
        if size % out == 0 or out % size == 0:
            w.op(size, out)
        else:
            for i in range(1, out):
                _bound_ops(w, i, size, out)
    planes = _flat_planes(data, len(spatial))
    averaging = layer.kind in ("avgpool", "adaptive_avg")
    per_output = 0
    for plane in planes:
        for idx in product(*(range(o) for o in outs)):
            ranges = [range(*wins[d][i]) for d, i in enumerate(idx)]
            window = [_at(plane, pos) for pos in product(*ranges)]
            per_output = max(per_output, len(window))
            acc = window[0] if window else 0
            for x in window[1:]:
                w.op(acc, x)
                acc = acc + x if averaging else max(acc, x)
            if averaging and len(window) > 1:
                w.op(acc, len(window))
    return _Measure(w, ("values", "avg" if averaging else "max", tuple(spatial), outs),
                    giveaway=per_output == 1, per_output=per_output, small_inputs=small,
                    averages=averaging)


def _flat_planes(data: Any, nd: int) -> list[Any]:
    """The spatial planes of a nested tensor (every batch and channel)."""
    planes = [data]
    while _depth(planes[0]) > nd:
        planes = [p for plane in planes for p in plane]
    return planes


def _depth(values: Any) -> int:
    return len(_nested_shape(values))


def _at(plane: Any, pos: tuple[int, ...]) -> Any:
    for i in pos:
        plane = plane[i]
    return Fraction(plane) if isinstance(plane, float) else plane


# ---------------------------------------------------------------- family rules

Rule = Callable[[str, Solution, dict[str, Any]], "_Measure | None"]


def _has_unique(sol: Solution) -> bool:
    """A unique claim names the unknown itself: the family rule then steps aside."""
    return any(c.get("kind") == "unique" for c in sol.claims)

_ASKED = re.compile(r"what is the (padding|stride|kernel size|dilation|output_padding)",
                    re.IGNORECASE)


def _conv_inverse(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """conv.inverse asks one argument of its shape claim's conv (the question names it)."""
    if form != "int" or _has_unique(sol):
        return None
    found = _ASKED.search(sol.question)
    unknown = ({"kernel size": "kernel_size"}.get(found[1], found[1]) if found
               else {"kernel": "kernel_size"}.get(params.get("unknown", ""),
                                                  params.get("unknown", "")))
    shapes = [c for c in sol.claims if c.get("kind") == "shape"]
    if not unknown or not shapes:
        return None
    m = _inverse(shapes[-1], unknown, int(sol.answer))
    m.giveaway = _default_on_identity(shapes[-1], {unknown: ("layers", 0, "args", unknown)},
                                      {unknown: int(sol.answer)})
    return m


def _keeps_size(claim: dict[str, Any]) -> bool:
    """A one-conv shape claim at stride 1 whose output keeps every spatial size."""
    layers = claim.get("layers", [])
    if claim.get("kind") != "shape" or len(layers) != 1:
        return False
    layer = Layer.from_json(layers[0])
    ins, outs = claim.get("input_shape", []), claim.get("output_shape", [])
    return (layer.kind == "conv" and set(layer.tup("stride")) == {1}
            and list(ins[2:]) == list(outs[2:]))


def _same_pad(claim: dict[str, Any]) -> _Measure:
    """The padding that keeps the size at stride 1, one per distinct (k, d) dim: k-1,
    d(k-1) when d > 1, and the halving. The size cancels (in + 2p - d(k-1) = in gives
    2p = d(k-1), as the card's steps say), so it is no operand: tracing the forward size
    with the answer put in, as for other inverse problems, would count work the card
    does not ask for and make a 224-wide input look harder than a 7-wide one."""
    layer = Layer.from_json(claim["layers"][0])
    dims = list(dict.fromkeys(zip(layer.tup("kernel_size"), layer.tup("dilation"),
                                  strict=True)))
    w = _Work()
    for k, d in dims:
        w.op(k, 1)
        if d > 1:
            w.op(d, k - 1)
        w.op(d * (k - 1), 2)
    return _Measure(w, ("same_pad", tuple(dims)))


def _same_padding(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """conv.same_padding: the padding that keeps the size (one per dim for per-dim
    kernels), or PyTorch's left,right split of padding='same': d(k-1), halve, and the
    rest. A strided conv's padding is an inverse problem (the generic unique claim)."""
    convs = [c for c in sol.claims if c.get("kind") in ("shape", "error")]
    if not convs:
        return None
    if form in ("int", "ints") and _has_unique(sol) and _keeps_size(convs[0]):
        return _same_pad(convs[0])
    if form == "int" and not _has_unique(sol):
        return _inverse(convs[0], "padding", int(sol.answer))
    if form == "ints":
        layer = Layer.from_json(convs[0]["layers"][0])
        k, d = layer.tup("kernel_size")[0], layer.tup("dilation")[0]
        w = _Work()
        if k > 1:
            w.op(k, 1)
            if d > 1:
                w.op(d, k - 1)
        left, right = same_padding(k, d)
        w.op(left + right, 2)
        w.op(left + right, left)
        return _Measure(w, ("split", layer.type, k, d))
    return None


def _transpose_recover(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """conv_transpose.output_size's number answer: the output_padding of its last layer."""
    shapes = [c for c in sol.claims if c.get("kind") == "shape"]
    if form != "int" or not shapes or _has_unique(sol):
        return None
    return _inverse(shapes[-1], "output_padding", int(sol.answer))


def _adaptive_windows(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """adaptive.windows' numeric L3 questions: one output's 2-D window (a row window and a
    column window: four bounds), and how many outputs read one cell (the bounds of the
    windows around it, and one comparison per window checked)."""
    windows = [c for c in sol.claims if c.get("kind") == "windows"]
    if not windows:
        return None
    spatial, outs, wins = _windows_of(windows[0])
    w = _Work()
    found = _TWO_WINDOWS.fullmatch(sol.answer.strip())
    if found and len(spatial) == 2:
        for d, (lo, hi) in enumerate(((int(found[1]), int(found[2])),
                                      (int(found[3]), int(found[4])))):
            i = next(j for j, win in enumerate(wins[d]) if list(win) == [lo, hi])
            _bound_ops(w, i, spatial[d], outs[d])
            _bound_ops(w, i + 1, spatial[d], outs[d])
        return _Measure(w, ("window2d", tuple(spatial), tuple(outs)))
    cell = _READ_CELL.search(sol.question)
    if form == "int" and cell and len(spatial) == 1:
        c, size, out = int(cell[1]), spatial[0], outs[0]
        readers = [i for i, (a, b) in enumerate(wins[0]) if a <= c < b]
        lo, hi = max(min(readers) - 1, 0), min(max(readers) + 1, out - 1)
        for i in range(lo, hi + 2):
            _bound_ops(w, i, size, out)
        for _ in range(lo, hi + 1):
            w.compare()
        return _Measure(w, ("readers", size, out))
    return None


def _equivalence_dims(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """adaptive.equivalence with one ``unique`` claim per dim: the learner works every dim
    up to the first that has no fixed pool (which already answers "no"), so the card's work
    is the dims' work added up, not the first dim's alone."""
    dims = [c for c in sol.claims if c.get("kind") == "unique"]
    if len(dims) < 2:
        return None
    w, signature = _Work(), []
    for claim in dims:
        m = _unique(claim, form, sol)
        w.ops.extend(m.work.ops)
        signature.append(m.signature)
        if claim.get("answer") is None:
            break
    return _Measure(w, ("dims", tuple(signature)))


def _chain(w: _Work, factors: Sequence[int]) -> int:
    """Multiply factors left to right; a factor of 1 is no step."""
    acc = 1
    for f in factors:
        if f > 1 and acc > 1:
            w.op(acc, f)
        acc *= f
    return acc


def _group_relation(layer: Layer) -> str:
    if layer.kind == "linear" or layer.get("groups") == 1:
        return "1"
    return "depthwise" if layer.get("groups") == layer.get("in_channels") else "grouped"


def _per_output(w: _Work, layer: Layer) -> int:
    """The weights one output reads: in/groups (one division) times the kernel."""
    if layer.kind == "linear":
        return layer.get("in_features")
    cin, groups = layer.get("in_channels"), layer.get("groups")
    if groups > 1:
        w.op(cin, groups)
    return _chain(w, [cin // groups, *layer.tup("kernel_size")])


def _answer_literal(sol: Solution, layer: Layer, shape: Sequence[int] = ()) -> bool:
    """The answer is a number the question shows: a copy, no arithmetic."""
    numbers = set(shape)
    for value in layer.kwargs.values():
        numbers.update(v for v in (value if isinstance(value, tuple) else (value,))
                       if isinstance(v, int) and not isinstance(v, bool))
    return sol.answer.isdigit() and int(sol.answer) in numbers


def _conv_params(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """conv.params: out x (in/groups x kernel + 1) parameters; or, with an input, output
    elements (after the conv size rule) x in/groups x kernel multiply-adds; or the two
    divisibility checks of groups when the layer cannot be built."""
    by_kind = {c.get("kind"): c for c in sol.claims}
    w = _Work()
    if "macs" in by_kind:
        claim = by_kind["macs"]
        layer, shape = _layer(claim["layer"]), tuple(claim["input_shape"])
        flags = _layer_work(w, layer, shape)
        out = layer_step(layer, shape).output_shape
        outputs = _chain(w, out)
        w.op(outputs, _per_output(w, layer))
        return _Measure(w, ("macs", _layer_signature(claim["layer"], _spatial(layer, shape),
                                                     flags), _group_relation(layer),
                            len(shape)), giveaway=_answer_literal(sol, layer, shape))
    claim = by_kind.get("params")
    if claim is None:
        return None
    layer = _layer(claim["layer"])
    if claim.get("weights") is None:
        cin, cout, groups = (layer.get(n) for n in ("in_channels", "out_channels", "groups"))
        w.op(cin, groups)
        if cin % groups == 0:
            w.op(cout, groups)
        return _Measure(w, ("groups_refused", "in" if cin % groups else "out"))
    per = _per_output(w, layer)
    if layer.get("bias"):
        w.op(per, 1)
        per += 1
    out = layer.get("out_features" if layer.kind == "linear" else "out_channels")
    if out > 1:
        w.op(per, out)
    kernel = () if layer.kind == "linear" else tuple(layer.tup("kernel_size"))
    # one input channel per output (in/groups = 1) makes the filter the kernel alone: a
    # form of its own, one product fewer
    reads_one = layer.kind != "linear" and layer.get("in_channels") == layer.get("groups")
    return _Measure(w, ("params", _ND_SUFFIX.sub("", layer.type), kernel,
                        _group_relation(layer), reads_one, bool(layer.get("bias"))),
                    giveaway=_answer_literal(sol, layer))


def _network_stack(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """network.stack: a layer's parameters or MACs as conv.params counts them; its output
    shape as the one layer's forward on the shape the card gives (the prefix is stated,
    not worked)."""
    if any(c.get("kind") in ("params", "macs") for c in sol.claims):
        return _conv_params(form, sol, params)
    if any(c.get("kind") == "support" for c in sol.claims):  # a field: as that family's
        return _receptive_field(form, sol, {**params, "q": "range"})
    last = [c for c in sol.claims if c.get("kind") == "shape" and len(c["layers"]) == 1][-1]
    return _forward(last)


def _network_models(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """network.models: the layers the card lists, worked from the shape it gives (the
    module's input, or the image for a path from the input)."""
    if params.get("ask") == "field":  # as the receptive-field family's range cards
        return _receptive_field(form, sol, {**params, "q": "range"})
    claim = next(c for c in sol.claims if c.get("kind") == "module")
    if params.get("from_input"):
        layers, shape = claim["before"] + claim["inside"], claim["input_shape"]
    else:
        layers, shape = claim["inside"], claim["enters"]
    return _forward({"kind": "shape", "layers": layers, "input_shape": shape,
                     "output_shape": claim["output_shape"]})


def _unbatched(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """input.unbatched: the rank rule first (the input's dims against the unbatched and
    the batched rank of the first layer: two comparisons); a refused rank ends there,
    otherwise the stack is traced as any shape or error claim is."""
    stacks = [c for c in sol.claims if c.get("kind") in ("shape", "error")]
    if len(stacks) != 1:
        return None
    layers, shape = _stack(stacks[0])
    n = layers[0].ndim if layers else 0
    if n == 0:
        return None
    if len(shape) in (n + 1, n + 2):
        m = _forward(stacks[0])
        m.work.compare()
        m.work.compare()
        return m
    w = _Work()
    w.compare()
    w.compare()
    return _Measure(w, ("rank", layers[0].type, "fewer" if len(shape) < n + 1 else "more"))


def _same_size_ops(w: _Work, size: int, s: int) -> int:
    """ceil(in/s): the division, and the rounding up when it does not divide (stride 1
    keeps the size: no step)."""
    if s == 1:
        return size
    w.op(size, s)
    if size % s:
        w.op(size // s, 1)
    return -(-size // s)


def _framework_same(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """conv.framework_same: SAME's size ceil(in/s) per distinct dim; the split adds
    (out-1)s + k - in and the halving; which symmetric padding adds PyTorch's size with
    p = before and the comparison with SAME's."""
    unique = [c for c in sol.claims if c.get("kind") == "unique"]
    claims = [c.get("claim") for c in unique] or \
        [c for c in sol.claims if c.get("kind") == "framework_same"]
    if not claims:
        return None
    claim = claims[0]
    args = claim["layers"][0]["args"]
    layer = Layer.make(claim["layers"][0]["type"], **{**args, "padding": 0})
    sizes = claim["input_shape"][2:]
    (k,), (s,) = set(layer.tup("kernel_size")), set(layer.tup("stride"))
    w = _Work()
    if not unique and form in ("shape", "int") and not _PAIR.fullmatch(sol.answer):
        for size in dict.fromkeys(sizes):
            _same_size_ops(w, size, s)
        return _Measure(w, ("same_size", s, tuple(size % s == 0 for size in sizes)))
    size = sizes[0]
    out = _same_size_ops(w, size, s)
    w.op(out, 1)
    if s > 1:
        w.op(out - 1, s)
    w.op((out - 1) * s, k)
    total = (out - 1) * s + k - size
    w.op((out - 1) * s + k, size)
    w.op(total, 2)
    w.op(total, total // 2)
    (before, after), = claim["pads"][:1]
    parity = "even" if total % 2 == 0 else claim["dialect"]
    if not unique:
        return _Measure(w, ("same_pads", s, parity))
    if before:
        w.op(2, before)
        w.op(size, 2 * before)
    w.op(size + 2 * before, k)
    if s > 1:
        w.op(size + 2 * before - k, s)
    w.op((size + 2 * before - k) // s, 1)
    w.compare()
    return _Measure(w, ("same_torch", s > 1, parity))


# ``dataclasses.astuple`` of a Tap (its fields are ints), without its deep copy of each
# or a dataclasses.fields call per Tap: network.stack measures every candidate it draws
_tap_fields = attrgetter(*[f.name for f in dataclasses.fields(Tap)])


def _receptive_field(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """network.receptive_field. size: per layer k-1, d(k-1) when dilated, times the jump
    when it is past 1, the sum, and the jump times the stride (not after the last layer).
    jump: the product of the strides. range: per distinct dim, per layer walked back, the
    first cell (u*s, -p, the clip at 0) and the last (u*s, -p, +(k-1), the clip at the
    end), each only when it is not a no-op; then +1 for the stop."""
    claims = [c for c in sol.claims if c.get("kind") == "support"]
    if not claims:
        return None
    layers = [_layer(j) for j in claims[0]["layers"]]
    shape = tuple(claims[0]["input_shape"])
    nd = len(shape) - 2
    q = params.get("q") or ("range" if len(claims) == 1 else "size")
    w = _Work()
    shapes = tuple((layer.kind, *_tap_fields(tap(layer, d))) for layer in layers
                   for d in range(nd))
    if q == "jump":
        _chain(w, [tap(layer, 0).stride for layer in layers])
        return _Measure(w, ("rf", q, tuple(tap(x, 0).stride for x in layers)))
    if q == "size":
        taps = [tap(layer, 0) for layer in layers]
        rows = field_rows(taps)
        for n, t in enumerate(taps):
            if t.kernel > 1:
                w.op(t.kernel, 1)
                grow = t.kernel - 1
                if t.dilation > 1:
                    w.op(t.dilation, grow)
                    grow *= t.dilation
                if rows[n].jump > 1:
                    w.op(grow, rows[n].jump)
                    grow *= rows[n].jump
                w.op(rows[n].size, grow)
            if t.stride > 1 and n < len(taps) - 1:
                w.op(rows[n].jump, t.stride)
        return _Measure(w, ("rf", q, shapes))
    index = claims[0]["output_index"]
    done = set()
    for d, f in enumerate(fields(layers, shape, index)):
        key = (tuple(f.sizes), index[d], tuple(tap(x, d) for x in layers))
        if key in done:
            continue
        done.add(key)
        for n in range(len(layers), 0, -1):
            t, (a, b) = tap(layers[n - 1], d), f.ranges[n]  # type: ignore[misc]
            for u, end in ((a, False), (b - 1, True)):
                x = u * t.stride
                if t.stride > 1 and u > 0:
                    w.op(u, t.stride)
                if t.left:
                    w.op(x, t.left)
                    x -= t.left
                if end and t.kernel > 1:
                    w.op(x, t.kernel - 1)
                if t.left:
                    w.compare()
        w.op(f.ranges[0][1] - 1, 1)  # type: ignore[index]
    return _Measure(w, ("rf", q, nd, shapes))


def _transpose_rules(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """conv_transpose.rules. An explicit output_padding: compare it with the stride (and
    the dilation when that is needed), then the size rule if it runs. output_size=: per
    dim the lowest size (the size rule with output_padding 0), plus s-1 for the top of
    the range; a called size is compared with the range and, inside it, lo subtracted;
    the first dim out of range already answers "error"."""
    calls = [c for c in sol.claims if c.get("kind") == "transpose_output_size"]
    w = _Work()
    if not calls:
        stacks = [c for c in sol.claims if c.get("kind") in ("shape", "error")]
        if not stacks:
            return None
        layer = _layer(stacks[0]["layers"][0])
        s, d = layer.tup("stride")[0], layer.tup("dilation")[0]
        op = layer.tup("output_padding")[0]
        w.compare()
        if op >= s and d > 1:
            w.compare()
        runs = stacks[0]["kind"] == "shape"
        if runs:
            shape = stacks[0]["input_shape"]
            _convt_dim(w, shape[-1], layer.tup("kernel_size")[0], s, layer.tup("padding")[0],
                       op, d)
        return _Measure(w, ("explicit", runs, s, d > 1, op < s, layer.tup("kernel_size")[0],
                            layer.tup("padding")[0] > 0))
    layer, shape = _layer(calls[0]["layer"]), calls[0]["input_shape"]
    spatial = _spatial(layer, shape)
    dims = []
    for i, size in enumerate(spatial):
        k, s, p, d = (layer.tup(n)[i] for n in ("kernel_size", "stride", "padding", "dilation"))
        _convt_dim(w, size, k, s, p, 0, d)
        lo = (size - 1) * s - 2 * p + d * (k - 1) + 1
        if s > 1:
            w.op(lo, s - 1)
        if len(calls) > 1:  # the range of one dim
            return _Measure(w, ("range", s, d > s, p > 0, k))
        target = calls[0]["output_size"][i]
        w.compare()
        inside = lo <= target <= lo + s - 1
        dims.append((s, d > s, inside, k, p > 0))
        if not inside:
            break
        w.op(target, lo)
    return _Measure(w, ("picked", len(spatial), tuple(dims)))


def _unpool_work(w: _Work, claim: dict[str, Any]) -> tuple[Any, ...]:
    """The pool's size, the unpool's default (in-1)s - 2p + k per distinct dim, the range
    test of output_size (two bounds and a comparison per dim) and, when it passes, the
    index test (the output plane and the last window's cell against it)."""
    args = {k: v for k, v in claim["pool"]["args"].items() if k != "return_indices"}
    pool = Layer.from_json({"type": claim["pool"]["type"], "args": args})
    un = unpool_layer(claim["unpool"])
    shape = tuple(claim["input_shape"])
    flags = _layer_work(w, pool, shape)
    result = unpool(pool, un, shape, claim["output_size"])
    k, s, p = un.tup("kernel_size"), pool_stride(un), un.tup("padding")
    seen: set[tuple[int, ...]] = set()
    for d, size in enumerate(result.pooled[2:]):
        key = (size, k[d], s[d], p[d])
        if key not in seen:
            _convt_dim(w, size, k[d], s[d], p[d], 0, 1)
            seen.add(key)
    if result.size is not None:
        for key in sorted(set(zip(result.default, s, result.size, strict=True))):
            w.op(key[0], key[1])
            w.op(key[0], key[1])
            w.compare()
    if result.refused != "range" and result.out is not None:
        _chain(w, result.out)
        _chain(w, shape[2:])  # the pool's plane: where the last window's cell sits
        w.compare()
    geometry = (pool.tup("kernel_size")[0], pool_stride(pool)[0], pool.tup("padding")[0])
    return ("unpool", pool.ndim, tuple(flags), geometry, geometry == (k[0], s[0], p[0]),
            result.size is not None, result.refused or "shape")


def _pool_options(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """pool.options. An AvgPool output: in ceil mode the output count first (the
    question asks for the last output), then per dim the window's start i*s and end
    i*s + k - 1, the count the divisor rule takes (the end of the padding, or the input's
    edges), their product, the window's sum and the division; divisor_override skips the
    counting. An unpool: see _unpool_work."""
    by_kind = {c.get("kind"): c for c in sol.claims}
    w = _Work()
    if "unpool" in by_kind:
        return _Measure(w, _unpool_work(w, by_kind["unpool"]))
    claim = by_kind.get("values")
    if claim is None or "index" not in params:
        return None
    layer = Layer.from_json(claim["layers"][0])
    spatial = _nested_shape(claim["input"])[2:]
    index = params["index"]
    ceil = bool(layer.get("ceil_mode"))
    if ceil:
        _layer_work(w, layer, (1, 1, *spatial))
    d = avg_divisor(layer, spatial, index)
    counts = []
    for win, i, k, st in zip(d.windows, index, layer.tup("kernel_size"), pool_stride(layer),
                             strict=True):
        a = i * st
        if i > 0 and st > 1:
            w.op(i, st)
        w.op(a, k)
        if d.override is None:
            if d.include_pad:
                if win.pad:
                    w.op(win.size, 2 * win.pad)
                w.compare()
                counts.append(win.padded)
            else:
                w.op(min(a + k, win.size + win.pad), max(a, win.pad))
                counts.append(win.cells)
    _chain(w, counts)
    grid = _flat_planes(claim["input"], len(spatial))[0]
    cells = [_at(grid, pos) for pos in product(*(range(x.first, x.last) for x in d.windows))]
    total = cells[0]
    for x in cells[1:]:
        w.op(total, x)
        total += x
    w.op(total, d.divisor)
    rule = "override" if d.override is not None else "pad" if d.include_pad else "nopad"
    where = tuple("first" if i == 0 else "last" for i in index)
    shape = tuple((k, st, win.pad) for win, k, st in zip(
        d.windows, layer.tup("kernel_size"), pool_stride(layer), strict=True))
    return _Measure(w, ("avg", len(spatial), rule, ceil, where, shape,
                        any(win.beyond for win in d.windows)),
                    per_output=len(cells), averages=True,
                    small_inputs=all(isinstance(c, int) and abs(c) <= SMALL_INT
                                     for c in cells))


def _blocks_work(w: _Work, layer: Layer, sizes: Sequence[int]) -> list[str]:
    """Unfold/Fold: the conv size rule per distinct dim, then L = L_H * L_W."""
    k, s, p, d = (layer.tup(n) for n in ("kernel_size", "stride", "padding", "dilation"))
    flags, seen, counts = [], set(), []
    for i, size in enumerate(sizes[-2:]):
        key = (size, k[i], s[i], p[i], p[i], d[i])
        if key not in seen:
            seen.add(key)
            if size + 2 * p[i] < d[i] * (k[i] - 1) + 1:
                return [*flags, "no block"]
            flags.append(_conv_dim(w, *key))
        counts.append((size + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1)
    if min(counts) > 1:
        w.op(*counts)
    return flags


def _resample_work(w: _Work, layer: Layer, shape: Sequence[int]) -> list[str]:
    """resample.shape's layers: Upsample multiplies each distinct size by its scale (a
    product with a fraction also rounds down); PixelShuffle/Unshuffle square r, then
    divide or multiply C and each distinct spatial size; Unfold/Fold count blocks by the
    conv rule and multiply (Fold also compares with L and divides C); a pad adds its two
    amounts and the sum to each size. Stops at the check that refuses."""
    kind = layer.kind
    if kind == "upsample":
        if layer.get("scale_factor") is None:
            return ["size"]
        n = max(len(shape) - 2, 1)
        scale = layer.get("scale_factor")
        scales = scale if isinstance(scale, tuple) else (scale,) * n
        flags = []
        for size, f in sorted(set(zip(shape[2:], scales, strict=False))):
            if f == 1:
                continue
            exact = float(size * f).is_integer()
            if float(f).is_integer():
                w.op(size, int(f))
            else:  # a fraction in quarters: size times the quarters, then divided by 4
                w.op(size, round(f * 4))
                w.op(round(size * f * 4), 4)
            if not exact:
                w.compare()  # the floor
            flags.append("int" if float(f).is_integer() else "exact" if exact else "floor")
            if math.floor(size * f) < 1:
                return [*flags, "zero"]
        return flags
    if kind in ("pixel_shuffle", "pixel_unshuffle"):
        c, h, wd = shape[-3:]
        r = layer.get("upscale_factor" if kind == "pixel_shuffle" else "downscale_factor")
        w.op(r, r)
        w.op(c, r * r)
        if kind == "pixel_shuffle" and c % (r * r):
            return ["channels!"]
        for size in sorted({h, wd}):
            w.op(size, r)
            if kind == "pixel_unshuffle" and size % r:
                return ["divides!"]
        # an unbatched input and a square one are forms of their own
        return ["shuffle", len(shape), "square" if h == wd else "rect"]
    if kind == "unfold":
        flags = _blocks_work(w, layer, shape[-2:])
        _chain(w, [shape[-3], *layer.tup("kernel_size")])
        return flags
    if kind == "fold":
        area = _chain(w, list(layer.tup("kernel_size")))
        w.op(shape[-2], area)
        if shape[-2] % area:
            return ["channels!"]
        flags = _blocks_work(w, layer, layer.tup("output_size"))
        w.compare()
        return flags
    flags = ["tuple" if isinstance(layer.get("padding"), tuple) else "int"]
    for size, (a, b) in sorted(set(zip(shape[-layer.ndim:], pad_pairs(layer),
                                         strict=True))):
        if kind == "pad_reflect":
            w.compare()
            if max(a, b) >= size:
                return [*flags, "reflect!"]
        if a and b:
            w.op(a, b)
        if a + b:
            w.op(size, a + b)
    return flags


def _rules_of_thumb(form: str, sol: Solution, params: dict[str, Any]) -> _Measure | None:
    """rules.of_thumb: the rule's own prediction, then what PyTorch does (the measure of
    the family that drills it), then one comparison. Which rule is read off the claims: a
    unique claim over the padding (same padding), a params claim (groups), a unique claim
    over kernel and stride (divisibility), an equivalent claim alone (the in // out
    recipe), a shape claim (the docs' ceil formula)."""
    by_kind = {c.get("kind"): c for c in sol.claims}
    w = _Work()
    if "params" in by_kind:  # C_in a multiple of C_out? then groups divides both?
        layer = _layer(by_kind["params"]["layer"])
        cin, cout, groups = (layer.get(n) for n in ("in_channels", "out_channels", "groups"))
        w.op(cin, cout)
        w.op(cin, groups)
        built = by_kind["params"].get("weights") is not None
        if cin % groups == 0:
            w.op(cout, groups)
        if built:
            w.op(_per_output(w, layer), cout)
        w.compare()
        form = ((tuple(layer.tup("kernel_size")), _group_relation(layer)) if built else
                ("refused", "in" if cin % groups else "out"))
        return _Measure(w, ("multiple", built, cin % cout == 0, *form))
    unique = by_kind.get("unique")
    if unique is not None and set(unique.get("space", ())) == {"p"}:
        first = unique["claim"]["layers"][0]
        concrete = {**unique["claim"], "layers": [{**first, "args": {**first["args"],
                                                                    "padding": 0}}]}
        k = Layer.from_json(concrete["layers"][0]).tup("kernel_size")[0]
        w.op(k, 1)  # the rule: (k-1) // 2
        w.op(k - 1, 2)
        truth = _same_pad(concrete)
        w.ops.extend(truth.work.ops[1:] if truth.work.ops[:1] == [(k, 1)] else truth.work.ops)
        w.compare()
        return _Measure(w, ("same_pad", *truth.signature[1:]))
    if unique is not None:  # in % out, then the windows, until one breaks the pattern
        template = unique["claim"]
        m = _equivalence({"layers": template["layers"], "input_shape": template["input_shape"]},
                         False)
        m.work.compare()
        return _Measure(m.work, ("divisible", *m.signature[1:]))
    if "equivalent" in by_kind:  # the recipe's k and s, then every dim's windows
        m = _equivalence(by_kind["equivalent"], True)
        m.work.compare()
        return _Measure(m.work, ("recipe", *m.signature[1:]))
    if "shape" in by_kind:  # the docs' ceil and PyTorch's last-window rule share the work
        m = _forward(by_kind["shape"])
        m.work.compare()
        return _Measure(m.work, ("ceil_docs", *m.signature[1:]))
    return None


FAMILY_RULES: dict[str, Rule] = {
    "adaptive.equivalence": _equivalence_dims,
    "adaptive.windows": _adaptive_windows,
    "conv.inverse": _conv_inverse,
    "conv.params": _conv_params,
    "conv.same_padding": _same_padding,
    "conv_transpose.output_size": _transpose_recover,
    "network.stack": _network_stack,
    "network.models": _network_models,
    "input.unbatched": _unbatched,
    "conv.framework_same": _framework_same,
    "network.receptive_field": _receptive_field,
    "conv_transpose.rules": _transpose_rules,
    "pool.options": _pool_options,
    "rules.of_thumb": _rules_of_thumb,
}
