"""Framework padding dialects: TensorFlow/Keras and ONNX `SAME` against PyTorch's padding.

Pure exact arithmetic, no torch, no I/O. Each rule here was checked against ONNX Runtime
1.30 (Conv with ``auto_pad``) before it was written down (tests/test_claims_framework_same.py
re-checks it whenever onnxruntime is installed):

- `SAME` output size, per spatial dim: ``ceil(in / s)``, whatever the kernel.
- total padding: ``(out - 1) s + k - in``; `SAME_UPPER` (TensorFlow/Keras ``'same'``) puts
  ``total // 2`` before and the rest after (the extra cell at the end, right/bottom);
  `SAME_LOWER` puts the extra cell before (left/top).
- Out of scope, refused: a dilated kernel (ONNX Runtime refuses dilation with SAME), and a
  kernel shorter than the stride leaves over (the total would be negative: TensorFlow pads
  0 there, ONNX Runtime does not, so the dialects disagree).
"""

from __future__ import annotations

from cardgen.errors import ShapeError
from cardgen.solver.arith import conv_out

SAME_UPPER = "SAME_UPPER"
SAME_LOWER = "SAME_LOWER"
DIALECTS = (SAME_UPPER, SAME_LOWER)


def same_out(size: int, stride: int) -> int:
    """`SAME`'s output size along one dim: ceil(in / s)."""
    return -(-size // stride)


def same_total(size: int, kernel: int, stride: int) -> int:
    """The zeros `SAME` adds along one dim: (out - 1) s + k - in. ShapeError where it would
    be negative (the dialects disagree there)."""
    total = (same_out(size, stride) - 1) * stride + kernel - size
    if total < 0:
        raise ShapeError(f"kernel {kernel} is shorter than stride {stride} leaves over of "
                         f"{size}: the SAME dialects disagree there")
    return total


def same_pads(size: int, kernel: int, stride: int, dialect: str) -> tuple[int, int]:
    """(before, after) along one dim: SAME_UPPER puts the odd cell after, SAME_LOWER before."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}")
    total = same_total(size, kernel, stride)
    small = total // 2
    return (small, total - small) if dialect == SAME_UPPER else (total - small, small)


def symmetric_padding(size: int, kernel: int, stride: int, dialect: str) -> int | None:
    """The padding p of a PyTorch conv (p zeros on each side) that computes exactly the
    framework's SAME conv along this dim, or None when none does.

    The first window must start at the same cell, so p can only be `before`; it works when
    the output size then agrees: always when before == after; with SAME_LOWER's extra cell
    before and stride > 1 too (the one zero PyTorch adds after is never read); never with
    SAME_UPPER's extra cell after (p = before is one cell short)."""
    before, _ = same_pads(size, kernel, stride, dialect)
    try:
        got = conv_out(size, kernel, stride, before)
    except ShapeError:
        return None
    return before if got == same_out(size, stride) else None
