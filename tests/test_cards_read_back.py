"""Read built decks back and check what every card *says* (issue 11).

Decks are built through the real pipeline (recipe -> build_recipe -> .apkg) for three
seeds, with every family at every level, and read back from the .apkg's SQLite. Each
note's text is then checked as a strict reader would, against PyTorch:

- every arithmetic (in)equality in the steps and captions, TeX or prose, exactly;
- every "layer on shape gives shape" statement, the question's own answer, and every
  "equals / differs" statement between two layers, re-run with torch;
- every list of adaptive windows `[a,b)` (steps, captions, diagram labels), window
  lengths and starts, and "read twice" counts, against spike probes through torch;
- the diagrams' summaries and labels: placements, cells, extra ceil-mode windows,
  transposed-conv lengths, row/column index labels, values and results shown;
- the Spec: Answer equals Spec.answer and every claim holds with torch.

The checks parse the wording generically (shapes, windows, numbers next to keywords),
so a family can be reworded freely; a statement the parsers do not recognise is simply
not checked, which is why each test also asserts how many statements it did check.
Not checked generically (said here so nobody assumes otherwise): free prose such as
"each unit of padding adds 2 to the numerator", "9 is odd", "is not a whole number",
the geometry of shaded bands in the SVGs (only their text labels are read).
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from functools import cache
from itertools import pairwise
from typing import Any

import pytest
from cardread import (
    SHAPE,
    Card,
    layers_in,
    numbers_in,
    parse_layer_call,
    read_card,
    read_variants,
    shape_of,
    split_variants,
    step_problems,
    windows_in,
)
from conftest import require

from cardgen.apkg import read_notes
from cardgen.build import build_recipe
from cardgen.families import FAMILIES
from cardgen.recipes import parse_recipe

SEEDS = (2024, 7, 99)
PER_LEVEL = 9          # notes per family and level in each deck
EPOCH = 1_750_000_000
SHOWN = 25             # failures listed in one assertion message


def _family_names() -> list[str]:
    return sorted(FAMILIES) if isinstance(FAMILIES, dict) else sorted(f.NAME for f in FAMILIES)


def _levels(name: str) -> tuple[int, ...]:
    from cardgen.families import get_family
    return tuple(get_family(name).LEVELS)


def _recipe_text(seed: int) -> str:
    lines = ["[deck]", f'name = "Read back {seed}"', f"seed = {seed}", ""]
    for name in _family_names():
        levels = _levels(name)
        lines += [f'[families."{name}"]', f"count = {PER_LEVEL * len(levels)}",
                  f"levels = {list(levels)}", ""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> list[Card]:
    out: list[Card] = []
    for seed in SEEDS:
        folder = tmp_path_factory.mktemp(f"seed{seed}")
        recipe = parse_recipe(_recipe_text(seed), f"read-back-{seed}.toml")
        built = build_recipe(recipe, folder, EPOCH)
        notes = read_notes(built.path)
        assert len(notes) == built.notes == recipe.total
        out.extend(c for n in notes for c in read_variants(n.guid, n.fields, seed))
    return out


def test_every_family_and_level_in_every_seed(cards: list[Card]) -> None:
    seen = Counter((c.seed, c.family, c.level) for c in cards if c.variant == 0)
    want = {(s, f, lv) for s in SEEDS for f in _family_names() for lv in _levels(f)}
    assert set(seen) == want
    assert min(seen.values()) == PER_LEVEL


# ---------------------------------------------------------------- reporting


class Findings:
    """Counts what was checked per family and collects what is false."""

    def __init__(self) -> None:
        self.checked: Counter[str] = Counter()
        self.false: list[str] = []

    def check(self, card: Card, ok: bool, what: str) -> None:
        self.checked[card.family] += 1
        if not ok:
            self.false.append(f"{card.label}: {what}")

    def assert_clean(self, minimum: dict[str, int] | int, kind: str) -> None:
        lines = [f"{len(self.false)} false {kind}:"] + self.false[:SHOWN]
        if len(self.false) > SHOWN:
            lines.append(f"... and {len(self.false) - SHOWN} more")
        assert not self.false, "\n".join(lines)
        floor = minimum if isinstance(minimum, dict) else dict.fromkeys(_family_names(),
                                                                          minimum)
        thin = {f: self.checked[f] for f, n in floor.items() if self.checked[f] < n}
        assert not thin, f"too few {kind} checked (the parser may have stopped matching " \
                         f"the wording): {thin}; all counts: {dict(self.checked)}"


# ---------------------------------------------------------------- arithmetic


def test_arithmetic_in_steps_and_captions(cards: list[Card]) -> None:
    found = Findings()
    for card in cards:
        for text in [*card.steps, *card.captions, *(s.aria for s in card.svgs)]:
            n, bad = step_problems(text)
            found.checked[card.family] += n
            found.false.extend(f"{card.label}: {b}" for b in bad)
    # Every family states some arithmetic; the output-size families many per card.
    found.assert_clean({f: 10 for f in _family_names()}, "arithmetic relations")


# ---------------------------------------------------------------- torch helpers

_LAYER_TYPES = re.compile(r"(Conv|ConvTranspose|MaxPool|AvgPool|AdaptiveAvgPool|"
                          r"AdaptiveMaxPool)[123]d|Flatten|Linear"
                          r"|Upsample|PixelShuffle|PixelUnshuffle|Unfold|Fold"
                          r"|(Zero|Constant|Reflection|Replication)Pad[123]d")


def _module(torch: Any, call: tuple[str, list[Any], dict[str, Any]]) -> Any:
    name, args, kwargs = call
    if not _LAYER_TYPES.fullmatch(name):
        raise ValueError(f"not a layer this test runs: {name}")
    args = [tuple(a) if isinstance(a, list) else a for a in args]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return getattr(torch.nn, name)(*args, **kwargs)


def _run(torch: Any, calls: list[tuple[str, list[Any], dict[str, Any]]],
         shape: list[int]) -> list[int] | str:
    """The output shape of the layers on a zero input of `shape`, or "error"."""
    key = (repr(calls), tuple(shape))
    if key not in _RUNS:
        try:
            x = torch.zeros(shape)
            with torch.no_grad():
                for call in calls:
                    x = _module(torch, call)(x)
            _RUNS[key] = list(x.shape)
        except (RuntimeError, ValueError, TypeError, IndexError):
            _RUNS[key] = "error"
    return _RUNS[key]


_RUNS: dict[tuple[str, tuple[int, ...]], list[int] | str] = {}


@cache
def _reads(n_in: int, n_out: int) -> tuple[tuple[int, ...], ...]:
    """For adaptive pooling n_in -> n_out: the input cells each output reads, from torch
    (a spike at each input cell through AdaptiveAvgPool1d)."""
    torch = require("torch")
    y = torch.nn.AdaptiveAvgPool1d(n_out)(torch.eye(n_in).unsqueeze(1))  # (cell, 1, out)
    return tuple(tuple(j for j in range(n_in) if y[j, 0, i] != 0) for i in range(n_out))


def adaptive_windows(n_in: int, n_out: int) -> list[tuple[int, int]]:
    out = []
    for cells in _reads(n_in, n_out):
        assert list(cells) == list(range(cells[0], cells[-1] + 1)), "a window with a gap"
        out.append((cells[0], cells[-1] + 1))
    return out


def cover_counts(n_in: int, n_out: int) -> Counter[int]:
    """cell -> how many adaptive windows read it."""
    return Counter(j for cells in _reads(n_in, n_out) for j in cells)


@cache
def sliding(n: int, k: int, s: int, d: int, left: int, right: int
            ) -> tuple[int, tuple[int, ...]]:
    """(placements, input cells no placement reads) of a kernel sliding over n cells
    with the given zero padding, counted by torch (spikes through a ones Conv1d)."""
    torch = require("torch")
    conv = torch.nn.Conv1d(1, 1, k, stride=s, dilation=d, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        x = torch.nn.functional.pad(torch.eye(n).unsqueeze(1), (left, right))
        try:
            y = conv(x)
        except RuntimeError:
            return 0, tuple(range(n))
    read = {j for j in range(n) if bool((y[j, 0] != 0).any())}
    return y.shape[-1], tuple(j for j in range(n) if j not in read)


@cache
def pool_ceil(n: int, k: int, s: int, p: int, d: int) -> int | None:
    torch = require("torch")
    try:
        return torch.nn.MaxPool1d(k, s, p, d, ceil_mode=True)(torch.zeros(1, 1, n)).shape[-1]
    except RuntimeError:
        return None


# ---------------------------------------------------------------- card facts


def question_shape(card: Card) -> list[int] | None:
    shapes = SHAPE.findall(card.front)
    return shape_of(shapes[0]) if shapes else None


def question_layers(card: Card) -> list[tuple[str, list[Any], dict[str, Any]]]:
    return layers_in(card.front)


def question_grid(card: Card) -> list[list[int]] | None:
    """The numbers a values question shows (a row of spans or a table)."""
    front = card.fields["Front"]
    rows = re.findall(r"<tr>(.*?)</tr>", front, re.S)
    if rows:
        return [[int(v) for v in re.findall(r"<td>(-?\d+)</td>", r)] for r in rows]
    seq = re.search(r'class="cg-numbers[^"]*">(.*?)</div>', front, re.S)
    if seq:
        return [[int(v) for v in re.findall(r"<span>(-?\d+)</span>", seq.group(1))]]
    return None


def question_sizes(card: Card) -> list[int] | None:
    """The spatial sizes the question states: from its shape, or `length N` /
    `spatial size AxB`, or the grid it shows."""
    shape = question_shape(card)
    if shape is not None:
        return shape[-_nd(card):] if _nd(card) else shape[2:]
    m = re.search(r"(?:length|size)[- ](\d+(?:x\d+)*)", card.front)
    if m:
        return shape_of(m.group(1))
    grid = question_grid(card)
    if grid is not None:
        return [len(grid), len(grid[0])] if len(grid) > 1 else [len(grid[0])]
    return None


def _nd(card: Card) -> int:
    """Spatial dims of the question's first layer (an input may be unbatched)."""
    calls = question_layers(card)
    m = re.search(r"([123])d$", calls[0][0]) if calls else None
    return int(m.group(1)) if m else 0


def _adaptive_out(call: tuple[str, list[Any], dict[str, Any]], nd: int) -> list[Any]:
    size = call[1][0] if call[1] else call[2]["output_size"]
    return list(size) if isinstance(size, list | tuple) else [size] * nd


# ---------------------------------------------------------------- Spec and answer


def test_answer_field_and_spec_claims_hold_with_torch(cards: list[Card]) -> None:
    require("torch")
    from cardgen.claims import check_claim

    found = Findings()
    for card in cards:
        found.check(card, card.fields["Answer"] == card.spec["answer"],
                    f"Answer {card.fields['Answer']!r} != Spec answer {card.spec['answer']!r}")
        for claim in card.spec["claims"]:
            result = check_claim(claim, "torch")
            found.check(card, result.ok, f"{claim['kind']} claim fails: {result.detail}")
    found.assert_clean(2 * len(SEEDS) * PER_LEVEL, "Spec checks")


# ---------------------------------------------------------------- layers on shapes


def _question_answer(card: Card, found: Findings, torch: Any) -> None:
    """A question that runs its layers on a stated shape: its answer, from torch."""
    shape, calls, answer = question_shape(card), question_layers(card), card.fields["Answer"]
    if shape is None or not calls or card.family in (
            "conv.params", "network.stack", "network.models", "network.receptive_field",
            "pool.options"):
        return  # counts, ranges, an unpool fed indices, or one layer inside a network:
        # their own readers below
    if "m(x, output_size=" in card.front:
        return  # a call with output_size=: _output_size_answer reads it
    if re.fullmatch(r"\d+(x\d+)*|error", answer) and "run" not in card.front.split("?")[0][-40:]:
        if " maps " in card.front:
            return  # the question states a mapping and asks about something else
        got = _run(torch, calls, shape)
        want = got if got == "error" else "x".join(map(str, got))
        found.check(card, answer == want, f"question answer {answer!r}, torch gives {want!r}")
    elif answer in ("yes", "no") and re.search(r"\brun\b", card.front):
        got = _run(torch, calls, shape)
        found.check(card, (answer == "no") == (got == "error"),
                    f"answer {answer!r} to 'does it run', torch gives {got}")


_MAPS = re.compile(r"`([^`]+\([^`]*\))`[^`]*?`(\d+(?:x\d+)+)`\s*(?:→|->|gives|to)\s*"
                   r"(?:`(\d+(?:x\d+)+)`|(the same size))")


def layer_statements(text: str) -> Iterator[tuple[tuple[str, list[Any], dict[str, Any]],
                                                  list[int], list[int]]]:
    """(layer, input shape, stated output shape) for `L` on/maps `A` →/gives/to `B`."""
    for m in _MAPS.finditer(text):
        call = parse_layer_call(m.group(1))
        if call is None:
            continue
        src = shape_of(m.group(2))
        yield call, src, shape_of(m.group(3)) if m.group(3) else src


def test_layer_statements_match_torch(cards: list[Card]) -> None:
    torch = require("torch")
    found = Findings()
    for card in cards:
        _question_answer(card, found, torch)
        for text in [card.front, *card.steps, *card.captions]:
            for call, src, dst in layer_statements(text):
                got = _run(torch, [call], src)
                found.check(card, got == dst, f"{call[0]} on {src} is stated to give {dst}, "
                                              f"torch gives {got}  [in: {text[:160]}]")
        _runs_statements(card, found, torch)
        _equivalence_statements(card, found, torch)
        _channel_statements(card, found)
        _error_statements(card, found, torch)
        _params_answer(card, found, torch)
        _stack_answer(card, found, torch)
        _models_answer(card, found, torch)
        _rank_statements(card, found, torch)
        _framework_same_statements(card, found, torch)
        _receptive_answer(card, found, torch)
        _output_size_answer(card, found, torch)
        _pool_options_answer(card, found, torch)
        _pad_order_statements(card, found, torch)
        _thumb_answer(card, found, torch)
    minimum = dict.fromkeys(_family_names(), len(SEEDS) * PER_LEVEL)
    for f in ("adaptive.windows", "adaptive.values"):
        minimum[f] = 0  # their questions are not layer-on-shape statements
    found.assert_clean(minimum, "layer statements")


def _params_answer(card: Card, found: Findings, torch: Any) -> None:
    """conv.params: the question's layer, built by torch: its parameters (numel of every
    tensor in `parameters()`, or "error" when torch refuses to build it), or, on a stated
    input, its multiply-adds counted as the output's numel times one output unit's
    weights (in_channels/groups x kernel, or in_features)."""
    if card.family != "conv.params":
        return
    calls, answer = question_layers(card), card.fields["Answer"]
    try:
        module = _module(torch, calls[0])
    except (RuntimeError, ValueError, TypeError):
        found.check(card, answer == "error", f"answer {answer!r}, torch refuses the layer")
        return
    if "multiply-adds" in card.front:
        shape = question_shape(card)
        with torch.no_grad():
            y = module(torch.zeros(shape))
        want = y.numel() * module.weight[0].numel()
    else:
        want = sum(p.numel() for p in module.parameters())
    found.check(card, answer == str(want), f"answer {answer!r}, torch counts {want}")


def _stack_answer(card: Card, found: Findings, torch: Any) -> None:
    """network.stack: the question names one layer of a network and the shape entering it
    (the last shape it states). Torch runs the Spec's layers before it on the network's
    input and must reach that shape (the card's "Layers 1 to k take A to B" says so too);
    the question's layer must be the Spec's last; the answer is torch's output shape, the
    layer's numel, or its MACs on that shape."""
    if card.family != "network.stack" or card.spec["params"]["ask"] == "field":
        return  # a field card is read as the receptive-field family's range cards are
    calls, shapes = question_layers(card), SHAPE.findall(card.front)
    answer, spec_layers = card.fields["Answer"], card.spec["params"]["layers"]
    network_input, entering = shape_of(shapes[0]), shape_of(shapes[-1])
    prefix = [(d["type"], [], d["args"]) for d in spec_layers[:-1]]
    found.check(card, len(calls) == 1, f"the question names {len(calls)} layers, not one")
    if not calls:
        return
    asked = (spec_layers[-1]["type"], [], spec_layers[-1]["args"])
    found.check(card, repr(_module(torch, calls[0])) == repr(_module(torch, asked)),
                f"the question's layer {calls[0]} is not the network's layer {asked}")
    if "multiply-adds" in card.front or "What shape" in card.front:
        reached = _run(torch, prefix, network_input) if prefix else network_input
        found.check(card, reached == entering, f"the layers before give {reached}, the "
                                               f"question says {entering}")
        for step in card.steps:
            m = re.search(r"take `(\d+(?:x\d+)+)` to `(\d+(?:x\d+)+)`", step)
            if m:
                found.check(card, [shape_of(m.group(1)), shape_of(m.group(2))]
                            == [network_input, reached], f"'{m.group(0)}', torch: {reached}")
    module = _module(torch, calls[0])
    if "What shape" in card.front:
        got = _run(torch, [calls[0]], entering)
        want = got if got == "error" else "x".join(map(str, got))
    elif "multiply-adds" in card.front:
        with torch.no_grad():
            want = str(module(torch.zeros(entering)).numel() * module.weight[0].numel())
    else:
        want = str(sum(p.numel() for p in module.parameters()))
    found.check(card, answer == want, f"answer {answer!r}, torch gives {want}")


_TORCHVISION: dict[tuple[str, tuple[int, ...]], dict[str, tuple[Any, Any]]] = {}


def _torchvision_shapes(torch: Any, model: str, shape: list[int]) -> dict[str, Any]:
    """What each module of torchvision's `model` receives and outputs (meta device)."""
    key = (model, tuple(shape))
    if key not in _TORCHVISION:
        from cardgen.torchvision_models import load

        with torch.device("meta"):
            net = load(model)
        seen: dict[str, Any] = {}

        def record(path: str) -> Any:
            def hook(module: Any, inputs: Any, output: Any) -> None:  # None: output kept
                seen.setdefault(path, (list(inputs[0].shape), list(output.shape)))
            return hook

        for path, module in net.named_modules():
            module.register_forward_hook(record(path))
        with torch.no_grad():
            net(torch.empty(shape, device="meta"))
        _TORCHVISION[key] = seen
    return _TORCHVISION[key]


def _models_answer(card: Card, found: Findings, torch: Any) -> None:
    """network.models: torch runs the layers the question lists from the shape it gives
    (the image, or what the module receives) and must give the answer; torchvision's own
    model, run on the image, must show its module receiving that shape and outputting the
    answer."""
    if card.family != "network.models" or card.spec["params"].get("ask") == "field":
        return  # a field card is read as the receptive-field family's range cards are
    shapes = SHAPE.findall(card.front)
    named = re.findall(r"`(\w+(?:\.\w+|\[\d+\])+)`", card.front)
    model, path = named[-1].split(".", 1)[0], named[-1]
    path = re.sub(r"\[(\d+)\]", r".\1", path.split(".", 1)[1])
    image, start = shape_of(shapes[0]), shape_of(shapes[1] if "receives" in card.front
                                                 else shapes[0])
    answer = card.fields["Answer"]
    got = _run(torch, question_layers(card), start)
    want = got if got == "error" else "x".join(map(str, got))
    found.check(card, answer == want, f"the listed layers give {want}, answer {answer!r}")
    seen = _torchvision_shapes(torch, model, image).get(path)
    found.check(card, seen is not None and seen[1] == shape_of(answer)
                and ("receives" not in card.front or seen[0] == start),
                f"torchvision's {model}.{path} receives and outputs {seen}")


_RANK = re.compile(r"`(\w+)` takes an? (\d)-D input \(([A-Z, ]+)\) with no batch dim, or an? "
                   r"(\d)-D batch \(([A-Z, ]+)\)\. `(\d+(?:x\d+)*)` has (\d+) dims?")
_READ_AS = re.compile(r"read as ((?:[NCDHWL] = \d+(?:, )?)+)")


def _rank_statements(card: Card, found: Findings, torch: Any) -> None:
    """`L` takes a k-D input (C, ...) with no batch dim, or a (k+1)-D batch: torch runs the
    question's first layer on a zero input of each rank k-1 .. k+2 (sizes 8, channels
    in_channels) and accepts exactly those two; `S` has r dims is len(S); `read as C = a,
    H = b, ...` lists S's dims in order."""
    calls = question_layers(card)
    for step in card.steps:
        m = _RANK.search(step)
        if not m or not calls or calls[0][0] != m.group(1):
            continue
        call, (unb, bat) = calls[0], (int(m.group(2)), int(m.group(4)))
        name, args, kwargs = call
        channels = (args[0] if args else kwargs.get("in_channels", 1)) \
            if name.startswith("Conv") else 2
        ranks = {r for r in range(max(unb - 1, 1), bat + 2)
                 if _run(torch, [call], [channels] * (r - unb + 1) + [8] * (unb - 1)
                         if r >= unb else [8] * r) != "error"}
        found.check(card, ranks == {unb, bat}, f"'{m.group(0)[:60]}': torch accepts ranks "
                                               f"{sorted(ranks)}")
        shape = shape_of(m.group(6))
        found.check(card, int(m.group(7)) == len(shape),
                    f"'{m.group(6)} has {m.group(7)} dims', it has {len(shape)}")
        read = _READ_AS.search(step)
        if read:
            values = [int(v) for v in re.findall(r"= (\d+)", read.group(1))]
            found.check(card, values == shape, f"'{read.group(0)}' but the shape is {shape}")


_KERAS = re.compile(r"`Conv(\d)D` with `kernel_size=(\d+)`, `strides=(\d+)`")
_ONNX = re.compile(r"kernel_shape=\[([\d, ]+)\]`, `strides=\[([\d, ]+)\]` and "
                   r"`auto_pad='(SAME_UPPER|SAME_LOWER)'")
_SIZES = re.compile(r"(?:a length-(\d+) input|spatial size (\d+)x(\d+))")


def _framework_layer(card: Card) -> tuple[int, int, int, str, list[int]]:
    """(nd, kernel, stride, ONNX auto_pad, spatial sizes) from the question's words; a
    TensorFlow/Keras padding='same' is SAME_UPPER (TensorFlow's documented split)."""
    keras, onnx, sizes = _KERAS.search(card.front), _ONNX.search(card.front), \
        _SIZES.search(card.front)
    assert (keras or onnx) and sizes, card.front
    spatial = [int(v) for v in sizes.groups() if v]
    if keras:
        return int(keras[1]), int(keras[2]), int(keras[3]), "SAME_UPPER", spatial
    k, s = (int(v) for v in onnx[1].split(",")[:1]), (int(v) for v in onnx[2].split(",")[:1])
    return len(onnx[1].split(",")), next(k), next(s), onnx[3], spatial


def _framework_same_statements(card: Card, found: Findings, torch: Any) -> None:
    """conv.framework_same, against ONNX Runtime's Conv with the question's auto_pad on a
    random input and weights: the output size, the zeros before and after (torch's conv on
    the input padded that way gives ONNX Runtime's values, and its last window reaches the
    last zero), and every padding p in the stated space for which torch's Conv computes
    ONNX Runtime's values (the answer: the only one, or none), the F.pad and 'same' steps."""
    if card.family != "conv.framework_same":
        return
    require("onnxruntime", "the SAME dialects are checked against ONNX Runtime")
    from cardgen.claims.check_onnx import run_node

    nd, k, s, dialect, spatial = _framework_layer(card)
    F = torch.nn.functional  # noqa: N806
    conv = getattr(F, f"conv{nd}d")
    gen = torch.Generator().manual_seed(len(card.front))
    x = torch.randn([1, 1, *spatial], generator=gen)
    w = torch.randn([1, 1, *[k] * nd], generator=gen)
    y = torch.from_numpy(run_node("Conv", {"auto_pad": dialect, "kernel_shape": [k] * nd,
                                           "strides": [s] * nd}, x.numpy(), [w.numpy()]))
    answer = card.fields["Answer"]

    def same(got: Any) -> bool:
        return got.shape == y.shape and bool(torch.allclose(got, y, rtol=1e-4, atol=1e-4))

    if "What is its output" in card.front:
        want = "x".join(map(str, y.shape[2:]))
        found.check(card, answer == want, f"answer {answer!r}, ONNX Runtime gives {want}")
        return
    if "How many zeros" in card.front:
        b, a = (int(v) for v in answer.split(","))
        got = conv(F.pad(x, [b, a] * nd), w, stride=s)
        reach = (y.shape[-1] - 1) * s + k == spatial[0] + b + a
        found.check(card, same(got) and reach, f"pads {answer} do not give ONNX Runtime's "
                                               "output, or pad a zero no window reads")
        return
    top = int(re.search(r"between 0 and (\d+)", card.front)[1])
    works = [p for p in range(top + 1) if spatial[0] + 2 * p >= k
             and same(conv(x, w, stride=s, padding=p))]
    want = "none" if not works else ",".join(map(str, works))
    found.check(card, answer == want, f"answer {answer!r}, torch computes ONNX Runtime's "
                                      f"output with padding {want}")
    for step in card.steps:
        fpad = re.search(r"`F\.pad\(x, \(([\d, ]+)\)\)`", step)
        if fpad:
            pads = [int(v) for v in fpad[1].split(",")]
            found.check(card, same(conv(F.pad(x, pads), w, stride=s)),
                        f"F.pad by {pads} then the conv is not ONNX Runtime's output")
        said = re.search(r"padding='same'` \(which, like SAME_UPPER, puts any odd zero "
                         r"after\) (computes|does not compute)", step)
        if said:
            with warnings.catch_warnings():  # an even kernel's 'same' warns that it copies
                warnings.simplefilter("ignore")
                got = same(conv(x, w, stride=1, padding="same"))
            found.check(card, got == (said[1] == "computes"),
                        f"padding='same' {said[1]} it, torch says {got}")


def _depends(torch: Any, calls: list[tuple[str, list[Any], dict[str, Any]]],
             shape: list[int]) -> Any:
    """For every output unit (channel 0), which input cells reach it: a batch with one
    spike per input cell on a base of ones, weights 1, real max pools; a unit depends on
    a cell when that cell's spike changes it. Shape (input cells, *output spatial)."""
    spatial = shape[2:]
    cells = math.prod(spatial)
    x = torch.ones([cells + 1, shape[1], *spatial], dtype=torch.float64)
    x.view(cells + 1, shape[1], -1)[torch.arange(1, cells + 1), :, torch.arange(cells)] = 1e6
    with torch.no_grad():
        for call in calls:
            module = _module(torch, call).double()
            if hasattr(module, "weight"):
                module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
            x = module(x)
    y = x[:, 0]
    return y[1:] != y[:1]


SPIKE_CELLS = 4096  # inputs up to this many cells are probed with one spike per cell


def _gradient_box(torch: Any, calls: list[tuple[str, list[Any], dict[str, Any]]],
                  shape: list[int], index: list[int]) -> list[tuple[int, int]]:
    """For an input too large for a spike per cell (a torchvision model's image): weights
    1, an input of ones, and the gradient of the one output unit; a max pool's gradient
    reaches only its argmax, so it is probed as the average pool of the same geometry,
    whose windows it shares."""
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    y = x
    for name, args, kwargs in calls:
        if name.startswith("MaxPool"):
            kw = {k: v for k, v in kwargs.items() if k in ("stride", "padding", "ceil_mode")}
            y = getattr(torch.nn, name.replace("Max", "Avg"))(*args[:1], **kw)(y)
            continue
        module = _module(torch, (name, args, kwargs)).double()
        with torch.no_grad():
            module.weight.fill_(1.0)
            if module.bias is not None:
                module.bias.zero_()
        y = module(y)
    y[(0, 0, *index)].backward()
    return _box(x.grad[0].abs().sum(dim=0).flatten() != 0, shape[2:])


def _box(reached: Any, spatial: list[int]) -> list[tuple[int, int]]:
    """The [start, stop) per dim of the input cells one unit depends on."""
    grid = reached.reshape(spatial)
    box = []
    for d in range(len(spatial)):
        other = tuple(e for e in range(len(spatial)) if e != d)
        cells = (grid.any(dim=other) if other else grid).nonzero().flatten().tolist()
        box.append((cells[0], cells[-1] + 1))
    return box


def _receptive_answer(card: Card, found: Findings, torch: Any) -> None:
    """network.receptive_field: the question's stack on its shape, run by torch with a
    spike per input cell: the field size every unit shares, the jump between units 0 and
    1, or the box of the unit asked; and each `Check:` step's ranges."""
    if card.family != "network.receptive_field" and not (
            card.family in ("network.stack", "network.models")
            and card.spec["params"].get("ask") == "field"):
        return
    shape, calls, answer = question_shape(card), question_layers(card), card.fields["Answer"]
    assert shape is not None
    spatial = shape[2:]
    if math.prod(shape[1:]) > SPIKE_CELLS:  # a model's image: only range questions
        m = re.search(r"output unit at row (\d+), column (\d+)", card.front)
        assert m is not None and "How many" not in card.front, card.front
        box = _gradient_box(torch, calls, shape, [int(v) for v in m.groups()])
        want = ",".join(f"{a}:{b}" for a, b in box)
        found.check(card, answer == want, f"answer {answer}, torch's gradient {want}")
        return
    reach = _depends(torch, calls, shape)
    if "How many input cells long" in card.front:
        widths = {b - a for u in range(reach.shape[1])
                  for (a, b) in _box(reach[:, u], spatial)}
        found.check(card, widths == {int(answer)}, f"answer {answer}, torch widths {widths}")
    elif "apart do the fields" in card.front:
        starts = [_box(reach[:, u], spatial)[0][0] for u in range(reach.shape[1])]
        gaps = {b - a for a, b in pairwise(starts)}
        found.check(card, gaps == {int(answer)}, f"answer {answer}, torch starts {starts}")
    else:
        m = re.search(r"output unit (?:at row (\d+), column (\d+)|(\d+))", card.front)
        assert m is not None, card.front
        index = [int(v) for v in m.groups() if v is not None]
        box = _box(reach[(slice(None), *index)], spatial)
        want = ",".join(f"{a}:{b}" for a, b in box)
        found.check(card, answer == want, f"answer {answer}, torch {want}")
    for step in card.steps:
        for m in re.finditer(r"unit (\d+)(?: depends)? on input cells (\d+) to (\d+)|"
                             r"unit (\d+) on (\d+) to (\d+)", step):
            u, a, b = (int(v) for v in m.groups() if v is not None)
            got = _box(reach[:, u], spatial)[0]
            found.check(card, got == (a, b + 1), f"unit {u} said to read {a} to {b}, "
                                                 f"torch {got}")
_CALL = re.compile(r"`m\(x, output_size=\[(\d+(?:, \d+)*|L)\]\)`")


def _call_outcome(torch: Any, module: Any, shape: list[int], sizes: list[int]
                  ) -> list[int] | None:
    """The output_padding torch's own forward picks for `sizes`, or None when it raises."""
    x = torch.zeros(shape)
    try:
        with torch.no_grad():
            module(x, output_size=sizes)
    except (RuntimeError, ValueError):
        return None
    return list(module._output_padding(x, sizes, list(module.stride), list(module.padding),
                                       list(module.kernel_size), len(sizes),
                                       list(module.dilation)))


def _output_size_answer(card: Card, found: Findings, torch: Any) -> None:
    """A question that calls its ConvTranspose `m` with output_size=: a range `lo..hi` must
    run at every size and raise just outside it (torch calls the module); a picked
    output_padding is the one torch's forward computes, or error when the call raises."""
    m = _CALL.search(card.front)
    if m is None:
        return
    calls, shape, answer = question_layers(card), question_shape(card), card.fields["Answer"]
    module = _module(torch, calls[0])
    if m.group(1) == "L":
        lo, _, hi = answer.partition("..")
        ok = [_call_outcome(torch, module, shape, [t]) is not None
              for t in range(int(lo) - 1, int(hi) + 2)]
        found.check(card, ok == [False] + [True] * (int(hi) - int(lo) + 1) + [False],
                    f"range {answer!r}, torch runs {ok} from {int(lo) - 1}")
        return
    got = _call_outcome(torch, module, shape, [int(v) for v in m.group(1).split(", ")])
    want = "error" if got is None else ",".join(map(str, got))
    found.check(card, answer == want, f"answer {answer!r}, torch's forward picks {want}")


def _unpool_shapes(torch: Any, calls: list[tuple[str, list[Any], dict[str, Any]]],
                   shape: list[int], size: Any) -> set[str]:
    """The unpool's output shape (or "error") on a random, a rising and a falling input."""
    pool_call, unpool_call = calls
    n = 1
    for v in shape:
        n *= v
    ramp = torch.arange(float(n)).reshape(shape)
    got = set()
    for x in (torch.rand(shape, dtype=torch.float64), ramp, -ramp):
        try:
            y, idx = _module(torch, pool_call)(x)
            name, args, kwargs = unpool_call
            unpool = getattr(torch.nn, name)(*args, **kwargs)
            got.add("x".join(map(str, unpool(y, idx, output_size=size).shape)))
        except (RuntimeError, ValueError, TypeError, IndexError):
            got.add("error")
    return got


def _torch_divisor(torch: Any, call: tuple[str, list[Any], dict[str, Any]],
                   sizes: list[int], index: tuple[int, ...]) -> Fraction:
    """An AvgPool output's divisor, from torch alone: its window's input cells (the same
    pool as a 2d sum, divisor_override=1, on ones) over its output on ones."""
    name, args, kwargs = call
    layer = _module(torch, call)
    ones = torch.ones([1, 1, *sizes], dtype=torch.float64)
    mean = layer(ones)[(0, 0, *index)]

    def pair(v: Any, fill: int = 1) -> tuple[int, int]:
        if name.endswith("1d"):  # AvgPool1d keeps (k,) tuples
            return (fill, v[0] if isinstance(v, tuple) else v)
        return tuple(v) if isinstance(v, tuple) else (v, v)

    summed = torch.nn.AvgPool2d(pair(layer.kernel_size), pair(layer.stride),
                                pair(layer.padding, 0), ceil_mode=layer.ceil_mode,
                                divisor_override=1)
    plane = ones if len(sizes) == 2 else ones.reshape(1, 1, 1, sizes[0])
    cells = summed(plane)[(0, 0, *((0, *index) if len(sizes) == 1 else index))]
    return Fraction(int(cells)) / Fraction(float(mean)).limit_denominator(1000)


def _pool_options_answer(card: Card, found: Findings, torch: Any) -> None:
    """pool.options: an unpool's shape on a random, a rising and a falling input (one
    answer for all); an AvgPool's asked output and the divisor the caption names."""
    if card.family != "pool.options":
        return
    calls, answer = question_layers(card), card.fields["Answer"]
    if len(calls) == 2:
        m = re.search(r"output_size=(\([\d, ]+\)|\[[\d, ]+\])", card.front)
        size = None if m is None else list(__import__("ast").literal_eval(m.group(1)))
        got = _unpool_shapes(torch, calls, question_shape(card), size)
        found.check(card, got == {answer}, f"answer {answer!r}, torch gives {got}")
        return
    grid = question_grid(card)
    x = torch.tensor(grid, dtype=torch.float64)
    sizes = [len(grid[0])] if len(grid) == 1 else [len(grid), len(grid[0])]
    y = _module(torch, calls[0])(x.reshape(1, 1, *sizes))[0, 0]
    m = re.search(r"What is (?:the last output \()?output (\d+)(?: \(|, )counting from 0\)?\?|"
                  r"What is the (?:last )?output,? at row (\d+), column (\d+) \(both counted "
                  r"from 0\)\?", card.front)
    if m:
        index = tuple(int(v) for v in m.groups() if v is not None)
    else:
        found.check(card, "the last output" in card.front, "which output is asked?")
        index = tuple(n - 1 for n in y.shape)
    want = Fraction(float(y[index])).limit_denominator(1000)
    found.check(card, answer == str(want), f"answer {answer!r}, torch gives {want}")
    divisor = _torch_divisor(torch, calls[0], sizes, index)
    for caption in card.captions:
        stated = re.findall(r"divisor (\d+)", caption)
        found.check(card, stated == [str(divisor)],
                    f"caption names divisor {stated}, torch's is {divisor}")


def _thumb_truth(card: Card, torch: Any) -> tuple[bool, str] | None:
    """rules.of_thumb: the rule the card states, applied to the question's layer, and what
    torch does there: (whether the rule holds, torch's evidence). None: not such a card."""
    front, calls = card.front, question_layers(card)
    if card.family != "rules.of_thumb" or not calls:
        return None
    name, args, kwargs = calls[0]
    if "keeps the size" in front:  # 'same' padding is floor((K-1)/2)
        shape = question_shape(card)
        k = args[2]  # the rule reads the kernel only (dilation plays no part in it)
        top = int(re.search(r"between 0 and (\d+)", front).group(1))
        keeps = [p for p in range(top + 1)
                 if _run(torch, [(name, args, {**kwargs, "padding": p})], shape) == shape]
        truth = keeps[0] if len(keeps) == 1 else None
        return (k - 1) // 2 == truth, "none" if truth is None else str(truth)
    if "multiple of C_out" in front:  # builds exactly when C_in is a multiple of C_out
        try:
            module = _module(torch, calls[0])
        except (RuntimeError, ValueError):
            return args[0] % args[1] != 0, "error"
        return args[0] % args[1] == 0, str(sum(p.numel() for p in module.parameters()))
    sizes = question_sizes(card)
    if "in % out == 0" in front:  # no fixed pool unless in is a multiple of out
        n, out = sizes[0], args[0]
        adaptive = _module(torch, calls[0])
        fixed = name.replace("Adaptive", "")
        found = [(k, s) for k in range(1, n + 1) for s in range(1, n + 1)
                 if (n - k) // s + 1 == out
                 and _probe_equal(torch, adaptive, _module(torch, (fixed, [k], {"stride": s})),
                                  [n])]
        return not found, "" if not found else f"k={found[0][0]} s={found[0][1]}"
    if "in // out" in front:  # the recipe's kernel and stride
        outs = _adaptive_out(calls[0], len(sizes))
        pairs = [(n - (o - 1) * (n // o), n // o) for n, o in zip(sizes, outs, strict=True)]
        ks, ss = [k for k, _ in pairs], [s for _, s in pairs]
        fixed = (name.replace("Adaptive", ""),
                 [ks[0] if len(ks) == 1 else tuple(ks)], {"stride": ss[0] if len(ss) == 1
                                                        else tuple(ss)})
        equal = _probe_equal(torch, _module(torch, calls[0]), _module(torch, fixed), sizes)
        return equal, f"k={','.join(map(str, ks))} s={','.join(map(str, ss))}"
    if "ceil_mode=True the output size" in front:  # ceil in place of floor
        shape = question_shape(card)
        k = args[0]
        s, p = kwargs.get("stride", k), kwargs.get("padding", 0)
        got = _run(torch, calls, shape)[2:]
        docs = [-(-(n + 2 * p - k) // s) + 1 for n in shape[2:]]
        return got == docs, "x".join(map(str, got))
    return None


def _thumb_answer(card: Card, found: Findings, torch: Any) -> None:
    """rules.of_thumb: the verdict and its evidence, worked out from the card's own text
    with torch."""
    truth = _thumb_truth(card, torch)
    if card.family != "rules.of_thumb":
        return
    if truth is None:
        found.check(card, False, "a rules.of_thumb card this checker cannot read")
        return
    holds, evidence = truth
    want = ("true" if holds else "false") + (f" {evidence}" if evidence else "")
    found.check(card, card.fields["Answer"] == want,
                f"answer {card.fields['Answer']!r}, torch gives {want!r}")


def _runs_statements(card: Card, found: Findings, torch: Any) -> None:
    """`It runs: output B` and `Spatial dim i: A becomes B` about the question's layers."""
    shape, calls = question_shape(card), question_layers(card)
    if shape is None or not calls:
        return
    got = _run(torch, calls, shape)
    for step in card.steps:
        m = re.search(r"runs: output `(\d+(?:x\d+)+)`", step)
        if m:
            found.check(card, got == shape_of(m.group(1)),
                        f"'{m.group(0)}', torch gives {got}")
        m = re.search(r"dim (\d+): (?:(\d+) becomes (\d+)|`None` keeps the input size, (\d+))",
                      step)
        if m and got != "error":
            i = int(m.group(1)) - 1 - _nd(card)  # spatial dims are the last nd
            src, dst = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(4))
            found.check(card, (int(src), int(dst)) == (shape[i], got[i]),
                        f"'{m.group(0)}', the input has {shape[i]} and torch gives "
                        f"{got[i]}")


def _raised(torch: Any, calls: list[tuple[str, list[Any], dict[str, Any]]],
            shape: list[int]) -> tuple[str, str] | None:
    """(exception class, message) torch raises building/running the layers, or None."""
    try:
        x = torch.zeros(shape)
        for call in calls:
            x = _module(torch, call)(x)
    except Exception as exc:  # any refusal: the card names the class
        return type(exc).__name__, str(exc)
    return None


def _error_statements(card: Card, found: Findings, torch: Any) -> None:
    """`raises ValueError: <message>` / `(a RuntimeError)`: the class torch raises on the
    question, and a quoted message must be torch's own words."""
    shape, calls = question_shape(card), question_layers(card)
    if shape is None or not calls:
        return
    for step in card.steps:
        for m in re.finditer(r"raises (\w+Error)(?::\s*(.+?))?(?:\.\s|\.?$)|"
                             r"\(an? (\w+Error)\)", step):
            kind, quoted = m.group(1) or m.group(3), m.group(2)
            got = _raised(torch, calls, shape)
            ok = got is not None and got[0] == kind and (quoted is None or quoted in got[1])
            found.check(card, ok, f"'{m.group(0)}', torch raises {got}")


def _probe_equal(torch: Any, a: Any, b: Any, sizes: list[int]) -> bool:
    """Same output on random inputs and on a spike at every cell (max pools whose
    windows differ by one cell agree on most random inputs)."""
    cells = 1
    for n in sizes:
        cells *= n
    torch.manual_seed(0)
    x = torch.cat([torch.randn(4, 1, *sizes), torch.eye(cells).reshape(cells, 1, *sizes)])
    try:
        ya, yb = a(x), b(x)
    except RuntimeError:
        return False
    return ya.shape == yb.shape and bool(torch.allclose(ya, yb, atol=1e-6))


def _equivalence_statements(card: Card, found: Findings, torch: Any) -> None:
    """`A` equals `B` on this input / gives `B`, which differs here."""
    sizes = question_sizes(card)
    for step in card.steps:
        m = re.search(r"`([^`]+)` equals `([^`]+)`", step)
        n = re.search(r"gives `([^`]+)`, which differs", step)
        if not (m or n) or sizes is None:
            continue
        if m:
            pair, equal = (m.group(1), m.group(2)), True
        else:
            pair, equal = (question_layers(card)[0], n.group(1)), False
        a = _module(torch, parse_layer_call(pair[0]) if isinstance(pair[0], str) else pair[0])
        b = _module(torch, parse_layer_call(pair[1]))
        got = _probe_equal(torch, a, b, sizes)
        found.check(card, got == equal, f"states {pair[0]} and {pair[1]} are "
                    f"{'equal' if equal else 'different'} on {sizes}, torch finds "
                    f"{'equal' if got else 'different'}")


def _channel_statements(card: Card, found: Findings) -> None:
    """`the layer expects C, the input has C'` and `channels become out_channels = C`."""
    shape, calls = question_shape(card), question_layers(card)
    if card.family in ("network.stack", "network.models") and "receives" in card.front:
        # one layer inside a network: it works on the shape it receives, not the input
        shape = shape_of(SHAPE.findall(card.front.split("receives", 1)[1])[0])
    if shape is None or not calls or not calls[0][0].startswith(("Conv", "ConvTranspose")):
        return
    name, args, kwargs = calls[0]
    in_ch = args[0] if args else kwargs.get("in_channels")
    out_ch = args[1] if len(args) > 1 else kwargs.get("out_channels")
    channels = shape[len(shape) - _nd(card) - 1]  # (N, C, ...) or unbatched (C, ...)
    for step in card.steps:
        m = re.search(r"expects (\d+) input channels? and the input has (\d+)", step)
        if m:
            found.check(card, (int(m.group(1)), int(m.group(2))) == (in_ch, channels),
                        f"'{m.group(0)}': the layer has in_channels={in_ch}, the input "
                        f"{channels} channels")
        m = re.search(r"out_channels = (\d+)", step)
        if m and len(calls) == 1:
            found.check(card, int(m.group(1)) == out_ch, f"'{m.group(0)}' but {name} has "
                                                          f"out_channels={out_ch}")
        m = re.search(r"channels stay (\d+)", step)
        if m and len(calls) == 1:
            found.check(card, int(m.group(1)) == out_ch == in_ch == channels,
                        f"'{m.group(0)}' but {name} maps {in_ch} to {out_ch} channels")


# ---------------------------------------------------------------- adaptive windows

_ARROW = re.compile(r"(?<![\dx])(\d+) (?:->|→|to) (\d+)(?![\dx])")
_ARROW_2D = re.compile(r"(\d+)x(\d+) (?:->|→|to) (\d+)x(\d+)")
_ROWS_COLS = re.compile(r"(?:output \((\d+), ?(\d+)\) reads |the window )rows \[(\d+),(\d+)\) "
                        r"and columns \[(\d+),(\d+)\)")


def _arrow_context(text: str) -> tuple[int, int] | None:
    m = _ARROW.search(text)
    if not m or "0" in (m.group(1), m.group(2)):  # "the values 0 to 1 fit": a range, not
        return None                                # an adaptive layer (none maps 0 cells)
    return int(m.group(1)), int(m.group(2))


def _card_1d_windows(card: Card) -> list[tuple[int, int]] | None:
    """The windows of the question's own 1-d adaptive layer on its stated length."""
    calls = [c for c in question_layers(card) if c[0].startswith("Adaptive")]
    sizes = question_sizes(card)
    if len(calls) != 1 or sizes is None or len(sizes) != 1:
        return None
    return adaptive_windows(sizes[0], _adaptive_out(calls[0], 1)[0])


def _listed(stated: list[tuple[int, int]], truth: list[tuple[int, int]], text: str) -> bool:
    """A full list, or head … tail when the text elides the middle."""
    if "…" in text or "..." in text:
        head = windows_in(re.split(r"…|\.\.\.", text)[0])
        tail = stated[len(head):]
        return stated[:len(head)] == truth[:len(head)] and (
            not tail or truth[-len(tail):] == tail)
    return stated == truth


def window_texts(card: Card) -> Iterator[str]:
    yield from card.steps
    yield from card.captions
    for svg in card.svgs:
        yield svg.aria


def test_window_statements_match_torch(cards: list[Card]) -> None:
    require("torch")
    found = Findings()
    for card in cards:
        own = _card_1d_windows(card)
        for text in window_texts(card):
            for part in re.split(r"(?=\b(?:dim \d+|[HW]):)|(?=\b(?:Row|Column) windows)", text):
                _window_part(card, part, own, found)
        _read_counts(card, found)
    minimum = dict.fromkeys(("adaptive.windows", "adaptive.values", "adaptive.equivalence"),
                            len(SEEDS) * PER_LEVEL * 3)
    found.assert_clean(minimum, "window statements")


def _window_part(card: Card, text: str, own: list[tuple[int, int]] | None,
                 found: Findings) -> None:
    rc = _ROWS_COLS.search(text)
    if rc:
        _rows_cols(card, text, rc, found)
        return
    stated = windows_in(text)
    ctx = _arrow_context(text)
    truth = adaptive_windows(*ctx) if ctx else own
    if truth is None:
        return
    where = f"[in: {text[:200]}]"
    named = re.findall(r"[Ww]indow (\d+) = \[(\d+),(\d+)\)", text)
    for i, a, b in named:
        real = truth[int(i)] if int(i) < len(truth) else None
        found.check(card, real == (int(a), int(b)),
                    f"window {i} = [{a},{b}), torch: {real} {where}")
    if len(stated) == 1 and not named:  # one window named: it must be one of torch's
        found.check(card, stated[0] in truth, f"window {stated[0]}, torch: {truth} {where}")
    elif stated and not named:
        found.check(card, _listed(stated, truth, text), f"windows {stated}, torch: {truth} {where}")
    m = re.search(r"lengths ([\d,]+)", text)
    if m:
        lengths = [int(v) for v in m.group(1).split(",")]
        found.check(card, lengths == [b - a for a, b in truth],
                    f"lengths {lengths}, torch: {[b - a for a, b in truth]} {where}")
    m = re.search(r"starts ([\d,]+)", text)
    if m:
        starts = [int(v) for v in m.group(1).split(",")]
        found.check(card, starts == [a for a, _ in truth], f"starts {starts} {where}")
    m = re.search(r"all length (\d+), starting every (\d+): kernel (\d+), stride (\d+)", text)
    if m:
        k, s, k2, s2 = map(int, m.groups())
        fits = k == k2 and s == s2 and all(
            (a, b) == (i * s, i * s + k) for i, (a, b) in enumerate(truth))
        found.check(card, fits, f"'{m.group(0)}', torch windows {truth} {where}")
    if re.search(r"lengths differ", text):
        found.check(card, len({b - a for a, b in truth}) > 1, f"lengths differ? {truth} {where}")
    if re.search(r"not evenly spaced", text):
        starts = [a for a, _ in truth]
        found.check(card, len({b - a for a, b in pairwise(starts)}) > 1,
                    f"starts not evenly spaced? {truth} {where}")
    for a, b in re.findall(r"(?:share cell\(s\)|so cells) (\d+)\.\.(\d+)", text):
        span = (int(a), int(b) + 1)
        if "share" in text:
            ok = any(max(w[0], v[0]) == span[0] and min(w[1], v[1]) == span[1]
                     for w, v in pairwise(truth))
        else:
            ok = span in truth
        found.check(card, ok, f"cells {a}..{b} vs torch windows {truth} {where}")


def _fixed_rows_cols(card: Card, text: str, m: re.Match[str], found: Findings) -> None:
    """`rows [a,b) and columns [c,d)` of a fixed 2-d pool (pool.options): the input cells
    some output reads, from torch (a spike at each cell through the question's layer)."""
    grid, calls = question_grid(card), question_layers(card)
    if grid is None or len(grid) == 1:
        return
    windows = set(fixed_windows_2d(calls[0], len(grid), len(grid[0])).values())
    r, c = (int(m.group(3)), int(m.group(4))), (int(m.group(5)), int(m.group(6)))
    found.check(card, (r, c) in windows, f"rows {r} and columns {c} are no output's window "
                                         f"of torch's {sorted(windows)}")


def fixed_windows_2d(call: tuple[str, list[Any], dict[str, Any]], h: int, w: int
                     ) -> dict[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]:
    """Output (i, j) of a fixed 2-d pool -> the input rows and columns it reads, from
    torch (a spike at each input cell through the layer)."""
    torch = require("torch")
    spikes = torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)
    y = _module(torch, call)(spikes)  # (cell, 1, oh, ow)
    windows = {}
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            cells = [c for c in range(h * w) if y[c, 0, i, j] != 0]
            rows, cols = {c // w for c in cells}, {c % w for c in cells}
            windows[i, j] = ((min(rows), max(rows) + 1), (min(cols), max(cols) + 1))
    return windows


def _rows_cols(card: Card, text: str, m: re.Match[str], found: Findings) -> None:
    """`output (i, j) reads rows [a,b) and columns [c,d)` of a 2-d adaptive pool."""
    ctx = _ARROW_2D.search(text)
    calls = question_layers(card)
    if not ctx and len(calls) == 1 and not calls[0][0].startswith("Adaptive"):
        _fixed_rows_cols(card, text, m, found)
        return
    if ctx:
        h, w, oh, ow = map(int, ctx.groups())
    else:
        grid, calls = question_grid(card), question_layers(card)
        if grid is None or len(calls) != 1 or len(grid) == 1:
            return
        (h, w), (oh, ow) = (len(grid), len(grid[0])), _adaptive_out(calls[0], 2)
    rows, cols = adaptive_windows(h, oh), adaptive_windows(w, ow)
    r, c = (int(m.group(3)), int(m.group(4))), (int(m.group(5)), int(m.group(6)))
    if m.group(1) is not None:
        i, j = int(m.group(1)), int(m.group(2))
        ok = i < len(rows) and j < len(cols) and (rows[i], cols[j]) == (r, c)
    else:
        ok = r in rows and c in cols
    found.check(card, ok, f"rows {r} and columns {c}, torch's windows for {h}x{w} -> "
                          f"{oh}x{ow}: rows {rows}, columns {cols} [in: {text[:160]}]")


def _read_counts(card: Card, found: Findings) -> None:
    """`shaded cells are read twice` / `read twice or 3 times` vs torch's cover counts."""
    for svg in card.svgs:
        m = re.search(r"from (\d+) to (\d+)", svg.aria)
        said = re.search(r"read (twice|\d+ times)(?: or (\d+) times)?", svg.caption)
        if not m or not said:
            continue
        counts = {c for c in cover_counts(int(m.group(1)), int(m.group(2))).values() if c > 1}
        stated = {2 if said.group(1) == "twice" else int(said.group(1).split()[0])}
        if said.group(2):
            stated.add(int(said.group(2)))
        found.check(card, stated == counts, f"'{svg.caption}': torch's cells are read "
                                            f"{sorted(counts)} times")


# ---------------------------------------------------------------- diagrams

_SLIDE = re.compile(r"Kernel (\d+)(?:, dilation (\d+))?, stride (\d+), over (\d+) cells with "
                    r"padding (\d+)(?: left, (\d+) right)?: (\d+) placements? fits?"
                    r"(?:; (\d+) cells? after the last one (?:is|are) never read)?")
_CAPTION = re.compile(r"\b([LDHW]): kernel (\d+), stride (\d+), padding (\d+)(?:/(\d+))?"
                      r"(?:, dilation (\d+))? on (\d+) cells(?:: (\d+) placements)?")
_TRANSPOSED = re.compile(r"(\d+) inputs spread by stride (\d+) \((\d+) zeros? between\), "
                         r"implicit padding (\d+) left and (\d+) right, kernel (\d+)"
                         r"(?:, dilation (\d+))? at every position: output length (\d+)")
_SPREAD = re.compile(r"(\d+) inputs spread by stride (\d+) \((?:(\d+) zeros?|no zeros) between\), "
                     r"implicit padding (-?\d+) left and (-?\d+) right(?: \([^)]*\))?, "
                     r"kernel (\d+)(?:, dilation (\d+))?: (\d+) outputs")
_DIMS = {1: "L", 2: "HW", 3: "DHW"}


def _labels(svg: Any, group: str) -> list[tuple[float, float, int]]:
    return [(x, y, int(t)) for g, x, y, t in svg.texts
            if group in g.split() and re.fullmatch(r"\d+", t)]


def test_diagram_labels_match_torch(cards: list[Card]) -> None:
    require("torch")
    found = Findings()
    for card in cards:
        sizes = question_sizes(card) or []
        said = numbers_in(card.front)
        refused = _question_refused(card)
        for svg in card.svgs:
            _sliding_svg(card, svg, sizes, said, refused, found)
            _transposed_svg(card, svg, found)
            _adaptive_svg(card, svg, said, found)
            _values_svg(card, svg, found)
        for cap in card.captions:
            _sliding_caption(card, cap, sizes, found)
    minimum = {f: len(SEEDS) * PER_LEVEL for f in (
        "conv.output_size", "pool.output_size", "conv_transpose.output_size",
        "adaptive.windows", "adaptive.equivalence", "adaptive.values")}
    minimum["adaptive.equivalence"] = len(SEEDS) * PER_LEVEL // 2  # some cards draw none
    found.assert_clean(minimum, "diagram labels")


def _question_refused(card: Card) -> bool:
    torch = require("torch")
    shape, calls = question_shape(card), question_layers(card)
    if not shape or not calls:
        return False
    name, args, kwargs = calls[0]
    # a channel mismatch is not what a strip diagram shows (an input without a channel
    # dim has none to set)
    if name.startswith("Conv") and len(shape) > _nd(card):
        shape = list(shape)
        shape[-_nd(card) - 1] = args[0] if args else kwargs["in_channels"]
    return _run(torch, calls, shape) == "error"


def _sliding_svg(card: Card, svg: Any, sizes: list[int], said: set[int], refused: bool,
                 found: Findings) -> None:
    m = _SLIDE.search(svg.aria)
    if not m:
        return
    k, d, s, n, left, right, placed, never = (int(v) if v else None for v in m.groups())
    d = d or 1
    right = left if right is None else right
    got, unread = sliding(n, k, s, d, left, right)
    where = f"[diagram: {svg.aria}]"
    found.check(card, placed == got, f"{placed} placements stated, torch gives {got} {where}")
    found.check(card, n in said, f"the diagram draws {n} cells, a size the question never "
                                 f"states (it states {sorted(said)}) {where}")
    found.check(card, not refused, f"the diagram draws a normal run of a layer torch "
                                   f"refuses on the question's input {where}")
    if never is not None:
        padded_unread = n + left + right - ((got - 1) * s + d * (k - 1) + 1)
        found.check(card, never == padded_unread,
                    f"{never} cells never read stated, the padded strip has {padded_unread} "
                    f"{where}")
        found.check(card, len(unread) > 0, f"says {never} cell(s) are never read, but torch "
                                           f"reads every input cell (only padding is "
                                           f"skipped) {where}")
    if "ceil mode" in svg.aria and left == right:
        ceil = pool_ceil(n, k, s, left, d)
        if ceil is not None:
            kept = "keeps one more window" in svg.aria
            found.check(card, ceil == got + (1 if kept else 0),
                        f"ceil mode gives {ceil} windows with torch, the diagram says "
                        f"{got} fit and {'one more is kept' if kept else 'the extra is dropped'}"
                        f" {where}")
            extra = [v for _, _, v in _labels(svg, "cg-tl")]
            found.check(card, extra == [got], f"extra-window label {extra}, it is window "
                                              f"{got} {where}")
    rows = [v for _, _, v in _labels(svg, "cg-rl")]
    if rows:
        found.check(card, max(rows) == got - 1 and rows == sorted(rows),
                    f"row labels {rows}, torch's last placement is {got - 1} {where}")
    cells = [(x, v) for x, y, v in _labels(svg, "cg-t") + _labels(svg, "cg-ts") if y == 12]
    if cells:
        # A condensed strip may elide either end behind a "…" in the top row.
        gaps = [x for g, x, y, t in svg.texts if "cg-tm" in g.split() and y == 12]
        first, last = min(cells), max(cells)
        ok = [v for _, v in cells] == sorted(v for _, v in cells) and 0 <= first[1] \
            and last[1] <= n - 1
        ok = ok and (first[1] == 0 or any(x < first[0] for x in gaps))
        ok = ok and (last[1] == n - 1 or any(x > last[0] for x in gaps))
        found.check(card, ok, f"cell labels {[v for _, v in cells]} for {n} cells {where}")
    del sizes


def _sliding_caption(card: Card, cap: str, sizes: list[int], found: Findings) -> None:
    m = _CAPTION.search(cap)
    if not m:
        return
    dim, k, s, left, right, d, n, placed = m.groups()
    letters = _DIMS.get(len(sizes), "")
    if dim in letters:
        size = sizes[letters.index(dim)]
        found.check(card, int(n) == size, f"caption '{cap}' draws {n} cells, dim {dim} of the "
                                          f"question is {size}")
    if placed:
        left_i = int(left)
        right_i = int(right) if right else left_i
        got, _ = sliding(int(n), int(k), int(s), int(d or 1), left_i, right_i)
        found.check(card, int(placed) == got, f"caption '{cap}': torch gives {got}")


def _transposed_svg(card: Card, svg: Any, found: Findings) -> None:
    m = _TRANSPOSED.search(svg.aria)
    if not m:
        return
    torch = require("torch")
    n, s, zeros, a, b, k, d, out = (int(v) if v else 1 for v in m.groups())
    p, op = d * (k - 1) - a, b - a
    where = f"[diagram: {svg.aria}]"
    found.check(card, zeros == s - 1, f"{zeros} zeros between for stride {s} {where}")
    try:
        layer = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=op,
                                         dilation=d)
        got = layer(torch.zeros(1, 1, n)).shape[-1]
    except (RuntimeError, ValueError) as exc:
        got = f"error ({exc})"
    found.check(card, out == got, f"output length {out}, torch gives {got} for padding {p}, "
                                  f"output_padding {op} {where}")
    # normal-size labels, or small ones (cg-ts) where the cells are narrow
    numbers = _labels(svg, "cg-t") + _labels(svg, "cg-ts")
    ins = [v for _, y, v in numbers if y == 12]
    outs = [v for _, y, v in numbers if y != 12]
    found.check(card, (not ins or max(ins) == n - 1) and (not outs or max(outs) == out - 1),
                f"index labels end at {max(ins, default=None)} / {max(outs, default=None)} "
                f"{where}")
    for cap in re.finditer(_SPREAD, " ".join(card.captions)):
        said = tuple(int(v) if v else (0 if i == 2 else 1) for i, v in enumerate(cap.groups()))
        found.check(card, said == (n, s, zeros, a, b, k, d, out),
                    f"caption '{cap.group(0)}' differs from the diagram {where}")


def _adaptive_svg(card: Card, svg: Any, said: set[int], found: Findings) -> None:
    m = re.search(r"Adaptive pooling from (\d+) to (\d+): output i reads input "
                  r"\[floor\(i\*(\d+)/(\d+)\), ceil\(\(i\+1\)\*(\d+)/(\d+)\)\): (.*)", svg.aria)
    if not m:
        return
    n, out = int(m.group(1)), int(m.group(2))
    truth = adaptive_windows(n, out)
    where = f"[diagram: {svg.aria[:160]}]"
    found.check(card, {n, out} <= said, f"draws {n} -> {out}, the question states "
                                        f"{sorted(said)} {where}")
    found.check(card, [int(v) for v in m.group(3, 4, 5, 6)] == [n, out, n, out],
                f"the formula's sizes differ from {n} -> {out} {where}")
    found.check(card, _listed(windows_in(m.group(7)), truth, m.group(7)),
                f"windows listed vs torch {truth} {where}")
    labels = [(a, b) for _, _, _, t in svg.texts for a, b in windows_in(t)]
    found.check(card, all(w in truth for w in labels) and labels == sorted(labels),
                f"window labels {labels} vs torch {truth} {where}")
    outs = [v for _, y, v in _labels(svg, "cg-t") if y > 20]
    found.check(card, bool(outs) and max(outs) == out - 1 and outs == sorted(outs),
                f"output labels {outs} for {out} outputs {where}")
    for cap in re.finditer(r"(\d+) input cells, (\d+) windows", svg.caption):
        found.check(card, (int(cap.group(1)), int(cap.group(2))) == (n, out),
                    f"caption '{svg.caption}' for {n} -> {out}")


def _values_svg(card: Card, svg: Any, found: Findings) -> None:
    m = re.search(r"the window (?:\[(\d+),(\d+)\)|rows \[(\d+),(\d+)\) and columns "
                  r"\[(\d+),(\d+)\)) is shaded; its output is (-?[\d/]+)", svg.aria)
    grid = question_grid(card)
    calls = question_layers(card)
    if not m or grid is None or len(calls) != 1:
        return
    torch = require("torch")
    where = f"[diagram: {svg.aria}]"
    shown = [int(t) for g, _, _, t in svg.texts
             if g.split() == ["cg-t"] and re.fullmatch(r"-?\d+", t)]
    flat = [v for row in grid for v in row]
    found.check(card, shown == flat, f"the diagram's numbers {shown} differ from the "
                                     f"question's {flat} {where}")
    one_d = len(grid) == 1
    x = torch.tensor(grid[0] if one_d else grid, dtype=torch.float64)
    x = x.reshape(1, 1, *x.shape)
    y = _module(torch, calls[0])(x)[0, 0]
    if one_d:
        wins = adaptive_windows(len(grid[0]), y.shape[-1])
        idx: tuple[int, ...] = (wins.index((int(m.group(1)), int(m.group(2)))),)
    elif not calls[0][0].startswith("Adaptive"):  # a fixed pool (pool.options)
        r, c = (int(m.group(3)), int(m.group(4))), (int(m.group(5)), int(m.group(6)))
        shaded = [i for i, win in fixed_windows_2d(calls[0], len(grid), len(grid[0])).items()
                  if win == (r, c)]
        if not shaded:
            found.check(card, False, f"shaded window {r} x {c} is no output's window {where}")
            return
        stated = Fraction(m.group(7))  # outputs reading one window may differ in divisor
        idx = next((i for i in shaded
                    if Fraction(float(y[i])).limit_denominator(1000) == stated), shaded[0])
    else:
        rows = adaptive_windows(len(grid), y.shape[0])
        cols = adaptive_windows(len(grid[0]), y.shape[1])
        r, c = (int(m.group(3)), int(m.group(4))), (int(m.group(5)), int(m.group(6)))
        if r not in rows or c not in cols:
            found.check(card, False, f"shaded window {r} x {c} is not a torch window {where}")
            return
        idx = (rows.index(r), cols.index(c))
    value = Fraction(float(y[idx])).limit_denominator(1000)
    found.check(card, Fraction(m.group(7)) == value, f"its output is {m.group(7)}, torch "
                                                     f"gives {value} {where}")
    res = [t for g, _, _, t in svg.texts if "cg-res" in g.split()]
    found.check(card, res == [m.group(7)], f"result label {res} vs {m.group(7)} {where}")


# ---------------------------------------------------------------- worked values


def test_worked_values_match_torch(cards: list[Card]) -> None:
    """`Output (i,j): y = max(...) = v` / `y = 1/n (a + b + ...) = v`: v is torch's output,
    the operands are exactly the question's cells in that window, n their count."""
    torch = require("torch")
    found = Findings()
    for card in cards:
        grid, calls = question_grid(card), question_layers(card)
        if grid is None or len(calls) != 1:
            continue
        one_d = len(grid) == 1
        x = torch.tensor(grid[0] if one_d else grid, dtype=torch.float64)
        y = _module(torch, calls[0])(x.reshape(1, 1, *x.shape))[0, 0]
        wins = ([adaptive_windows(len(grid[0]), y.shape[-1])] if one_d else
                [adaptive_windows(len(grid), y.shape[0]),
                 adaptive_windows(len(grid[0]), y.shape[1])])
        for step in card.steps:
            _worked_value(card, step, grid, y, wins, found)
    found.assert_clean({"adaptive.values": len(SEEDS) * PER_LEVEL * 3 * 2}, "worked values")


def _worked_value(card: Card, step: str, grid: list[list[int]], y: Any,
                  wins: list[list[tuple[int, int]]], found: Findings) -> None:
    m = re.match(r"Output (?:\((\d+),(\d+)\)|(\d+)):\s*(.*)", step)
    if not m:
        return
    idx = (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(3)),)
    tex = m.group(4)
    rows = [r.replace("&", " ") for r in re.split(r"\\\\", tex)]
    body = " ".join(rows)
    sides = [s for s in re.split(r"=", re.sub(r"\\(begin|end)\{aligned\}|\\\[|\\\]", "",
                                              body)) if s.strip()]
    if len(sides) < 3:
        return
    first, last = sides[1], sides[-1]
    value = Fraction(float(y[idx])).limit_denominator(1000)
    last_num = re.sub(r"\\tfrac\{(-?\d+)\}\{(\d+)\}", r"\1/\2", last).strip()
    stated = Fraction(last_num) if re.fullmatch(r"-?\d+(/\d+)?", last_num) else None
    found.check(card, stated == value, f"output {idx} stated {last.strip()!r}, torch {value}")
    if len(wins) == 1:
        (a, b), = [wins[0][idx[0]]]
        cells = grid[0][a:b]
    else:
        (ra, rb), (ca, cb) = wins[0][idx[0]], wins[1][idx[1]]
        cells = [v for row in grid[ra:rb] for v in row[ca:cb]]
    divisor = re.search(r"\\tfrac\{1\}\{(\d+)\}", first)
    operands = re.sub(r"\\tfrac\{1\}\{\d+\}|\\quad", " ", first).replace("(-", "(- ")
    values = [int(v.replace(" ", "")) for v in re.findall(r"-\s*\d+|\d+", operands)]
    found.check(card, sorted(values) == sorted(cells),
                f"output {idx} reads {values}, torch's window holds {cells}")
    if divisor:
        found.check(card, int(divisor.group(1)) == len(cells),
                    f"output {idx} divides by {divisor.group(1)}, the window has {len(cells)}")



# ---------------------------------------------------------------- the checker itself


@pytest.mark.parametrize(("step", "false"), [
    (r"\( L_{out} = \lfloor 12/1 \rfloor + 1 = 13 \)", 0),
    (r"\( L_{out} = \lfloor 12/1 \rfloor + 1 = 14 \)", 1),
    (r"\[ \begin{aligned} n &amp;= 15 + 2\cdot 0 \\ &amp;\quad - 1\cdot(3-1) - 1 \\ "
     r"&amp;= 11 \end{aligned} \]", 1),
    (r"\[ \begin{aligned} y &= \tfrac{1}{4}((-1) + 0 + (-4) + 5) \\ &= 0 \end{aligned} \]", 0),
    (r"\[ \begin{aligned} y &= \max(5, -4, 9, 1) \\ &= 5 \end{aligned} \]", 1),
    ("`Conv2d(3, 64, 7)`: (floor((128 + 2*3 - 1*(7-1) - 1) / 2) + 1 = 65)", 1),
    ("Recipe: stride = 27 // 8 = 3, kernel = 27 - (8-1)*3 = 6.", 0),
    (r"Solve for p: with \( n = 56 + 2p - 1(3-1) - 1 \), we need "
     r"\( \lfloor n/2 \rfloor = 28 \), which holds only for p = 1", 1),
    (r"at most half the kernel: \( p \le \lfloor 2/2 \rfloor = 1 \), but p = 2.", 0),
    (r"starts at padded cell \( (4-1)\cdot3 = 9 &lt; 9 + 0 \)", 1),
    ("Spatial dim 1: 6 > 5 is allowed", 0),
])
def test_the_arithmetic_checker_reads_what_cards_write(step: str, false: int) -> None:
    checked, bad = step_problems(step)
    assert checked >= 1 and len(bad) == false, bad


def _fake(front: str, worked: str, family: str = "x") -> Card:
    spec = {"v": 1, "family": family, "level": 1, "params": {}, "answer": "", "claims": []}
    return read_card("fakeguid", {"Front": front, "Answer": "", "Worked": worked,
                                  "Spec": __import__("json").dumps(spec)}, 0)


def test_the_statement_checkers_catch_false_ones() -> None:
    require("torch")
    card = _fake("<code>nn.AdaptiveAvgPool1d(5)</code> runs on an input of length 16.",
                 "<ol><li>Window 1 = [3,7), window 2 = [6,11).</li>"
                 "<li>16 -&gt; 5: windows [0,4), [3,7), [6,10), [9,13), [12,16); "
                 "lengths 4,4,4,4,5</li></ol>"
                 '<figure><svg aria-label="Kernel 3, stride 2, over 15 cells with padding 0: '
                 '8 placements fit"></svg><figcaption>x</figcaption></figure>')
    found = Findings()
    for text in window_texts(card):
        _window_part(card, text, _card_1d_windows(card), found)
    _sliding_svg(card, card.svgs[0], [15], {15}, False, found)
    said = "\n".join(found.false)
    assert "window 2 = [6,11)" in said and "lengths [4, 4, 4, 4, 5]" in said
    assert "8 placements stated, torch gives 7" in said
    assert len(found.false) == 3, said
    torch = require("torch")
    found = Findings()
    text = "`nn.Conv2d(3, 16, 3, stride=2, padding=1)` on `1x3x56x56` gives `1x16x27x28`."
    for call, src, dst in layer_statements(text):
        found.check(card, _run(torch, [call], src) == dst, text)
    assert found.false and found.checked["x"] == 1


def _with_answer(front: str, answer: str) -> Card:
    card = _fake(front, "<ol><li>x</li></ol>", "conv.params")
    card.fields["Answer"] = answer
    return card


def test_the_params_checker_catches_false_counts() -> None:
    torch = require("torch")
    found = Findings()
    question = "How many parameters (weights and biases together) does " \
               "<code>nn.Conv2d(16, 32, 3, groups=4)</code> have?"
    macs = "<code>nn.Conv1d(4, 8, 3, groups=2)</code> runs on an input of shape " \
           "<code>1x4x10</code>. How many multiply-adds does it do?"
    refused = "How many parameters (weights and biases together) does " \
              "<code>nn.Conv2d(64, 96, 3, groups=5)</code> have?"
    from cardgen.layers import parse_layer
    from cardgen.solver.params import mac_count, param_count

    params = param_count(parse_layer("Conv2d(16, 32, 3, groups=4)")).total
    mac = mac_count(parse_layer("Conv1d(4, 8, 3, groups=2)"), [1, 4, 10]).macs
    for front, right, wrong in ((question, str(params), str(params - 1)),
                                (macs, str(mac), str(mac + 1)), (refused, "error", "0")):
        _params_answer(_with_answer(front, right), found, torch)
        assert not found.false, found.false
        _params_answer(_with_answer(front, wrong), found, torch)
        assert len(found.false) == 1, found.false
        found.false.clear()


def test_the_rank_checker_catches_false_rank_statements() -> None:
    """input.unbatched states the ranks a layer takes, how many dims the input has and
    what each dim is read as: true statements pass, each false one is caught."""
    torch = require("torch")
    front = "One image of shape <code>3x32x32</code> goes into <code>nn.Conv2d(3, 8, 3)</code>."
    true = ("`Conv2d` takes a 3-D input (C, H, W) with no batch dim, or a 4-D batch "
            "(N, C, H, W). `3x32x32` has 3 dims, so it is one sample, read as C = 3, "
            "H = 32, W = 32.")
    falsehoods = (true.replace("3-D input", "2-D input"), true.replace("has 3 dims", "has 4 dims"),
                  true.replace("H = 32, W = 32", "H = 32, W = 3"))
    for text, false in ((true, 0), *((f, 1) for f in falsehoods)):
        found = Findings()
        card = _fake(front, f"<ol><li>{text}</li></ol>", "input.unbatched")
        _rank_statements(card, found, torch)
        assert found.checked["input.unbatched"] >= 2 and len(found.false) == false, \
            (text, found.false)


def test_the_framework_same_checker_catches_false_answers() -> None:
    """Each question form with a slipped answer (the split swapped, the size floored, the
    padding that shifts the windows, 'same' said to compute a SAME_LOWER split) is caught."""
    torch = require("torch")
    onnx = ("An ONNX <code>Conv</code> with <code>kernel_shape=[4]</code>, "
            "<code>strides=[{s}]</code> and <code>auto_pad='{d}'</code> gets a length-15 "
            "input. ")
    cases = [
        (onnx.format(s=2, d="SAME_LOWER") + "How many zeros does it pad?", "1,2", ""),
        (onnx.format(s=2, d="SAME_UPPER") + "What is its output's length?", "7", ""),
        (onnx.format(s=2, d="SAME_UPPER") + "Which padding p, between 0 and 5, ...?", "2", ""),
        (onnx.format(s=1, d="SAME_LOWER") + "Which padding p, between 0 and 5, ...?", "none",
         "<ol><li>At stride 1 PyTorch's <code>padding='same'</code> (which, like SAME_UPPER, "
         "puts any odd zero after) "
         "computes this layer.</li></ol>"),
    ]
    for front, answer, worked in cases:
        card = _fake(front, worked or "<ol><li>x</li></ol>", "conv.framework_same")
        card.fields["Answer"] = answer
        found = Findings()
        _framework_same_statements(card, found, torch)
        assert found.false, (front, answer)


def test_the_output_size_checker_catches_false_answers() -> None:
    """A range one size too long or short, a wrong picked output_padding, and error for
    a call that runs are all caught (right answers from the family's solver)."""
    torch = require("torch")
    from cardgen.families import get_family

    family = get_family("conv_transpose.rules")
    dim = {"size": 5, "kernel": 3, "stride": 3, "padding": 1, "dilation": 2}
    cases = []
    for params in ({"q": "range", **dim}, {"q": "picked2d", "dims": [dim, dim | {"stride": 2}],
                                           "targets": [15, 12]}):
        sol = family.solve(params)
        front = re.sub(r"`([^`]*)`", r"<code>\1</code>", sol.question)
        cases.append((front, sol.answer))
    (range_front, span), (picked_front, pads) = cases
    lo, hi = map(int, span.split(".."))
    found = Findings()
    for front, right, wrongs in ((range_front, span, (f"{lo}..{hi + 1}", f"{lo + 1}..{hi}")),
                                 (picked_front, pads, ("error", "9,9"))):
        card = _with_answer(front, right)
        _output_size_answer(card, found, torch)
        assert not found.false and found.checked["conv.params"], found.false
        for wrong in wrongs:
            _output_size_answer(_with_answer(front, wrong), found, torch)
            assert len(found.false) == 1, (wrong, found.false)
            found.false.clear()


def test_the_pool_options_checker_catches_false_answers_and_divisors() -> None:
    """Real pool.options cards (a value, an unpool) pass; a changed answer, or a caption
    naming another divisor, is caught."""
    torch = require("torch")
    from cardgen.families import get_family
    from cardgen.generate import generate_family
    from cardgen.render.note import note_fields

    module = get_family("pool.options")
    problems = generate_family("pool.options", 11, 12, [1, 3])
    kinds = set()
    for problem in problems:
        fields = split_variants(dict(zip(("Front", "Answer", "Worked", "Spec"), note_fields(
            problem, [module.solve(problem.params)], "guid"), strict=True)))[0]
        answer = fields["Answer"]
        card = read_card("guid", fields, 11)
        kinds.add(problem.params["q"])
        found = Findings()
        _pool_options_answer(card, found, torch)
        assert not found.false and found.checked["pool.options"] >= 1, found.false
        wrong = "error" if answer != "error" else "1x1x1"
        _pool_options_answer(read_card("guid", {**fields, "Answer": wrong}, 11), found, torch)
        assert len(found.false) == 1, found.false
        if problem.params["q"] == "value":
            bad = fields["Worked"].replace("; divisor ", "; divisor 1")
            found.false.clear()
            _pool_options_answer(read_card("guid", {**fields, "Worked": bad}, 11), found,
                                 torch)
            assert found.false and "divisor" in found.false[0], found.false
    assert kinds == {"value", "unpool"}


# ---------------------------------------------------------------- resample.shape

_PAD_ORDER = re.compile(r"\(([\d, ]+)\) reads as ((?:[DHWL] (?:before|after)(?:, )?)+)\.")


def _pad_order_statements(card: Card, found: Findings, torch: Any) -> None:
    """`(1, 2, 3, 4) reads as W before, W after, H before, H after`: for each entry of the
    tuple, torch's F.pad with only that entry set grows the named dim on the named side."""
    import torch.nn.functional as F

    for text in card.steps:
        for m in _PAD_ORDER.finditer(text):
            values = [int(v) for v in m.group(1).split(",")]
            named = [part.split() for part in m.group(2).split(", ")]
            found.check(card, len(named) == len(values), f"{m.group(0)}: count")
            dims = sorted({name for name, _ in named}, key="DHWL".index)
            for i, (name, side) in enumerate(named):
                pad = [0] * len(values)
                pad[i] = 1
                x = torch.ones([1] * len(dims))
                y = F.pad(x, pad)  # zeros around a single one
                grown = [d for d in range(len(dims)) if y.shape[d] == 2]
                where = dims.index(name)
                first = y.reshape(-1)[0].item()
                ok = grown == [where] and ((first == 0) == (side == "before"))
                found.check(card, ok, f"{m.group(0)}: entry {i} is not {name} {side} in "
                                      f"torch")


def test_the_rules_of_thumb_checker_catches_false_verdicts() -> None:
    torch = require("torch")
    from cardgen.families import get_family

    family = get_family("rules.of_thumb")
    cases = [{"rule": "same_pad", "nd": 1, "size": 16, "kernel": 4, "dilation": 1},
             {"rule": "multiple", "in_channels": 4, "out_channels": 8, "kernel": 3,
              "groups": 4},
             {"rule": "divisible", "kind": "Avg", "sizes": [7], "outs": [3]},
             {"rule": "recipe", "kind": "Max", "sizes": [10], "outs": [4]},
             {"rule": "ceil_docs", "kind": "Max", "sizes": [10, 9], "kernel": 1,
              "stride": 2, "padding": 0}]
    found = Findings()
    for params in cases:
        solution = family.solve(params)
        front = solution.question.replace("`nn.", "<code>nn.").replace(")`", ")</code>")
        front = re.sub(r"`(\d+(?:x\d+)+)`", r"<code>\1</code>", front)
        card = _with_answer(front, solution.answer)
        card.family = "rules.of_thumb"
        _thumb_answer(card, found, torch)
        assert not found.false, found.false
        verdict, _, rest = solution.answer.partition(" ")
        card.fields["Answer"] = ("false" if verdict == "true" else "true") + \
            (f" {rest}" if rest else "")
        _thumb_answer(card, found, torch)
        assert len(found.false) == 1, (solution.answer, found.false)
        found.false.clear()
    assert found.checked["rules.of_thumb"] == 2 * len(cases)


def test_the_transposed_caption_checker_catches_a_wrong_implicit_padding() -> None:
    """A real conv_transpose.rules strip's caption agrees with its drawing; one naming
    another implicit padding on either side is caught."""
    require("torch")
    from cardgen.families import get_family
    from cardgen.generate import generate_family
    from cardgen.render.note import note_fields

    module = get_family("conv_transpose.rules")
    checked = 0
    for problem in generate_family("conv_transpose.rules", 5, 6, [1, 2]):
        fields = split_variants(dict(zip(("Front", "Answer", "Worked", "Spec"), note_fields(
            problem, [module.solve(problem.params)], "guid"), strict=True)))[0]
        worked = fields["Worked"]
        m = re.search(r"implicit padding (\d+) left and (\d+) right, kernel [^:<]*: (\d+) "
                      r"outputs", worked)
        if not m:
            continue
        card = read_card("guid", fields, 5)
        found = Findings()
        for svg in card.svgs:
            _transposed_svg(card, svg, found)
        assert not found.false and card.svgs, found.false
        a, b, out = (int(v) for v in m.groups())
        for bad in (f"implicit padding {a + 1} left and {b} right",
                    f"implicit padding {a} left and {b + 1} right"):
            wrong = worked.replace(m.group(0), m.group(0).replace(
                f"implicit padding {a} left and {b} right", bad))
            found, bad_card = Findings(), read_card("guid", {**fields, "Worked": wrong}, 5)
            for svg in bad_card.svgs:
                _transposed_svg(bad_card, svg, found)
            assert found.false, bad
        checked += 1
    assert checked, "no conv_transpose.rules card drew a strip"


def test_the_gradient_box_agrees_with_one_spike_per_cell() -> None:
    """The large-input reader (a gradient, max pools as average pools) gives the box the
    spike reader gives, on stacks small enough for both, edges and middle units alike."""
    torch = require("torch")
    calls = [("Conv2d", [3, 8, 3], {"stride": 2, "padding": 1}),
             ("MaxPool2d", [3], {"stride": 2}), ("Conv2d", [8, 4, 5], {"padding": 2})]
    shape = [1, 3, 30, 30]
    reach = _depends(torch, calls, shape)
    for index in ([3, 3], [0, 0], [6, 2]):
        assert _gradient_box(torch, calls, shape, index) == \
            _box(reach[(slice(None), *index)], shape[2:])
