"""The claims entail the answer: every family's answer is read off its claims, and a note
whose answer the claims do not give fails `cardgen verify`, even when every claim holds."""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest

from cardgen.build import build_recipe
from cardgen.claims import equivalent_claim, shape_claim
from cardgen.entail import FAMILIES as ENTAILED
from cardgen.entail import NotEntailed, check_entailed
from cardgen.families import FAMILIES
from cardgen.generate import family_rng
from cardgen.layers import parse_layer
from cardgen.recipes import parse_recipe
from cardgen.verify import verify_deck

SEEDS = (0, 1, 2)
DRAWS = 12  # per family, level and seed


def specs(family: str, level: int) -> list[dict[str, Any]]:
    module = FAMILIES[family]
    out = []
    for seed in SEEDS:
        rng = family_rng(seed, family)
        for _ in range(DRAWS):
            params = module.generate(rng, level)
            s = module.solve(params)
            out.append({"family": family, "level": level, "params": params,
                        "answer": s.answer, "claims": s.claims})
    return out


CASES = [(f, lv) for f in sorted(FAMILIES) for lv in FAMILIES[f].LEVELS]


def test_every_family_has_a_rule() -> None:
    assert set(FAMILIES) == set(ENTAILED)


def wrong_answers(answer: str) -> list[str]:
    """Nearby answers a slip would give: each number moved by one, yes/no swapped."""
    swaps = {"yes": "no", "no": "yes", "none": "1", "error": "1x1"}
    if answer in swaps:
        return [swaps[answer]]
    if answer.startswith("yes "):
        return ["no"] + [a for a in _bumped(answer)]
    return _bumped(answer) or ["?"]


def _bumped(answer: str) -> list[str]:
    out = []
    for m in list(re.finditer(r"\d+", answer))[:4]:
        out.append(answer[:m.start()] + str(int(m[0]) + 1) + answer[m.end():])
    return out


@pytest.mark.parametrize(("family", "level"), CASES)
def test_answers_follow_from_the_claims_and_slips_do_not(family: str, level: int) -> None:
    for spec in specs(family, level):
        check_entailed(spec)  # the claims give exactly this answer
        for wrong in wrong_answers(spec["answer"]):
            with pytest.raises(NotEntailed):
                check_entailed({**spec, "answer": wrong})


@pytest.mark.parametrize(("family", "level"), CASES)
def test_without_the_answer_claim_nothing_is_entailed(family: str, level: int) -> None:
    """Claims that do not determine the answer (here: unrelated, true ones) fail."""
    unrelated = equivalent_claim([parse_layer("AdaptiveAvgPool1d(3)")],
                                 [parse_layer("AvgPool1d(3, 2)")], [1, 1, 7])
    for spec in specs(family, level)[:3]:
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "claims": [unrelated]})


def test_malformed_claims_are_not_entailed_and_never_crash() -> None:
    spec = specs("adaptive.windows", 1)[0]
    for claims in ([{"kind": "windows", "windows": "x"}], [{"kind": "windows"}], [7], None,
                   [{"kind": "unique", "space": [], "answer": {"p": 1}}]):
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "claims": claims})
    with pytest.raises(NotEntailed):
        check_entailed({"family": "adaptive.values", "answer": "1,x", "claims": [
            {"kind": "values", "output": [[[1.0, 2.0]]]}]})


def _set_fields(path: Path, guid: str, answer: str) -> None:
    """Set one note's Answer field and its Spec's answer together, as a forger would."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        blobs = {n: zf.read(n) for n in names}
    name = "collection.anki21" if "collection.anki21" in names else "collection.anki2"
    db = path.with_suffix(".sqlite")
    db.write_bytes(blobs[name])
    conn = sqlite3.connect(db)
    (flds,) = conn.execute("SELECT flds FROM notes WHERE guid = ?", (guid,)).fetchone()
    front, _, worked, spec_text = flds.split("\x1f")
    spec = json.loads(spec_text)
    spec["answer"] = answer
    conn.execute("UPDATE notes SET flds = ? WHERE guid = ?",
                 ("\x1f".join([front, answer, worked, json.dumps(spec)]), guid))
    conn.commit()
    conn.close()
    blobs[name] = db.read_bytes()
    db.unlink()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n in names:
            zf.writestr(n, blobs[n])


def test_verify_fails_an_answer_forged_together_with_its_spec(tmp_path: Path) -> None:
    recipe = parse_recipe('[deck]\nname = "Forged"\nseed = 5\n\n'
                          '[families."pool.output_size"]\ncount = 3\n\n'
                          '[families."conv.inverse"]\ncount = 3\n', "forged.toml")
    built = build_recipe(recipe, tmp_path, 1_750_000_000)
    assert verify_deck(built.path, "solver").ok
    conn_notes = _guids_and_answers(built.path)
    forged = {}
    for guid, family, answer in conn_notes[::2]:
        forged[guid] = "999x999" if family == "pool.output_size" else str(int(answer) + 1)
        _set_fields(built.path, guid, forged[guid])
    report = verify_deck(built.path, "solver")
    failed: dict[str, list[str]] = {}
    for f in report.failures:
        failed.setdefault(f.guid, []).append(f.reason)
    assert set(failed) == set(forged)
    assert all(any("do not entail" in r for r in reasons) for reasons in failed.values())


def _guids_and_answers(path: Path) -> list[tuple[str, str, str]]:
    from cardgen.apkg import read_notes

    out = []
    for note in read_notes(path):
        spec = json.loads(note.fields["Spec"])
        out.append((note.guid, spec["family"], spec["answer"]))
    return sorted(out)


def test_true_claims_about_something_else_do_not_pass(tmp_path: Path) -> None:
    """A conv.output_size note carrying only a true claim about another layer."""
    other = shape_claim([parse_layer("Conv2d(3, 8, 1)")], [1, 3, 5, 5])
    with pytest.raises(NotEntailed, match="give 1x8x5x5"):
        check_entailed({"family": "conv.output_size", "params": {}, "answer": "1x16x16x16",
                        "claims": [other]})


def test_conv_params_reads_weights_plus_biases_the_macs_count_or_error() -> None:
    """The count a conv.params note answers is the params claim's weights plus biases (or
    error when it says the layer cannot be built), or the macs claim's count."""
    from cardgen.claims import macs_claim, params_claim
    from cardgen.claims.parse import Refused
    from cardgen.solver.params import mac_count, param_count

    layer = parse_layer("Conv2d(16, 32, 3, groups=4)")
    claim = params_claim(layer)
    total = param_count(layer).total
    spec = {"family": "conv.params", "params": {"q": "params"}, "claims": [claim]}
    check_entailed({**spec, "answer": str(total)})
    for wrong in (str(claim["weights"]), str(total + 1), "error"):
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "answer": wrong})
    refused = params_claim(Refused("Conv2d", {"in_channels": 64, "out_channels": 96,
                                              "kernel_size": 3, "groups": 5}, "groups"))
    check_entailed({**spec, "claims": [refused], "answer": "error"})
    with pytest.raises(NotEntailed):
        check_entailed({**spec, "claims": [{**claim, "weights": "1152"}], "answer": str(total)})
    shape = [1, 16, 8, 8]
    macs = {"family": "conv.params", "params": {"q": "macs"},
            "claims": [macs_claim(layer, shape)]}
    check_entailed({**macs, "answer": str(mac_count(layer, shape).macs)})
    with pytest.raises(NotEntailed):  # a params claim does not give the MACs
        check_entailed({**macs, "claims": [claim], "answer": str(total)})


def test_network_stack_reads_the_asked_layer_on_the_shape_the_prefix_gives() -> None:
    """A network.stack card's answer comes from the claim about its last layer, run on the
    shape the shape claim of the layers before it proves (not on any shape it names)."""
    from cardgen.families.network_stack import card_params, solve

    layers = [parse_layer(t) for t in ("Conv2d(3, 4, 3)", "MaxPool2d(2)", "Conv2d(4, 6, 3)")]
    for at, ask in ((1, "shape"), (2, "macs"), (2, "params"), (0, "shape")):
        params = card_params("net", [2, 3, 12, 12], layers, at, ask)
        solution = solve(params)
        spec = {"family": "network.stack", "params": params, "claims": solution.claims}
        check_entailed({**spec, "answer": solution.answer})
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "answer": solution.answer + "0"})
    params = card_params("net", [2, 3, 12, 12], layers, 1, "shape")
    claims = solve(params).claims
    # the asked layer's claim on another input: it proves nothing about this network
    moved = [claims[0], {**claims[1], "input_shape": [2, 4, 12, 12],
                         "output_shape": [2, 4, 6, 6]}]
    with pytest.raises(NotEntailed):
        check_entailed({"family": "network.stack", "params": params, "claims": moved,
                        "answer": "2x4x6x6"})
    with pytest.raises(NotEntailed):  # without the prefix's claim the input is unproved
        check_entailed({"family": "network.stack", "params": params, "claims": claims[1:],
                        "answer": solve(params).answer})
    macs = card_params("net", [2, 3, 12, 12], layers, 2, "macs")
    solution = solve(macs)
    other = card_params("net", [2, 3, 12, 12], layers, 0, "macs")
    with pytest.raises(NotEntailed):  # the MACs of another layer
        check_entailed({"family": "network.stack", "params": macs, "answer": solve(other).answer,
                        "claims": [solution.claims[0], *solve(other).claims]})


def test_input_unbatched_reads_the_unbatched_output_or_error() -> None:
    """An unbatched input's answer is the shape claim's output as it is (no batch dim put
    back), or error when the claim is an error claim."""
    from cardgen.claims import error_claim
    from cardgen.solver import output_shape

    layers = [parse_layer("Conv2d(3, 8, 3, padding=1)"), parse_layer("MaxPool2d(2)"),
              parse_layer("Flatten()")]
    shape = (3, 16, 16)
    out = "x".join(map(str, output_shape(layers, shape)))
    spec = {"family": "input.unbatched", "params": {"q": "check"},
            "claims": [shape_claim(layers, shape)]}
    check_entailed({**spec, "answer": out})
    for wrong in (f"1x{out}", "512", "error"):
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "answer": wrong})
    refused = error_claim([parse_layer("Conv2d(3, 8, 3)")], (16, 16, 3))
    check_entailed({**spec, "claims": [refused], "answer": "error"})
    with pytest.raises(NotEntailed):
        check_entailed({**spec, "claims": [refused], "answer": "8x14x1"})


def test_framework_same_reads_the_size_the_split_or_the_padding() -> None:
    """conv.framework_same: the framework_same claim's output size (q "size") or its one
    split for every dim (q "pads"); which padding: the unique claim's value, or none."""
    from cardgen.claims import framework_same_claim, unique_claim
    from cardgen.layers import Layer

    layer = Layer.make("Conv2d", in_channels=1, out_channels=1, kernel_size=4, stride=2)
    claim = framework_same_claim(layer, (1, 1, 15, 10), "SAME_LOWER")
    size = {"family": "conv.framework_same", "params": {"q": "size"}, "claims": [claim]}
    check_entailed({**size, "answer": "x".join(map(str, claim["output_shape"][2:]))})
    with pytest.raises(NotEntailed):
        check_entailed({**size, "answer": "7x5"})
    pads = {**size, "params": {"q": "pads"}}
    with pytest.raises(NotEntailed, match="one split"):  # 15 and 10 split differently
        check_entailed({**pads, "answer": "2,1"})
    square = framework_same_claim(layer, (1, 1, 15, 15), "SAME_LOWER")
    before, after = square["pads"][0]
    check_entailed({**pads, "claims": [square], "answer": f"{before},{after}"})
    with pytest.raises(NotEntailed):
        check_entailed({**pads, "claims": [square], "answer": f"{after},{before}"})
    template = {**framework_same_claim(Layer.make("Conv1d", in_channels=1, out_channels=1,
                                                  kernel_size=3, stride=2, padding=0),
                                       (1, 1, 8), "SAME_UPPER"), "equal": True}
    none = unique_claim(template, {"p": ("layers", 0, "args", "padding")}, {"p": (0, 5)},
                        holds=False)
    which = {"family": "conv.framework_same", "params": {"q": "torch"}, "claims": [none]}
    check_entailed({**which, "answer": "none"})
    with pytest.raises(NotEntailed):
        check_entailed({**which, "answer": "1"})


def test_receptive_field_reads_the_support_claims() -> None:
    """size: the width every support claim agrees on; jump: how far apart two neighbouring
    units' fields start; range: the one claim's box."""
    from cardgen.claims import support_claim

    layers = [parse_layer("Conv1d(1, 4, 3, stride=2)"), parse_layer("MaxPool1d(2)")]
    first, last = (support_claim(layers, [1, 1, 30], [i]) for i in (0, 6))
    (a, b), (c, _) = first["support"][0], support_claim(layers, [1, 1, 30], [1])["support"][0]
    size = {"family": "network.receptive_field", "params": {"q": "size"},
            "claims": [first, last]}
    check_entailed({**size, "answer": str(b - a)})
    with pytest.raises(NotEntailed):
        check_entailed({**size, "answer": str(b - a + 1)})
    with pytest.raises(NotEntailed):  # one unit says nothing of the others
        check_entailed({**size, "claims": [first], "answer": str(b - a)})
    jump = {"family": "network.receptive_field", "params": {"q": "jump"},
            "claims": [first, support_claim(layers, [1, 1, 30], [1])]}
    check_entailed({**jump, "answer": str(c - a)})
    with pytest.raises(NotEntailed):  # units 0 and 6 are not neighbours
        check_entailed({**jump, "claims": [first, last], "answer": str(c - a)})
    padded = [parse_layer("Conv2d(1, 4, 3, stride=2, padding=1)")]
    box = support_claim(padded, [1, 1, 9, 9], [0, 4])
    (r0, r1), (c0, c1) = box["support"]
    rng = {"family": "network.receptive_field", "params": {"q": "range"}, "claims": [box]}
    check_entailed({**rng, "answer": f"{r0}:{r1},{c0}:{c1}"})
    with pytest.raises(NotEntailed):
        check_entailed({**rng, "answer": f"{r0}:{r1 + 1},{c0}:{c1}"})


def test_conv_transpose_rules_reads_the_range_and_the_picked_padding() -> None:
    """conv_transpose.rules: a range is the unbroken run of sizes the output_size claims
    say run, with both neighbours claimed to raise; a picked output_padding is the unique
    claim's, about the call's own layer and shape, or error when the call raises."""
    from cardgen.families import get_family

    family = get_family("conv_transpose.rules")
    params = {"q": "range", "size": 5, "kernel": 3, "stride": 3, "padding": 1,
              "dilation": 1}
    sol = family.solve(params)
    spec = {"family": family.NAME, "params": params, "claims": sol.claims}
    check_entailed({**spec, "answer": sol.answer})
    from cardgen.solver.transpose import size_range

    lo, hi = size_range(5, 3, 3, 1, 1)
    assert sol.answer == f"{lo}..{hi}"
    for cut in (0, -1, 2):  # a neighbour or an inner size left unclaimed
        claims = [c for i, c in enumerate(sol.claims) if i != cut % len(sol.claims)]
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "claims": claims, "answer": sol.answer})
    with pytest.raises(NotEntailed):
        check_entailed({**spec, "answer": f"{lo}..{hi + 1}"})
    dims = [{"size": 4, "kernel": 3, "stride": 3, "padding": 1, "dilation": 1},
            {"size": 3, "kernel": 3, "stride": 2, "padding": 0, "dilation": 1}]
    (h, h_top), (w, _) = (size_range(*(d[x] for x in ("size", "kernel", "stride", "padding",
                                                      "dilation"))) for d in dims)
    picked = {"q": "picked2d", "targets": [h, w], "dims": dims}
    sol = family.solve(picked)
    spec = {"family": family.NAME, "params": picked, "claims": sol.claims}
    check_entailed({**spec, "answer": sol.answer})
    assert sol.answer == "0,0"  # the lowest sizes: no output_padding
    other = family.solve({**picked, "targets": [h + 1, w + 1]})
    assert other.answer == "1,1"
    with pytest.raises(NotEntailed):  # a unique claim about another call's shape
        check_entailed({**spec, "claims": [sol.claims[0], other.claims[1]], "answer": "1,1"})
    failed = family.solve({**picked, "targets": [h_top + 1, w]})
    assert failed.answer == "error"
    check_entailed({"family": family.NAME, "params": picked, "claims": failed.claims,
                    "answer": "error"})


def test_pool_options_reads_the_asked_output_or_the_unpool_shape() -> None:
    """A pool.options value is the values claim's output at the asked index, as an exact
    fraction; an unpool answer is the unpool claim's shape, or error when it says the
    unpool raises."""
    from cardgen.claims import unpool_claim, values_claim
    from cardgen.layers import unpool_layer

    layer = parse_layer("AvgPool1d(3, stride=2, padding=1)")
    claim = values_claim([layer], [[[4, 7, 1, 2, 6]]])
    first, last = claim["output"][0][0][0], claim["output"][0][0][-1]
    value = {"family": "pool.options", "claims": [claim]}
    from fractions import Fraction

    for index, y in ((0, first), (2, last)):
        right = str(Fraction(y).limit_denominator(100))
        check_entailed({**value, "params": {"q": "value", "index": [index]}, "answer": right})
        with pytest.raises(NotEntailed):
            check_entailed({**value, "params": {"q": "value", "index": [1 - index // 2]},
                            "answer": right})
    not_pad = values_claim([parse_layer("AvgPool1d(3, stride=2, padding=1, "
                                        "count_include_pad=False)")], [[[4, 7, 1, 2, 6]]])
    with pytest.raises(NotEntailed):  # the other divisor rule's value
        check_entailed({**value, "claims": [not_pad], "params": {"q": "value", "index": [0]},
                        "answer": str(Fraction(first).limit_denominator(100))})
    pool, un = parse_layer("MaxPool1d(2)"), unpool_layer(
        {"type": "MaxUnpool1d", "args": {"kernel_size": 2}})
    shape = {"family": "pool.options", "params": {"q": "unpool"}}
    check_entailed({**shape, "claims": [unpool_claim(pool, un, [1, 1, 7])], "answer": "1x1x6"})
    check_entailed({**shape, "claims": [unpool_claim(pool, un, [1, 1, 7], [8])],
                    "answer": "error"})
    for wrong in ("1x1x7", "error"):
        with pytest.raises(NotEntailed):
            check_entailed({**shape, "claims": [unpool_claim(pool, un, [1, 1, 7])],
                            "answer": wrong})
    with pytest.raises(NotEntailed):  # a values claim does not give an unpool's shape
        check_entailed({**shape, "claims": [claim], "answer": "1x1x6"})


def test_resample_shape_reads_the_shape_or_error_claim() -> None:
    """resample.shape answers the shape claim's output, or error with an error claim."""
    from cardgen.claims import error_claim, shape_claim

    layers = [parse_layer("ZeroPad2d((1, 2, 3, 4))"), parse_layer("PixelUnshuffle(2)")]
    claim = shape_claim(layers, [1, 3, 5, 5])
    spec = {"family": "resample.shape", "params": {}, "claims": [claim]}
    check_entailed({**spec, "answer": "x".join(map(str, claim["output_shape"]))})
    for wrong in ("error", "x".join(map(str, reversed(claim["output_shape"])))):
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "answer": wrong})
    refused = error_claim(layers, [1, 3, 4, 5])  # padded height 11 is odd
    check_entailed({**spec, "claims": [refused], "answer": "error"})
    with pytest.raises(NotEntailed):  # two claims: which one answers?
        check_entailed({**spec, "claims": [claim, refused], "answer": "error"})


def test_rules_of_thumb_read_the_verdict_and_its_evidence_off_the_claims() -> None:
    """rules.of_thumb: every rule's verdict comes from its claims (what PyTorch does) and
    the rule applied to the claimed case; a claim about another case, or a flipped fact,
    gives another answer or none."""
    import json

    from cardgen.families import get_family

    family = get_family("rules.of_thumb")
    cases = {"same_pad": {"rule": "same_pad", "nd": 1, "size": 16, "kernel": 4,
                          "dilation": 1},
             "multiple": {"rule": "multiple", "in_channels": 4, "out_channels": 8,
                          "kernel": 3, "groups": 4},
             "divisible": {"rule": "divisible", "kind": "Avg", "sizes": [7], "outs": [3]},
             "recipe": {"rule": "recipe", "kind": "Max", "sizes": [10], "outs": [4]},
             "ceil_docs": {"rule": "ceil_docs", "kind": "Max", "sizes": [10], "kernel": 1,
                           "stride": 2, "padding": 0}}
    for params in cases.values():
        solution = family.solve(params)
        claims = json.loads(json.dumps(solution.claims))
        spec = {"family": "rules.of_thumb", "params": params, "answer": solution.answer,
                "claims": claims}
        check_entailed(spec)
        verdict, _, evidence = solution.answer.partition(" ")
        flipped = ("false" if verdict == "true" else "true") + (" " + evidence if evidence
                                                               else "")
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "answer": flipped})
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "params": {"rule": "other"}})
        with pytest.raises(NotEntailed):
            check_entailed({**spec, "claims": []})
    # the numbers torch gave, read from the claims: issue #148123's case is 5, not 6
    assert family.solve(cases["ceil_docs"]).answer == "false 5"
    recipe = family.solve(cases["recipe"])
    assert recipe.answer == "false k=4 s=2"
    tampered = json.loads(json.dumps(recipe.claims))
    tampered[0]["other"][0]["args"]["kernel_size"] = 3  # not the recipe's pool
    with pytest.raises(NotEntailed, match="recipe"):
        check_entailed({"family": "rules.of_thumb", "params": cases["recipe"],
                        "answer": recipe.answer, "claims": tampered})
    groups = family.solve(cases["multiple"])
    refused = json.loads(json.dumps(groups.claims))
    refused[0]["weights"] = refused[0]["biases"] = None
    check_entailed({"family": "rules.of_thumb", "params": cases["multiple"],
                    "answer": "true error", "claims": refused})
