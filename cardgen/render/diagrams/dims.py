"""A tensor's dims as a row of boxes (``templates/diagrams/dims.svg.j2``): the layout it
is stored in against what PyTorch reads each dim as, or the dims Flatten merges."""

from __future__ import annotations

from collections.abc import Sequence

from cardgen.render.diagrams.geometry import CHAR, WIDTH, Layers, render_layers

_NAMES = frozenset("NCDHWL")
_BOX_H = 22.0
_NAME_H = 14.0


def _widths(sizes: Sequence[int]) -> list[float]:
    widths = [max(34.0, CHAR * len(str(s)) + 12) for s in sizes]
    total = sum(widths)
    if total > WIDTH - 4:  # many dims or long sizes: shrink every box alike
        widths = [w * (WIDTH - 4) / total for w in widths]
    return widths


def dims(sizes: Sequence[int], names: Sequence[str], read: Sequence[str] | None = None,
         merge: tuple[int, int] | None = None) -> str:
    """The dims `sizes` named `names` (letters, or indices) above the boxes. With `read`:
    the names PyTorch reads below, the boxes it misreads shaded. With `merge` (first,
    last): a second row, Flatten's output, the merged dims shaded as one box holding
    their product."""
    if not sizes or len(names) != len(sizes) or (read is not None and len(read) != len(sizes)):
        raise ValueError("one name per dim")
    if not all(name in _NAMES or name.isdigit() for name in (*names, *(read or ()))):
        raise ValueError("dim names are N, C, D, H, W, L or dim indices")
    if (read is None) == (merge is None):
        raise ValueError("draw either what PyTorch reads or what Flatten merges")
    widths = _widths(sizes)
    x0, y0 = 2.0, 2.0 + _NAME_H
    xs = [x0 + sum(widths[:i]) for i in range(len(sizes))]
    layer = Layers()
    layer.strip("cg-cell", x0, y0, widths, _BOX_H)
    for x, w, name, size in zip(xs, widths, names, sizes, strict=True):
        layer.text("cg-tm", x + w / 2, y0 - _NAME_H / 2, name)
        layer.text("cg-t", x + w / 2, y0 + _BOX_H / 2, str(size))
    if read is not None:
        for x, w, got, want in zip(xs, widths, read, names, strict=True):
            if got != want:
                layer.rect("cg-sel", x, y0, w, _BOX_H)
            layer.text("cg-tm" if got == want else "cg-bad", x + w / 2,
                       y0 + _BOX_H + _NAME_H / 2, got)
        height = y0 + _BOX_H + _NAME_H + 2
        label = (f"Dims {'x'.join(map(str, sizes))} stored as ({', '.join(names)}), read "
                 f"by PyTorch as ({', '.join(read)})")
    else:
        first, last = merge  # type: ignore[misc]
        if not 0 <= first <= last < len(sizes):
            raise ValueError(f"merge {merge} is outside {len(sizes)} dims")
        y1 = y0 + _BOX_H + 12
        out_widths = [*widths[:first], sum(widths[first:last + 1]), *widths[last + 1:]]
        product = 1
        for s in sizes[first:last + 1]:
            product *= s
        outs = [*sizes[:first], product, *sizes[last + 1:]]
        layer.strip("cg-cell", x0, y1, out_widths, _BOX_H)
        layer.rect("cg-sel", xs[first], y0, sum(widths[first:last + 1]), _BOX_H)
        layer.rect("cg-sel", xs[first], y1, out_widths[first], _BOX_H)
        x = x0
        for w, size in zip(out_widths, outs, strict=True):
            layer.text("cg-t", x + w / 2, y1 + _BOX_H / 2, str(size))
            x += w
        height = y1 + _BOX_H + 2
        label = (f"Dims {'x'.join(map(str, sizes))} flattened: dims {first} to {last} "
                 f"merge into {product}, giving {'x'.join(map(str, outs))}")
    return render_layers("dims", layer, width=x0 + sum(widths) + 2, height=height,
                         label=label, bottom=("cg-cell",))
