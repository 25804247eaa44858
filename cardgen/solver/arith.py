"""Per-dimension output-size arithmetic, exactly as PyTorch computes it.

Each function returns an int or raises ShapeError with PyTorch's reason in words. The
sentences that show a computation are written in ``cardgen.explain`` (the conv and
transposed-conv ones in ``cardgen.explain.sizes``); ``explain_pool``/``explain_adaptive``
remain here until pooling's writers move too.
"""

from __future__ import annotations

from cardgen.errors import ShapeError


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """PyTorch's padding='same' split: total d(k-1), the odd cell goes right."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def conv_out(size: int, kernel: int, stride: int = 1, pad_left: int = 0,
             dilation: int = 1, pad_right: int | None = None) -> int:
    pad_right = pad_left if pad_right is None else pad_right
    padded = size + pad_left + pad_right
    span = dilation * (kernel - 1) + 1
    if padded < span:
        raise ShapeError(f"padded input size {padded} is smaller than the dilated kernel size "
                         f"{span}: kernel size can't be greater than actual input size")
    return (padded - span) // stride + 1


def conv_transpose_out(size: int, kernel: int, stride: int = 1, padding: int = 0,
                       output_padding: int = 0, dilation: int = 1) -> int:
    if not (output_padding < stride or output_padding < dilation):
        raise ShapeError(f"output padding must be smaller than either stride or dilation, got "
                         f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ShapeError(f"calculated output size {out} is too small")
    return out


def pool_out(size: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1,
             ceil_mode: bool = False) -> int:
    if padding > kernel // 2:
        raise ShapeError(f"pad should be at most half of kernel size, got padding={padding} "
                         f"and kernel_size={kernel}")
    out = pool_out_raw(size, kernel, stride, padding, dilation, ceil_mode)
    if out < 1:
        raise ShapeError(f"calculated output size {out} is too small: the window "
                         f"(kernel {kernel}, dilation {dilation}) does not fit in the padded "
                         f"input {size + 2 * padding}")
    return out


def pool_out_raw(size: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1,
                 ceil_mode: bool = False) -> int:
    """The size before the validity check; the ceil-mode last-window rule applied."""
    num = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = num // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def ceil_dropped(size: int, kernel: int, stride: int, padding: int = 0,
                 dilation: int = 1) -> bool:
    """True when ceil mode's extra window is dropped: it would start at or after
    input + left padding (padded coordinates), i.e. past the last input cell."""
    num = size + 2 * padding - dilation * (kernel - 1) - 1 + stride - 1
    out = num // stride + 1
    return (out - 1) * stride >= size + padding


def adaptive_bounds(index: int, size: int, out: int) -> tuple[int, int]:
    """Window [start, end) of output ``index``: floor(i*in/out), ceil((i+1)*in/out)."""
    return (index * size) // out, -((-(index + 1) * size) // out)
