"""Naming the mistake (issue 12): the answers classic wrong rules give, as checkable data.

For a solved problem, each rule that applies is worked again with its one wrong step
(the +1 left out, the dilation forgotten, ceil for floor, ...). A rule's answer is
derived from the problem's claims as `cardgen verify` reads them (JSON: the layers and
the input shape of the shape claim, the kernel of the padding claim, ...), with params
only for which part of the question is asked. ``mistakes`` (build) and ``derive`` /
``check_mistakes`` (verify) go through the same code, ``_worked``, so they cannot drift.
A rule whose wrong computation is impossible (a size below 1, a window that does not
fit, a layer that cannot run) gives no mistake.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from itertools import repeat
from math import prod
from typing import TYPE_CHECKING, Any, NamedTuple

from cardgen.claims.kinds.unpool import parse as parse_unpool
from cardgen.entail import _THUMB_RULES, NotEntailed
from cardgen.errors import CardgenError, ShapeError
from cardgen.explain import count_of
from cardgen.families.base import shape_text
from cardgen.layers import Layer
from cardgen.solver import adaptive_windows
from cardgen.solver.arith import conv_out
from cardgen.solver.equivalence import fixed_equivalent, recipe_guess
from cardgen.solver.params import mac_count, weight_shape
from cardgen.solver.pool_options import AvgDivisor, avg_divisor, avg_values, unpool, window_sum
from cardgen.solver.shapes import _SIZE, _tails, output_shape, step_or_reason
from cardgen.solver.thumb import ceil_docs_out, multiple_rule_builds, same_pad_rule
from cardgen.solver.transpose import size_range

if TYPE_CHECKING:
    from cardgen.families.base import Solution

__all__ = ["FAMILIES", "RULES", "Mistake", "NotApplicable", "check_mistakes", "derive", "mistakes"]


@dataclass(frozen=True, init=False)
class Mistake:
    """One wrong rule's answer and the sentence the back shows when it is typed."""
    rule: str  # a key of RULES
    answer: str  # formatted exactly like the family's Answer
    line: str  # one sentence: text, `code` spans, MathJax \( \)

    def __init__(self, rule: str, answer: str, line: str) -> None:
        # the dataclass's own __init__, less its object.__setattr__ call per field (the
        # frozen class's way past its __setattr__): the fields written straight into the
        # new instance's dict, as Diagram's are (a deck names ~one mistake a note)
        state = self.__dict__
        state["rule"] = rule
        state["answer"] = answer
        state["line"] = line


RULES: dict[str, str] = {  # in the order rules are tried: the first of equal answers wins
    "no_output_padding": "No output_padding",
    "conv_formula": "The plain conv formula for a transposed conv",
    "no_dilation": "Forgetting the dilation",
    "no_plus_one": "Forgetting the +1",
    "ceil_not_floor": "Ceil instead of floor",
    "floor_not_ceil": "Floor instead of ceil (ceil_mode=True)",
    "keeps_dropped_window": "Keeping ceil mode's dropped window",
    "padding_once": "2p counted as p",
    "pad_over_half": "Ignoring the pool padding limit",
    "op_over_limit": "Ignoring output_padding's limit",
    "op_below_stride": "output_padding below the stride only",
    "range_by_dilation": "The output_size range up to the dilation",
    "same_symmetric": "Symmetric (k-1)/2 'same' padding",
    "odd_zero_left": "The odd 'same' zero on the left",
    "other_dialect": "The other SAME dialect's split",
    "same_floor": "Floor for SAME's ceil(in/s)",
    "floor_window_end": "Floor for the adaptive window end",
    "adaptive_capped": "An adaptive pool capped at the input size",
    "none_as_one": "None in output_size read as 1",
    "flatten_all": "Flatten() flattening dim 0 too",
    "divisibility": "The divisibility rule for adaptive pools",
    "stride_recipe": "The stride in//out, kernel in-(out-1)s recipe",
    "pad_count_flipped": "count_include_pad read the other way",
    "override_ignored": "divisor_override ignored",
    "kernel_divisor": "Dividing by the kernel size",
    "unpool_restores_input": "Unpooling restores the input's size",
    "unpool_size_unchecked": "output_size taken without its range",
    "channels_ignored": "Checking the sizes, not the channels",
    "trusts_rule": "Trusting the rule of thumb",
    "no_bias": "Forgetting the bias",
    "groups_ignored": "Ignoring groups",
    "macs_input_size": "Counting outputs at the input size",
}


class NotApplicable(Exception):
    """The rule does not apply to this problem, or its wrong computation is impossible."""


Claims = Sequence[Any]
Line = str | Callable[[], str]  # a line, or how to write it when a card names the mistake
Worked = dict[str, tuple[str, Line]]  # rule -> (answer, line), in RULES order


# ------------------------------------------------------------------ small helpers

def _only(claims: Claims, *kinds: str) -> Mapping[str, Any]:
    found, count = None, 0  # (a loop: most notes ask this once or twice)
    for c in claims:
        if (type(c) is dict or isinstance(c, Mapping)) and c.get("kind") in kinds:
            found, count = c, count + 1
    if count != 1:
        raise NotApplicable(f"expected one {' or '.join(kinds)} claim")
    return found  # type: ignore[return-value]


def _layer(data: Any) -> Layer:
    try:
        return Layer.from_json(data)
    except (CardgenError, KeyError, TypeError, ValueError):
        raise NotApplicable("the claim holds no layer cardgen builds") from None


def _shape(values: Any) -> tuple[int, ...]:
    if type(values) is list:  # (JSON's ints, told by their type in a loop: no generator)
        for v in values:
            if type(v) is not int:
                break
        else:
            return tuple(values)
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                               for v in values):
        raise NotApplicable("the claim holds no shape")
    return tuple(values)


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _n_tex(size: int, pads: int, span: int) -> str:
    """The worked steps' n, in + 2p - d(k-1) - 1, written out (zero terms left out): a
    wrong rule's changed term shows."""
    return f"{size}{f' + {pads}' if pads else ''}{f' - {span}' if span else ''} - 1"


def _floor_tex(n: int, s: int, plus: bool = True, n_tex: str = "") -> tuple[int, str]:
    """floor(n/s) (+ 1), and its MathJax: n as the worked steps write it (divided by s
    even when s is 1), or written out as `n_tex`."""
    value = n // s + (1 if plus else 0)
    body = f"\\lfloor {f'({n_tex})' if n_tex else n}/{s} \\rfloor"
    return value, f"{body}{' + 1' if plus else ''} = {value}"


def _ceil_tex(n: int, s: int, plus: bool = True, n_tex: str = "") -> tuple[int, str]:
    value = _cdiv(n, s) + (1 if plus else 0)
    body = f"\\lceil {f'({n_tex})' if n_tex else n}/{s} \\rceil"
    return value, f"{body}{' + 1' if plus else ''} = {value}"


def _transpose_tex(size: int, k: int, s: int, p: int, op: int, d: int,
                   plus: bool = True, sides: int = 2) -> tuple[int, str]:
    """(in-1)s - 2p + d(k-1) + op (+ 1), (in-1)s as the worked steps write it, the other
    terms summed (zeros left out); `sides` 1 takes p once."""
    terms = [f"({size}-1)\\cdot {s}"]
    terms += [f"- {sides * p}"] if p else []
    terms += [f"+ {d * (k - 1)}"] if k > 1 else []
    terms += [f"+ {op}"] if op else []
    terms += ["+ 1"] if plus else []
    value = (size - 1) * s - sides * p + d * (k - 1) + op + (1 if plus else 0)
    return value, f"{' '.join(terms)} = {value}"


# verify reads untrusted Specs: a loop over a range or a list of windows stays this small
_BOUND = 100_000


def _small(*values: int) -> None:
    if not all(isinstance(v, int) and abs(v) <= _BOUND for v in values):
        raise NotApplicable("numbers beyond what a card asks")


def _fits(value: int) -> int:
    if value < 1:
        raise NotApplicable("the wrong rule gives no size")
    return value


# ------------------------------------------------------------------ forward shapes

class _Calc(NamedTuple):  # (a tuple: made for every dim a rule changes, cheaper)
    """One spatial size by a wrong rule: its value, its MathJax, an aside naming the rule's
    key numbers, and a head replacing the rule's own (where the head names a number)."""
    value: int
    tex: str
    note: str = ""
    head: str = ""


# A _Calc from its four items: a C call (the class's own __new__ is a Python function, a
# frame for each of the ~1,800 calcs of every2k's notes)
_calc = partial(tuple.__new__, _Calc)


class _Facts:
    """A sized layer as the forward rules read it: its kind, whether its padding is named
    ('same', 'valid'), whether it is 'same'; its rank, channels (in, out) where it has
    them, its size function and, per spatial dim, arith's arguments but the size; per dim
    rule, the dims it can change at some input size (rules that can change none left out)."""
    __slots__ = ("channels", "kind", "named", "ndim", "same", "size_of", "tails", "where")

    def __init__(self, layer: Layer) -> None:
        self.kind, self.ndim = layer.kind, layer.ndim
        padding = layer.get("padding")
        self.named = isinstance(padding, str)
        self.same = self.kind == "conv" and padding == "same"
        self.channels = (layer.get("in_channels"), layer.get("out_channels")) \
            if self.kind in ("conv", "conv_transpose") else None
        self.size_of = _SIZE[self.kind]
        # (dim_args less the size, per dim: the solver's own, kept on the Layer)
        self.tails = _tails(layer)
        self.where: dict[str, tuple[int, ...]] = {}
        tails = self.tails
        if tails and tails.count(tails[0]) == len(tails):  # every dim alike (most): asked once
            every = tuple(range(len(tails)))
            for rule, where in _KIND_WHERE[self.kind]:
                if where(self, tails[0]):
                    self.where[rule] = every
            return
        for rule, where in _KIND_WHERE[self.kind]:
            dims = tuple([d for d, tail in enumerate(tails) if where(self, tail)])
            if dims:
                self.where[rule] = dims


def _facts(layer: Layer) -> _Facts:
    """The layer's facts, kept on the Layer object like its dim tails (shapes._tails): a
    deck repeats its layers, and the Layer made from equal JSON is the same object (no
    hash and dict of our own to look it up in)."""
    found = layer.__dict__.get("_mistake_facts")
    if found is None:
        found = _Facts(layer)
        object.__setattr__(layer, "_mistake_facts", found)
    return found  # type: ignore[no-any-return]


# A rule for one spatial dim of one layer: the layer's facts and arith's arguments for that
# dim (cardgen.solver.shapes.dim_args); None where the rule says nothing about this dim.
# It is asked only where its DimWhere holds: whether the rule can say something about the
# dim at some input size, from the layer's facts and the dim's arguments but the size (a
# "tail": conv (k, s, p_left, d, p_right), conv_transpose (k, s, p, op, d), pools (k, s, p,
# d, ceil)). A rule that can change no dim of a stack is not walked.
DimRule = Callable[[_Facts, tuple[Any, ...]], "_Calc | None"]
DimWhere = Callable[[_Facts, tuple[Any, ...]], bool]


def _refused_pool(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    return layer.kind in ("maxpool", "avgpool") and tail[2] > tail[0] // 2


def _refused_transpose(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    """An explicit output_padding at or over both the stride and the dilation."""
    return layer.kind == "conv_transpose" and tail[3] >= max(tail[1], tail[4])


def _pool_n(size: int, k: int, p: int, d: int, pads: int | None = None) -> int:
    return size + (2 * p if pads is None else pads) - d * (k - 1) - 1


def _once(p: int) -> str:
    return f"\\( p = {p} \\), not \\( 2p = {2 * p} \\)"


def _span(k: int, d: int) -> str:
    return f"\\( k-1 = {k - 1} \\), not \\( d(k-1) = {d * (k - 1)} \\)"


def _where_no_plus_one(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    return not (layer.same or _refused_pool(layer, tail) or _refused_transpose(layer, tail))


def _no_plus_one(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    if layer.kind == "conv":
        size, k, s, pl, d, pr = args
        n = size + pl + pr - d * (k - 1) - 1
    elif layer.kind == "conv_transpose":
        size, k, s, p, op, d = args
        return _calc((*_transpose_tex(size, k, s, p, op, d, plus=False), "", ""))
    else:
        size, k, s, p, d, ceil = args
        n = _pool_n(size, k, p, d)
        if ceil:
            return _calc((*_ceil_tex(n, s, plus=False), "", "")) if n >= 0 else None
    if n < 0:
        raise NotApplicable("the window does not fit")
    return _calc((*_floor_tex(n, s, plus=False), "", ""))


def _where_no_dilation(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    if layer.same or _refused_pool(layer, tail):
        return False
    if layer.kind == "conv_transpose":
        k, s, p, op, d = tail
        return d != 1 and op < s  # without the dilation, output_padding must be below s
    return tail[3] != 1


def _no_dilation(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    if layer.kind == "conv":
        size, k, s, pl, d, pr = args
        n = size + pl + pr - (k - 1) - 1
        return _calc((*_floor_tex(n, s, n_tex=_n_tex(size, pl + pr, k - 1)), _span(k, d), ""))
    if layer.kind == "conv_transpose":
        size, k, s, p, op, d = args
        return _calc((*_transpose_tex(size, k, s, p, op, 1), _span(k, d), ""))
    size, k, s, p, d, ceil = args
    n = _pool_n(size, k, p, 1)
    value, tex = _ceil_pool(size, k, s, p, 1) if ceil else \
        _floor_tex(n, s, n_tex=_n_tex(size, 2 * p, k - 1))
    return _calc((value, tex, _span(k, d), ""))


def _ceil_pool(size: int, k: int, s: int, p: int, d: int) -> tuple[int, str]:
    """Ceil mode as PyTorch works it (the last-window rule applied)."""
    n = _pool_n(size, k, p, d)
    value, tex = _ceil_tex(n, s)
    if (value - 1) * s >= size + p:  # the last window would start past the input
        value, tex = value - 1, f"\\lceil {n}/{s} \\rceil = {value - 1}"
    return value, tex


def _where_ceil_not_floor(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    """A stride over 1 (n % 1 is 0: nothing to drop), a pool not in ceil mode already."""
    if layer.same or _refused_pool(layer, tail) or layer.kind == "conv_transpose":
        return False
    return tail[1] > 1 and (layer.kind == "conv" or not tail[4])


def _ceil_not_floor(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    """Where the floor drops something (n % s != 0); a pool as with ceil_mode=True."""
    if layer.kind == "conv":
        size, k, s, pl, d, pr = args
        n = size + pl + pr - d * (k - 1) - 1
        if n < 0 or n % s == 0:
            return None
        return _calc((*_ceil_tex(n, s), "", ""))
    size, k, s, p, d, _ = args
    n = _pool_n(size, k, p, d)
    if n < 0 or n % s == 0:
        return None
    return _calc((*_ceil_pool(size, k, s, p, d), "", ""))


def _pool_floor(args: tuple[Any, ...], n_tex: bool = False) -> _Calc:
    """A pool's size in floor mode, whatever its ceil_mode and padding; `n_tex` writes n
    out (where the worked steps give none)."""
    size, k, s, p, d, _ = args
    n = _pool_n(size, k, p, d)
    if n < 0:
        raise NotApplicable("the window does not fit")
    return _calc((*_floor_tex(n, s, n_tex=_n_tex(size, 2 * p, d * (k - 1)) if n_tex else ""),
                  "", ""))


def _where_ceil_mode(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    """A pool in ceil mode (its padding within the limit)."""
    return bool(tail[4]) and not _refused_pool(layer, tail)


def _floor_not_ceil(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    return _pool_floor(args)


def _keeps_dropped(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    size, k, s, p, d, _ = args
    n = _pool_n(size, k, p, d)
    value, tex = _ceil_tex(n, s)
    if (value - 1) * s < size + p:  # nothing dropped here
        return None
    where = "padded cell" if p else "cell"  # the worked steps' coordinates
    return _Calc(value, tex, note=f"it would start at {where} {(value - 1) * s}, past "
                                  "the input")


def _where_padding_once(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    if layer.kind == "conv":
        return not layer.named and tail[2] != 0
    if layer.kind == "conv_transpose":
        return tail[2] != 0 and not _refused_transpose(layer, tail)
    # (ceil mode's last-window rule reads the left padding: no one p)
    return tail[2] != 0 and not tail[4] and not _refused_pool(layer, tail)


def _padding_once(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    if layer.kind == "conv":
        size, k, s, pl, d, pr = args
        n = size + pl - d * (k - 1) - 1
        if n < 0:
            raise NotApplicable("the window does not fit")
        return _calc((*_floor_tex(n, s, n_tex=_n_tex(size, pl, d * (k - 1))), _once(pl), ""))
    if layer.kind == "conv_transpose":
        size, k, s, p, op, d = args
        return _calc((*_transpose_tex(size, k, s, p, op, d, sides=1), _once(p), ""))
    size, k, s, p, d, _ = args
    n = _pool_n(size, k, p, d, pads=p)
    if n < 0:
        raise NotApplicable("the window does not fit")
    return _calc((*_floor_tex(n, s, n_tex=_n_tex(size, p, d * (k - 1))), _once(p), ""))


def _where_pad_over_half(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    return _refused_pool(layer, tail) and not tail[4]


def _pad_over_half(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    calc = _pool_floor(args, n_tex=True)
    return _Calc(calc.value, calc.tex, note=f"padding {args[3]} > {args[1]}/2")


def _where_no_output_padding(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    return tail[3] != 0 and not _refused_transpose(layer, tail)


def _no_output_padding(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    size, k, s, p, op, d = args
    return _Calc(*_transpose_tex(size, k, s, p, 0, d),
                 head=f"That leaves out output_padding={op}")


def _op_over_limit(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    size, k, s, p, op, d = args
    return _Calc(*_transpose_tex(size, k, s, p, op, d),
                 note=f"{op} is not below the stride {s} or the dilation {d}")


def _where_transpose_runs(layer: _Facts, tail: tuple[Any, ...]) -> bool:
    return not _refused_transpose(layer, tail)


def _conv_formula(layer: _Facts, args: tuple[Any, ...]) -> _Calc | None:
    size, k, s, p, _, d = args
    n = size + 2 * p - d * (k - 1) - 1
    if n < 0:
        raise NotApplicable("the window does not fit")
    return _calc((*_floor_tex(n, s, n_tex=_n_tex(size, 2 * p, d * (k - 1))), "", ""))


_DIM_RULES: dict[str, tuple[DimWhere, DimRule, str]] = {
    # rule: (where it can change a dim, per-dim size, the sentence's head before
    # ": \( tex \)")
    "no_plus_one": (_where_no_plus_one, _no_plus_one, "That is the size without the +1"),
    "no_dilation": (_where_no_dilation, _no_dilation, "That leaves out the dilation"),
    "ceil_not_floor": (_where_ceil_not_floor, _ceil_not_floor,
                       "That rounds up where the rule rounds down"),
    "floor_not_ceil": (_where_ceil_mode, _floor_not_ceil,
                       "That rounds down, but ceil_mode=True rounds up"),
    "keeps_dropped_window": (_where_ceil_mode, _keeps_dropped,
                             "That keeps the last window ceil mode drops"),
    "padding_once": (_where_padding_once, _padding_once, "That counts the padding once"),
    "pad_over_half": (_where_pad_over_half, _pad_over_half,
                      "That ignores PyTorch's limit, padding at most half the kernel"),
    "no_output_padding": (_where_no_output_padding, _no_output_padding,
                          "That leaves out output_padding"),
    "conv_formula": (_where_transpose_runs, _conv_formula,
                     "That is the conv formula, not the transposed one"),
    "op_over_limit": (_refused_transpose, _op_over_limit,
                      "That ignores output_padding's limit"),
}
_SIZED = ("conv", "conv_transpose", "maxpool", "avgpool")
_POOLS, _ADAPTIVE = ("maxpool", "avgpool"), ("adaptive_avg", "adaptive_max")
# The layer kinds each forward rule's function can give a wrong size for (it gives None for
# any other): a stack without one gives the rule nothing, and a walk passes the others by.
_RULE_KINDS: dict[str, tuple[str, ...]] = {
    "no_plus_one": _SIZED, "no_dilation": _SIZED, "padding_once": _SIZED,
    "ceil_not_floor": ("conv", *_POOLS), "floor_not_ceil": _POOLS,
    "keeps_dropped_window": _POOLS, "pad_over_half": _POOLS,
    "no_output_padding": ("conv_transpose",), "conv_formula": ("conv_transpose",),
    "op_over_limit": ("conv_transpose",),
    "flatten_all": ("flatten",), "adaptive_capped": _ADAPTIVE, "none_as_one": _ADAPTIVE,
}
_DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
# per sized kind, the dim rules that speak of it and where each can change a dim
_KIND_WHERE = {kind: [(rule, where) for rule, (where, _, _) in _DIM_RULES.items()
                      if kind in _RULE_KINDS[rule]] for kind in _SIZED}


_Frame = tuple[tuple[int, ...], list[tuple[tuple[Any, ...], int | None]], "tuple[int, ...] | None"]


class _Stack:
    """A shape claim's layers and input, for every rule tried on them. The rules walk
    mostly the same shapes (the right ones, up to where each changes something), so a
    layer's reading of a shape is worked once."""

    def __init__(self, layers: list[Layer], shape: tuple[int, ...]) -> None:
        self.layers, self.shape = layers, shape
        kinds: list[str] = []
        self.facts: list[_Facts | None] = []
        # per dim rule, the layers where it can change a dim: one pass for all the rules
        self.touched: dict[str, list[int]] = {}
        for i, layer in enumerate(layers):
            kind = layer.kind
            kinds.append(kind)
            if kind in _SIZED:
                facts = _facts(layer)
                for rule in facts.where:
                    self.touched.setdefault(rule, []).append(i)
                self.facts.append(facts)
            else:
                self.facts.append(None)
        self.kinds = tuple(kinds)
        self._frames: dict[tuple[int, tuple[int, ...]], _Frame | str] = {}
        self._steps: dict[tuple[int, tuple[int, ...]], tuple[int, ...] | None] = {}
        self._walks: dict[bool, list[tuple[int, ...] | None]] = {}

    def frame(self, i: int, shape: tuple[int, ...]) -> _Frame:
        """Sized layer i on this input: its output's leading dims; each spatial dim's
        arith arguments and right size (None where PyTorch refuses); its output where
        no rule changes it (None where a dim refuses). NotApplicable where the layer does
        not take the input's rank or channels."""
        key = (i, shape)
        found = self._frames.get(key)
        if found is None:
            found = self._frames[key] = self._frame(i, shape)
        if type(found) is str:
            raise NotApplicable(found)
        return found  # type: ignore[return-value]

    def _frame(self, i: int, shape: tuple[int, ...]) -> _Frame | str:
        facts = self.facts[i]
        n = facts.ndim
        if len(shape) not in (n + 1, n + 2):
            return "the layer does not run on this rank"
        lead, spatial = shape[:-n], shape[-n:]
        if facts.channels is not None:
            if lead[-1] != facts.channels[0]:
                return "the channels do not match"
            lead = lead[:-1] + (facts.channels[1],)
        dims, rights = [], []
        entry: tuple[tuple[Any, ...], int | None] | None = None
        for size, tail in zip(spatial, facts.tails, strict=True):
            args = (size, *tail)
            # a dim equal to the one before (square inputs and kernels, mostly) shares its
            # entry: sized once here, and worked once by each rule (_wrong_step)
            if entry is None or args != entry[0]:
                try:
                    right = facts.size_of(*args)
                except ShapeError:
                    right = None
                entry = (args, right)
            dims.append(entry)
            rights.append(entry[1])
        return lead, dims, None if None in rights else lead + tuple(rights)

    def kept(self, i: int, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Sized layer i's output shape by a dim rule that leaves it as it is."""
        kept = self.frame(i, shape)[2]
        if kept is None:
            raise NotApplicable("the layer refuses this input")
        return kept

    def step(self, i: int, shape: tuple[int, ...]) -> tuple[int, ...] | None:
        """Layer i's right output shape on this input, None where a layer refuses it."""
        key, steps = (i, shape), self._steps
        if key in steps:
            return steps[key]
        # (layer_step's cache, its refusal as a reason: no ShapeError raised and caught)
        found = step_or_reason(self.layers[i], shape)
        out = steps[key] = None if type(found) is str else found.output_shape
        return out

    def walk(self, sized: bool) -> list[tuple[int, ...] | None]:
        """Each layer's input shape, then the stack's output, where a rule changes
        nothing: sized layers stepped as the dim rules step them (`sized`), or as
        PyTorch does; None from where a layer refuses."""
        walk = self._walks.get(sized)
        if walk is None:
            walk, current = [], self.shape
            for i, kind in enumerate(self.kinds):
                walk.append(current)
                if current is None:
                    continue
                if sized and kind in _SIZED:
                    try:
                        current = self.frame(i, current)[2]
                    except NotApplicable:  # the layer does not take this rank or channels
                        current = None
                else:
                    current = self.step(i, current)
            walk.append(current)
            self._walks[sized] = walk
        return walk

    def right_end(self) -> tuple[int, ...] | None:
        """The stack's right output shape, None where a layer refuses it."""
        return self.walk(False)[-1]


def _wrong_step(stack: _Stack, i: int, shape: tuple[int, ...], rule: str, fn: DimRule
                ) -> tuple[tuple[int, ...], list[tuple[int, _Calc, int | None]], bool]:
    """Layer i's output shape by the wrong rule, the dims it changed (with their
    computations and right sizes, None where PyTorch refuses), and whether the rule
    applied at all."""
    lead, frame, _ = stack.frame(i, shape)
    layer = stack.facts[i]
    where = layer.where[rule]  # (_dim_answer asks only where the rule can change a dim)
    dims, changed, applied = [], [], False
    last, calc = None, None
    for d, entry in enumerate(frame):
        args, right = entry
        if d not in where:  # (equal dims have equal tails: both in where, or neither)
            calc = None
        elif entry is not last:  # a dim equal to the one before shares its entry and calc
            calc, last = fn(layer, args), entry
        if calc is None:
            if right is None:
                raise NotApplicable("the layer refuses this input")
            dims.append(right)
            continue
        applied = True
        value = _fits(calc.value)
        dims.append(value)
        if value != right:
            changed.append((d, calc, right))
    return lead + tuple(dims), changed, applied


def _dim_answer(rule: str, stack: _Stack) -> tuple[str, Line] | None:
    """A stack's output shape when the dim rule's wrong step is taken wherever it applies,
    at a layer of the stack.touched lists for it; the line shows its first change. None
    where it applies nowhere (a return, cheaper than an exception)."""
    _, fn, head = _DIM_RULES[rule]
    touched = stack.touched[rule]
    # before the first layer the rule can change, and after the last once the shape is
    # the right one again, the rule's walk is the one that changes nothing
    walk = stack.walk(True)
    kinds, facts = stack.kinds, stack.facts
    start, last = touched[0], touched[-1]
    applied, first = False, None
    current = walk[start]
    for i in range(start, len(kinds)):
        if current is None or (i > last and current == walk[i]):
            current = _walk_end(walk)
            break
        layer = facts[i]
        if layer is None:  # not a sized layer: it steps as the right one does
            current = stack.step(i, current)
            if current is None:
                raise NotApplicable("a later layer refuses the wrong shape")
        elif rule not in layer.where:  # a layer where it can change no dim, likewise
            current = stack.kept(i, current)
        else:
            current, changed, used = _wrong_step(stack, i, current, rule, fn)
            applied = applied or used
            if changed and first is None:
                first = (i, layer.ndim, changed, len(current))
    if not applied:
        return None
    if first is None:  # the same as the right answer: check_mistakes says so
        return shape_text(current), ""
    return shape_text(current), partial(_change_line, stack, head, first, current)


def _walk_end(walk: list[tuple[int, ...] | None]) -> tuple[int, ...]:
    """Where a walk that has rejoined the right one ends: the right output shape."""
    end = walk[-1]
    if end is None:
        raise NotApplicable("a layer refuses the shape")
    return end


def _layer_answer(rule: str, stack: _Stack, start: int, last: int
                  ) -> tuple[str, Line] | None:
    """A stack's output shape when the layer rule's wrong step is taken at every layer of
    its kinds, the first at `start`, the last at `last` (_plan's); the line is the first
    change's (empty where it changes nothing). None where it applies nowhere."""
    layer_rule, kinds = _LAYER_RULES[rule], _RULE_KINDS[rule]
    walk = stack.walk(False)  # (as in _dim_answer: the walk that changes nothing)
    layers = stack.layers
    applied, said = False, ""
    current = walk[start]
    for i in range(start, len(layers)):
        if current is None or (i > last and current == walk[i]):
            current = _walk_end(walk)
            break
        right = stack.step(i, current)
        if right is None:
            raise NotApplicable("a later layer refuses the wrong shape")
        wrong = layer_rule(layers[i], current, right) if stack.kinds[i] in kinds else None
        if wrong is None:
            current = right
            continue
        applied = True
        if wrong[0] != right and not said:
            said = wrong[1] if len(layers) == 1 else \
                wrong[1].replace(";", f" (layer {i + 1});", 1)
        current = wrong[0]
    if not applied:
        return None
    return shape_text(current), said


def _change_line(stack: _Stack, head: str,
                 first: tuple[int, int, list[tuple[int, _Calc, int | None]], int],
                 current: tuple[int, ...]) -> str:
    """The line of a rule's first change (at layer i, of rank `rank`) in a walk that ends
    at `current`: written only for the mistakes a card names."""
    i, nd, changed, rank = first
    # (one change is the one named; a change at the last layer shows in the typed answer,
    # each changed dim, as it is: no later layer to hide it)
    final = stack.right_end() if len(changed) > 1 and i < len(stack.layers) - 1 else None
    if final is not None and len(final) == len(current) == rank:
        # name a dim whose wrong size the typed answer still shows (a later adaptive pool
        # may hide the first one's)
        shown = [c for c in changed if current[-nd + c[0]] != final[-nd + c[0]]]
        changed = shown or changed
    d, calc, right = changed[0]
    where = f"from layer {i + 1}" if len(stack.layers) > 1 else ""  # and on, wherever it applies
    # name the dim unless every dim changed the same way (a one-dim layer's never)
    if nd > 1 and not (len(changed) == nd and len({c.tex for _, c, _ in changed}) == 1):
        where = f"{where}, {_DIM_NAMES[nd][d]}" if where else _DIM_NAMES[nd][d]
    # (where and the note joined by "; ", either left out when empty: no list, filter
    # and joins per line)
    note = calc.note
    aside = f"{where}; {note}" if where and note else where or note
    versus = "" if right is None else f", not {right}"  # the size the worked steps give
    return (f"{calc.head or head}{f' ({aside})' if aside else ''}: \\( {calc.tex} \\)"
            f"{versus}.")


def _flatten_all(layer: Layer, shape: tuple[int, ...], right: tuple[int, ...]
                 ) -> tuple[tuple[int, ...], str] | None:
    """Flatten() read as flattening every dim, dim 0 included."""
    if layer.kind != "flatten" or layer.get("start_dim") != 1 or layer.get("end_dim") != -1 \
            or len(shape) < 2:
        return None
    return (prod(shape),), (f"That flattens dim 0 too; `Flatten()` starts at dim 1: "
                            f"`{shape_text(shape)}` gives `{shape_text(right)}`.")


def _adaptive_capped(layer: Layer, shape: tuple[int, ...], right: tuple[int, ...]
                     ) -> tuple[tuple[int, ...], str] | None:
    """An adaptive pool's output capped at the input's size."""
    if not layer.kind.startswith("adaptive"):
        return None
    n = layer.ndim
    over = [d for d in range(n) if right[-n + d] > shape[-n + d]]
    if not over:
        return None
    capped = right[:-n] + tuple(min(o, i) for o, i in zip(right[-n:], shape[-n:], strict=True))
    d = over[0]
    return capped, (f"That caps the output at the input's size; an adaptive pool gives "
                    f"{right[-n + d]} from {count_of(shape[-n + d], 'cell')}.")


def _none_as_one(layer: Layer, shape: tuple[int, ...], right: tuple[int, ...]
                 ) -> tuple[tuple[int, ...], str] | None:
    """None in output_size read as 1."""
    if not layer.kind.startswith("adaptive") or None not in layer.tup("output_size"):
        return None
    n = layer.ndim
    sizes = layer.tup("output_size")
    ones = right[:-n] + tuple(1 if o is None else r for o, r in zip(sizes, right[-n:],
                                                                     strict=True))
    d = sizes.index(None)
    return ones, (f"That reads None as 1; None keeps the input's size, here "
                  f"{shape[-n + d]}.")


_LAYER_RULES: dict[str, Callable[[Layer, tuple[int, ...], tuple[int, ...]],
                                 tuple[tuple[int, ...], str] | None]] = {
    "flatten_all": _flatten_all,
    "adaptive_capped": _adaptive_capped,
    "none_as_one": _none_as_one,
}


_FORWARD_RULES = ("no_plus_one", "no_dilation", "ceil_not_floor", "floor_not_ceil",
                  "keeps_dropped_window", "padding_once", "pad_over_half", "flatten_all",
                  "adaptive_capped", "none_as_one")
_TRANSPOSE_RULES = ("no_output_padding", "conv_formula", "no_dilation", "no_plus_one",
                    "padding_once", "op_over_limit")


def _forward(params: Mapping[str, Any], claims: Claims,
             rules: tuple[str, ...] = _FORWARD_RULES) -> Worked:
    claim = _only(claims, "shape", "error")
    layers_json = claim.get("layers")
    try:  # read once for every rule
        if not isinstance(layers_json, list):
            raise NotApplicable("the claim holds no layers")
        stack = _Stack(list(map(_layer, layers_json)), _shape(claim.get("input_shape")))
    except NotApplicable:
        return {}
    return _stack_rules(stack, rules)


def _stack_rules(stack: _Stack, rules: tuple[str, ...]) -> Worked:
    """The rules' answers on a stack (_forward's, once it has read the claim)."""
    worked: Worked = {}
    touched, walked = stack.touched, False
    for rule, span in _plan(rules, stack.kinds):
        try:
            if span is not None:
                found = _layer_answer(rule, stack, *span)
            elif rule in touched:
                found = _dim_answer(rule, stack)
            else:
                # a dim rule that can change no dim here (most of them on most stacks):
                # its walk is the one that changes nothing, made here for what it raises
                # (once: a walk made is kept, and one that raises ends this loop)
                if not walked:
                    stack.walk(True)
                    walked = True
                continue
        except NotApplicable:
            continue
        if found is not None:
            worked[rule] = found
    return worked


_Plan = list[tuple[str, "tuple[int, int] | None"]]
_PLANS: dict[tuple[tuple[str, ...], tuple[str, ...]], _Plan] = {}


def _plan(rules: tuple[str, ...], kinds: tuple[str, ...]) -> _Plan:
    """Of `rules`, those that speak of some layer kind of a stack, each with None for a
    dim rule, or for a layer rule the first and last layer of its kinds: the same for
    every stack of these kinds (a deck has few). In RULES
    order, so that _forward's worked dict needs no sort (each rule is worked on its own:
    the order they are tried in changes no answer, and any error but NotApplicable ends
    them all)."""
    key = (rules, kinds)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= 4096:  # bounded: verify may read any stacks
            _PLANS.clear()
        plan = _PLANS[key] = []
        for rule in sorted(rules, key=_ORDER.__getitem__):
            at = [i for i, kind in enumerate(kinds) if kind in _RULE_KINDS[rule]]
            if at:  # (a rule no layer's kind it speaks of is left out)
                plan.append((rule, None if rule in _DIM_RULES else (at[0], at[-1])))
    return plan


def _stack(params: Mapping[str, Any], claims: Claims) -> Worked:
    """network.stack's shape question: the stack up to the asked layer (params name the
    layers, as entailment reads them; the claims prove the right shape)."""
    if params.get("ask") != "shape":
        return {}
    # the question gives the asked layer what it receives: a wrong rule applies to that
    # layer alone, from that shape (the layers before it are not the learner's work)
    layers = [_layer(data) for data in params["layers"]]
    try:
        received = output_shape(layers[:-1], _shape(params["input_shape"]))
    except (CardgenError, ShapeError):
        return {}
    # (the stack _forward would read from a shape claim of that layer and input: the
    # Layers made already)
    return _stack_rules(_Stack([layers[-1]], received), _FORWARD_RULES)


# ------------------------------------------------------------------ conv.same_padding

def _args(claim: Mapping[str, Any], key: str = "layers") -> Layer:
    data = claim.get(key)
    return _layer(data[0] if isinstance(data, list) and data else data)


def _same_padding(params: Mapping[str, Any], claims: Claims) -> Worked:
    """The padding that keeps the size (pad), PyTorch's 'same' split (split), TensorFlow's
    'SAME' size with a stride (tf)."""
    q = params.get("q")
    worked: Worked = {}
    if q == "split":
        layer = _args(_only(claims, "padding"), "layer")
        (k,), (d,) = set(layer.tup("kernel_size")), set(layer.tup("dilation"))
        t = d * (k - 1)
        worked["same_symmetric"] = (
            f"{t // 2},{t // 2}",
            f"That pads \\( \\lfloor {t}/2 \\rfloor = {t // 2} \\) on both sides; an odd "
            "total puts its extra zero on the right.")
        worked["odd_zero_left"] = (f"{t - t // 2},{t // 2}",
                                   f"That puts the odd zero of the total {t} on the left; "
                                   f"PyTorch pads \\( \\lfloor {t}/2 \\rfloor = {t // 2} "
                                   f"\\) left, {t - t // 2} right.")
        if d > 1:
            u = k - 1
            worked["no_dilation"] = (f"{u // 2},{u - u // 2}",
                                     f"That leaves out the dilation: a total of "
                                     f"\\( k-1 = {u} \\), not \\( {d}\\cdot {u} = {t} \\).")
        return worked
    claim = _only(claims, "shape")
    layer = _args(claim)
    ks, (d,) = layer.tup("kernel_size"), set(layer.tup("dilation"))
    if q == "pad":
        def fmt(values: Sequence[int]) -> str:
            return ",".join(map(str, values)) if isinstance(layer.get("kernel_size"),
                                                          tuple) else str(values[0])
        totals = [d * (k - 1) for k in ks]
        total = "d(k-1)" if d > 1 else "k-1"
        worked["padding_once"] = (
            fmt(totals), f"That puts the whole \\( {total} = {fmt(totals).replace(',', ', ')} "
            "\\) on each side, not half of it.")
        if d > 1:
            k0 = ks[0]  # dilated kernels are square
            worked["no_dilation"] = (fmt([(k - 1) // 2 for k in ks]),
                                     f"That leaves out the dilation: \\( ({k0}-1)/2 = "
                                     f"{(k0 - 1) // 2} \\), not \\( {d}({k0}-1)/2 = "
                                     f"{d * (k0 - 1) // 2} \\).")
        return worked
    if q != "tf":
        return worked
    (k,), (s,) = set(ks), set(layer.tup("stride"))
    size, target = _shape(claim.get("input_shape"))[-1], _shape(claim.get("output_shape"))[-1]
    space = _only(claims, "unique").get("space", {}).get("p")
    top = space[1] if isinstance(space, list) and len(space) == 2 else None
    if not isinstance(top, int):
        raise NotApplicable("the unique claim states no space for p")
    _small(top)

    def out(p: int, dil: int) -> int | None:
        try:
            return conv_out(size, k, s, p, dil)
        except ShapeError:
            return None

    t = d * (k - 1)
    got = out(t // 2, d)
    smallest = next((p for p in range(top + 1) if out(p, d) == target), None)
    if got is None:
        then = "."
    elif got != target:
        then = f", which gives {got} here, not {target}."
    else:  # it reaches the target, yet a smaller p does too
        then = f"; it gives {target}, but p = {smallest} is the smallest that does."
    worked["same_symmetric"] = (
        str(t // 2), f"That is the stride-1 rule \\( \\lfloor {t}/2 \\rfloor = {t // 2} \\)" + then)
    if d > 1:
        found = [p for p in range(top + 1) if out(p, 1) == target]
        if found:
            worked["no_dilation"] = (str(found[0]),
                                     f"That leaves out the dilation: with a span of {k}, "
                                     f"not {t + 1}, p = {found[0]} gives {target}.")
    return worked


# ------------------------------------------------------------------ conv.inverse

# How a wrong rule works a conv's size, n = in + pads - span - 1 then floor(n/s) (+ 1):
# (the sides padded, 2 or 1; the span dilated, d(k-1), or k-1; the +1; ceil for floor).
# no_dilation applies where d > 1, padding_once where p > 0, the others everywhere.
_LEARNER_TERMS = {
    "no_plus_one": (2, True, False, False),
    "no_dilation": (2, False, True, False),
    "padding_once": (1, True, True, False),
    "ceil_not_floor": (2, True, True, True),
}


def _learner_terms(rule: str, k: int, p: int, d: int) -> tuple[int, int, bool, bool] | None:
    """(pads, span, the +1, ceil for floor) as the rule works a config; None where the
    rule does not apply."""
    sides, dilated, plus, ceil = _LEARNER_TERMS[rule]
    if (rule == "no_dilation" and d <= 1) or (rule == "padding_once" and p <= 0):
        return None
    return sides * p, (d if dilated else 1) * (k - 1), plus, ceil


Config = tuple[int, tuple[int, int, int, int]]  # a value, its (kernel, stride, padding, dilation)


def _learner_hits(rule: str, size: int, target: int, configs: list[Config]) -> list[Config]:
    """The configs whose conv size, as a wrong rule works it, is `target` (a config the
    rule does not apply to gives none). One loop over them all, the rule's terms read
    once, not a call for each config: a card's space holds up to a few dozen values,
    tried by four rules."""
    sides, dilated, plus, ceil = _LEARNER_TERMS[rule]
    by_d, by_p, one = rule == "no_dilation", rule == "padding_once", 1 if plus else 0
    hits = []
    for value, cfg in configs:
        k, s, p, d = cfg
        if (by_d and d <= 1) or (by_p and p <= 0):  # (_learner_terms' None)
            continue
        n = size + sides * p - (d * (k - 1) if dilated else k - 1) - 1
        if n < 0 or (ceil and n % s == 0):  # (ceil where the floor drops nothing: no change)
            continue
        if (-(-n // s) if ceil else n // s) + one == target:
            hits.append((value, cfg))
    return hits


def _learner_tex(rule: str, size: int, k: int, s: int, p: int, d: int) -> str:
    """The MathJax of _learner_hits' computation, where the rule applies."""
    pads, span, plus, ceil = _learner_terms(rule, k, p, d)  # type: ignore[misc]
    n = size + pads - span - 1
    return (_ceil_tex if ceil else _floor_tex)(n, s, plus, _n_tex(size, pads, span))[1]


_INVERSE_ARGS = {"kernel_size": "kernel", "stride": "stride", "padding": "padding"}


def _inverse(params: Mapping[str, Any], claims: Claims) -> Worked:
    """The value in the question's space that the wrong rule's size formula sends to the
    target, when it is the only one there."""
    unique = _only(claims, "unique")
    template = unique.get("claim") or {}
    space = unique.get("space")
    if not isinstance(space, Mapping) or len(space) != 1:
        raise NotApplicable("the unique claim asks for one value")
    ((letter, (lo, hi)),) = space.items()
    _small(lo, hi)
    args = dict(template["layers"][0]["args"])
    (name,) = [a for a, v in args.items() if v == {"var": letter}]
    size = _shape(template.get("input_shape"))[-1]
    target = _shape(template.get("output_shape"))[-1]
    known = {a: args.get(a, default) for a, default in (("kernel_size", 1), ("stride", 1),
                                                        ("padding", 0), ("dilation", 1))}
    # each value's (kernel, stride, padding, dilation), made once for the four rules
    values = range(lo, hi + 1)
    configs = list(zip(values, zip(*[values if a == name else repeat(v, len(values))
                                     for a, v in known.items()], strict=True), strict=True))
    worked: Worked = {}
    for rule in ("no_dilation", "no_plus_one", "padding_once", "ceil_not_floor"):
        hits = _learner_hits(rule, size, target, configs)
        if len(hits) == 1:  # its computation written out
            value, (k, s, p, d) = hits[0]
            tex = _learner_tex(rule, size, k, s, p, d)
            head = _DIM_RULES[rule][2]
            note = f" ({_span(k, d)})" if rule == "no_dilation" else \
                f" ({_once(p)})" if rule == "padding_once" else ""
            worked[rule] = (str(value), f"{head}{note}: {letter} = {value} gives "
                                        f"\\( {tex} \\).")
    return worked


# ------------------------------------------------------------------ conv.framework_same

def _per_dim(value: Any, n: int) -> list[int]:
    values = value if isinstance(value, list) else [value] * n
    if len(values) != n or not all(isinstance(v, int) for v in values):
        raise NotApplicable("not one integer per dim")
    return values


def _framework_same(params: Mapping[str, Any], claims: Claims) -> Worked:
    """SAME (TensorFlow, ONNX) read through PyTorch habits: floor for its ceil(in/s), the
    stride-1 padding floor((k-1)/2), the other dialect's side for the odd zero."""
    found = [c for c in claims if isinstance(c, Mapping) and c.get("kind") == "unique"]
    claim = found[0]["claim"] if found else _only(claims, "framework_same")
    spatial = _shape(claim.get("input_shape"))[2:]
    n = len(spatial)
    args = claim["layers"][0]["args"]
    ks, ss = _per_dim(args["kernel_size"], n), _per_dim(args.get("stride", 1), n)
    sym = [(k - 1) // 2 for k in ks]
    q = params.get("q")
    if q == "size":
        right = [_cdiv(i, st) for i, st in zip(spatial, ss, strict=True)]
        d = next((d for d in range(n) if spatial[d] % ss[d]), 0)
        worked: Worked = {"same_floor": (
            shape_text([_fits(i // st) for i, st in zip(spatial, ss, strict=True)]),
            f"That rounds down, \\( \\lfloor {spatial[d]}/{ss[d]} \\rfloor = "
            f"{spatial[d] // ss[d]} \\); SAME gives \\( \\lceil {spatial[d]}/{ss[d]} "
            f"\\rceil = {right[d]} \\).")}
        try:
            sizes = [conv_out(i, k, st, p) for i, k, st, p in zip(spatial, ks, ss, sym,
                                                                   strict=True)]
        except ShapeError:
            return worked
        d = next((d for d in range(n) if sizes[d] != right[d]), 0)
        i, k, st, p = spatial[d], ks[d], ss[d], sym[d]
        _, tex = _floor_tex(i + 2 * p - k, st, n_tex=_n_tex(i, 2 * p, k - 1))
        worked["same_symmetric"] = (
            shape_text(sizes),
            f"That is PyTorch's padding \\( \\lfloor ({k}-1)/2 \\rfloor = {p} \\)"
            + (f" ({_DIM_NAMES[n][d]})" if n > 1 else "") + f": \\( {tex} \\).")
        return worked
    pads = claim.get("pads")
    if not (isinstance(pads, list) and pads and all(p == pads[0] for p in pads)):
        raise NotApplicable("not one split for every dim")
    left, right_pad = pads[0]
    if len(set(sym)) != 1:
        return {}
    rule = (f"That is the stride-1 rule \\( \\lfloor ({ks[0]}-1)/2 \\rfloor = {sym[0]} "
            f"\\); SAME pads {left},{right_pad} here.")
    if q == "torch":
        return {"same_symmetric": (str(sym[0]), rule)}
    worked = {"same_symmetric": (f"{sym[0]},{sym[0]}", rule)}
    dialect = claim.get("dialect")
    other = {"SAME_UPPER": "SAME_LOWER", "SAME_LOWER": "SAME_UPPER"}.get(str(dialect))
    if other is not None:
        side = "after" if dialect == "SAME_UPPER" else "before"
        worked["other_dialect"] = (f"{right_pad},{left}",
                                   f"That is {other}'s split, {right_pad},{left}; {dialect} "
                                   f"puts the odd zero {side}: {left},{right_pad}.")
    return worked


# ------------------------------------------------------------------ conv_transpose

def _transpose(params: Mapping[str, Any], claims: Claims) -> Worked:
    if params.get("q") != "recover":
        return _forward(params, claims, _TRANSPOSE_RULES)
    shapes = [c for c in claims if isinstance(c, Mapping) and c.get("kind") == "shape"]
    convs = [c for c in shapes if _args(c).kind == "conv"]
    if len(convs) != 1:
        raise NotApplicable("expected one shape claim of the conv")
    conv = _args(convs[0])
    target = _shape(convs[0].get("input_shape"))[-1]
    size = _shape(convs[0].get("output_shape"))[-1]
    (k,), (s,), (p,), (d,) = (set(conv.tup(a)) for a in ("kernel_size", "stride", "padding",
                                                        "dilation"))
    base, tex = _transpose_tex(size, k, s, p, 0, d)
    op = target - base
    worked: Worked = {}
    worked["no_output_padding"] = (
        "0", f"That expects it to undo the conv exactly, but \\( {tex} \\), not {target}.")
    worked["no_plus_one"] = (
        str(op + 1), f"That leaves out the transposed size's +1: {base - 1}, not {base}, so "
        f"\\( {target} - {base - 1} = {op + 1} \\).")
    if d > 1:
        plain, _ = _transpose_tex(size, k, s, p, 0, 1)
        if target - plain >= 0:
            worked["no_dilation"] = (
                str(target - plain), f"That leaves out the dilation ({_span(k, d)}): "
                f"{plain}, not {base}, so \\( {target} - {plain} = {target - plain} \\).")
    return worked


def _transpose_rules(params: Mapping[str, Any], claims: Claims) -> Worked:
    """conv_transpose.rules: an explicit output_padding is allowed below the stride OR the
    dilation; output_size= reaches lo..lo+s-1, bounded by the stride alone."""
    q = params.get("q")
    if q == "explicit":
        worked = _forward(params, claims, _TRANSPOSE_RULES)
        layer = _args(_only(claims, "shape", "error"))
        (s,), (d,), (op,) = (set(layer.tup(a)) for a in ("stride", "dilation",
                                                          "output_padding"))
        if s <= op < d:
            worked["op_below_stride"] = (
                "error", f"That allows output_padding only below the stride; below the "
                f"dilation runs too: \\( {op} < {d} \\).")
        return worked
    calls = [c for c in claims if isinstance(c, Mapping)
             and c.get("kind") == "transpose_output_size"]
    if not calls:
        raise NotApplicable("no output_size call")
    layer = _layer(calls[0].get("layer"))
    spatial = _shape(calls[0].get("input_shape"))[-layer.ndim:]
    dims = [(size_range(n, layer.tup("kernel_size")[i], layer.tup("stride")[i],
                        layer.tup("padding")[i], layer.tup("dilation")[i]),
             layer.tup("stride")[i], layer.tup("dilation")[i])
            for i, n in enumerate(spatial)]
    if q == "range":
        ((lo, hi), s, d), = dims
        worked = {"no_plus_one": (f"{lo - 1}..{hi - 1}",
                                  f"That is the range without the +1: it would start at "
                                  f"{lo - 1}, not {lo}.")}
        if d > s:
            worked["range_by_dilation"] = (
                f"{lo}..{lo + d - 1}", f"That lets the dilation {d} widen the range; the "
                f"stride {s} alone bounds it: \\( {lo} + {s} - 1 = {hi} \\).")
        return worked
    if q not in ("picked", "picked2d") or len(calls) != 1:
        return {}
    targets = calls[0].get("output_size")
    if not isinstance(targets, list) or len(targets) != len(dims):
        raise NotApplicable("the call gives no size per dim")
    worked = {}
    # without the +1 the learner's range starts one lower: one more output_padding
    shifted = [t - lo + 1 for ((lo, _), _, _), t in zip(dims, targets, strict=True)]
    fits = all(0 <= v < s for v, (_, s, _) in zip(shifted, dims, strict=True))
    (lo0, _), _, _ = dims[0]
    worked["no_plus_one"] = (",".join(map(str, shifted)) if fits else "error",
                             f"That leaves out the +1: the range would start at "
                             f"{lo0 - 1}, not {lo0}" + ("" if len(dims) == 1 else " (H)") + ".")
    pads = []
    for ((lo, _), s, d), t in zip(dims, targets, strict=True):
        if not lo <= t <= lo + max(s, d) - 1:
            return worked
        pads.append(t - lo)
    trap = [(t, lo, s, d) for ((lo, _), s, d), t in zip(dims, targets, strict=True)
            if t - lo >= s]
    if trap:
        t, lo, s, d = trap[0]
        worked["range_by_dilation"] = (
            ",".join(map(str, pads)), f"That lets the dilation {d} widen the range: {t} is "
            f"past \\( {lo} + {s} - 1 = {lo + s - 1} \\), the stride's bound, so the call "
            "raises.")
    return worked


# ------------------------------------------------------------------ adaptive pools

def _floor_windows(size: int, out: int) -> list[tuple[int, int]]:
    return [((i * size) // out, ((i + 1) * size) // out) for i in range(out)]


def _adaptive_one(claim: Mapping[str, Any], dim: int) -> tuple[int, int]:
    """(input size, output size) of one spatial dim of the claim's adaptive pool."""
    layer = _args(claim, "layer") if "layer" in claim else _args(claim)
    if not layer.kind.startswith("adaptive"):
        raise NotApplicable("the claim is not about an adaptive pool")
    spatial = _shape(claim.get("input_shape"))[-layer.ndim:]
    out = layer.tup("output_size")[dim]
    size = spatial[dim] if out is None else out
    _small(spatial[dim], size)
    return spatial[dim], size


def _end_line(i: int, size: int, out: int) -> str:
    end, top = ((i + 1) * size) // out, _cdiv((i + 1) * size, out)
    return (f"That rounds window {i}'s end down: \\( \\lfloor {(i + 1) * size}/{out} "
            f"\\rfloor = {end} \\), not \\( \\lceil {(i + 1) * size}/{out} \\rceil = "
            f"{top} \\).")


def _adaptive_windows(params: Mapping[str, Any], claims: Claims) -> Worked:
    """The windows with their ends rounded down."""
    claim = _only(claims, "windows")
    q = params.get("q")
    if q == "window2d":
        i, j = params["index"]
        cuts = []
        for dim, idx in ((0, i), (1, j)):
            size, out = _adaptive_one(claim, dim)
            a, b = _floor_windows(size, out)[idx]
            if b <= a:
                raise NotApplicable("an empty window")
            cuts.append((a, b, adaptive_windows(size, out)[idx][1] != b, idx, size, out))
        first = next(c for c in cuts if c[2]) if any(c[2] for c in cuts) else cuts[0]
        return {"floor_window_end": (f"{cuts[0][0]}:{cuts[0][1]},{cuts[1][0]}:{cuts[1][1]}",
                                     _end_line(*first[3:]))}
    size, out = _adaptive_one(claim, 0)
    wins, right = _floor_windows(size, out), adaptive_windows(size, out)
    differ = [i for i in range(out) if wins[i] != right[i]]
    line = _end_line(differ[0] if differ else 0, size, out)
    if q == "readers":
        cell = params["cell"]
        count = sum(a <= cell < b for a, b in wins)
        true = sum(a <= cell < b for a, b in right)
        return {"floor_window_end": (
            str(count), f"With each end rounded down, \\( \\lfloor (i+1)\\cdot {size}/{out} "
            f"\\rfloor \\), cell {cell} is read by {count} window{'s' if count != 1 else ''}, "
            f"not {true}.")}
    if any(b <= a for a, b in wins):
        raise NotApplicable("an empty window")
    if q == "lengths":
        return {"floor_window_end": (",".join(str(b - a) for a, b in wins), line)}
    if q == "window":
        idx = params["index"]
        a, b = wins[idx]
        return {"floor_window_end": (f"{a}:{b}", _end_line(idx, size, out))}
    return {}


def _equivalence(params: Mapping[str, Any], claims: Claims) -> Worked:
    """The divisibility rule and the stride/kernel recipe, against the true windows."""
    windows = [c for c in claims if isinstance(c, Mapping) and c.get("kind") == "windows"]
    if params.get("q") == "reverse":
        adaptive = [c for c in windows if _args(c, "layer").kind.startswith("adaptive")]
        fixed = [c for c in windows if _args(c, "layer").kind in ("maxpool", "avgpool")]
        if len(adaptive) != 1 or len(fixed) != 1:
            raise NotApplicable("expected the windows of both pools")
        size, count = _adaptive_one(adaptive[0], 0)
        pool = _args(fixed[0], "layer")
        (k,), (s,) = set(pool.tup("kernel_size")), set(pool.tup("stride"))
        if size % count == 0 and k == s == size // count:
            return {"divisibility": (str(count), "")}
        why = (f"{size} is not a multiple of {count}" if size % count else
               f"kernel {k} and stride {s} are not both {size // count}")
        return {"divisibility": ("none", f"That is the divisibility rule: {why}, yet "
                                         f"output_size {count} gives the windows of kernel "
                                         f"{k}, stride {s}.")}
    claim = _only(claims, "windows")
    layer = _args(claim, "layer")
    dims = [_adaptive_one(claim, d) for d in range(layer.ndim)]
    worked: Worked = {}
    if all(n % o == 0 for n, o in dims):
        ks = ",".join(str(n // o) for n, o in dims)
        worked["divisibility"] = (f"yes k={ks} s={ks}", "")
    else:
        n, o = next((n, o) for n, o in dims if n % o)
        pair = fixed_equivalent(n, o)
        fact = (f"yet its windows are all {pair[0]} long, {pair[1]} apart" if pair else
                "and here no fixed pool matches")
        worked["divisibility"] = ("no", f"That is the divisibility rule: {n} is not a "
                                        f"multiple of {o}, {fact}.")
    pairs = [recipe_guess(n, o) for n, o in dims]
    wrong = [(n, o, pk, ps) for (n, o), (pk, ps) in zip(dims, pairs, strict=True)
             if fixed_equivalent(n, o) != (pk, ps)]
    n, o, pk, ps = wrong[0] if wrong else (*dims[0], *pairs[0])
    worked["stride_recipe"] = (
        f"yes k={','.join(str(p[0]) for p in pairs)} s={','.join(str(p[1]) for p in pairs)}",
        f"That is the recipe \\( s = \\lfloor {n}/{o} \\rfloor = {ps} \\), "
        f"\\( k = {n} - {o - 1}\\cdot {ps} = {pk} \\); {_recipe_differs(n, o, pk, ps)}.")
    return worked


def _recipe_differs(n: int, o: int, k: int, s: int) -> str:
    """Where a fixed pool (kernel k, stride s, no padding) on n cells parts from the
    adaptive pool n -> o: its count of windows, or its first window that differs."""
    _small(n, o)
    count = (n - k) // s + 1 if 1 <= k <= n and s >= 1 else 0
    if count != o:
        return f"it gives {count} window{'s' if count != 1 else ''}, not {o}"
    true = adaptive_windows(n, o)
    i = next((i for i in range(o) if tuple(true[i]) != (i * s, i * s + k)), 0)
    return f"its window {i} is [{i * s}, {i * s + k}), not [{true[i][0]}, {true[i][1]})"


# ------------------------------------------------------------------ pool.options

def _plane(values: Any) -> tuple[list[int], list[int]]:
    """A values claim's input (one batch, one channel) as (spatial sizes, C-order cells)."""
    rows = values[0][0]
    if rows and not isinstance(rows[0], list):
        rows = [rows]
        spatial = [len(rows[0])]
    else:
        spatial = [len(rows), len(rows[0])]
    cells = [v for row in rows for v in row]
    for v in cells:  # (JSON's ints, told by their type in a loop, as _shape does)
        if type(v) is not int:
            break
    else:
        return spatial, cells
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in cells):
        raise NotApplicable("the input is not integers")
    return spatial, cells


def _pool_options(params: Mapping[str, Any], claims: Claims) -> Worked:
    """An AvgPool output's divisor read wrongly; MaxUnpool's size (see _unpool)."""
    if params.get("q") == "unpool":
        return _unpool(claims)
    claim = _only(claims, "values")
    (data,) = claim["layers"]
    layer = _layer(data)
    if layer.kind != "avgpool":
        return {}
    spatial, cells = _plane(claim["input"])
    index = list(params["index"])
    if len(cells) != prod(spatial):  # rows of unequal lengths: fail where avg_values does
        avg_values(layer, spatial, cells)
    found = avg_divisor(layer, spatial, index)
    divisor = found.divisor
    # only this output's window sum: the right value is that sum over a divisor of at
    # least 1, since an accepted pool's window reads a cell and divisor_override is >= 1
    total = window_sum(spatial, cells, found.windows)

    def said(d: int, why: str) -> tuple[str, str]:
        """The window's sum over a wrong divisor `d`, and its line: `why` with {d}."""
        v = str(Fraction(total, d))
        if not total:
            return v, f"{why.split(',')[0]}."
        if f"{total}/{d}" == v:  # "5/2" again says nothing: name the sum instead
            return v, f"{why.format(d=d)} (the window's sum is {total})."
        return v, f"{why.format(d=d)}: \\( {total}/{d} = {v} \\)."

    # count_include_pad and divisor_override move no window: a layer with either changed
    # divides the same windows' sum by AvgDivisor's count with that change (no Layer
    # built and stepped again for it)
    override, include = found.override, found.include_pad
    worked: Worked = {}
    if override is not None:
        plain = AvgDivisor(found.windows, include, None).divisor
        worked["override_ignored"] = said(plain, f"That ignores divisor_override={override}, "
                                                 "dividing by the window's {d} cells")
    else:
        flipped = AvgDivisor(found.windows, not include, None).divisor
        worked["pad_count_flipped"] = said(
            flipped, "That " + (f"leaves the padding zeros out, dividing by {{d}}; "
                                f"count_include_pad=True divides by {divisor}" if include else
                                f"counts the padding zeros, dividing by {{d}}; "
                                f"count_include_pad=False divides by {divisor}"))
        k = prod(layer.tup("kernel_size"))
        if divisor != k:
            worked["kernel_divisor"] = said(k, f"That divides by the kernel's {k} cells, not "
                                               f"by the {divisor} the window counts")
    return worked


def _unpool(claims: Claims) -> Worked:
    """Without output_size: the input's own size back. With it: output_size taken as
    given, where PyTorch refuses it for being out of its range."""
    claim = _only(claims, "unpool")
    try:
        parsed = parse_unpool(claim)
    except Exception:  # the claim's own parser refuses it: verify reports that
        raise NotApplicable("the unpool claim does not parse") from None
    pool, un = parsed.pool, parsed.unpool
    if not isinstance(pool, Layer):
        raise NotApplicable("the pool is refused")
    shape, size = _shape(claim.get("input_shape")), claim.get("output_size")
    result = unpool(pool, un, shape, size)
    if size is None:
        d = next((d for d, n in enumerate(result.default) if n != shape[2 + d]), 0)
        return {"unpool_restores_input": (
            shape_text(shape), f"That assumes unpooling restores the input's size; its default is "
            f"{result.default[d]}, not {shape[2 + d]}" + (f" ({_DIM_NAMES[un.ndim][d]})"
                                                          if un.ndim > 1 else "") + ".")}
    if result.refused != "range":
        return {}
    sizes = _shape(size)[-un.ndim:]
    d = next(d for d, n in enumerate(sizes) if not result.low[d] < n < result.high[d])
    return {"unpool_size_unchecked": (
        shape_text((*shape[:2], *sizes)), f"That takes output_size as given; PyTorch wants it "
        f"strictly between {result.low[d]} and {result.high[d]}"
        + (f" ({_DIM_NAMES[un.ndim][d]})" if un.ndim > 1 else "") + ".")}


# ------------------------------------------------------------------ conv.validity

def _validity(params: Mapping[str, Any], claims: Claims) -> Worked:
    claim = _only(claims, "shape", "error")
    layer = _args(claim)
    if layer.kind != "conv" or isinstance(layer.get("padding"), str):
        return {}
    shape = _shape(claim.get("input_shape"))
    size, k = shape[-1], layer.tup("kernel_size")[-1]
    p, d = layer.tup("padding")[-1], layer.tup("dilation")[-1]
    channels_ok = shape[-layer.ndim - 1] == layer.get("in_channels")
    padded, span = size + 2 * p, d * (k - 1) + 1

    def verdict(runs: bool) -> str:
        return "yes" if runs else "no"

    worked: Worked = {}
    if d > 1:
        worked["no_dilation"] = (
            verdict(channels_ok and padded >= k),
            f"That checks the kernel without its dilation: {k} fits in {padded} padded "
            f"cells, the span \\( {d}({k}-1)+1 = {span} \\) does not.")
    if p > 0:
        worked["padding_once"] = (
            verdict(channels_ok and size + p >= span),
            f"That pads one side only: {size + p} cells, fewer than the kernel's span "
            f"{span}.")
    if not channels_ok:
        worked["channels_ignored"] = (
            verdict(padded >= span),
            f"That checks only the sizes: the layer wants "
            f"{count_of(layer.get('in_channels'), 'channel')}, the input has "
            f"{shape[-layer.ndim - 1]}.")
    return worked


# ------------------------------------------------------------------ conv.params

def _raw(data: Any) -> tuple[str, dict[str, Any]]:
    """A claim's layer as (type, args), also one cardgen's Layer refuses."""
    if not isinstance(data, Mapping) or not isinstance(data.get("args"), Mapping):
        raise NotApplicable("the claim holds no layer")
    return str(data.get("type")), dict(data["args"])


def _conv_params(params: Mapping[str, Any], claims: Claims) -> Worked:
    """Parameters without the bias or with groups ignored; MACs with groups ignored or
    outputs counted at the input's size."""
    worked: Worked = {}
    if params.get("q") == "macs":
        claim = _only(claims, "macs")
        layer = _layer(claim.get("layer"))
        if layer.kind != "conv":
            return worked
        shape = _shape(claim.get("input_shape"))

        count = mac_count(layer, shape)
        ks, g, cin = layer.tup("kernel_size"), layer.get("groups"), layer.get("in_channels")
        if g > 1:
            macs = count.outputs * cin * prod(ks)
            worked["groups_ignored"] = (
                str(macs), f"That ignores groups={g}: an output reads {cin} channels, "
                f"not {cin // g}, so \\( {count.outputs}\\cdot {cin * prod(ks)} = {macs} \\).")
        kept = (*count.output_shape[:2], *shape[2:])
        if kept != count.output_shape:
            outputs = prod(kept)
            worked["macs_input_size"] = (
                str(outputs * count.per_output),
                f"That counts the outputs at the input's size, `{shape_text(kept)}`, not "
                f"`{shape_text(count.output_shape)}`.")
        return worked
    claim = _only(claims, "params")
    type_, args = _raw(claim.get("layer"))
    if type_.startswith("Linear"):
        layer = _layer(claim.get("layer"))
        w = prod(weight_shape(layer))
        if layer.get("bias"):
            worked["no_bias"] = (str(w), f"That counts the weights only; the bias adds "
                                         f"{layer.get('out_features')}.")
        return worked
    try:
        cin, cout = int(args["in_channels"]), int(args["out_channels"])
        ks = args["kernel_size"]
        kernel = prod(ks) if isinstance(ks, list) else ks ** int(type_[-2])
        g, bias = int(args.get("groups", 1)), bool(args.get("bias", True))
    except (KeyError, TypeError, ValueError, IndexError):
        raise NotApplicable("the claim's layer has no channels or kernel") from None
    built = claim.get("weights") is not None
    if built and bias:
        layer = _layer(claim.get("layer"))
        w = prod(weight_shape(layer))
        worked["no_bias"] = (str(w), f"That counts the weights only; the bias adds {cout}.")
    if g > 1:
        total = cin * cout * kernel + (cout if bias else 0)
        head = (f"That ignores groups={g}, which PyTorch refuses here"
                if not built else f"That ignores groups={g}")
        worked["groups_ignored"] = (
            str(total), f"{head}: \\( {cin}\\cdot {cout}\\cdot {kernel}"
            + (f" + {cout}" if bias else "") + f" = {total} \\).")
    return worked


# ------------------------------------------------------------------ rules.of_thumb

def _of_thumb(params: Mapping[str, Any], claims: Claims) -> Worked:
    """Trusting the rule: "true" and what the rule itself predicts."""
    rule = params.get("rule")
    reader = _THUMB_RULES.get(str(rule))
    if reader is None:
        return {}
    try:
        right = reader(claims)
    except NotEntailed:
        raise NotApplicable("the claims give no answer") from None
    verdict, _, evidence = right.partition(" ")
    if rule == "same_pad":
        kernel = _only(claims, "unique")["claim"]["layers"][0]["args"]["kernel_size"]
        (k,) = set(kernel) if isinstance(kernel, list) else {kernel}
        guess = same_pad_rule(k)
        keeps = "no p keeps" if evidence == "none" else f"p = {evidence} keeps"
        return {"trusts_rule": (f"true {guess}", f"That trusts the rule: \\( \\lfloor "
                                                 f"({k}-1)/2 \\rfloor = {guess} \\), "
                                                 f"but {keeps} the size.")}
    if rule == "multiple":

        args = _only(claims, "params")["layer"]["args"]
        cin, cout = args["in_channels"], args["out_channels"]
        if multiple_rule_builds(cin, cout):  # trusting it: no count of one's own to give
            return {}
        return {"trusts_rule": ("true error", f"That trusts the rule: {cin} is not a "
                                              f"multiple of {cout}, yet PyTorch builds it.")}
    if rule == "divisible":
        return {"trusts_rule": ("true", f"That trusts the rule, yet {evidence.replace(' ', ', ')}"
                                        " matches.")}
    if rule == "recipe":
        claim = _only(claims, "equivalent")
        adaptive, fixed = _args(claim), _args(claim, "other")
        spatial = _shape(claim.get("input_shape"))[-adaptive.ndim:]
        outs = [n if o is None else o for n, o in zip(spatial, adaptive.tup("output_size"),
                                                      strict=True)]
        ks, ss = fixed.tup("kernel_size"), fixed.tup("stride")
        n, o, k, st = next(((n, o, k, st) for n, o, k, st in zip(spatial, outs, ks, ss,
                                                                   strict=True)
                            if fixed_equivalent(n, o) != (k, st)),
                           (spatial[0], outs[0], ks[0], ss[0]))
        return {"trusts_rule": (f"true {evidence}", f"That trusts the recipe; "
                                                    f"{_recipe_differs(n, o, k, st)}.")}
    if rule == "ceil_docs":
        claim = _only(claims, "shape")
        layer = _args(claim)
        spatial = _shape(claim.get("input_shape"))[-layer.ndim:]
        dil = layer.tup("dilation") if layer.kind == "maxpool" else (1,) * layer.ndim
        stride = layer.tup("kernel_size") if layer.get("stride") is None else \
            layer.tup("stride")
        dims = list(zip(spatial, layer.tup("kernel_size"), stride, layer.tup("padding"), dil,
                        strict=True))
        docs = [ceil_docs_out(*dim) for dim in dims]
        right = [int(v) for v in evidence.split("x")]
        i = next((i for i in range(len(dims)) if docs[i] != right[i]), 0)
        size, k, st, p, d = dims[i]
        n = size + 2 * p - d * (k - 1) - 1
        where = "padded cell" if p else "cell"
        return {"trusts_rule": (f"true {shape_text(docs)}", f"That trusts the docs' formula, "
                                f"\\( \\lceil {n}/{st} \\rceil + 1 = {docs[i]} \\); the "
                                f"last window would start at {where} {(docs[i] - 1) * st}, "
                                f"past the input, so PyTorch drops it: {right[i]}.")}
    return {}


# ------------------------------------------------------------------ the registry

_FAMILIES: dict[str, Callable[[Mapping[str, Any], Claims], Worked]] = {
    "conv.output_size": _forward,
    "pool.output_size": _forward,
    "network.trace": _forward,
    "network.stack": _stack,
    "input.unbatched": _forward,
    "adaptive.output_shape": _forward,
    "conv.same_padding": _same_padding,
    "conv.framework_same": _framework_same,
    "conv.inverse": _inverse,
    "conv_transpose.output_size": _transpose,
    "conv_transpose.rules": _transpose_rules,
    "adaptive.windows": _adaptive_windows,
    "adaptive.equivalence": _equivalence,
    "conv.validity": _validity,
    "pool.options": _pool_options,
    "rules.of_thumb": _of_thumb,
    "conv.params": _conv_params,
}
FAMILIES = frozenset(_FAMILIES)  # the families some rule speaks of
_ORDER = {rule: i for i, rule in enumerate(RULES)}


def _worked(family: str, params: Mapping[str, Any], claims: Claims) -> Worked:
    """Every applicable rule's answer and line, in RULES order (the one code path)."""
    worker = _FAMILIES.get(family)
    if worker is None:
        return {}
    try:
        found = worker(params, claims)
    except NotApplicable:
        return {}
    except (CardgenError, KeyError, IndexError, TypeError, ValueError, AttributeError,
            ArithmeticError):
        return {}  # data not shaped as this family's: no rule applies
    if len(found) < 2 or worker in _IN_ORDER:  # (most problems: nothing to order)
        return found
    return {rule: found[rule] for rule in sorted(found, key=_ORDER.__getitem__)}


_IN_ORDER = frozenset({_forward, _stack})  # workers whose dicts are in RULES order (_plan)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_json(value: Any) -> bool:
    """Whether `value` is already what JSON reads back: dicts with str keys, lists and
    scalars, no tuples (the rules read nothing else, and change nothing they read)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _SCALARS and not _is_json(item)):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) not in _SCALARS and not _is_json(item):
                return False
        return True
    return kind in _SCALARS


def _json(value: Any) -> Any:
    """As `cardgen verify` sees it: JSON, tuples as lists. A build's params and claims
    mostly are JSON already: looking costs a fifth of the round trip."""
    return value if _is_json(value) else json.loads(json.dumps(value))


def mistakes(family: str, params: Mapping[str, Any], solution: Solution, *,
             json_data: bool = False) -> list[Mistake]:
    """The named wrong rules that give another answer than `solution.answer`, in RULES
    order; one mistake per distinct wrong answer (the first rule wins). `json_data`: the
    caller vouches that `params` and `solution.claims` are JSON values already (a
    family's generate() and solve() make them so, tests/test_mistakes.py checks every
    family's), so they are not looked over again; otherwise they are read as `cardgen
    verify` reads them, JSON."""
    worker = _FAMILIES.get(family)
    if worker is None:
        return []
    # (_stack reads the params alone, its layers and input; the other workers read their
    # claims, and of the params only which part is asked: "q", "rule", "index", "cell",
    # strs and ints that read alike as JSON or not, which need no look)
    if json_data:
        worked = _worked(family, params, solution.claims)
    elif worker is _stack:
        worked = _worked(family, _json(params), solution.claims)
    else:
        worked = _worked(family, params, _json(solution.claims))
    if not worked:  # (a note of many families: no rule applies)
        return []
    first: dict[str, str] = {}  # answer -> the rule the verdict names
    also: dict[str, list[str]] = {}  # answer -> later rules that give it too
    for rule, (answer, _) in worked.items():
        if answer == solution.answer:
            continue
        if answer not in first:
            first[answer] = rule
        elif (first[answer], rule) not in _SAME_WORK:
            also.setdefault(answer, []).append(_LOWER.get(rule, RULES[rule]))
    found = []
    for answer, rule in first.items():
        line, others = worked[rule][1], also.get(answer)
        if callable(line):
            line = line()
        if others and line:  # the verdict names one rule; its line says the others too
            line = (f"{line[:-1]}; {' and '.join(others)} give{'s' if len(others) == 1 else ''}"
                    " it too.")
        found.append(Mistake(rule, answer, line))
    return found


# Rule pairs whose wrong computations are one and the same where they meet: the second is
# not worth a mention (without ceil mode's clipped window, counting the padding zeros is
# dividing by the kernel).
_SAME_WORK = {("pad_count_flipped", "kernel_divisor")}
_LOWER = {r: name[0].lower() + name[1:] for r, name in RULES.items()
          if name[:1].isupper() and not name.startswith(("None", "Flatten"))}


def derive(rule: str, family: str, params: Mapping[str, Any], claims: Sequence[Any]) -> str:
    """The answer `rule` gives for this variant's data; NotApplicable when it gives none."""
    if rule not in RULES:
        raise NotApplicable(f"unknown rule {rule[:40]!r}")
    worked = _worked(family, params, claims)
    if rule not in worked:
        raise NotApplicable(f"the rule {rule} does not apply here")
    return worked[rule][0]


def check_mistakes(family: str, params: Mapping[str, Any], claims: Sequence[Any],
                   answer: str, mistakes: Any) -> list[str]:
    """Why a Spec's mistakes do not hold (empty: they do)."""
    if not isinstance(mistakes, list):
        return ["mistakes is not a list"]
    reasons: list[str] = []
    seen: set[str] = set()
    worked = _worked(family, params if isinstance(params, Mapping) else {},
                     claims if isinstance(claims, list) else [])
    for i, item in enumerate(mistakes):
        if not (isinstance(item, Mapping) and set(item) == {"rule", "answer"}
                and isinstance(item["rule"], str) and isinstance(item["answer"], str)):
            reasons.append(f"mistake {i} is not {{\"rule\", \"answer\"}} strings")
            continue
        rule, wrong = item["rule"], item["answer"]
        if rule not in RULES:
            reasons.append(f"mistake {i}: unknown rule {rule[:40]!r}")
        elif rule not in worked:
            reasons.append(f"mistake {i}: the rule {rule} does not apply here")
        elif worked[rule][0] != wrong:
            reasons.append(f"mistake {i}: {rule} gives {worked[rule][0][:40]}, not "
                           f"{wrong[:40]}")
        if wrong == answer:
            reasons.append(f"mistake {i}: {rule[:40]} gives the right answer")
        if wrong in seen:
            reasons.append(f"mistake {i}: the answer {wrong[:40]} is named twice")
        seen.add(wrong)
    return reasons
