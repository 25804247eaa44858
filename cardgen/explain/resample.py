"""Writers for the resamplers' shape rules (cardgen.solver.resample facts).

Each writer takes the numbers of one rule and the result the solver computed, works the
rule again, and raises ValueError when the two disagree: a card never shows a rule that
does not give its answer. A refusal is worded as our explanation of the rule, never as a
quote of PyTorch's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from cardgen.errors import ShapeError
from cardgen.explain.sizes import size_tex
from cardgen.explain.tex import display_rows
from cardgen.solver.resample import blocks, scaled_size

# the names of the last n dims of an input (N, C, *spatial)
SPATIAL = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}
# torch's padding tuple names its pairs from the last dim backwards
PAD_NAMES = {1: "(left, right)", 2: "(left, right, top, bottom)",
             3: "(left, right, top, bottom, front, back)"}


def _disagree(what: str, mine: object, solver: object) -> ValueError:
    return ValueError(f"{what}: the rule gives {mine}, the solver {solver}")


def number(value: float) -> str:
    """A scale or a product as the card shows it: 2, 1.5, 0.75 (exact binary fractions)."""
    if float(value).is_integer():
        return str(int(value))
    text = repr(float(value))
    if len(text) > 8:
        raise ValueError(f"{value!r} has no short exact decimal")
    return text


def upsample_scale_tex(names: Sequence[str], sizes: Sequence[int], scales: Sequence[float],
                       outs: Sequence[int]) -> str:
    """Upsample with scale_factor: each size becomes floor(in * scale), one row per
    distinct (size, scale)."""
    rows: list[tuple[str | None, str]] = []
    seen: dict[tuple[int, float], str] = {}
    for name, size, scale, out in zip(names, sizes, scales, outs, strict=True):
        if scaled_size(size, scale) != out:
            raise _disagree(f"{name} upsampled", scaled_size(size, scale), out)
        if (size, scale) in seen:
            rows.append((f"{name}_{{out}}", f"{out} \\text{{ (as }} {seen[(size, scale)]})"))
            continue
        seen[(size, scale)] = name
        product = size * scale
        product_tex = f"{size} \\cdot {number(scale)}"
        if float(scale).is_integer():  # a whole scale needs no floor
            rows.append((f"{name}_{{out}}", f"{product_tex} = {out}"))
        elif float(product).is_integer():
            rows.append((f"{name}_{{out}}", f"\\lfloor {product_tex} \\rfloor = {out}"))
        else:  # two rows: one is too wide for a phone
            rows.append((f"{name}_{{out}}", f"\\lfloor {product_tex} \\rfloor"))
            rows.append(("", f"\\lfloor {number(product)} \\rfloor = {out}"))
    floors = any(not float(s * f).is_integer() for s, f in zip(sizes, scales, strict=True))
    lead = ("Upsample multiplies each spatial size by its scale_factor and rounds down: "
            if floors else "Upsample multiplies each spatial size by its scale_factor: ")
    return lead + display_rows(rows)


def upsample_size_text(names: Sequence[str], outs: Sequence[int]) -> str:
    """Upsample with size: the output sizes are written in the layer."""
    pairs = ", ".join(f"{n} = {o}" for n, o in zip(names, outs, strict=True))
    return f"size sets the spatial sizes directly: {pairs}."


def leading_text(shape: Sequence[int], kept: int, names: Sequence[str]) -> str:
    """The leading dims a resampler leaves alone (batch, channels)."""
    if kept <= 0:
        raise ValueError("no leading dims to name")
    parts = [f"{n} = {s}" for n, s in zip(names, shape[:kept], strict=True)]
    verb = "is" if kept == 1 else "are"
    return f"{' and '.join(parts)} {verb} unchanged."


def pixel_shuffle_tex(c: int, h: int, w: int, r: int, out: Sequence[int]) -> str:
    """PixelShuffle(r): r^2 channels become one r x r block: (C/r^2, H r, W r)."""
    if c % (r * r) or tuple(out) != (c // (r * r), h * r, w * r):
        raise _disagree("pixel shuffle", (c // (r * r), h * r, w * r), tuple(out))
    return (f"PixelShuffle({r}) turns each group of \\( {r}^2 = {r * r} \\) channels into one "
            f"{r}x{r} block of pixels: fewer channels, {r} times the height and width. "
            + display_rows([("C_{out}", f"{c} / {r * r} = {out[0]}"),
                            ("H_{out}", f"{h} \\cdot {r} = {out[1]}"),
                            ("W_{out}", f"{w} \\cdot {r} = {out[2]}")]))


def pixel_unshuffle_tex(c: int, h: int, w: int, r: int, out: Sequence[int]) -> str:
    """PixelUnshuffle(r): each r x r block becomes r^2 channels: (C r^2, H/r, W/r)."""
    if h % r or w % r or tuple(out) != (c * r * r, h // r, w // r):
        raise _disagree("pixel unshuffle", (c * r * r, h // r, w // r), tuple(out))
    return (f"PixelUnshuffle({r}) cuts the image into {r}x{r} blocks and stacks each block's "
            f"\\( {r}^2 = {r * r} \\) pixels as channels: {h} and {w} are both divisible by "
            f"{r}. " + display_rows([("C_{out}", f"{c} \\cdot {r * r} = {out[0]}"),
                                     ("H_{out}", f"{h} / {r} = {out[1]}"),
                                     ("W_{out}", f"{w} / {r} = {out[2]}")]))


def shuffle_refused_text(c: int, r: int) -> str:
    """PixelShuffle on channels that r^2 does not divide."""
    if c % (r * r) == 0:
        raise ValueError(f"{c} channels split into groups of {r * r}: it runs")
    return (f"PixelShuffle({r}) needs the channels to split into groups of "
            f"\\( {r}^2 = {r * r} \\), but {c} is not divisible by {r * r}, so PyTorch "
            "raises an error.")


def unshuffle_refused_text(name: str, size: int, r: int) -> str:
    """PixelUnshuffle on a height or width that r does not divide."""
    if size % r == 0:
        raise ValueError(f"{size} is divisible by {r}: it runs")
    return (f"PixelUnshuffle({r}) cuts the image into {r}x{r} blocks, but {name} = {size} "
            f"is not divisible by {r}, so PyTorch raises an error.")


def _block_rows(names: Sequence[str], sizes: Sequence[int], k: Sequence[int],
                s: Sequence[int], p: Sequence[int], d: Sequence[int],
                counts: Sequence[int]) -> list[str]:
    steps, seen = [], {}
    for i, name in enumerate(names):
        key = (sizes[i], k[i], s[i], p[i], d[i])
        if blocks(*key) != counts[i]:
            raise _disagree(f"blocks along {name}", blocks(*key), counts[i])
        if key in seen:
            steps.append(f"Along {name} the numbers repeat those of {seen[key]}: "
                         f"{counts[i]} blocks too.")
            continue
        seen[key] = name
        steps.append(f"Blocks along {name} (the conv size rule): "
                     + size_tex(sizes[i], k[i], s[i], p[i], d[i], counts[i],
                                name=f"L_{name}"))
    return steps


def unfold_steps(c: int, sizes: Sequence[int], k: Sequence[int], s: Sequence[int],
                 p: Sequence[int], d: Sequence[int], out_c: int, out_l: int) -> list[str]:
    """Unfold: every kH x kW block becomes a column of C*kH*kW values; L counts blocks."""
    counts = [blocks(sizes[i], k[i], s[i], p[i], d[i]) for i in range(2)]
    if prod(counts) != out_l or c * k[0] * k[1] != out_c:
        raise _disagree("unfold", (c * k[0] * k[1], prod(counts)), (out_c, out_l))
    return [*_block_rows(["H", "W"], sizes, k, s, p, d, counts),
            "Unfold lays each block out as one column of \\( C \\cdot kH \\cdot kW \\) "
            "values, one column per block, so \\( L = L_H \\cdot L_W \\): "
            # short rows: a phone's card is about 320 px wide
            + display_rows([("C_{out}", f"{c} \\cdot {k[0]} \\cdot {k[1]} = {out_c}"),
                            ("L", f"{counts[0]} \\cdot {counts[1]} = {out_l}")])]


def fold_steps(cin: int, length: int, out_size: Sequence[int], k: Sequence[int],
               s: Sequence[int], p: Sequence[int], d: Sequence[int],
               out_c: int | None) -> list[str]:
    """Fold: output_size must hold exactly L blocks, and kH*kW divide the channels.
    `out_c` None: PyTorch refuses (the solver said so); the steps say which check fails."""
    area = k[0] * k[1]
    steps = []
    if cin % area:
        if out_c is not None:
            raise _disagree("fold channels", "an error", out_c)
        return [f"Fold puts each column back as a {k[0]}x{k[1]} block, so the columns' "
                f"{cin} values must split into blocks of {area} cells, and {cin} is not "
                f"divisible by {area}: PyTorch raises an error."]
    try:
        counts = [blocks(out_size[i], k[i], s[i], p[i], d[i]) for i in range(2)]
    except ShapeError:  # no block fits output_size
        if out_c is not None:
            raise _disagree("fold blocks", "an error", out_c) from None
        return [f"Not one {k[0]}x{k[1]} block fits output_size {list(out_size)}: PyTorch "
                "raises an error."]
    steps += _block_rows(["H", "W"], out_size, k, s, p, d, counts)
    total = prod(counts)
    if total != length:
        if out_c is not None:
            raise _disagree("fold blocks", "an error", out_c)
        return [*steps, f"So output_size {list(out_size)} holds \\( {counts[0]} \\cdot "
                f"{counts[1]} = {total} \\) blocks, but the input has L = {length} columns: "
                "Fold needs one column per block, so PyTorch raises an error."]
    if out_c != cin // area:
        raise _disagree("fold channels", cin // area, out_c)
    return [*steps, f"\\( {counts[0]} \\cdot {counts[1]} = {total} \\) blocks: one per "
            f"column, L = {length}. Fold sums each column back into a {k[0]}x{k[1]} block: "
            + display_rows([("C_{out}", f"{cin} / ({k[0]} \\cdot {k[1]}) = {out_c}")])
            + f" with spatial size output_size = {out_size[0]}x{out_size[1]}."]


def pad_steps(type_: str, padding: int | Sequence[int], names: Sequence[str],
              sizes: Sequence[int], outs: Sequence[int]) -> list[str]:
    """A padding module: torch's tuple lists the last dim first; each dim grows by its
    two pads. `names`/`sizes`/`outs` run first to last padded dim."""
    n = len(names)
    flat = tuple(padding) if not isinstance(padding, int) else (padding,) * (2 * n)
    pairs = list(reversed([(flat[2 * i], flat[2 * i + 1]) for i in range(n)]))
    for name, size, (a, b), out in zip(names, sizes, pairs, outs, strict=True):
        if size + a + b != out:
            raise _disagree(f"{name} padded", size + a + b, out)
    if isinstance(padding, int):
        head = (f"`padding={padding}` pads both sides of every padded dim "
                f"({', '.join(names)}) by {padding}.")
    else:
        order = ", ".join(f"{names[n - 1 - i // 2]} {'before' if i % 2 == 0 else 'after'}"
                          for i in range(2 * n))
        head = (f"The padding tuple lists the last dim first, {PAD_NAMES[n]}: "
                f"{tuple(flat)} reads as {order}.")
    rows = [(f"{name}_{{out}}", f"{size} + {a} + {b} = {out}")
            for name, size, (a, b), out in zip(names, sizes, pairs, outs, strict=True)]
    return [head, display_rows(rows)]


def reflect_fits_text(names: Sequence[str], sizes: Sequence[int],
                      pairs: Sequence[tuple[int, int]]) -> str:
    """Reflection padding mirrors cells without repeating the edge: each pad < size."""
    worst = [(n, s, max(p)) for n, s, p in zip(names, sizes, pairs, strict=True)]
    bad = [(n, s, m) for n, s, m in worst if m >= s]
    if bad:
        name, size, pad = bad[0]
        return (f"Reflection mirrors the cells next to the edge without repeating the edge "
                f"cell, so each pad must be smaller than its dim: the pad of {pad} on "
                f"{name} = {size} is not, so PyTorch raises an error.")
    return ("Reflection mirrors the cells next to the edge without repeating the edge cell, "
            "so each pad must be smaller than its dim: "
            + ", ".join(f"{m} < {s}" for _, s, m in worst) + ", it runs.")


def upsample_refused_text(name: str, size: int, scale: float) -> str:
    """Upsample whose scale rounds a size down to 0."""
    out = scaled_size(size, scale)
    if out >= 1:
        raise ValueError(f"{size} * {scale} rounds to {out}: it runs")
    return (f"\\( \\lfloor {size} \\cdot {number(scale)} \\rfloor = {out} \\): {name} would "
            "have no cells, and PyTorch raises an error.")


def _plain_blocks(size: int, k: int, s: int, p: int, d: int) -> str:
    out = blocks(size, k, s, p, d)
    return f"floor(({size} + 2*{p} - {d}*({k}-1) - 1) / {s}) + 1 = {out}"


def resample_formulas(layer: object, shape: Sequence[int], out: Sequence[int]
                      ) -> tuple[str, ...]:
    """Each rule of one resampler as plain text, labelled (`cardgen solve`), worked again
    from the layer and checked against the solver's output shape `out`."""
    from cardgen.layers import Layer, pad_pairs
    from cardgen.solver.resample import resample_shape

    assert isinstance(layer, Layer)
    if tuple(resample_shape(layer, tuple(shape))) != tuple(out):
        raise _disagree(str(layer), resample_shape(layer, tuple(shape)), tuple(out))
    kind = layer.kind
    if kind == "upsample":
        names = SPATIAL[len(shape) - 2]
        if layer.get("size") is not None:
            return tuple(f"{n}: size = {o}" for n, o in zip(names, out[2:], strict=True))
        scale = layer.get("scale_factor")
        scales = scale if isinstance(scale, tuple) else (scale,) * len(names)
        return tuple(f"{n}: floor({s} * {f!r}) = {o}" for n, s, f, o in
                     zip(names, shape[2:], scales, out[2:], strict=True))
    if kind in ("pixel_shuffle", "pixel_unshuffle"):
        c, h, w = shape[-3:]
        if kind == "pixel_shuffle":
            r = layer.get("upscale_factor")
            return (f"C: {c} / {r}^2 = {out[-3]}", f"H: {h} * {r} = {out[-2]}",
                    f"W: {w} * {r} = {out[-1]}")
        r = layer.get("downscale_factor")
        return (f"C: {c} * {r}^2 = {out[-3]}", f"H: {h} / {r} = {out[-2]}",
                f"W: {w} / {r} = {out[-1]}")
    if kind in ("unfold", "fold"):
        k, s, p, d = (layer.tup(n) for n in ("kernel_size", "stride", "padding", "dilation"))
        sizes = shape[-2:] if kind == "unfold" else layer.tup("output_size")
        rows = [f"blocks {n}: " + _plain_blocks(sizes[i], k[i], s[i], p[i], d[i])
                for i, n in enumerate("HW")]
        area = k[0] * k[1]
        if kind == "unfold":
            return (*rows, f"C*kH*kW: {shape[-3]} * {k[0]} * {k[1]} = {out[-2]}",
                    f"L: blocks H * blocks W = {out[-1]}")
        return (*rows, f"L: {shape[-1]} blocks, one per column",
                f"C: {shape[-2]} / ({k[0]} * {k[1]}) = {shape[-2] // area}")
    n = layer.ndim
    return tuple(f"{name}: {size} + {a} + {b} = {o}" for name, size, (a, b), o in
                 zip(SPATIAL[n], shape[-n:], pad_pairs(layer), out[-n:], strict=True))
