"""Which input ranks a layer takes, and what PyTorch reads each dim as (pure, no torch).

Conv, ConvTranspose and the fixed and adaptive pools with n spatial dims take an
unbatched (C, *spatial) input of rank n + 1 or a batched (N, C, *spatial) one of rank
n + 2, and return the output in the same form; any other rank is refused (PyTorch never
adds a missing channel or batch dim). The one exception, AdaptiveAvgPool2d/3d with every
output size 1 (a mean over the last dims, which skips the rank check), is
``cardgen.solver.shapes.is_adaptive_mean``. Dims are read by position only: a
channels-last (H, W, C) image fed to a 2-d layer is read as C = H. Linear works on the
last dim whatever comes before it; Flatten merges the dims from start_dim (1 by default:
on an unbatched input that keeps the channels apart).
"""

from __future__ import annotations

from collections.abc import Sequence

from cardgen.layers import Layer

SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def accepted_ranks(layer: Layer) -> tuple[int, int]:
    """(unbatched rank, batched rank) of a layer with spatial dims."""
    n = layer.ndim
    if n == 0:
        raise ValueError(f"{layer.type} has no spatial dims: no rank rule")
    return n + 1, n + 2


def dim_roles(layer: Layer, rank: int) -> tuple[str, ...] | None:
    """What PyTorch reads each dim of a rank-`rank` input as: ("C", "H", "W") unbatched,
    ("N", "C", "H", "W") batched; None when it refuses the rank."""
    unbatched, batched = accepted_ranks(layer)
    names = SPATIAL_NAMES[layer.ndim]
    if rank == unbatched:
        return ("C", *names)
    if rank == batched:
        return ("N", "C", *names)
    return None


def is_unbatched(layer: Layer, shape: Sequence[int]) -> bool:
    """The input has no batch dim for this layer (rank n + 1)."""
    return layer.ndim > 0 and len(shape) == accepted_ranks(layer)[0]


def flatten_span(layer: Layer, rank: int) -> tuple[int, int]:
    """(first, last) dim a Flatten merges on a rank-`rank` input (start_dim/end_dim
    resolved; the caller has checked them with the solver)."""
    rank = max(rank, 1)
    return layer.get("start_dim") % rank, layer.get("end_dim") % rank
