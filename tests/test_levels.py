"""Each family's levels keep their defining features.

test_families checks that a level's problems are distinct and its answers spread; a level
that silently drew from an easier level's problem space would still pass it (a learner would
just never see the hard material). Here every (family, level) names what defines it, as the
generator's code and comments say, and the features are computed from the drawn params (or
the solved Solution), never by re-running the generator's logic:

* ``min_share``: the feature appears in at least this share of the level's draws (set at
  about half the measured share: far above 0, well below what the generator does today);
* ``absent_at``: levels where it never appears (by default every lower level), so a level
  that draws from the wrong code path shows up from either side.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cardgen.families import FAMILIES
from cardgen.families.base import Solution
from cardgen.generate import family_rng
from cardgen.layers import Layer
from cardgen.solver import output_shape

SEEDS = (0, 1, 2)
DRAWS_PER_SEED = 100  # 300 draws per family level


class Draw:
    """One generated problem; solved only when a feature asks for the solution."""

    def __init__(self, family: str, params: dict[str, Any]) -> None:
        self.family = family
        self.params = params

    @functools.cached_property
    def solution(self) -> Solution:
        return FAMILIES[self.family].solve(self.params)


@functools.cache
def draws(family: str, level: int) -> tuple[Draw, ...]:
    module = FAMILIES[family]
    out = []
    for seed in SEEDS:
        rng = family_rng(seed, family)
        out.extend(Draw(family, module.generate(rng, level)) for _ in range(DRAWS_PER_SEED))
    return tuple(out)


@dataclass(frozen=True)
class Feature:
    family: str
    level: int
    name: str
    test: Callable[[Draw], bool]
    min_share: float
    absent_at: tuple[int, ...] | None = None  # None: every level below `level`

    @property
    def absent_levels(self) -> tuple[int, ...]:
        if self.absent_at is not None:
            return self.absent_at
        return tuple(lv for lv in FAMILIES[self.family].LEVELS if lv < self.level)

    @property
    def id(self) -> str:
        return f"{self.family}-L{self.level}-{self.name}"


def share(feature: Feature, level: int) -> tuple[int, int]:
    items = draws(feature.family, level)
    return sum(1 for d in items if feature.test(d)), len(items)


# ------------------------------------------------------------------ feature helpers

def _conv(d: Draw) -> Layer:
    return Layer.from_json(d.params["layer"])


def _spatial(d: Draw) -> list[int]:
    return d.params["input_shape"][2:]


def _kernels(d: Draw) -> list[int]:
    k = d.params["kernel"]
    return k if isinstance(k, list) else [k]


def _uneven(values: tuple[Any, ...]) -> bool:
    return len(set(values)) > 1


def _conv_per_dim_args(d: Draw) -> bool:
    """Kernel, stride, dilation or padding differ between spatial dims."""
    layer = _conv(d)
    return any(not isinstance(layer.get(a), str) and _uneven(layer.tup(a))
               for a in ("kernel_size", "stride", "dilation", "padding"))


def _asymmetric_split(d: Draw) -> bool:
    """The answer is "left,right" zeros of padding='same', and they differ (not "ph,pw", the
    paddings of per-dim kernels)."""
    split = re.fullmatch(r"(\d+),(\d+)", d.solution.answer)
    return "'same'" in d.solution.question and split is not None and split[1] != split[2]


def _pool_ceil_matters(d: Draw) -> bool:
    """ceil_mode=True gives another output than floor mode would (or drops a last window)."""
    claim = d.solution.claims[0]
    layer = Layer.from_json(claim["layers"][0])
    if not layer.get("ceil_mode") or claim["kind"] != "shape":
        return False
    floor = Layer.make(layer.type, **{**layer.kwargs, "ceil_mode": False})
    return tuple(claim["output_shape"]) != output_shape(floor, tuple(claim["input_shape"]))


def _adaptive_out_exceeds_tiny_input(d: Draw) -> bool:
    out = d.params["output_size"]
    nd = d.params["nd"]
    outs = out if isinstance(out, list) else [out] * nd
    shape = d.params["input_shape"]
    if "before" in d.params:  # the pool's own input
        shape = output_shape(Layer.from_json(d.params["before"]), shape)
    sizes = shape[-nd:]
    return any(o is not None and s < 5 and o > s for o, s in zip(outs, sizes, strict=True))


def _values_uneven_2d(d: Draw) -> bool:
    grid, out = d.params["grid"], d.params["out"]
    return d.params["nd"] == 2 and (len(grid) % out[0] != 0 or len(grid[0]) % out[1] != 0)


def _values_out_exceeds_input(d: Draw) -> bool:
    grid, out = d.params["grid"], d.params["out"]
    sides = [len(grid[0])] if d.params["nd"] == 1 else [len(grid), len(grid[0])]
    return any(o > side for o, side in zip(out, sides, strict=True))


def _trace_layers(d: Draw) -> list[Layer]:
    return [Layer.from_json(j) for j in d.params["layers"]]


def _trace_kernels(d: Draw) -> list[int]:
    return [k for layer in _trace_layers(d) if layer.kind == "conv"
            for k in layer.tup("kernel_size")]


F = Feature
FEATURES: list[Feature] = [
    # conv.output_size. L1: Conv1d/2d on small inputs, k <= 5, stride <= 2, integer padding
    # below k, no dilation. L2: Conv2d on real-network sizes, k up to 11, stride up to 4,
    # 'valid' (not 'same': its size is read off the question); always a kernel of 6+, a
    # stride of 3+ or 'valid'. L3: dilation, Conv3d, per-dim arguments, non-square inputs.
    # No level keeps every size (a copy of the question).
    F("conv.output_size", 1, "conv1d", lambda d: _conv(d).type == "Conv1d", 0.22,
      absent_at=(2,)),
    F("conv.output_size", 2, "padding-string",
      lambda d: isinstance(_conv(d).get("padding"), str), 0.13),
    F("conv.output_size", 2, "input-over-16", lambda d: max(_spatial(d)) > 16, 0.18),
    F("conv.output_size", 2, "kernel-7+-or-stride-3+",
      lambda d: max(_conv(d).tup("kernel_size")) >= 7 or max(_conv(d).tup("stride")) >= 3,
      0.45),
    F("conv.output_size", 3, "dilated", lambda d: max(_conv(d).tup("dilation")) > 1, 0.37),
    F("conv.output_size", 3, "conv3d", lambda d: _conv(d).type == "Conv3d", 0.08),
    F("conv.output_size", 3, "per-dim-args", _conv_per_dim_args, 0.36),
    F("conv.output_size", 3, "non-square-input", lambda d: _uneven(tuple(_spatial(d))), 0.36),
    # conv.same_padding. L1: the symmetric padding for odd kernels 3..17, no dilation, in
    # 2-D often one kernel per dim ("ph,pw"). L2: dilated odd kernels, and even kernels where
    # padding='same' splits unevenly. L3: a strided conv: solve for the padding that gives
    # TensorFlow's 'SAME' size ceil(in/s) (the smallest one for stride 3 or 4).
    F("conv.same_padding", 1, "odd-kernel-undilated-pad",
      lambda d: d.params["q"] == "pad" and d.params["dilation"] == 1
      and all(k % 2 == 1 for k in _kernels(d)), 0.5, absent_at=(2, 3)),
    F("conv.same_padding", 1, "per-dim-kernels",
      lambda d: isinstance(d.params["kernel"], list), 0.23, absent_at=(2, 3)),
    F("conv.same_padding", 2, "dilated", lambda d: d.params["dilation"] > 1, 0.34),
    F("conv.same_padding", 2, "asymmetric-split", _asymmetric_split, 0.24, absent_at=(1, 3)),
    F("conv.same_padding", 3, "strided-padding-to-solve",
      lambda d: d.params.get("stride", 1) > 1 and d.solution.answer.isdigit(), 0.5),
    F("conv.same_padding", 3, "smallest-padding",
      lambda d: d.params.get("stride", 1) > 2 and "smallest" in d.solution.question, 0.23),
    # conv.inverse. L1: find the padding, stride <= 2. L2: find the padding (through a
    # stride of 3 or 4) or the stride, stride 4 appears. L3: find the kernel size too;
    # dilation appears.
    F("conv.inverse", 1, "find-padding", lambda d: d.params["unknown"] == "padding", 0.5),
    F("conv.inverse", 2, "find-stride", lambda d: d.params["unknown"] == "stride", 0.28),
    F("conv.inverse", 2, "stride-4", lambda d: d.params["stride"] == 4, 0.09),
    F("conv.inverse", 3, "find-kernel", lambda d: d.params["unknown"] == "kernel", 0.09),
    F("conv.inverse", 3, "dilated", lambda d: d.params["dilation"] > 1, 0.4),
    # conv.validity. L1: Conv1d, no padding, no dilation, channels match. L2: Conv2d with
    # padding and channel mismatches. L3: dilation (always) and larger inputs.
    F("conv.validity", 1, "conv1d-unpadded",
      lambda d: d.params["nd"] == 1 and d.params["padding"] == 0, 0.5, absent_at=(2, 3)),
    F("conv.validity", 2, "padded", lambda d: d.params["padding"] > 0, 0.5),
    F("conv.validity", 2, "channel-mismatch",
      lambda d: d.params["in_channels"] != d.params["x_channels"], 0.1),
    F("conv.validity", 3, "dilated", lambda d: d.params["dilation"] > 1, 0.5),
    F("conv.validity", 3, "input-10+", lambda d: d.params["size"] >= 10, 0.31),
    # conv_transpose.output_size. L1: ConvTranspose1d, k <= 4, stride <= 2, no
    # output_padding. L2: ConvTranspose2d, output_padding, k up to 7, stride 3. L3: which
    # output_padding recovers a strided conv's input size; dilation.
    F("conv_transpose.output_size", 1, "transpose1d", lambda d: d.params["nd"] == 1, 0.5,
      absent_at=(2, 3)),
    F("conv_transpose.output_size", 2, "output-padding",
      lambda d: d.params["output_padding"] > 0, 0.2),
    F("conv_transpose.output_size", 2, "kernel-5+-or-stride-3",
      lambda d: d.params["kernel"] >= 5 or d.params["stride"] >= 3, 0.29),
    F("conv_transpose.output_size", 3, "recover-size",
      lambda d: d.params["q"] == "recover" and "target" in d.params, 0.5),
    F("conv_transpose.output_size", 3, "dilated", lambda d: d.params["dilation"] > 1, 0.33),
    # pool.output_size. L1: MaxPool2d, k 2 or 3, no padding, floor mode. L2: AvgPool,
    # padding, ceil_mode. L3: non-square inputs, too much padding (PyTorch refuses),
    # dilation, ceil_mode where it changes the answer.
    F("pool.output_size", 1, "maxpool-unpadded-floor",
      lambda d: d.params["kind"] == "Max" and d.params["padding"] == 0
      and not d.params["ceil_mode"], 0.5),
    F("pool.output_size", 2, "avgpool", lambda d: d.params["kind"] == "Avg", 0.23),
    F("pool.output_size", 2, "padded", lambda d: d.params["padding"] > 0, 0.28),
    F("pool.output_size", 2, "ceil-mode", lambda d: d.params["ceil_mode"], 0.21),
    F("pool.output_size", 3, "non-square-input", lambda d: _uneven(tuple(d.params["sizes"])),
      0.47),
    F("pool.output_size", 3, "refused-padding", lambda d: d.solution.answer == "error", 0.12),
    F("pool.output_size", 3, "dilated", lambda d: d.params.get("dilation", 1) > 1, 0.13),
    F("pool.output_size", 3, "ceil-mode-matters", _pool_ceil_matters, 0.17, absent_at=(1,)),
    # adaptive.output_shape. L1: an int output_size that stands for every spatial dim (2-D
    # and 3-D), and Flatten after it. L2: None keeps a size that a conv or pool before the
    # adaptive pool changed. L3: the same on non-square and 3-D inputs, with outputs larger
    # than tiny inputs, unbatched inputs.
    F("adaptive.output_shape", 1, "int-output-size-expands",
      lambda d: isinstance(d.params["output_size"], int) and d.params["nd"] >= 2, 0.5,
      absent_at=(2, 3)),
    F("adaptive.output_shape", 1, "flatten", lambda d: d.params.get("flatten", False), 0.15,
      absent_at=(2,)),
    F("adaptive.output_shape", 2, "none-keeps-a-resized-dim",
      lambda d: "before" in d.params and None in d.params["output_size"], 0.5,
      absent_at=(1,)),
    F("adaptive.output_shape", 3, "pool3d-per-dim",
      lambda d: d.params["nd"] == 3 and isinstance(d.params["output_size"], list), 0.17),
    F("adaptive.output_shape", 3, "out-exceeds-tiny-input", _adaptive_out_exceeds_tiny_input,
      0.2, absent_at=()),
    F("adaptive.output_shape", 3, "unbatched",
      lambda d: len(d.params["input_shape"]) == d.params["nd"] + 1, 0.06),
    # adaptive.windows. L1: which cells one output reads, out <= 5. L2: the window lengths.
    # L3: numbers from two dims or many windows: one output's 2-D window (rows and
    # columns), how many outputs read a cell when there are more outputs than cells.
    F("adaptive.windows", 1, "one-window", lambda d: d.params["q"] == "window", 0.5,
      absent_at=(3,)),
    F("adaptive.windows", 2, "lengths", lambda d: d.params["q"] == "lengths", 0.24),
    F("adaptive.windows", 3, "window-2d",
      lambda d: d.params["q"] == "window2d" and d.solution.answer.count(":") == 2, 0.25),
    F("adaptive.windows", 3, "cell-readers",
      lambda d: d.params["q"] == "readers" and d.params["out"] > d.params["size"], 0.25),
    # adaptive.values. L1: a 1-D sequence of non-negative numbers. L2: a 2-D grid with
    # negatives, outputs dividing the sides. L3: uneven (overlapping) windows and outputs
    # larger than the input.
    F("adaptive.values", 1, "sequence-1d", lambda d: d.params["nd"] == 1, 0.5,
      absent_at=(2, 3)),
    F("adaptive.values", 2, "grid-2d", lambda d: d.params["nd"] == 2, 0.5),
    F("adaptive.values", 2, "negatives",
      lambda d: min(min(row) for row in d.params["grid"]) < 0, 0.5),
    F("adaptive.values", 3, "uneven-2d-windows", _values_uneven_2d, 0.47),
    F("adaptive.values", 3, "out-exceeds-input", _values_out_exceeds_input, 0.11),
    # adaptive.equivalence. L1: is this 1-D adaptive pool a fixed pool? L2: real-network
    # sizes, and the reverse: which output_size makes a fixed pool adaptive. L3: 2-D.
    F("adaptive.equivalence", 1, "fixed-1d",
      lambda d: d.params["q"] == "fixed" and len(d.params["sizes"]) == 1, 0.5,
      absent_at=(3,)),
    F("adaptive.equivalence", 2, "reverse", lambda d: d.params["q"] == "reverse", 0.24,
      absent_at=(1, 3)),
    F("adaptive.equivalence", 2, "input-24+",
      lambda d: max(d.params.get("sizes", [d.params.get("size", 0)])) >= 24, 0.12,
      absent_at=(1,)),
    F("adaptive.equivalence", 3, "pool2d", lambda d: len(d.params.get("sizes", [])) == 2,
      0.5),
    # network.trace. L1: ResNet stem, a pool then Flatten, LeNet's front. L2: VGG blocks,
    # downsampling, AlexNet, a conv head: 3+ layers. L3: ceil_mode pools, non-square inputs,
    # stacks PyTorch refuses.
    F("network.trace", 1, "resnet-stem", lambda d: 7 in _trace_kernels(d), 0.09,
      absent_at=(2, 3)),
    F("network.trace", 1, "adaptive-then-flatten",
      lambda d: any(la.kind.startswith("adaptive") for la in _trace_layers(d)), 0.12,
      absent_at=(3,)),
    F("network.trace", 2, "3+-conv-pool-layers",
      lambda d: sum(la.kind in ("conv", "maxpool", "avgpool") for la in _trace_layers(d)) >= 3,
      0.31),
    F("network.trace", 3, "ceil-mode",
      lambda d: any(la.kind == "maxpool" and la.get("ceil_mode") for la in _trace_layers(d)),
      0.11),
    F("network.trace", 3, "non-square-input",
      lambda d: d.params["input_shape"][2] != d.params["input_shape"][3], 0.02),
    F("network.trace", 3, "refused", lambda d: d.solution.answer == "error", 0.05),
    # conv.params. L1: the parameters of a plain Conv1d/2d or Linear (groups 1). L2:
    # groups and depthwise, ConvTranspose, Conv3d, and groups that do not divide (an
    # error). L3: multiply-adds on an input shape.
    F("conv.params", 1, "plain-params",
      lambda d: d.params["q"] == "params" and "groups" not in d.params["layer"]["args"],
      0.5, absent_at=(3,)),
    F("conv.params", 2, "groups",
      lambda d: d.params["q"] == "params" and "groups" in d.params["layer"]["args"], 0.45),
    F("conv.params", 2, "transposed",
      lambda d: d.params["layer"]["type"].startswith("ConvTranspose"), 0.1,
      absent_at=(1, 3)),
    F("conv.params", 2, "refused", lambda d: d.solution.answer == "error", 0.08,
      absent_at=(1, 3)),
    F("conv.params", 3, "macs", lambda d: d.params["q"] == "macs", 0.5),
    # input.unbatched. L1: one Conv or pool on an unbatched (C, *spatial) input. L2: shape
    # or error: inputs without a channel dim or with one dim too many (refused), and
    # channels-last images and sequences (read by position). L3: a stack on one image
    # ending in Flatten (start_dim=1 keeps the channels), with a Linear sized for C*H*W.
    F("input.unbatched", 1, "one-layer-unbatched",
      lambda d: len(d.params["layers"]) == 1
      and len(d.params["input_shape"]) == Layer.from_json(d.params["layers"][0]).ndim + 1
      and d.params["layout"][0] == "C", 0.5, absent_at=(3,)),
    F("input.unbatched", 2, "rank-refused",
      lambda d: len(d.params["input_shape"])
      not in (Layer.from_json(d.params["layers"][0]).ndim + 1,
              Layer.from_json(d.params["layers"][0]).ndim + 2), 0.1, absent_at=(1, 3)),
    F("input.unbatched", 2, "channels-last", lambda d: d.params["layout"][-1] == "C", 0.15,
      absent_at=(1, 3)),
    F("input.unbatched", 2, "non-square", lambda d: _uneven(tuple(d.params["input_shape"][1:]))
      and d.params["layout"][0] == "C" and len(d.params["input_shape"]) > 2, 0.2),
    F("input.unbatched", 3, "ends-in-flatten",
      lambda d: any(j["type"] == "Flatten" for j in d.params["layers"]), 0.9),
    F("input.unbatched", 3, "linear-sized-for-a-batch",
      lambda d: d.params["layers"][-1]["type"] == "Linear" and d.solution.answer == "error",
      0.15),
    # network.stack. L1: one layer's parameters; L2: the shape a layer outputs from the
    # shape it receives; L3: a Conv layer's multiply-adds on the shape it receives.
    F("network.stack", 1, "params", lambda d: d.params["ask"] == "params", 0.99),
    F("network.stack", 2, "shape", lambda d: d.params["ask"] == "shape", 0.99),
    F("network.stack", 3, "macs-or-field", lambda d: d.params["ask"] in ("macs", "field"),
      0.99),
    # network.models. L1: one layer of a torchvision model, given what it receives; L2: a
    # block of 2-4 layers; L3: from the image through the first layers.
    F("network.models", 1, "one-layer",
      lambda d: not d.params["from_input"] and len(d.solution.claims[0]["inside"]) == 1,
      0.99, absent_at=(2, 3)),
    F("network.models", 2, "block",
      lambda d: not d.params["from_input"] and len(d.solution.claims[0]["inside"]) >= 2,
      0.99),
    F("network.models", 3, "from-image", lambda d: d.params["from_input"], 0.99),
    # conv.framework_same. L1: SAME's output size, a stride above 1 (ceil(in/s)). L2: the
    # zeros before and after, the odd one on SAME_LOWER's side too. L3: which symmetric
    # PyTorch padding computes the layer, or none (then only F.pad does).
    F("conv.framework_same", 1, "same-size",
      lambda d: "What is its output" in d.solution.question and d.solution.answer == "x".join(
          str(-(-n // d.params["stride"])) for n in d.params["size"]), 0.5,
      absent_at=(2, 3)),
    F("conv.framework_same", 2, "split", lambda d: re.fullmatch(
        r"\d+,\d+", d.solution.answer) is not None, 0.5, absent_at=(1, 3)),
    F("conv.framework_same", 2, "odd-zero-before",
      lambda d: re.fullmatch(r"(\d+),(\d+)", d.solution.answer) is not None
      and int(d.solution.answer.split(",")[0]) > int(d.solution.answer.split(",")[1]), 0.05,
      absent_at=(1, 3)),
    F("conv.framework_same", 3, "which-padding", lambda d: "Type none" in d.solution.question,
      0.5),
    F("conv.framework_same", 3, "none", lambda d: d.solution.answer == "none", 0.2),
    # network.receptive_field. L1: the field size of a 2-3 layer stack without padding or
    # dilation, or the jump of 4 layers. L2: the size through a dilated conv. L3: the
    # input range of one unit through padded layers, 1-D or 2-D.
    F("network.receptive_field", 1, "size-undilated",
      lambda d: d.params["q"] == "size" and not any(
          "dilation" in j["args"] for j in d.params["layers"]), 0.5, absent_at=(2, 3)),
    F("network.receptive_field", 1, "jump", lambda d: d.params["q"] == "jump", 0.1,
      absent_at=(2, 3)),
    F("network.receptive_field", 2, "dilated",
      lambda d: any("dilation" in j["args"] for j in d.params["layers"]), 0.45),
    F("network.receptive_field", 3, "padded-range",
      lambda d: d.params["q"] == "range" and any(
          "padding" in j["args"] for j in d.params["layers"]), 0.45),
    F("network.receptive_field", 3, "two-d", lambda d: len(d.params["input_shape"]) == 4,
      0.15),
    # conv_transpose.rules. L1: an explicit output_padding (some break the limit, an error
    # card). L2: the range output_size= accepts, or the output_padding it picks (1-D,
    # dilation never above the stride). L3: dilation above the stride (the range is still
    # the stride's), and 2-D calls with a size per dim, some out of range.
    F("conv_transpose.rules", 1, "explicit", lambda d: d.params["q"] == "explicit", 0.99,
      absent_at=(2, 3)),
    F("conv_transpose.rules", 1, "refused", lambda d: d.solution.answer == "error", 0.25,
      absent_at=(2,)),
    F("conv_transpose.rules", 2, "range", lambda d: d.params["q"] == "range", 0.45,
      absent_at=(1,)),
    F("conv_transpose.rules", 2, "picked-1d", lambda d: d.params["q"] == "picked", 0.25,
      absent_at=(1, 3)),
    F("conv_transpose.rules", 3, "picked-2d", lambda d: d.params["q"] == "picked2d", 0.5),
    F("conv_transpose.rules", 3, "dilation-above-stride",
      lambda d: any(x["dilation"] > x["stride"] for x in d.params.get("dims", [d.params])),
      0.5, absent_at=(2,)),
    F("conv_transpose.rules", 3, "trap",
      lambda d: d.solution.answer == "error" and any(
          "would run" in step for step in d.solution.steps), 0.04, absent_at=(1, 2)),
    # pool.options. L1: an edge output of a padded AvgPool1d (padding counted or not).
    # L2: ceil mode's last window past the padded end, or divisor_override. L3: MaxUnpool
    # after MaxPool(return_indices=True), or a ceil-mode AvgPool2d's corner.
    F("pool.options", 1, "padding-not-counted",
      lambda d: d.params.get("layer", {}).get("args", {}).get("count_include_pad") is False,
      0.3, absent_at=()),
    F("pool.options", 2, "ceil-hanging",
      lambda d: d.params["q"] == "value" and d.params["layer"]["type"] == "AvgPool1d"
      and bool(d.params["layer"]["args"].get("ceil_mode")), 0.4),
    F("pool.options", 2, "divisor-override",
      lambda d: "divisor_override" in d.params.get("layer", {}).get("args", {}), 0.25,
      absent_at=(1, 3)),
    F("pool.options", 3, "unpool", lambda d: d.params["q"] == "unpool", 0.5),
    F("pool.options", 3, "unpool-output-size",
      lambda d: d.params["q"] == "unpool" and d.params["output_size"] is not None, 0.3),
    F("pool.options", 3, "unpool-refused", lambda d: d.solution.answer == "error", 0.15),
    F("pool.options", 3, "ceil-corner-2d",
      lambda d: d.params["q"] == "value" and d.params["layer"]["type"] == "AvgPool2d"
      and bool(d.params["layer"]["args"].get("ceil_mode")), 0.2),
    # resample.shape. L1: one Upsample by a whole scale or one PixelShuffle. L2: asymmetric
    # pads (torch's tuple, last dim first), PixelUnshuffle, Unfold's (C*k*k, L), a
    # fractional scale's floor. L3: two-layer stacks, a quarter of them refused.
    F("resample.shape", 1, "whole-scale-or-shuffle",
      lambda d: _resample_types(d) in (["Upsample"], ["PixelShuffle"])
      and all(float(f).is_integer() for f in _scales(d)), 1.0, absent_at=()),
    F("resample.shape", 2, "asymmetric-pad",
      lambda d: len(d.params["layers"]) == 1 and "Pad" in _resample_types(d)[0]
      and isinstance(d.params["layers"][0]["args"]["padding"], list), 0.12),
    F("resample.shape", 2, "unshuffle", lambda d: _resample_types(d) == ["PixelUnshuffle"],
      0.12),
    F("resample.shape", 2, "unfold", lambda d: _resample_types(d) == ["Unfold"], 0.12),
    F("resample.shape", 2, "floor-scale",
      lambda d: _resample_types(d) == ["Upsample"]
      and any(not float(f).is_integer() for f in _scales(d)), 0.12, absent_at=(1,)),
    F("resample.shape", 3, "stack", lambda d: len(d.params["layers"]) == 2, 1.0),
    F("resample.shape", 3, "refused", lambda d: d.solution.answer == "error", 0.12),
    # rules.of_thumb. L1: one computation (same padding, the groups check). L2: adaptive
    # pools in 1-D (the divisibility rule, the in // out recipe). L3: the docs' ceil_mode
    # formula against the last-window rule, and the recipe on 2-D pools.
    F("rules.of_thumb", 1, "one-computation",
      lambda d: d.params["rule"] in ("same_pad", "multiple"), 0.9, absent_at=(2, 3)),
    F("rules.of_thumb", 2, "adaptive-1d",
      lambda d: d.params["rule"] in ("divisible", "recipe") and len(d.params["sizes"]) == 1,
      0.9, absent_at=(1, 3)),
    F("rules.of_thumb", 3, "ceil-docs", lambda d: d.params["rule"] == "ceil_docs", 0.25),
    F("rules.of_thumb", 3, "recipe-2d",
      lambda d: d.params["rule"] == "recipe" and len(d.params["sizes"]) == 2, 0.25),
]

ABSENT_CASES = [(f, lv) for f in FEATURES for lv in f.absent_levels]


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.id)
def test_level_has_its_defining_feature(feature):
    found, total = share(feature, feature.level)
    assert found >= feature.min_share * total, (
        f"{feature.id}: {found}/{total} draws have it, want at least "
        f"{feature.min_share:.0%}; does level {feature.level} draw from another level?")


@pytest.mark.parametrize(("feature", "level"), ABSENT_CASES,
                         ids=[f"{f.id}-absent-at-L{lv}" for f, lv in ABSENT_CASES])
def test_feature_never_appears_at_other_levels(feature, level):
    found, total = share(feature, level)
    assert found == 0, (f"{feature.id}: {found}/{total} level-{level} draws have it; does "
                        f"level {level} draw from level {feature.level}?")


def test_every_level_is_defined_and_distinguished_from_the_levels_below():
    known = {(name, lv) for name, mod in FAMILIES.items() for lv in mod.LEVELS}
    listed = {(f.family, f.level) for f in FEATURES}
    assert listed == known, {"missing": known - listed, "unknown": listed - known}
    for name, mod in FAMILIES.items():
        for level in mod.LEVELS[1:]:
            below = {lv for lv in mod.LEVELS if lv < level}
            assert any(f.family == name and f.level == level
                       and below <= set(f.absent_levels) for f in FEATURES), \
                f"{name} level {level}: no feature that never appears below it"
    assert len({f.id for f in FEATURES}) == len(FEATURES)
    for f in FEATURES:
        assert 0 < f.min_share <= 1 and f.level not in f.absent_levels, f.id


def _resample_types(d: Draw) -> list[str]:
    return [layer["type"] for layer in d.params["layers"]]


def _scales(d: Draw) -> list[float]:
    args = d.params["layers"][0]["args"]
    scale = args.get("scale_factor", 1)
    return scale if isinstance(scale, list) else [scale]
