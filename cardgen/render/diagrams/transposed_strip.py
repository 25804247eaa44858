"""A transposed conv drawn as the direct conv it equals; it reuses the sliding strip's
template (``templates/diagrams/sliding_strip.svg.j2``)."""

from __future__ import annotations

from cardgen.explain import count_of
from cardgen.render.diagrams.geometry import index_labels
from cardgen.render.diagrams.strip import Strip, render_strip
from cardgen.solver import arith


def as_direct_conv(size: int, kernel: int, stride: int, pad_left: int, pad_right: int,
                   dilation: int) -> tuple[Strip, str]:
    """The direct-conv view of a transposed conv, and its aria label."""
    spread = (size - 1) * stride + 1
    # the input spread by the stride: input j at j*stride, zeros between
    spread_kinds, spread_labels = ["zero"] * spread, [""] * spread
    spread_kinds[::stride] = ["in"] * size
    spread_labels[::stride] = index_labels(size)
    kinds = ["pad"] * max(pad_left, 0) + spread_kinds + ["pad"] * max(pad_right, 0)
    labels = [""] * max(pad_left, 0) + spread_labels + [""] * max(pad_right, 0)
    lo, hi = max(-pad_left, 0), len(kinds) - max(-pad_right, 0)
    kinds[:lo] = ["crop"] * lo  # negative padding crops (labels stay: struck through)
    kinds[hi:] = ["crop"] * (len(kinds) - hi)
    span = dilation * (kernel - 1) + 1
    count = hi - lo - span + 1
    if count < 1:
        raise ValueError(f"the padded, spread input ({hi - lo}) is shorter than the "
                         f"dilated kernel ({span})")
    st = Strip(kinds, labels, lo, hi, kernel, dilation, 1, count, outputs=True,
               key=("spread", size, stride, pad_left, pad_right))
    dil = f", dilation {dilation}" if dilation > 1 else ""
    label = (f"Transposed conv as a direct conv: {size} inputs spread by stride {stride} "
             f"({count_of(stride - 1, 'zero')} between), implicit padding "
             f"{pad_left} left and {pad_right} right, kernel {kernel}{dil} at every position: "
             f"output length {count}")
    return st, label


def transposed_strip(size: int, kernel: int, stride: int, padding: int, output_padding: int,
                     dilation: int = 1) -> str:
    """ConvTranspose along one dim: the input spread by the stride with the inserted zeros,
    the implicit padding ``d(k-1)-p`` each side (``output_padding`` more on the right), the
    kernel at every position, and the output strip whose length is the layer's output."""
    out = arith.conv_transpose_out(size, kernel, stride, padding, output_padding, dilation)
    implicit = dilation * (kernel - 1) - padding
    st, label = as_direct_conv(size, kernel, stride, implicit, implicit + output_padding,
                               dilation)
    if st.count != out:  # pragma: no cover - the two formulas are the same identity
        raise AssertionError(f"diagram has {st.count} outputs, the solver {out}")
    return render_strip(st, label)
