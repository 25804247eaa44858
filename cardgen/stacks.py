"""Your own networks: a recipe's `[stacks.NAME]` tables, checked, and the cards they make.

```toml
[stacks.my_cnn]
input = [8, 3, 64, 64]                      # the input shape, batch first
layers = ["Conv2d(3, 16, 3, padding=1)",    # each in `cardgen solve`'s syntax
          "MaxPool2d(2)", "Flatten()", "Linear(16384, 10)"]
asks = ["params", "shape", "macs", "field"] # optional; default: all four
```

Layer texts go through the same safe parser as `cardgen solve` (literals only, never
evaluated), and the stack must run on its input within the limits `cardgen verify`
re-checks. The cards are those of the `network.stack` family for this network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

ASK_NAMES = ("params", "shape", "macs", "field")
MAX_LAYERS = 64


@dataclass(frozen=True)
class StackSpec:
    name: str
    input_shape: tuple[int, ...]
    layers: tuple[str, ...]  # the texts as written; each parses
    asks: tuple[str, ...]


def check_stack(spec: StackSpec) -> tuple[int, str] | None:
    """The first layer that fails, as (index, reason); None when the stack is good."""
    from cardgen.claims import claim_work
    from cardgen.errors import CardgenError
    from cardgen.layers import parse_layer
    from cardgen.solver import layer_step

    shape = spec.input_shape
    parsed = []
    for i, text in enumerate(spec.layers):
        try:
            layer = parse_layer(text)
            step = layer_step(layer, shape)
        except CardgenError as exc:
            return i, str(exc)
        parsed.append(layer)
        try:
            claim_work(parsed, spec.input_shape)
        except ValueError as exc:  # verify could not re-check a card this deep
            return i, f"too large for cardgen verify to re-check ({exc})"
        shape = step.output_shape
    return None


@lru_cache(maxsize=256)
def stack_cards(spec: StackSpec) -> tuple[tuple[int, str], ...]:
    """The stack's cards as (level, canonical params), in layer order."""
    from cardgen.families.network_stack import cards_of
    from cardgen.generate import canonical_params
    from cardgen.layers import parse_layer

    layers = [parse_layer(t) for t in spec.layers]
    return tuple((level, canonical_params(p))
                 for level, p in cards_of(spec.name, spec.input_shape, layers)
                 if p["ask"] in spec.asks)
