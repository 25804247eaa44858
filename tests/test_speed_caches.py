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


def test_network_stack_draws_the_same_with_the_verdicts_kept() -> None:
    # the verdicts of earlier candidates (_FITTED, _UNFIT) answer repeats as _fit would
    network_stack._FITTED.clear()
    network_stack._UNFIT.clear()
    fresh = generate_family(network_stack.NAME, 5, 60, network_stack.LEVELS)
    assert network_stack._UNFIT  # some draws were turned away
    assert generate_family(network_stack.NAME, 5, 60, network_stack.LEVELS) == fresh
    for p in fresh:
        network_stack.solve(p.params)  # as a build would: the kept solutions handed out
    assert generate_family(network_stack.NAME, 5, 60, network_stack.LEVELS) == fresh


def test_cells_path_is_the_strip_path() -> None:
    for x, w, count in ((22.0, 22.0, 5), (37.5, 11.3, 17), (22, 7.1, 1), (10.0, 0.0, 3)):
        memo, plain = geometry.Layers(), geometry.Layers()
        for _ in range(2):  # built, then from the memo
            memo.cells("cg-cell", x, 3.0, w, count, 18.0)
            plain.strip("cg-cell", x, 3.0, [w] * count, 18.0)
        assert memo.stack() == plain.stack()


def test_receptive_walk_back_is_the_set_of_taps() -> None:
    """An undilated layer's walk back merges runs; it reads exactly the taps' cells."""
    import random

    from cardgen.solver.receptive import Tap, _back

    rng = random.Random(7)
    for _ in range(5000):
        t = Tap(rng.randrange(1, 8), rng.randrange(1, 6), rng.randrange(0, 5),
                rng.choice((1, 1, 1, 2, 3)))
        size = rng.randrange(1, 30)
        units = sorted(rng.sample(range(30), rng.randrange(0, 8)))
        taps = {u * t.stride - t.left + j * t.dilation for u in units for j in range(t.kernel)}
        assert _back(units, t, size) == sorted(c for c in taps if 0 <= c < size)


def test_picked_output_shape_is_the_layer_with_that_output_padding() -> None:
    """picked's shape without building a layer: layer_step of the layer it stands for."""
    import random

    from cardgen.errors import CardgenError, ShapeError
    from cardgen.solver import layer_step
    from cardgen.solver.transpose import picked, size_range

    rng = random.Random(3)
    checked = 0
    for _ in range(3000):
        nd, cin = rng.choice((1, 2, 3)), rng.choice((1, 2))
        kw = {"in_channels": cin, "out_channels": 3, "kernel_size": rng.randrange(1, 6),
              "stride": rng.randrange(1, 5), "padding": rng.randrange(0, 4),
              "dilation": rng.randrange(1, 4)}
        layer = Layer.make(f"ConvTranspose{nd}d", **kw)
        lead = rng.choice((0, 1, 2, 2, 3))
        shape = (*[1] * max(lead - 1, 0), *([rng.choice((cin, 3))] if lead else []),
                 *(rng.randrange(1, 9) for _ in range(nd)))
        spatial = shape[-nd:] if len(shape) >= nd else (1,) * nd
        # sizes in the range or one past its end: the in-range ones run with output_padding
        targets = [size_range(n, kw["kernel_size"], kw["stride"], kw["padding"],
                              kw["dilation"])[0] + rng.randrange(0, kw["stride"] + 1)
                   for n in spatial]
        try:
            got = picked(layer, shape, targets)
        except ShapeError:
            continue
        if got.output_padding is None:
            continue
        pads = got.output_padding
        try:
            with_pads = Layer.make(layer.type, **{**layer.kwargs,
                                                  "output_padding": pads if nd > 1 else pads[0]})
            want = layer_step(with_pads, shape).output_shape
        except CardgenError:
            want = None
        assert got.output_shape == want
        checked += want is not None
    assert checked > 200  # (the rest: refused by rank, channels or size rule)


def test_exact_tolist_fast_path_is_the_nesting() -> None:
    from math import prod

    from cardgen.solver import Exact

    for shape in ((3,), (2, 3), (1, 1, 2, 2), (2, 1, 3, 1, 2), (2, 0, 3)):
        flat = list(range(prod(shape)))
        nested = Exact(shape, flat).tolist()
        longer = Exact(shape, flat + [99]).tolist()  # not the fast path: nested by slices
        assert nested == longer
        if shape == (3,):
            assert nested == flat and nested is not flat  # a list of its own


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


def test_fmt_one_decimal_is_the_value_rounded_to_one_decimal() -> None:
    """fmt writes .1f of the value itself: the same as of round(value, 1), ties included."""
    import random

    def rounded(value: float) -> str:
        if value % 1 == 0:
            return str(int(value))
        text = f"{round(value, 1):.1f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text

    rng = random.Random(5)
    values = [rng.uniform(-400, 400) for _ in range(20000)]
    values += [k / 20 for k in range(-4000, 4000)] + [k / 7 * 3.3 for k in range(-900, 900)]
    values += [0.05, 0.15, 0.25, -0.04, -0.05, 2.675, 1e-300, -1e-300]
    assert [geometry.fmt(v) for v in values] == [rounded(v) for v in values]


def test_a_drawn_problem_is_the_dataclass_problem() -> None:
    # generate_family writes a Problem's fields into its dict directly: the same Problem
    from cardgen.generate import Problem, _new_problem

    params = {"q": "size", "sizes": [3, 4]}
    made, built = _new_problem("f", 2, params, 5, "{}"), Problem("f", 2, params, 5, "{}")
    assert made == built and repr(made) == repr(built)
    assert list(made.__dict__.items()) == list(built.__dict__.items())
    assert pickle.dumps(made) == pickle.dumps(built)


def test_fraction_texts_read_ints_and_fractions_as_fraction_does() -> None:
    # frac_text and frac_tex take a plain int or Fraction as it is, anything else through
    # Fraction(): the texts Fraction(value) gives
    from fractions import Fraction

    from cardgen.families.base import frac_tex, frac_text

    def tex(value: Fraction) -> str:
        if value.denominator == 1:
            return str(value.numerator)
        sign = "-" if value < 0 else ""
        return f"{sign}\\tfrac{{{abs(value.numerator)}}}{{{value.denominator}}}"

    for value in (0, 7, -12, 2**70, True, False, 2.5, -0.25, 3.0, Fraction(9, 2),
                  Fraction(-1, 3), Fraction(4, 2), Fraction(-6, 3), Fraction(0)):
        exact = Fraction(value)
        assert frac_text(value) == (str(exact.numerator) if exact.denominator == 1
                                    else f"{exact.numerator}/{exact.denominator}"), value
        assert frac_tex(value) == tex(exact), value


def test_wrapped_rows_are_the_rows_joined_per_item() -> None:
    # wrapped keeps its row's joined length as the row grows: the rows the join of the
    # row and each new item, measured afresh, made
    import random

    from cardgen.families.base import wrapped

    def joined(items: list[str], sep: str, width: int) -> list[str]:
        chunks: list[list[str]] = [[]]
        for item in items:
            if chunks[-1] and len(sep.join([*chunks[-1], item])) > width:
                chunks.append([])
            chunks[-1].append(item)
        if sep == ",":
            return [", ".join(c) + ("," if i < len(chunks) - 1 else "")
                    for i, c in enumerate(chunks)]
        return [f" {sep} ".join(chunks[0])] + [f"{sep} " + f" {sep} ".join(c)
                                               for c in chunks[1:]]

    rng = random.Random(1)
    for _ in range(3000):
        items = [str(rng.randrange(-20, 10 ** rng.randrange(1, 12)))
                 for _ in range(rng.randrange(0, 12))]
        sep, width = rng.choice([",", "+", " + "]), rng.choice([0, 5, 14, 30])
        assert wrapped(items, sep, width) == joined(items, sep, width), (items, sep, width)


def test_a_diagram_is_the_frozen_dataclass_it_was() -> None:
    # Diagram writes its fields into its dict directly: the same fields, order, repr,
    # equality, pickle, replace, and still frozen
    import dataclasses

    from cardgen.families.base import Diagram

    @dataclasses.dataclass(frozen=True)
    class Plain:
        kind: str
        args: dict[str, object]
        caption: str

    args = {"size": 5, "runs": [[0, 2]]}
    made, plain = Diagram("strip", args, "A caption."), Plain("strip", args, "A caption.")
    assert made == Diagram(kind="strip", args=dict(args), caption="A caption.")
    assert list(made.__dict__.items()) == list(plain.__dict__.items())
    assert repr(made) == "Diagram(" + repr(plain).partition("(")[2]
    assert [f.name for f in dataclasses.fields(made)] == ["kind", "args", "caption"]
    assert pickle.loads(pickle.dumps(made)) == made
    assert dataclasses.replace(made, caption="Other.") == Diagram("strip", args, "Other.")
    try:
        made.kind = "other"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("a Diagram took a new field value")


def test_no_variants_is_one_empty_found_per_problem() -> None:
    from cardgen.families import conv_output_size
    from cardgen.variants import Found, family_variants

    problems = generate_family(conv_output_size.NAME, 1, 6, conv_output_size.LEVELS)
    assert family_variants(problems, 1, 1) == [Found((), ())] * 6
    assert family_variants([], 1, 4) == []
