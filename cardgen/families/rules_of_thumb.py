"""rules.of_thumb: statements that notes, forum answers and even docs repeat, checked on a
case the generator draws. Each card answers true or false for its case and carries the
evidence: the number PyTorch gives (or the counterexample), so the answer is never a bare
coin flip; claims that `cardgen verify` re-proves with torch entail it.

The rules are data (``RULES``): an id, the statement as the learner meets it, where they
meet it (only what we checked), the levels that draw it, the case generator and the
checker that solves a case. A new rule is one more entry (and its reader in
``cardgen/entail.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cardgen.claims import (
    equivalent_claim,
    params_claim,
    shape_claim,
    unique_claim,
)
from cardgen.claims.parse import Refused
from cardgen.explain.params import params_tex
from cardgen.explain.thumb import (
    ceil_docs_rule_text,
    dims_verdict_text,
    groups_check_text,
    keeps_size_text,
    multiple_rule_text,
    multiple_verdict_text,
    recipe_match_text,
    recipe_text,
    rule_size_text,
    same_pad_rule_text,
    verdict_text,
    verdict_word,
)
from cardgen.explain.windows import ceil_last_window, fixed_pool_match
from cardgen.families.adaptive_equivalence import _unique_dim
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.solver import fixed_equivalent, output_shape, recipe_guess
from cardgen.solver.arith import pool_out
from cardgen.solver.params import param_count
from cardgen.solver.thumb import (
    ceil_docs_out,
    divisibility_rule,
    groups_build,
    keeps_size_padding,
    multiple_rule_builds,
    same_pad_rule,
)

NAME = "rules.of_thumb"
TITLE = "Rules of thumb, checked: true or false on a case, with PyTorch's evidence"
TOPIC = "Rules of thumb"
LEVELS = (1, 2, 3)

VERDICT_FORM = "true or false, a space, then "


@dataclass(frozen=True)
class Rule:
    """One rule of thumb: what it says, where a learner meets it, and how it is checked."""

    id: str
    statement: str  # as the learner meets it (TeX allowed)
    where: str      # where it is met: only what we checked, never an invented citation
    levels: tuple[int, ...]
    draw: Callable[[Any, int], dict[str, Any] | None]  # a case, or None to draw again
    solve: Callable[[dict[str, Any]], Solution]        # the checker: torch-provable facts


def _intro(rule: Rule) -> str:
    return f"Rule of thumb: \u201c{rule.statement}\u201d Where you meet it: {rule.where}."


# ---------------------------------------------------------------- same padding (L1)

SAME_SIZES = (7, 8, 12, 14, 16, 28, 32)
SAME_KERNELS_ODD = (3, 5, 7, 9, 11)
SAME_KERNELS_EVEN = (2, 4, 6, 8)


def _draw_same_pad(rng: Any, level: int) -> dict[str, Any] | None:
    roll = rng.random()
    if roll < 0.45:  # odd kernel, no dilation: the rule holds
        k, d = pick(rng, SAME_KERNELS_ODD), 1
    elif roll < 0.7:  # even kernel: no symmetric padding keeps the size
        k, d = pick(rng, SAME_KERNELS_EVEN), 1
    else:  # dilated: the rule forgets d
        k, d = pick(rng, (2, 3, 3, 4, 5)), pick(rng, (2, 2, 3))
    size = pick(rng, SAME_SIZES)
    if size < 2 * d * (k - 1):  # the rule's padding must leave room for the kernel
        return None
    return {"rule": "same_pad", "nd": pick(rng, (1, 2)), "size": size, "kernel": k,
            "dilation": d}


def _same_conv(nd: int, k: int, d: int, p: int) -> Layer:
    kw: dict[str, Any] = {"in_channels": 1, "out_channels": 1, "kernel_size": k}
    if d != 1:
        kw["dilation"] = d
    kw["padding"] = p
    return Layer.make(f"Conv{nd}d", **kw)


def _solve_same_pad(params: dict[str, Any]) -> Solution:
    rule = RULES_BY_ID["same_pad"]
    nd, n, k, d = (params[x] for x in ("nd", "size", "kernel", "dilation"))
    shape = (1, 1) + (n,) * nd
    top = d * (k - 1)  # the space: p between 0 and d(k-1), where 2p = d(k-1) must lie
    p_rule, p_true = same_pad_rule(k), keeps_size_padding(k, d)
    holds = p_rule == p_true
    template = shape_claim([_same_conv(nd, k, d, p_true if p_true is not None else p_rule)],
                           shape)
    if p_true is None:  # the template's padding is any candidate: it holds for none
        template["output_shape"] = list(shape)
    rule_layer = _same_conv(nd, k, d, p_rule)
    rule_out = output_shape(rule_layer, shape)
    claims = [unique_claim(template, {"p": ("layers", 0, "args", "padding")}, {"p": (0, top)},
                           holds=p_true is not None),
              shape_claim([rule_layer], shape)]
    name = "L" if nd == 1 else "H, W"
    shown = f"nn.Conv{nd}d(1, 1, {k}" + (f", dilation={d}" if d > 1 else "") + ")"
    evidence = "none" if p_true is None else str(p_true)
    return Solution(
        question=f"{_intro(rule)} Check it on `{shown}` (stride 1) and an input of shape "
                 f"`{shape_text(shape)}`. Is the rule true here? And which padding p (the "
                 f"same on each side, between 0 and {top}) keeps the "
                 f"{'length' if nd == 1 else 'spatial size'}, if any?",
        answer=f"{verdict_word(holds)} {evidence}",
        form=VERDICT_FORM + "p (a whole number) or none",
        steps=[same_pad_rule_text(k, p_rule),
               rule_size_text(name if nd == 1 else "H", n, k, p_rule, d, rule_out[-1]),
               keeps_size_text(k, d, p_true),
               verdict_text(p_rule, p_true, f"p = {p_rule}",
                            f"needs p = {evidence}" if p_true is not None else
                            "has no symmetric p that keeps it")],
        claims=claims,
        diagrams=[Diagram("sliding_strip", {"size": n, "kernel": k, "stride": 1,
                                            "pad_left": p_rule, "pad_right": p_rule,
                                            "dilation": d},
                          f"The rule's padding {p_rule} on {n} cells"
                          + (" (each spatial dim)" if nd == 2 else "") + f": kernel {k}"
                          + (f", dilation {d}" if d > 1 else "")
                          + f", {rule_out[-1]} windows.")],
    )


# ---------------------------------------------------------------- groups (L1)

CHANNELS = (2, 3, 4, 6, 8, 12, 16)


def _draw_multiple(rng: Any, level: int) -> dict[str, Any] | None:
    cin, cout = pick(rng, CHANNELS), pick(rng, CHANNELS)
    g = pick(rng, (2, 3, 4, cin))
    if cin == cout or g == 1:
        return None  # equal channels are a multiple either way: nothing to check
    # the four outcomes (rule right or wrong, layer built or refused) about equally often
    want = (rng.random() < 0.5, rng.random() < 0.5)
    builds = groups_build(cin, cout, g)
    if (multiple_rule_builds(cin, cout) == builds, builds) != want:
        return None
    # one input channel per output and a 1x1 kernel would make the count C_out itself
    k = 3 if cin == g else pick(rng, (1, 1, 3))
    return {"rule": "multiple", "in_channels": cin, "out_channels": cout, "kernel": k,
            "groups": g}


def _groups_layer(params: dict[str, Any]) -> Layer | Refused:
    cin, cout, k, g = (params[x] for x in ("in_channels", "out_channels", "kernel", "groups"))
    if not groups_build(cin, cout, g):
        return Refused("Conv2d", {"in_channels": cin, "out_channels": cout, "kernel_size": k,
                                  "groups": g, "bias": False}, "groups")
    return Layer.make("Conv2d", in_channels=cin, out_channels=cout, kernel_size=k, groups=g,
                      bias=False)


def _solve_multiple(params: dict[str, Any]) -> Solution:
    rule = RULES_BY_ID["multiple"]
    cin, cout, k, g = (params[x] for x in ("in_channels", "out_channels", "kernel", "groups"))
    layer = _groups_layer(params)
    built = isinstance(layer, Layer)
    rule_builds = multiple_rule_builds(cin, cout)
    holds = rule_builds == built
    steps = [multiple_rule_text(cin, cout), groups_check_text(cin, cout, g)]
    if isinstance(layer, Layer):
        count = param_count(layer)
        steps.append(params_tex(cin // g, (k, k), cout, False, count.weights, count.biases))
        evidence = str(count.total)
    else:  # the groups check above already says why it refuses: said once
        evidence = "error"
    steps.append(multiple_verdict_text(cin, cout, g))
    return Solution(
        question=f"{_intro(rule)} Is the rule right about whether PyTorch builds "
                 f"`nn.Conv2d({cin}, {cout}, {k}, groups={g}, bias=False)`? And how many "
                 "parameters does the layer have, if PyTorch builds it?",
        answer=f"{verdict_word(holds)} {evidence}",
        form=VERDICT_FORM + "the number of parameters, or error if PyTorch refuses",
        steps=steps,
        claims=[params_claim(layer)],
    )


# ---------------------------------------------------------------- adaptive pools (L2, L3)

REAL = (7, 9, 10, 11, 13, 14, 15, 17, 19, 21, 27, 28)
SMALL = (6, 7, 9, 10, 11, 13, 14, 15)


def _uneven(rng: Any, sizes: tuple[int, ...], top: int) -> tuple[int, int] | None:
    n = pick(rng, sizes)
    top = min(n - 1, top)
    # out = 2 splits an odd length into two windows that always overlap by one cell (a
    # fixed pool every time): drawn rarely, so the verdict cannot be read off out alone
    out = 2 if top < 3 or rng.random() < 0.15 else rng.randrange(3, top + 1)
    return None if n % out == 0 else (n, out)


def _draw_divisible(rng: Any, level: int) -> dict[str, Any] | None:
    want = rng.random() < 0.45  # "true" (no fixed pool) is a bare word: keep it under half
    case = _uneven(rng, REAL, 6)
    if case is None or (fixed_equivalent(*case) is None) != want:
        return None
    return {"rule": "divisible", "kind": pick(rng, ("Avg", "Max")), "sizes": [case[0]],
            "outs": [case[1]]}


def _draw_recipe(rng: Any, level: int) -> dict[str, Any] | None:
    want = rng.random() < 0.5
    cases = [_uneven(rng, REAL if level == 2 else SMALL, 6 if level == 2 else 4)
             for _ in range(1 if level == 2 else 2)]
    if any(c is None for c in cases):
        return None
    if level == 3 and sum(c[1] for c in cases) > 6:  # type: ignore[index]
        return None  # two dims' windows checked by hand: at most 6 in all
    same = all(fixed_equivalent(n, o) is not None for n, o in cases)  # type: ignore[misc]
    if same != want:
        return None
    return {"rule": "recipe", "kind": pick(rng, ("Avg", "Max")),
            "sizes": [c[0] for c in cases],  # type: ignore[index]
            "outs": [c[1] for c in cases]}  # type: ignore[index]


def _adaptive(kind: str, outs: list[int]) -> Layer:
    nd = len(outs)
    return Layer.make(f"Adaptive{kind}Pool{nd}d", output_size=outs[0] if nd == 1 else outs)


def _names(nd: int) -> list[str]:
    return [""] if nd == 1 else ["H", "W"]


def _strips(sizes: list[int], outs: list[int]) -> list[Diagram]:
    return [Diagram("adaptive_strip", {"size": n, "out": o},
                    f"Adaptive pooling from {n} to {o}" + (f" along {name}" if name else "")
                    + f": its {o} windows.")
            for name, n, o in zip(_names(len(sizes)), sizes, outs, strict=True)]


def _solve_divisible(params: dict[str, Any]) -> Solution:
    rule = RULES_BY_ID["divisible"]
    kind, n, out = params["kind"], params["sizes"][0], params["outs"][0]
    layer = _adaptive(kind, [out])
    pair = fixed_equivalent(n, out)
    claims = [_unique_dim(kind, n, out)]
    if divisibility_rule(n, out):
        raise ValueError("the rule says nothing new when in is a multiple of out")
    steps = [f"{n} is not a multiple of {out}, so the rule says no fixed pool matches.",
             fixed_pool_match(n, out)]
    if pair is not None:
        # the unique claim already proves this pool equal (and no other in the space)
        fixed = Layer.make(f"{kind}Pool1d", kernel_size=pair[0], stride=pair[1])
        steps.append(f"So {layer_code(fixed)} equals {layer_code(layer)} on this input: "
                     "a counterexample, and the rule is false here.")
        answer = f"false k={pair[0]} s={pair[1]}"
    else:
        steps.append("No kernel and stride give these windows: the rule is true here (this "
                     "time).")
        answer = "true"
    return Solution(
        question=f"{_intro(rule)} `nn.Adaptive{kind}Pool1d({out})` runs on a length-{n} "
                 f"input; {n} is not a multiple of {out}, so the rule says no "
                 f"`nn.{kind}Pool1d` (no padding, kernel and stride each between 1 and {n}) "
                 "gives the same output on every input. True or false? If false, give the "
                 "counterexample.",
        answer=answer,
        form="true, or false k=K s=S (a fixed pool that matches)",
        steps=steps, claims=claims, diagrams=_strips([n], [out]))


def _solve_recipe(params: dict[str, Any]) -> Solution:
    rule = RULES_BY_ID["recipe"]
    kind, sizes, outs = params["kind"], params["sizes"], params["outs"]
    nd = len(sizes)
    layer = _adaptive(kind, outs)
    shape = (1, 1, *sizes)
    pairs = [recipe_guess(n, o) for n, o in zip(sizes, outs, strict=True)]
    ks, ss = [p[0] for p in pairs], [p[1] for p in pairs]
    fixed = Layer.make(f"{kind}Pool{nd}d", kernel_size=ks[0] if nd == 1 else ks,
                       stride=ss[0] if nd == 1 else ss)
    claim = equivalent_claim([layer], [fixed], shape)
    holds = bool(claim["equal"])
    names = _names(nd)
    steps = [recipe_text(n, o, k, s, name) for name, n, o, k, s in
             zip(names, sizes, outs, ks, ss, strict=True)]
    same = [fixed_equivalent(n, o) == (k, s) for n, o, k, s in zip(sizes, outs, ks, ss,
                                                                   strict=True)]
    for name, n, o, k, s in zip(names, sizes, outs, ks, ss, strict=True):
        steps.append((f"{name}: " if name else "") + fixed_pool_match(n, o))
        steps.append(recipe_match_text(n, o, k, s, name))
    if nd > 1:
        steps.append(dims_verdict_text(names, same))
    if all(same) != holds:
        raise ValueError("the windows and the equivalence claim disagree")
    steps.append(f"So {layer_code(fixed)} {'equals' if holds else 'differs from'} "
                 f"{layer_code(layer)} here: the recipe is {verdict_word(holds)} for this "
                 "case.")
    kt, st = ",".join(map(str, ks)), ",".join(map(str, ss))
    where = (f"a length-{sizes[0]} input" if nd == 1 else
             f"an input of spatial size {'x'.join(map(str, sizes))}")
    return Solution(
        question=f"{_intro(rule)} Apply it to `nn.Adaptive{kind}Pool{nd}d"
                 f"({outs[0] if nd == 1 else tuple(outs)})` on {where}"
                 + (", per dim" if nd > 1 else "") + f". Does the recipe's `nn.{kind}Pool{nd}d`"
                 " give exactly the same output on every input? And what are the recipe's "
                 "kernel and stride?",
        answer=f"{verdict_word(holds)} k={kt} s={st}",
        form=VERDICT_FORM + ("k=K s=S" if nd == 1 else "k=K1,K2 s=S1,S2 (one value per dim)"),
        steps=steps, claims=[claim],
        diagrams=_strips(sizes, outs))


# ---------------------------------------------------------------- ceil_mode (L3)

CEIL_SIZES = (5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 28, 32)


def _ceil_layer(params: dict[str, Any]) -> Layer:
    nd = len(params["sizes"])
    kw: dict[str, Any] = {"kernel_size": params["kernel"], "stride": params["stride"]}
    if params["padding"]:
        kw["padding"] = params["padding"]
    kw["ceil_mode"] = True
    return Layer.make(f"{params['kind']}Pool{nd}d", **kw)


def _draw_ceil(rng: Any, level: int) -> dict[str, Any] | None:
    want = rng.random() < 0.5
    k = pick(rng, (1, 2, 2, 3, 3, 4))
    s = pick(rng, tuple(x for x in (2, 3, 4) if x >= k - 1))
    p = rng.randrange(0, k // 2 + 1)
    nd = pick(rng, (1, 2, 2))
    sizes = [pick(rng, CEIL_SIZES) for _ in range(nd)]
    if nd == 2 and sizes[0] == sizes[1]:
        return None
    params = {"rule": "ceil_docs", "kind": pick(rng, ("Max", "Avg")), "sizes": sizes,
              "kernel": k, "stride": s, "padding": p}
    got = [pool_out(n, k, s, p, ceil_mode=True) for n in sizes]  # exact, no Layer per draw
    docs = [ceil_docs_out(n, k, s, p) for n in sizes]
    # the ceil must matter somewhere (else the card is the plain floor formula)
    if all((n + 2 * p - k) % s == 0 for n in sizes) or (list(got) == docs) != want:
        return None
    return params


def _solve_ceil(params: dict[str, Any]) -> Solution:
    rule = RULES_BY_ID["ceil_docs"]
    sizes, k, s, p = params["sizes"], params["kernel"], params["stride"], params["padding"]
    nd = len(sizes)
    layer = _ceil_layer(params)
    shape = (1, 1, *sizes)
    got = list(output_shape(layer, shape)[2:])
    docs = [ceil_docs_out(n, k, s, p) for n in sizes]
    holds = got == docs
    names = ["L"] if nd == 1 else ["H", "W"]
    steps = []
    for name, n, o, x in zip(names, sizes, got, docs, strict=True):
        steps.append(ceil_docs_rule_text(name, n, k, s, p, 1, x))
        steps.append(f"{name}, by PyTorch: " + ceil_last_window(n, k, s, p, 1, o))
    size_word = "length" if nd == 1 else "output H x W"
    steps.append(verdict_text(docs, got, "x".join(map(str, docs)),
                              "gives " + "x".join(map(str, got))))
    # one strip, of the dim that teaches most: where PyTorch drops the rule's extra window,
    # else where ceil mode adds one (a strip a dim is the build's dearest part)
    order = sorted(range(nd), key=lambda i: (got[i] == docs[i],
                                            (sizes[i] + 2 * p - k) % s == 0))
    i = order[0]
    diagrams = [Diagram("sliding_strip", {"size": sizes[i], "kernel": k, "stride": s,
                                          "pad_left": p, "pad_right": p, "dilation": 1,
                                          "ceil_mode": True},
                        f"{names[i]}: kernel {k}, stride {s}, padding {p} on {sizes[i]} cells, "
                        f"ceil_mode: PyTorch's {got[i]} windows.")]
    return Solution(
        question=f"{_intro(rule)} Check it on {layer_code(layer)} with an input of shape "
                 f"`{shape_text(shape)}`. Does the rule give PyTorch's {size_word}? And "
                 f"what is PyTorch's {size_word}?",
        answer=f"{verdict_word(holds)} {'x'.join(map(str, got))}",
        form=VERDICT_FORM + ("the length (a whole number)" if nd == 1 else "HxW"),
        steps=steps, claims=[shape_claim([layer], shape)], diagrams=diagrams)


# ---------------------------------------------------------------- the rules, as data

RULES: tuple[Rule, ...] = (
    Rule("same_pad",
         "for a stride-1 conv, padding \\( P = \\lfloor (K-1)/2 \\rfloor \\) keeps the size "
         "('same' padding).",
         "course notes and tutorials give \\( P = (K-1)/2 \\) for stride 1, and code often "
         "writes it `(k - 1) // 2`",
         (1,), _draw_same_pad, _solve_same_pad),
    Rule("multiple",
         "in a grouped conv, C_in must be a multiple of C_out.",
         "no source we checked states it; it is a misreading of how groups split the "
         "channels of grouped and depthwise convs",
         (1,), _draw_multiple, _solve_multiple),
    Rule("divisible",
         "an adaptive pool equals a fixed pool (no padding) only when in % out == 0.",
         "forum answers that explain adaptive pooling by divisibility, e.g. on Stack "
         "Overflow's \u201cHow does adaptive pooling in pytorch work?\u201d",
         (2,), _draw_divisible, _solve_divisible),
    Rule("recipe",
         "stride = in // out and kernel = in \u2212 (out\u22121)\u00b7stride (no padding) "
         "turn an adaptive pool into a fixed pool.",
         "Stack Overflow's \u201cHow does adaptive pooling in pytorch work?\u201d quotes it as "
         "what some claim",
         (2, 3), _draw_recipe, _solve_recipe),
    Rule("ceil_docs",
         "with ceil_mode=True the output size is "
         "\\( \\lceil (in + 2p - d(k-1) - 1)/s \\rceil + 1 \\): the docs' formula with ceil "
         "in place of floor.",
         "PyTorch's pooling docs said ceil_mode 'will use ceil instead of floor to compute "
         "the output shape'; pytorch issues #57178 and #148123 report sizes that differ",
         (3,), _draw_ceil, _solve_ceil),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}
LEVEL_RULES = {level: tuple(r for r in RULES if level in r.levels) for level in LEVELS}


def candidates(rule: Rule, rng: Any, level: int) -> dict[str, Any] | None:
    """One draw of a case for `rule` (None: draw again)."""
    return rule.draw(rng, level)


def generate(rng: Any, level: int) -> dict[str, Any]:
    # the rule first, then its case: each rule of a level gets an equal share of cards,
    # however often its own draws are rejected
    rule = pick(rng, LEVEL_RULES[level])
    for _ in range(MAX_DRAWS):
        params = candidates(rule, rng, level)
        if params is not None:
            return params
    raise exhausted(NAME, MAX_DRAWS)


def solve(params: dict[str, Any]) -> Solution:
    return RULES_BY_ID[params["rule"]].solve(params)
