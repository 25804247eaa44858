"""Window diagrams as inline SVG (DESIGN.md §1: render).

Each public function is a pure function of primitive problem parameters that returns
one ``<svg>`` string: the geometry is computed in this package, then filled into a
template in ``templates/diagrams/`` (in the spirit of conv_arithmetic's ``produce_figure``).

Layout: :mod:`.geometry` holds what every diagram shares (constants, number formatting,
the path and label collector), :mod:`.strip` the kernel-placement strip that the sliding
and transposed strips share, and each diagram kind has a module of its own name. To add
a kind: write its module and add one line to :data:`DIAGRAMS`.

Conventions shared by every diagram:

- a ``viewBox`` and no width/height: CSS sizes it (``width:100%``), and an inline
  ``max-width`` keeps a small diagram from being blown up on a wide screen;
- colours only through ``cg-*`` classes styled in ``templates/card.css`` (light and
  Anki night mode); no ids, no script, no external references;
- cells of one kind are drawn as one ``<path>``; numbers are integers or one decimal;
- no prose inside: captions belong in the HTML beside the SVG.

The numbers come from :mod:`cardgen.solver`, never re-derived here.

Speed: a build draws a diagram or two per note within a budget of tens of
microseconds, so the hot paths here avoid per-call work that adds nothing: numbers are
formatted through a memo (:func:`.geometry.n`); each template holds its markup as
macros whose text is read once and filled here with f-strings (no jinja call per
diagram, :func:`.geometry.render_svg`; a diagram drawn in layers straight from them,
:func:`.geometry.render_layers`), numbers and path data written as they are (they are
made here from floats and hold no markup characters), text from outside escaped; a
strip's input row is drawn once per configuration (:data:`.strip._ROWS`); runs of
cells and labels are written by joins, not a Python step each (:func:`.geometry._strip_path`,
:func:`.geometry._label_run`).

Each function is re-exported here under its kind's name, so ``diagrams.sliding_strip``
is the function, which hides the submodule of that name: import from the submodule
(``from cardgen.render.diagrams.sliding_strip import ...``) to reach anything else in it.
"""

from __future__ import annotations

from collections.abc import Callable

from cardgen.render.diagrams.adaptive_grid import adaptive_grid
from cardgen.render.diagrams.adaptive_strip import adaptive_strip
from cardgen.render.diagrams.dims import dims
from cardgen.render.diagrams.geometry import CELLS_FULL, LINKS_MAX, ROWS_FULL, WIDTH
from cardgen.render.diagrams.receptive_strip import receptive_strip
from cardgen.render.diagrams.sliding_strip import sliding_strip
from cardgen.render.diagrams.transposed_strip import transposed_strip
from cardgen.render.diagrams.values_grid import values_grid

# Diagram.kind -> the function that draws it (called with Diagram.args as keywords)
DIAGRAMS: dict[str, Callable[..., str]] = {
    "adaptive_strip": adaptive_strip,
    "adaptive_grid": adaptive_grid,
    "sliding_strip": sliding_strip,
    "transposed_strip": transposed_strip,
    "values_grid": values_grid,
    "dims": dims,
    "receptive_strip": receptive_strip,
}

__all__ = [
    "CELLS_FULL",
    "DIAGRAMS",
    "LINKS_MAX",
    "ROWS_FULL",
    "WIDTH",
    "adaptive_grid",
    "adaptive_strip",
    "sliding_strip",
    "transposed_strip",
    "values_grid",
    "dims",
    "receptive_strip",
]
