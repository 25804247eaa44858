"""Exact parameter and multiply-add counts of Conv, ConvTranspose and Linear layers.

Weights: a Conv's weight tensor is ``out x in/groups x k...``, a ConvTranspose's
``in x out/groups x k...``, a Linear's ``out x in``; one bias per output channel (or
feature) unless ``bias=False``. Multiply-adds (MACs) of a Conv or Linear on an input:
every output element reads ``in/groups x prod(k)`` inputs (a Linear: ``in_features``),
padded zeros included; bias additions are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.shapes import output_shape

PARAM_KINDS = ("conv", "conv_transpose", "linear")
MAC_KINDS = ("conv", "linear")


@dataclass(frozen=True)
class Params:
    """The weight tensor's shape and the counts of weights and biases."""

    weight_shape: tuple[int, ...]
    weights: int
    biases: int

    @property
    def total(self) -> int:
        return self.weights + self.biases


@dataclass(frozen=True)
class Macs:
    """An output shape, the inputs each output element reads, and their product."""

    output_shape: tuple[int, ...]
    per_output: int

    @property
    def outputs(self) -> int:
        return prod(self.output_shape)

    @property
    def macs(self) -> int:
        return self.outputs * self.per_output


def weight_shape(layer: Layer) -> tuple[int, ...]:
    if layer.kind == "linear":
        return (layer.get("out_features"), layer.get("in_features"))
    if layer.kind not in PARAM_KINDS:
        raise ValueError(f"{layer.type} has no weights")
    cin, cout, groups = layer.get("in_channels"), layer.get("out_channels"), layer.get("groups")
    kernel = layer.tup("kernel_size")
    if layer.kind == "conv":
        return (cout, cin // groups, *kernel)
    return (cin, cout // groups, *kernel)


def param_count(layer: Layer) -> Params:
    """Weights and biases of a Conv/ConvTranspose/Linear (a validated Layer: groups divide)."""
    shape = weight_shape(layer)
    out = layer.get("out_features") if layer.kind == "linear" else layer.get("out_channels")
    return Params(shape, prod(shape), out if layer.get("bias") else 0)


def mac_count(layer: Layer, input_shape: Sequence[int]) -> Macs:
    """Multiply-adds of a Conv or Linear on `input_shape`; ShapeError where torch raises."""
    if layer.kind not in MAC_KINDS:
        raise ValueError(f"MACs are counted for Conv and Linear layers, not {layer.type}")
    out = output_shape(layer, tuple(input_shape))
    per = prod(weight_shape(layer)[1:])
    if min(out, default=1) < 1:
        raise ShapeError(f"{layer}: empty output {list(out)}")
    return Macs(tuple(out), per)
