"""Pure, exact arithmetic of conv and pooling layers: no I/O, no randomness, no torch."""

from cardgen.solver.equivalence import fixed_equivalent, fixed_layer_for, recipe_guess
from cardgen.solver.shapes import Step, layer_step, output_shape, trace
from cardgen.solver.values import Exact, forward, to_nested
from cardgen.solver.windows import (
    adaptive_windows,
    pool_windows,
    read_counts,
    windows_overlap,
)

__all__ = ["Exact", "Step", "adaptive_windows", "fixed_equivalent", "fixed_layer_for", "forward",
           "layer_step", "output_shape", "pool_windows", "read_counts", "recipe_guess", "to_nested",
           "trace", "windows_overlap"]
