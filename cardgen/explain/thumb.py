"""Writers for rules of thumb (family rules.of_thumb): what a rule predicts for one case,
worked with its numbers, and the verdict against what PyTorch does.

Each writer recomputes the rule's prediction with :mod:`cardgen.solver.thumb` and raises
ValueError when the facts it is given disagree: a card never shows a rule's number, or a
verdict, that the solver does not give.
"""

from __future__ import annotations

from collections.abc import Sequence

from cardgen.explain.sizes import size_tex
from cardgen.solver import fixed_equivalent, thumb


def _disagree(what: str, mine: object, given: object) -> ValueError:
    return ValueError(f"{what}: the rule gives {mine}, the caller says {given}")


def verdict_word(holds: bool) -> str:
    return "true" if holds else "false"


def same_pad_rule_text(k: int, p: int) -> str:
    """The rule's padding for kernel k, worked."""
    if thumb.same_pad_rule(k) != p:
        raise _disagree("same-pad rule", thumb.same_pad_rule(k), p)
    return (f"The rule: \\( P = \\lfloor ({k}-1)/2 \\rfloor = {p} \\) (dilation plays no "
            "part in it).")


def keeps_size_text(k: int, d: int, p: int | None) -> str:
    """What PyTorch needs at stride 1: 2p = d(k-1), or no symmetric p when that is odd."""
    if thumb.keeps_size_padding(k, d) != p:
        raise _disagree("keeps-size padding", thumb.keeps_size_padding(k, d), p)
    total = d * (k - 1)
    lead = ("At stride 1 the size is \\( in + 2p - d(k-1) \\), kept exactly when "
            f"\\( 2p = d(k-1) = {d}\\cdot({k}-1) = {total} \\)")
    if p is None:
        return lead + f": {total} is odd, so no symmetric padding keeps the size: none."
    return lead + f": \\( p = {total}/2 = {p} \\)."


def rule_size_text(name: str, size: int, k: int, p: int, d: int, out: int) -> str:
    """What the rule's own padding gives (stride 1): in + 2p - d(k-1)."""
    if size + 2 * p - d * (k - 1) != out:
        raise _disagree("stride-1 size", size + 2 * p - d * (k - 1), out)
    return (f"With the rule's padding {p}: \\( {name} = {size} + 2\\cdot {p} - "
            f"{d}\\cdot({k}-1) = {out} \\).")


def multiple_rule_text(cin: int, cout: int) -> str:
    """What 'C_in must be a multiple of C_out' predicts for these channels."""
    builds = thumb.multiple_rule_builds(cin, cout)
    return (f"The rule: {cin} {'is' if builds else 'is not'} a multiple of {cout}, so it "
            f"says the layer {'builds' if builds else 'is refused'}.")


def groups_check_text(cin: int, cout: int, groups: int) -> str:
    """PyTorch's own check, with its verdict."""
    builds = thumb.groups_build(cin, cout, groups)
    parts = [f"{count} is {'' if count % groups == 0 else 'not '}divisible by {groups}"
             for count in (cin, cout)]
    outcome = "builds the layer" if builds else "refuses to build the layer (it raises an error)"
    return (f"PyTorch's check is that groups divides both in_channels and out_channels: "
            f"{parts[0]} and {parts[1]}, so it {outcome}.")


def multiple_verdict_text(cin: int, cout: int, groups: int) -> str:
    """The verdict of 'C_in must be a multiple of C_out' against PyTorch's check. The two
    conditions differ, so when their verdicts agree it is by coincidence: the card says so
    and names the condition PyTorch really checks."""
    rule_builds = thumb.multiple_rule_builds(cin, cout)
    builds = thumb.groups_build(cin, cout, groups)
    head = verdict_text(rule_builds, builds, "it builds" if rule_builds else "it is refused",
                        "builds it" if builds else "refuses it")
    if rule_builds != builds:
        return head
    if groups == cout:  # then PyTorch's condition is the rule's own: no coincidence
        return (head[:-1] + f", because groups = out_channels = {cout}: PyTorch's "
                "condition, groups divides both in_channels and out_channels, then asks "
                f"exactly the rule's question, whether {cin} is a multiple of {cout}.")
    if builds:
        why = (f"groups={groups} divides both {cin} and {cout}, not because C_in = {cin} is "
               f"a multiple of C_out = {cout}")
    else:
        bad = " and ".join(f"{name} = {count}" for name, count in
                           (("in_channels", cin), ("out_channels", cout)) if count % groups)
        why = (f"groups={groups} does not divide {bad}, not because C_in = {cin} is not a "
               f"multiple of C_out = {cout}")
    return (head[:-1] + ", but only by coincidence. PyTorch "
            f"{'builds' if builds else 'refuses'} it because {why}; its real condition is "
            "that groups divides both in_channels and out_channels.")


def verdict_text(rule_value: object, torch_value: object, rule_says: str,
                 torch_does: str) -> str:
    """The verdict: the rule holds here exactly when its value is PyTorch's."""
    holds = rule_value == torch_value
    return (f"The rule says {rule_says}; PyTorch {torch_does}: the rule is "
            f"{verdict_word(holds)} here.")


def ceil_docs_rule_text(name: str, size: int, k: int, s: int, p: int, d: int, out: int) -> str:
    """The docs' ceil formula, without the last-window rule, in displayed rows (a phone
    cannot hold it on one line)."""
    if thumb.ceil_docs_out(size, k, s, p, d) != out:
        raise _disagree("ceil formula", thumb.ceil_docs_out(size, k, s, p, d), out)
    return f"{name}, by the rule: " + size_tex(size, k, s, p, d, out, name=f"{name}_{{out}}",
                                              ceil=True)


def recipe_text(size: int, out: int, k: int, s: int, name: str = "") -> str:
    """The recipe's stride and kernel, worked."""
    if thumb.recipe_guess(size, out) != (k, s):
        raise _disagree("recipe", thumb.recipe_guess(size, out), (k, s))
    where = f"{name}: The recipe" if name else "The recipe"
    return (f"{where}: \\( s = \\lfloor {size}/{out} \\rfloor = {s} \\), "
            f"\\( k = {size} - ({out}-1)\\cdot {s} = {k} \\).")


def recipe_match_text(size: int, out: int, k: int, s: int, name: str = "") -> str:
    """Whether the recipe's pool is the fixed pool that matches the adaptive windows (the
    caller states those windows with ``fixed_pool_match``): a match must take window 0's
    length as kernel and window 1's start as stride, so the recipe is right exactly when
    any fixed pool is."""
    if thumb.recipe_guess(size, out) != (k, s):
        raise _disagree("recipe", thumb.recipe_guess(size, out), (k, s))
    pair = fixed_equivalent(size, out)
    where = f"{name}: " if name else ""
    if pair == (k, s):
        return (f"{where}The recipe's kernel {k} and stride {s} are "
                "that pool's: its pool matches.")
    if pair is None:
        return (f"{where}No fixed pool gives these windows, so the recipe's "
                f"(kernel {k}, stride {s}) cannot either.")
    raise ValueError(f"a fixed pool {pair} matches, yet the recipe gives {(k, s)}")


def dims_verdict_text(names: Sequence[str], same: Sequence[bool]) -> str:
    """A 2-D pool matches exactly when each dim's windows do."""
    bad = [n for n, ok in zip(names, same, strict=True) if not ok]
    if not bad:
        return ("A 2-D pool's windows are its row windows crossed with its column windows: "
                "both dims match, so the pools are equal.")
    return ("A 2-D pool's windows are its row windows crossed with its column windows: "
            f"{' and '.join(bad)} {'differ' if len(bad) > 1 else 'differs'}, so the pools "
            "differ.")
