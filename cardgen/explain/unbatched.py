"""Writers for unbatched inputs: the rank rule, dims read by position, Flatten's start_dim,
Linear on the last dim (facts from cardgen.solver.ranks and cardgen.solver.shapes).

Each writer takes the facts of one rule and the verdict or result the solver computed,
works the rule again, and raises ValueError when the two disagree. Refusals are worded
as the rule, never as a quote of PyTorch's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

_SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _shape(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


def _tuple(names: Sequence[str]) -> str:
    return f"({', '.join(names)})"


def _dims(count: int) -> str:
    return f"{count} dim" + ("" if count == 1 else "s")


def _read_as(names: Sequence[str], shape: Sequence[int]) -> str:
    return ", ".join(f"{n} = {v}" for n, v in zip(names, shape, strict=True))


def rank_text(type_: str, ndim: int, shape: Sequence[int], accepted: bool) -> str:
    """The rank rule of a layer with `ndim` spatial dims on `shape`; `accepted`: whether
    the solver takes this rank (it refuses every rank but ndim + 1 and ndim + 2)."""
    spatial = _SPATIAL[ndim]
    unbatched, batched = ndim + 1, ndim + 2
    rank = len(shape)
    if (rank in (unbatched, batched)) != accepted:
        raise ValueError(f"rank {rank} for {type_}: the rule says "
                         f"{'accepted' if not accepted else 'refused'}, the solver the other")
    rule = (f"`{type_}` takes a {unbatched}-D input {_tuple(['C', *spatial])} with no batch "
            f"dim, or a {batched}-D batch {_tuple(['N', 'C', *spatial])}")
    if rank == unbatched:
        return (f"{rule}. `{_shape(shape)}` has {_dims(rank)}, so it is one sample without "
                f"a batch dim, read as {_read_as(['C', *spatial], shape)}; the output has no "
                "batch dim either.")
    if rank == batched:
        return (f"{rule}. `{_shape(shape)}` has {_dims(rank)}: a batch, read as "
                f"{_read_as(['N', 'C', *spatial], shape)}.")
    if rank < unbatched:
        why = ("fewer than either, and PyTorch never adds a missing channel or batch dim for "
               "you (`x.unsqueeze(0)` would put a dim of size 1 in front)")
    else:
        why = "more than either: PyTorch does not treat the extra dims as more batch dims"
    return (f"{rule}. `{_shape(shape)}` has {_dims(rank)}, {why}, so it raises an error.")


def position_text(stated: Sequence[str], read: Sequence[str], shape: Sequence[int]) -> str:
    """Dims are read by position, not by what they hold: the question's layout `stated`
    against the roles PyTorch reads (`read`, from the rank rule)."""
    if len(stated) != len(read) or len(read) != len(shape):
        raise ValueError("one name per dim")
    if tuple(stated) == tuple(read):
        raise ValueError("the layouts agree: nothing is misread")
    moved = [(s, r) for s, r in zip(stated, read, strict=True) if s != r]
    misread = ", ".join(f"the {s} dim ({v}) as {r}"
                        for (s, r), v in zip(moved, [shape[stated.index(s)] for s, _ in moved],
                                             strict=True))
    return (f"PyTorch reads dims by position, not by what they hold: the "
            f"{_tuple(stated)} tensor `{_shape(shape)}` is read as {_tuple(read)}, "
            f"{misread}.")


def spatial_read_text(read: Sequence[str], stated: Sequence[str], ndim: int, noun: str) -> str:
    """Which of the stated dims the layer's window slides over (the last `ndim`)."""
    if len(read) != len(stated) or ndim < 1:
        raise ValueError("one name per dim")
    over = list(stated[-ndim:])
    if over == list(read[-ndim:]):
        raise ValueError("the layer slides over the dims it should: nothing to say")
    joined = over[0] if len(over) == 1 else ", ".join(over[:-1]) + " and " + over[-1]
    return (f"So the window slides over the {noun}'s {joined}, and the {noun}'s "
            f"{stated[0]} dim passes through as channels.")


def flatten_text(shape: Sequence[int], start: int, end: int, out: Sequence[int],
                 default_start: bool) -> str:
    """Flatten merges dims start..end (resolved) of `shape`; `out` is the solver's output.
    `default_start`: the layer was written without start_dim (so it starts at 1)."""
    rank = len(shape)
    if not 0 <= start <= end < rank:
        raise ValueError(f"dims {start}..{end} of a {rank}-D input")
    merged = list(shape[start:end + 1])
    mine = tuple(shape[:start]) + (prod(merged),) + tuple(shape[end + 1:])
    if mine != tuple(out):
        raise ValueError(f"flatten: the rule gives {mine}, the solver {tuple(out)}")
    if start == 1 and default_start:
        kept = (f"start_dim is 1 by default, so dim 0 ({shape[0]}) is kept and dims 1 to "
                f"{end} are multiplied")
    elif start == 0:
        kept = f"start_dim=0 merges every dim, 0 to {end}"
    else:
        kept = f"dims {start} to {end} are multiplied"
    if len(merged) == 1:
        return f"{kept}: one dim, nothing to multiply."
    factors = " \\cdot ".join(map(str, merged))
    return f"{kept}: \\( {factors} = {prod(merged)} \\)."


def flatten_pitfall_text(shape: Sequence[int], out: Sequence[int]) -> str:
    """On an unbatched (C, ...) input, Flatten() keeps C apart: the vector of every value
    needs start_dim=0 (or a batch dim). `out` is the solver's output of Flatten()."""
    total = prod(shape)
    if len(shape) < 2 or tuple(out) != (shape[0], total // shape[0]):
        raise ValueError("not Flatten() on an unbatched input")
    return (f"Flatten() was written for batches (N, C, ...): its default start_dim=1 keeps "
            f"dim 0 as the batch. Here dim 0 is the {shape[0]} channels, so the result is "
            f"`{_shape(out)}`, not one vector of {total} values; `Flatten(0)` (or adding a "
            "batch dim with `x.unsqueeze(0)`) would give that.")


def linear_last_dim_text(in_features: int, shape: Sequence[int], out: Sequence[int]) -> str:
    """Linear maps the last dim and keeps every dim before it."""
    if not shape or shape[-1] != in_features or tuple(out) != tuple(shape[:-1]) + (out[-1],):
        raise ValueError("Linear: the last dim is not in_features, or other dims changed")
    kept = f"`{_shape(shape[:-1])}`" if len(shape) > 1 else "nothing"
    return (f"Linear maps the last dim, {in_features} = in_features, to {out[-1]} "
            f"out_features, and keeps the dims before it ({kept}) whatever they are.")


def linear_batched_features_text(flat_input: Sequence[int], in_features: int) -> str:
    """A Linear sized for every value of one sample (C*H*W), after Flatten() on an
    unbatched input: it was sized as if the input had a batch dim."""
    if prod(flat_input) != in_features or len(flat_input) < 2:
        raise ValueError(f"in_features {in_features} is not the product of {flat_input}")
    factors = " \\cdot ".join(map(str, flat_input))
    return (f"in_features = \\( {factors} = {in_features} \\) is every value of the "
            f"`{_shape(flat_input)}` Flatten received: Flatten() gives that per sample only "
            f"when a batch dim comes first. Here the last dim is {prod(flat_input[1:])}.")


def roles_caption(stated: Sequence[str], read: Sequence[str]) -> str:
    """The caption of the dims diagram that sets the stored layout against PyTorch's."""
    if len(stated) != len(read) or tuple(stated) == tuple(read):
        raise ValueError("a roles diagram shows a misread layout")
    return (f"Top: the dims as stored, {_tuple(stated)}; bottom: what PyTorch reads them "
            f"as, {_tuple(read)}. Shaded: the dims it misreads.")


def flatten_caption(shape: Sequence[int], start: int, end: int, out: Sequence[int]) -> str:
    """The caption of the dims diagram of a Flatten (dim indices on top)."""
    merged = prod(shape[start:end + 1])
    if tuple(out) != tuple(shape[:start]) + (merged,) + tuple(shape[end + 1:]):
        raise ValueError(f"flatten: the rule gives another shape than the solver's {out}")
    kept = "" if start == 0 else "; dim 0 stays" if start == 1 else \
        f"; dims 0 to {start - 1} stay"
    return (f"Dim indices on top: Flatten merges the shaded dims {start} to {end} of "
            f"{_shape(shape)} into one of {merged}{kept}.")
