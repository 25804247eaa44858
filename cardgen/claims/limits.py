"""The limits every claim check obeys, with either backend (DESIGN.md §3).

A claim beyond one of them fails as "too large": a hostile deck can make a check fail but
never exhaust memory or CPU. The limits are the same for both backends, so a deck gets
the same verdict whichever one checks it.
"""

from __future__ import annotations

from typing import Any

MAX_LAYERS = 16                    # layers in one stack
MAX_RANK = 8                       # dims of an input shape
MAX_INPUT_ELEMENTS = 2_000_000     # input of a shape/error/windows claim
MAX_TENSOR_ELEMENTS = 8_000_000    # any intermediate or output tensor of such a claim
MAX_MACS = 4_000_000_000           # multiply-accumulates (or cells read) of one claim
MAX_WEIGHTS = 5_000_000            # in * out * prod(kernel) of a Conv, in * out of a Linear
MAX_TOTAL_WEIGHTS = 20_000_000     # all layers of a claim together
MAX_GEOMETRY = 1024                # kernel_size, stride, padding, dilation, output_padding
MAX_COLUMNS = 32_000_000           # a Conv's unfolded input: in * prod(kernel) * out cells
MAX_VALUE_CELLS = 100_000          # `values` input/output and every tensor they pass through
MAX_VALUE_DEPTH = 6                # nesting depth of `values` input/output
MAX_EQUIV_CELLS = 10_000           # input of an `equivalent` claim
MAX_ABS_VALUE = 2**53              # |x| of a `values` input cell (exact in float64)
MAX_EXACT_WORK = 20_000_000        # `values`/`equivalent`: cells read + OUTPUT_COST per output
OUTPUT_COST = 20                   # (all probe runs of an equivalence together)
SAFETY_FACTOR = 2                  # torch: a-priori bound per layer, independent of solver

LIMITS = {
    "layers": MAX_LAYERS, "rank": MAX_RANK, "input_elements": MAX_INPUT_ELEMENTS,
    "tensor_elements": MAX_TENSOR_ELEMENTS, "macs": MAX_MACS, "weights": MAX_WEIGHTS,
    "total_weights": MAX_TOTAL_WEIGHTS, "columns": MAX_COLUMNS, "geometry": MAX_GEOMETRY,
    "value_cells": MAX_VALUE_CELLS, "value_depth": MAX_VALUE_DEPTH,
    "equivalent_cells": MAX_EQUIV_CELLS, "exact_work": MAX_EXACT_WORK,
}

MAX_DETAIL = 240  # characters of a failure's detail


class Failed(Exception):
    """The claim does not hold, or cannot be checked; the message says why."""


class TooLarge(Failed):
    pass


def one_line(text: Any, limit: int = MAX_DETAIL) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
