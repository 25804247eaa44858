"""What each rule of thumb (family rules.of_thumb) predicts: the rule's own arithmetic,
exact, no torch. What PyTorch really does comes from the rest of the solver; a card
compares the two.
"""

from __future__ import annotations

from cardgen.solver.equivalence import recipe_guess


def same_pad_rule(kernel: int) -> int:
    """'same' padding is P = floor((K-1)/2): the rule ignores dilation and parity."""
    return (kernel - 1) // 2


def keeps_size_padding(kernel: int, dilation: int = 1) -> int | None:
    """The symmetric padding that keeps the size at stride 1 (2p = d(k-1)), or None."""
    total = dilation * (kernel - 1)
    return None if total % 2 else total // 2


def multiple_rule_builds(in_channels: int, out_channels: int) -> bool:
    """'C_in must be a multiple of C_out': the rule says the conv builds exactly then."""
    return in_channels % out_channels == 0


def groups_build(in_channels: int, out_channels: int, groups: int) -> bool:
    """PyTorch's check: groups divides both channel counts."""
    return in_channels % groups == 0 and out_channels % groups == 0


def ceil_docs_out(size: int, kernel: int, stride: int, padding: int = 0,
                  dilation: int = 1) -> int:
    """The docs' formula with ceil in place of floor, without the last-window rule."""
    num = size + 2 * padding - dilation * (kernel - 1) - 1
    return -(-num // stride) + 1


def divisibility_rule(size: int, out: int) -> bool:
    """'An adaptive pool equals a fixed pool only when in % out == 0': whether the rule
    allows a fixed pool at all."""
    return size % out == 0


__all__ = ["ceil_docs_out", "divisibility_rule", "groups_build", "keeps_size_padding",
           "multiple_rule_builds", "recipe_guess", "same_pad_rule"]
