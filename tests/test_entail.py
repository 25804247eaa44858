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
    failed = {f.guid: f.reason for f in report.failures}
    assert set(failed) == set(forged)
    assert all("do not entail" in reason for reason in failed.values())


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
