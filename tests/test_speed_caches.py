"""The build's speed caches give what the uncached code gives."""

from __future__ import annotations

import pickle

from cardgen.families import network_stack
from cardgen.generate import generate_family
from cardgen.layers import Layer
from cardgen.render.diagrams import geometry


def test_layer_hash_is_the_fields_hash_and_survives_pickling() -> None:
    layer = Layer.make("Conv2d", in_channels=3, out_channels=8, kernel_size=3, stride=2)
    assert hash(layer) == hash((layer.type, layer.args))
    copy = pickle.loads(pickle.dumps(layer))
    assert copy == layer and hash(copy) == hash(layer) and str(copy) == str(layer)
    assert {layer: 1}[copy] == 1


def test_network_stack_solve_after_generate_is_a_fresh_solve() -> None:
    problems = generate_family(network_stack.NAME, 3, 40, network_stack.LEVELS)
    assert all(network_stack._params_key(p.params) in network_stack._FITTED for p in problems)
    kept = [network_stack.solve(p.params) for p in problems]  # the ones _fit made
    assert kept == [network_stack._solve(p.params) for p in problems]
    # each kept solution is handed out once: asking again solves afresh
    again = network_stack.solve(problems[0].params)
    assert again == kept[0] and again is not kept[0]


def test_cells_path_is_the_strip_path() -> None:
    for x, w, count in ((22.0, 22.0, 5), (37.5, 11.3, 17), (22, 7.1, 1), (10.0, 0.0, 3)):
        memo, plain = geometry.Layers(), geometry.Layers()
        for _ in range(2):  # built, then from the memo
            memo.cells("cg-cell", x, 3.0, w, count, 18.0)
            plain.strip("cg-cell", x, 3.0, [w] * count, 18.0)
        assert memo.stack() == plain.stack()


def test_strips_from_the_input_row_memo_are_the_strips_drawn_afresh() -> None:
    from cardgen.render.diagrams import sliding_strip, strip, transposed_strip

    cases = [lambda: sliding_strip(7, 3, 2, 1, 1), lambda: sliding_strip(7, 2, 1, 1, 1),
             lambda: sliding_strip(7, 3, 2, 1, 1, ceil_mode=True),
             lambda: sliding_strip(64, 3, 1, 1, 1, dilation=2),
             lambda: sliding_strip(64, 5, 3, 1, 1),
             lambda: transposed_strip(5, 3, 2, 1, 1), lambda: transposed_strip(5, 4, 2, 3, 0),
             lambda: transposed_strip(40, 3, 2, 1, 1, dilation=2)]
    strip._ROWS.clear()
    fresh = []
    for draw in cases:  # each drawn with an empty memo
        fresh.append(draw())
        strip._ROWS.clear()
    for draw in cases:  # the memo fills (the first two share their input row) ...
        draw()
    assert [draw() for draw in cases] == fresh  # ... and every row comes from it
    assert strip._ROWS
