"""A kernel sliding along one padded dim: conv and pooling, ceil mode included
(``templates/diagrams/sliding_strip.svg.j2``)."""

from __future__ import annotations

from cardgen.explain import count_of
from cardgen.explain.windows import ceil_label, gaps_skipped, never_read
from cardgen.render.diagrams.geometry import index_labels
from cardgen.render.diagrams.strip import Strip, render_strip
from cardgen.render.diagrams.transposed_strip import as_direct_conv
from cardgen.solver import arith


def sliding_strip(size: int, kernel: int, stride: int, pad_left: int, pad_right: int,
                  dilation: int = 1, ceil_mode: bool = False, transposed: bool = False) -> str:
    """A kernel sliding along one padded dim, one row per placement.

    Conv/pool (``transposed=False``): the strip is ``pad_left`` padding cells, the
    ``size`` input cells, ``pad_right`` padding cells; the kernel moves by ``stride``.
    Cells after the last placement that fits are marked (the floor). With
    ``ceil_mode`` (pooling, symmetric padding) the extra window is drawn hanging over
    the end, marked kept or dropped by PyTorch's rule (``arith.ceil_dropped``).

    ``transposed=True`` draws a transposed conv as the direct conv it equals: the input
    spread by ``stride`` (``stride-1`` zeros between cells), ``pad_left``/``pad_right``
    implicit padding (negative crops), the kernel moving by 1; each placement is one
    output cell, drawn below. See :func:`transposed_strip` for the layer's own
    parameters.
    """
    if min(size, kernel, stride, dilation) < 1:
        raise ValueError("size, kernel, stride and dilation must be positive")
    if transposed:
        if ceil_mode:
            raise ValueError("ceil_mode applies to pooling, not to a transposed conv")
        return render_strip(*as_direct_conv(size, kernel, stride, pad_left, pad_right,
                                            dilation))
    if min(pad_left, pad_right) < 0:
        raise ValueError("padding must be non-negative")
    count = arith.conv_out(size, kernel, stride, pad_left, dilation, pad_right)
    kinds = ["pad"] * pad_left + ["in"] * size + ["pad"] * pad_right
    labels = [""] * pad_left + index_labels(size) + [""] * pad_right
    st = Strip(kinds, labels, 0, len(kinds), kernel, dilation, stride, count,
               key=("padded", size, pad_left, pad_right))
    rest = (len(kinds) - st.span) % stride
    if ceil_mode:
        if pad_left != pad_right:
            raise ValueError("ceil_mode is pooling's: padding must be the same on both sides")
        st.extra = rest > 0
        st.dropped = st.extra and arith.ceil_dropped(size, kernel, stride, pad_left, dilation)
    pads = f"{pad_left}" if pad_left == pad_right else f"{pad_left} left, {pad_right} right"
    dil = f", dilation {dilation}" if dilation > 1 else ""
    label = (f"Kernel {kernel}{dil}, stride {stride}, over {size} cells with padding {pads}: "
             f"{count_of(count, 'placement')} fit{'s' if count == 1 else ''}")
    if rest and not (st.extra and not st.dropped):  # a kept ceil window reads them
        # input cells or only padding, told apart (explain.windows.never_read)
        label += "; " + never_read(size, pad_left, pad_right, len(kinds) - rest)
    if st.extra:
        label += "; " + ceil_label(size, kernel, stride, pad_left, dilation)
    gaps = gaps_skipped(size, kernel, stride, pad_left, dilation, count)
    label += f"; {gaps}" if gaps else ""
    return render_strip(st, label)
