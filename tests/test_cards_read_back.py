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

import re
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
    shape_of,
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
        out.extend(read_card(n.guid, n.fields, seed) for n in notes)
    return out


def test_every_family_and_level_in_every_seed(cards: list[Card]) -> None:
    seen = Counter((c.seed, c.family, c.level) for c in cards)
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
                          r"AdaptiveMaxPool)[123]d|Flatten|Linear")


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
    if shape is None or not calls or card.family == "conv.params":
        return  # conv.params answers a count, not a shape: _params_answer reads it
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
    if shape is None or not calls or not calls[0][0].startswith(("Conv", "ConvTranspose")):
        return
    name, args, kwargs = calls[0]
    in_ch = args[0] if args else kwargs.get("in_channels")
    out_ch = args[1] if len(args) > 1 else kwargs.get("out_channels")
    for step in card.steps:
        m = re.search(r"expects (\d+) input channels? and the input has (\d+)", step)
        if m:
            found.check(card, (int(m.group(1)), int(m.group(2))) == (in_ch, shape[1]),
                        f"'{m.group(0)}': the layer has in_channels={in_ch}, the input "
                        f"{shape[1]} channels")
        m = re.search(r"out_channels = (\d+)", step)
        if m and len(calls) == 1:
            found.check(card, int(m.group(1)) == out_ch, f"'{m.group(0)}' but {name} has "
                                                          f"out_channels={out_ch}")
        m = re.search(r"channels stay (\d+)", step)
        if m and len(calls) == 1:
            found.check(card, int(m.group(1)) == out_ch == in_ch == shape[1],
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


def _rows_cols(card: Card, text: str, m: re.Match[str], found: Findings) -> None:
    """`output (i, j) reads rows [a,b) and columns [c,d)` of a 2-d adaptive pool."""
    ctx = _ARROW_2D.search(text)
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
_SPREAD = re.compile(r"(\d+) inputs spread by stride (\d+) \((\d+) zero\(s\) between\), "
                     r"kernel (\d+): (\d+) outputs")
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
    if name.startswith("Conv"):  # a channel mismatch is not what a strip diagram shows
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
    ins = [v for _, y, v in _labels(svg, "cg-t") if y == 12]
    outs = [v for _, y, v in _labels(svg, "cg-t") if y != 12]
    found.check(card, (not ins or max(ins) == n - 1) and (not outs or max(outs) == out - 1),
                f"index labels end at {max(ins, default=None)} / {max(outs, default=None)} "
                f"{where}")
    for cap in re.finditer(_SPREAD, " ".join(card.captions)):
        found.check(card, cap.groups() == (str(n), str(s), str(zeros), str(k), str(out)),
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
