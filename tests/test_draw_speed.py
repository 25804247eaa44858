"""The variant draws' fast paths give what the plain code gives: the same random draws,
the same forms and numbers for subclasses of the JSON types as for the types."""

from __future__ import annotations

from random import Random

from cardgen.families.base import Stream, pick
from cardgen.variants import _numbers, form_of


def test_pick_draws_what_randrange_draws() -> None:
    # pick writes Random._randbelow out for a Stream: the same getrandbits calls, so the
    # same items and the same state after (sizes around powers of two, where rejection
    # happens); a plain Random picks by its own randrange
    for seed in range(5):
        picked, drawn = Stream(seed), Random(seed)
        for n in (*range(1, 70), 127, 128, 129, 1000, 1024, 1025):
            items = list(range(n))
            assert [pick(picked, items) for _ in range(20)] == \
                [drawn.randrange(n) for _ in range(20)]
        assert picked.getstate() == drawn.getstate()


class _Int(int):
    pass


class _List(list):  # type: ignore[type-arg]
    pass


def test_stream_draws_what_random_draws() -> None:
    # family streams are Streams: randrange in place must give Random's numbers, and the
    # same state after, for every argument form (bools and steps go to Random's own)
    for seed in range(5):
        stream, plain = Stream(seed), Random(seed)
        for args in [(1,), (5,), (128,), (129,), (2**70,), (2, 9), (-4, 10), (0, 1),
                     (10, 2**80), (0, True), (True,), (3, 6, 1), (0, 10, 2), (2, 5, True)]:
            assert [stream.randrange(*args) for _ in range(20)] == \
                [plain.randrange(*args) for _ in range(20)], args
        for n in range(1, 40):
            assert pick(stream, range(n)) == pick(plain, range(n))
        assert stream.random() == plain.random()
        for empty in [(0,), (-3,), (5, 5), (5, 2)]:
            for rng in (stream, plain):
                try:
                    rng.randrange(*empty)
                except ValueError:
                    continue
                raise AssertionError(f"randrange{empty} drew a number")


def test_forms_and_numbers_read_subclasses_as_their_json_types() -> None:
    # the fast paths tell exact types; a subclass takes the general path, to the same key
    plain = {"layer": {"type": "Conv2d", "args": {"in_channels": 3, "kernel_size": [3, 5],
                                                  "stride": 2, "bias": False}},
             "input_shape": [1, 3, 9, 9], "q": "shape", "index": [0, -1, 7]}
    sub = {"layer": {"type": "Conv2d", "args": {"in_channels": _Int(3),
                                                "kernel_size": _List([_Int(3), 5]),
                                                "stride": _Int(2), "bias": False}},
           "input_shape": _List([1, 3, _Int(9), 9]), "q": "shape",
           "index": [_Int(0), -1, _Int(7)]}
    assert form_of(sub) == form_of(plain)
    for copied in (False, True):
        assert _numbers(sub, copied) == _numbers(plain, copied)
    # in sorted key order, bools left out; copied: less the channels and the shape's lead
    assert _numbers(plain) == (0, -1, 7, 1, 3, 9, 9, 3, 3, 5, 2)
    assert _numbers(plain, True) == (0, -1, 7, 9, 9, 3, 5, 2)
    assert form_of(plain) != form_of({**plain, "index": [0, 1, 7]})
