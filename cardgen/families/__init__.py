"""The problem families: one module each, registered here by name."""

from __future__ import annotations

from types import ModuleType

from cardgen.families import (
    adaptive_equivalence,
    adaptive_output_shape,
    adaptive_values,
    adaptive_windows,
    conv_framework_same,
    conv_inverse,
    conv_output_size,
    conv_params,
    conv_same_padding,
    conv_transpose_output_size,
    conv_transpose_rules,
    conv_validity,
    input_unbatched,
    network_models,
    network_receptive_field,
    network_stack,
    network_trace,
    pool_options,
    pool_output_size,
    resample_shape,
    rules_of_thumb,
)

_MODULES = (conv_output_size, conv_same_padding, conv_inverse, conv_validity,
            conv_transpose_output_size, pool_output_size, adaptive_output_shape,
            adaptive_windows, adaptive_equivalence, adaptive_values, network_trace, conv_params,
            network_stack, network_models, input_unbatched, conv_framework_same,
            network_receptive_field, conv_transpose_rules, pool_options, resample_shape,
            rules_of_thumb)

FAMILIES: dict[str, ModuleType] = {m.NAME: m for m in _MODULES}


def get_family(name: str) -> ModuleType:
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown family {name!r}; known: {', '.join(FAMILIES)}") from None
