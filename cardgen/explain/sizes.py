"""Writers for the size rules of Conv and ConvTranspose layers.

Each writer takes the numbers of one rule (sizes, kernel, stride, padding, dilation) and
the result the solver computed, works the rule again with those numbers, and raises
ValueError when the two disagree: a card never shows a formula that does not give its
answer. Error reasons are worded as our explanation of the rule, never as a quote of
PyTorch's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

from cardgen.explain import count_of
from cardgen.explain.tex import display_rows
from cardgen.explain.windows import gaps_skipped
from cardgen.layers import RESAMPLE_KINDS

LETTER = {"padding": "p", "stride": "s", "kernel": "k"}


def _conv_n(size: int, k: int, pl: int, pr: int, d: int) -> int:
    """The numerator of the conv size rule: in + pl + pr - d(k-1) - 1."""
    return size + pl + pr - d * (k - 1) - 1


def _disagree(what: str, mine: Any, solver: Any) -> ValueError:
    return ValueError(f"{what}: the rule gives {mine}, the solver {solver}")


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


# ------------------------------------------------------------------ the size formulas

def size_tex(size: int, k: int, s: int, pl: int, d: int, out: int, pr: int | None = None,
             name: str = "out", ceil: bool = False) -> str:
    """The conv/pool size formula with the numbers substituted, as MathJax: the numerator
    n first, then the division, each on its own row. `out` is the solver's size (before
    ceil mode's last-window rule, which the caller explains)."""
    pads = f"2\\cdot {pl}" if pr is None or pr == pl else f"{pl} + {pr}"
    n = size + pl + (pl if pr is None else pr) - d * (k - 1) - 1  # _conv_n
    lo, hi = ("\\lceil", "\\rceil") if ceil else ("\\lfloor", "\\rfloor")
    if (n < 0 and not ceil) or (-(-n // s) if ceil else n // s) + 1 != out:
        raise ValueError(f"{name}: the formula gives another size than the solver's {out}")
    # display_rows' text for the rows n = in + pads, - d(k-1) - 1, = n and name = the
    # division, written out: a conv or pool layer's card writes one per distinct dim
    return (f"\\( {name} = {lo} n / s {hi} + 1 \\) with \\( n = in + 2p - d(k-1) - 1 \\): "
            f"\\[ \\begin{{aligned}} n &= {size} + {pads} \\\\ &\\quad - {d}\\cdot({k}-1) - 1 "
            f"\\\\  &= {n} \\\\ {name} &= {lo} {n}/{s} {hi} + 1 = {out} \\end{{aligned}} \\]")


def conv_size_text(size: int, k: int, s: int, pl: int, d: int, out: int,
                   pr: int | None = None) -> str:
    """The conv size rule as plain text (`cardgen solve`):
    ``floor((224 + 2*3 - 1*(7-1) - 1) / 2) + 1 = 112``."""
    pr = pl if pr is None else pr
    n = _conv_n(size, k, pl, pr, d)
    if n < 0 or n // s + 1 != out:
        raise _disagree("conv size", n // s + 1 if n >= 0 else "no size", out)
    pads = f"2*{pl}" if pl == pr else f"{pl} + {pr}"
    return f"floor(({size} + {pads} - {d}*({k}-1) - 1) / {s}) + 1 = {out}"


def _transpose_out(size: int, k: int, s: int, p: int, op: int, d: int) -> int:
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def transpose_size_text(size: int, k: int, s: int, p: int, op: int, d: int, out: int) -> str:
    """The transposed-conv size rule as plain text (`cardgen solve`)."""
    if _transpose_out(size, k, s, p, op, d) != out:
        raise _disagree("transposed conv size", _transpose_out(size, k, s, p, op, d), out)
    return f"({size}-1)*{s} - 2*{p} + {d}*({k}-1) + {op} + 1 = {out}"


def _spread_rows(size: int, k: int, s: int, p: int, op: int | None, d: int,
                 out: int) -> list[tuple[str | None, str]]:
    tail = "+ 1" if op is None else f"+ {op} + 1"
    return [("", f"({size}-1)\\cdot{s} - 2\\cdot{p}"), (None, f"+ {d}\\cdot({k}-1) {tail}"),
            ("", str(out))]


def transpose_size_tex(size: int, k: int, s: int, p: int, op: int, d: int, out: int) -> str:
    """The transposed-conv size rule with the numbers substituted, as MathJax."""
    if _transpose_out(size, k, s, p, op, d) != out:
        raise _disagree("transposed conv size", _transpose_out(size, k, s, p, op, d), out)
    return "With op = output_padding: " + display_rows(
        [("out", "(in-1)s - 2p"), (None, "+ d(k-1) + op + 1"),
         *_spread_rows(size, k, s, p, op, d, out)])


def transpose_recover_steps(big: int, size: int, k: int, s: int, p: int, d: int,
                            op: int) -> list[str]:
    """Why output_padding `op` brings a strided conv's output `size` back to `big`: the
    conv's floor dropped the remainder n mod s, and output_padding adds that many cells."""
    n = _conv_n(big, k, p, p, d)
    if n < 0 or n // s + 1 != size:
        raise _disagree("conv size", n // s + 1, size)
    rest, limit = n % s, max(s, d)
    base = _transpose_out(size, k, s, p, 0, d)
    if rest != op or base + op != big or op >= limit:
        raise ValueError(f"output_padding {op} does not bring {size} back to {big}")
    dil = f" or the dilation {d}" if d > 1 else ""
    return [
        "The conv: " + _n_rows(f"{big} + 2\\cdot{p}", f"- {d}\\cdot({k}-1) - 1", str(n))
        + f"and \\( \\lfloor {n}/{s} \\rfloor + 1 = {size} \\): the floor dropped the remainder "
        f"\\( {n} \\bmod {s} = {rest} \\).",
        "The transposed conv without output_padding: "
        + display_rows([("out", f"({size}-1)\\cdot{s} - 2\\cdot{p}"),
                        *_spread_rows(size, k, s, p, None, d, base)[1:]]),
        (f"That is \\( {big} - {base} = {op} \\) short. Each unit of output_padding adds "
         f"one cell on the right, so only output_padding = {op} gives {big}; it must be "
         f"smaller than the stride {s}{dil}, and {op} is." if op else
         f"That is already {big}: the floor dropped nothing, so output_padding = 0. Each "
         "unit of output_padding adds one cell on the right, so any other value overshoots."),
    ]


# ------------------------------------------------------------------ padding='same'

def padding_mode_text(mode: str) -> str:
    """What padding='valid' or padding='same' means for the size rule."""
    if mode == "valid":
        return "`padding='valid'` means no padding: p = 0 in every dim."
    if mode == "same":
        return ("`padding='same'` (stride 1 only): total padding d(k-1) per dim, "
                "left = total // 2, right = the rest, so the size is kept.")
    raise ValueError(f"unknown padding mode {mode!r}")


def same_rule_text() -> str:
    return ("With stride 1 the output size is \\( in + 2p - d(k-1) \\): it equals in "
            "exactly when \\( 2p = d(k-1) \\).")


def same_pad_text(k: int, d: int, p: int, name: str | None = None) -> str:
    """The symmetric padding that keeps the size at stride 1: 2p = d(k-1)."""
    total = d * (k - 1)
    if 2 * p != total:
        raise _disagree("same padding", f"2p = {total}", f"p = {p}")
    where = f"{name}: " if name else ""
    return (f"{where}\\( 2p = {d}\\cdot({k}-1) = {total} \\), so "
            f"\\( p = {total}/2 = {p} \\).")


def same_split_steps(k: int, d: int, left: int, right: int, size: int,
                     out_left: int, out_right: int) -> list[str]:
    """padding='same': total d(k-1), left = total // 2, the rest on the right; and what
    the symmetric paddings `left` and `right` give instead (the solver's sizes)."""
    total = d * (k - 1)
    if (left, right) != (total // 2, total - total // 2):
        raise _disagree("same split", (total // 2, total - total // 2), (left, right))
    if (out_left, out_right) != (size + 2 * left - total, size + 2 * right - total):
        raise _disagree("symmetric sizes", (size + 2 * left - total, size + 2 * right - total),
                        (out_left, out_right))
    steps = [f"'same' needs total padding \\( d(k-1) = {d}\\cdot({k}-1) = {total} \\).",
             f"{total} is {'odd' if total % 2 else 'even'}: PyTorch puts "
             f"\\( \\lfloor {total}/2 \\rfloor = {left} \\) on the left and the remaining "
             f"{right} on the right."]
    if left != right:
        steps.append(f"No symmetric padding works: padding={left} gives size {out_left}, "
                     f"padding={right} gives {out_right}.")
    return steps


def same_strided_refused_text(stride: int) -> str:
    """Our wording of why PyTorch refuses padding='same' with a stride (not its message)."""
    if stride < 2:
        raise ValueError("padding='same' is refused only with a stride above 1")
    return (f"PyTorch refuses `padding='same'` with stride {stride}: it supports 'same' only "
            "for stride 1, and building such a layer raises an error. With a stride you choose "
            "the padding yourself.")


def tf_same_target_text(size: int, s: int, target: int) -> str:
    """TensorFlow's 'SAME' output size, ceil(in/s)."""
    if _cdiv(size, s) != target:
        raise _disagree("ceil(in/s)", _cdiv(size, s), target)
    return (f"TensorFlow's 'SAME' output size is \\( \\lceil in/s \\rceil \\) "
            f"\\( = \\lceil {size}/{s} \\rceil = {target} \\).")


# ------------------------------------------------------------------ solving for an unknown

def _bound_texts(x: str, lo_text: str, hi_text: str) -> str:
    """x >= lo and x <= hi, each bound with how it was rounded to a whole number (two short
    formulas: MathJax never breaks one, and a phone's card is 320 px wide)."""
    return f"\\( {x} \\ge {lo_text} \\) and \\( {x} \\le {hi_text} \\)."


def _n_rows(first: str, rest: str, value: str) -> str:
    """n expanded over short display rows: n = first, then rest, = value."""
    return display_rows([("n", first), (None, rest), ("", value)]) + " "


def _bounds(unknown: str, cfg: dict[str, int], target: int
            ) -> tuple[int, int, list[str]]:
    """The whole values [lo, hi] of `unknown` for which the conv gives `target`, and the
    sentences that derive them from s(t-1) <= n <= s(t-1) + s-1."""
    size, k, s, p, d = (cfg[x] for x in ("size", "kernel", "stride", "padding", "dilation"))
    t1 = target - 1
    intro = (f"\\( out = \\lfloor n/s \\rfloor + 1 \\) with \\( n = in + 2p - d(k-1) - 1 \\), "
             f"so out = {target} means \\( \\lfloor n/s \\rfloor = {t1} \\)")
    nlo, nhi = s * t1, s * t1 + s - 1
    window = (f"{intro}: \\( {s}\\cdot{t1} \\le n \\le {s}\\cdot{t1} + {s - 1} \\), i.e. "
              f"\\( {nlo} \\le n \\le {nhi} \\).")
    if unknown == "padding":
        c = size - d * (k - 1) - 1
        a, b = nlo - c, nhi - c
        lo, hi = _cdiv(a, 2), b // 2
        plus = f"+ {c}" if c >= 0 else f"- {-c}"
        return lo, hi, [
            window,
            "Here " + _n_rows(f"{size} + 2p", f"- {d}\\cdot({k}-1) - 1", f"2p {plus}")
            + f"so \\( {a} \\le 2p \\le {b} \\): "
            + _bound_texts("p", f"\\lceil {a}/2 \\rceil = {lo}", f"\\lfloor {b}/2 \\rfloor = {hi}")]
    if unknown == "stride":
        if target < 2:
            raise ValueError("solving for the stride needs an output of at least 2")
        n = _conv_n(size, k, p, p, d)
        lo, hi = _cdiv(n + 1, target), n // t1
        return lo, hi, [
            f"{intro}: \\( {t1}s \\le n \\le {target}s - 1 \\).",
            "Here " + _n_rows(f"{size} + 2\\cdot{p}", f"- {d}\\cdot({k}-1) - 1", str(n))
            + f"so \\( {t1}s \\le {n} \\) and \\( {n} + 1 \\le {target}s \\): "
            + _bound_texts("s", f"\\lceil {n + 1}/{target} \\rceil = {lo}",
                           f"\\lfloor {n}/{t1} \\rfloor = {hi}")]
    if unknown == "kernel":
        big = size + 2 * p - 1
        a, b = big - nhi, big - nlo
        lo, hi = 1 + _cdiv(a, d), 1 + b // d
        dk = "" if d == 1 else str(d)  # d(k-1), or k-1 undilated
        if d == 1:
            last = (f"so \\( {a} \\le k-1 \\le {b} \\): "
                    + _bound_texts("k", str(lo), str(hi)))
        else:
            last = (f"so \\( {a} \\le {d}(k-1) \\le {b} \\): "
                    + _bound_texts("k-1", f"\\lceil {a}/{d} \\rceil = {lo - 1}",
                                   f"\\lfloor {b}/{d} \\rfloor = {hi - 1}")[:-1]
                    + (f", so k = {lo}." if lo == hi else f", so k runs from {lo} to {hi}."))
        return lo, hi, [
            window,
            "Here " + _n_rows(f"{size} + 2\\cdot{p} - 1", f"- {dk}(k-1)", f"{big} - {dk}(k-1)")
            + last]
    raise ValueError(f"unknown {unknown!r}: expected padding, stride or kernel")


def solve_for_steps(unknown: str, cfg: dict[str, int], target: int, space: tuple[int, int],
                    candidates: Sequence[int], smallest: bool = False) -> list[str]:
    """Solve the conv size rule for `unknown` (padding, stride or kernel): the inequality
    for n, solved for the unknown, and why only one value of the stated space fits (or,
    with `smallest`, which one is the smallest). `cfg` holds the answer for the unknown;
    `candidates` are the values of the space the solver found to give `target`."""
    lo, hi, steps = _bounds(unknown, cfg, target)
    inside = list(range(max(lo, space[0]), min(hi, space[1]) + 1))
    if inside != list(candidates) or not inside or inside[0] != cfg[unknown]:
        raise _disagree(f"values of {unknown}", inside, list(candidates))
    if len(inside) > 1 and not smallest:
        raise ValueError(f"{unknown}: {inside} all fit, the question needs one")
    x = LETTER[unknown]
    where = f"{space[0]}..{space[1]}"
    cut = " (the rest lie outside it)" if (lo, hi) != (inside[0], inside[-1]) else ""
    if len(inside) == 1:
        steps.append(f"In {where} that leaves one value{cut}: {x} = {inside[0]}.")
    else:
        steps.append(f"In {where} the values {inside[0]} to {inside[-1]} fit{cut}; "
                     f"the smallest is {x} = {inside[0]}.")
    return steps


# ------------------------------------------------------------------ validity

def conv_fit_text(size: int, pl: int, pr: int, k: int, d: int, fits: bool) -> str:
    """Does the dilated kernel fit in the padded input (`fits`: the solver's verdict)?"""
    padded, span = size + pl + pr, d * (k - 1) + 1
    if (padded >= span) != fits:
        raise _disagree("kernel fits", padded >= span, fits)
    pads = f"2\\cdot{pl}" if pl == pr else f"{pl} + {pr}"
    text = (f"Size: the padded input has \\( {size} + {pads} = {padded} \\) cells, the "
            f"{'dilated ' if d > 1 else ''}kernel spans "
            f"\\( d(k-1)+1 \\) \\( = {d}\\cdot({k}-1)+1 = {span} \\)")
    if fits:
        return text + f": it fits (\\( {padded} \\ge {span} \\))."
    return (text + f": \\( {padded} < {span} \\), there is no place for the kernel, so "
            "PyTorch refuses to run the layer on this input (it raises an error).")


def channels_out_text(before: int, after: int) -> str:
    """What a conv does to the channel dim: out_channels, which may equal in_channels."""
    if before == after:
        return f"channels stay {after} (out_channels = in_channels)"
    return f"channels become out_channels = {after}"


def same_dim_text(name: str, size: int, out: int, like: str = "") -> str:
    """A dim whose size, kernel, stride and padding repeat an earlier dim's (`like`)."""
    return (f"{name} is {size} too, with the same kernel, stride and padding, so it also "
            f"becomes {out}" + (f", like {like}." if like else "."))


def and_list(names: Sequence[str]) -> str:
    """'H', 'H and W', 'D, H and W'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def channels_text(expected: int, got: int) -> str:
    """The layer's in_channels against the input's channel dim."""
    if expected == got:
        return f"Channels: the layer expects {count_of(expected, 'input channel')} and the " \
               f"input has {got}: they match."
    return (f"Channels: the layer's weights are made for "
            f"{count_of(expected, 'input channel')}, but the input has {got}: every output "
            "channel sums over exactly in_channels input channels, so PyTorch cannot run it "
            "(it raises an error).")


# ------------------------------------------------------------------ diagrams and dims

def unchanged_dims_text(names: Sequence[str]) -> str:
    """Dims with kernel 1, stride 1 and no padding: nothing to work, nothing to draw."""
    if not names:
        raise ValueError("no unchanged dims to name")
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "keeps its" if len(names) == 1 else "keep their"
    return (f"{joined}: kernel 1, stride 1, no padding: {verb} size (each cell is read once "
            "on its own), so no diagram for "
            + ("it." if len(names) == 1 else "them."))


def strip_caption(names: Sequence[str], size: int, k: int, s: int, pl: int, pr: int, d: int,
                  out: int, condensed: bool) -> str:
    """The caption of a conv's sliding strip along the dims `names`."""
    n = _conv_n(size, k, pl, pr, d)
    if n < 0 or n // s + 1 != out:
        raise _disagree("placements", n // s + 1, out)
    pads = f"{pl}" if pl == pr else f"{pl} left, {pr} right"
    where = " and ".join(names) + ": " if names else ""
    dil = f", dilation {d}" if d > 1 else ""
    shown = ", middle condensed" if condensed else ""
    gaps = gaps_skipped(size, k, s, pl, d, out)  # input inside the reach that no tap reads
    return (f"{where}kernel {k}, stride {s}, padding {pads}{dil} on {size} cells{shown}: "
            f"{count_of(out, 'placement')}" + (f"; {gaps}" if gaps else "") + ".")


def transposed_caption(size: int, k: int, s: int, p: int, op: int, d: int, out: int) -> str:
    """The caption of a transposed conv's strip (drawn as the direct conv it equals)."""
    if _transpose_out(size, k, s, p, op, d) != out:
        raise _disagree("transposed outputs", _transpose_out(size, k, s, p, op, d), out)
    zeros = f"{count_of(s - 1, 'zero')} between" if s > 1 else "no zeros between"
    dil = f", dilation {d}" if d > 1 else ""
    left = d * (k - 1) - p  # the direct conv's padding: d(k-1)-p, output_padding more right
    right = left + op
    crop = " (negative: cells cropped)" if min(left, right) < 0 else ""
    return (f"{size} inputs spread by stride {s} ({zeros}), implicit padding {left} left "
            f"and {right} right{crop}, kernel {k}{dil}: {out} outputs.")


# ------------------------------------------------------------------ `cardgen solve`

def layer_formulas(layer: Any, shape: Sequence[int], out: Sequence[int]) -> tuple[str, ...]:
    """Each spatial dim's size computation for `cardgen solve`, from the solver's output
    shape `out` (Flatten: its product; Linear: none)."""
    from cardgen.explain.windows import adaptive_size_text, pool_size_text
    from cardgen.solver.shapes import adaptive_sizes, dim_args, is_adaptive_mean

    kind = layer.kind
    if kind in RESAMPLE_KINDS:  # labelled rows, written by cardgen.explain.resample
        from cardgen.explain.resample import resample_formulas

        return resample_formulas(layer, shape, out)
    if kind == "flatten":
        rank = max(len(shape), 1)
        a, b = layer.get("start_dim") % rank, layer.get("end_dim") % rank
        merged = list(shape[a:b + 1])
        if shape and prod(merged) != out[a]:
            raise _disagree("flatten", prod(merged), out[a])
        return (f"{' * '.join(map(str, merged))} = {prod(merged)}",)
    if kind == "linear":
        return ()
    n = layer.ndim
    spatial, sizes = tuple(shape[-n:]), tuple(out[-n:])
    if kind in ("adaptive_avg", "adaptive_max"):
        # pooling's writers are not this module's (cardgen.explain.windows words them)
        if kind == "adaptive_avg" and is_adaptive_mean(layer, tuple(shape)):
            return tuple(adaptive_size_text(size, 1) for size in spatial)
        return tuple(adaptive_size_text(size, o)
                     for size, o in zip(spatial, adaptive_sizes(layer, spatial), strict=True))
    rows = []
    for d, size in enumerate(spatial):
        args = dim_args(layer, d, size)
        if kind == "conv":
            size_, k, s, pl, dil, pr = args
            rows.append(conv_size_text(size_, k, s, pl, dil, sizes[d], pr))
        elif kind == "conv_transpose":
            rows.append(transpose_size_text(*args, sizes[d]))
        else:
            rows.append(pool_size_text(*args))
    return tuple(rows)
