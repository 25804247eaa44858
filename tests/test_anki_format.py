"""cardgen.genanki_format holds genanki's values as data (so a build need not import
genanki): each one must equal what the installed genanki computes."""

from __future__ import annotations

import copy
import random

import genanki
import pytest
from genanki.apkg_col import APKG_COL
from genanki.apkg_schema import APKG_SCHEMA

from cardgen import genanki_format
from cardgen.anki import make_model
from cardgen.render.env import back_template, card_css, front_template

FRONTS = [
    front_template(),  # the shipped note type
    '<div class="front">{{Front}}</div>\n{{type:Answer}}',
    "{{Front}}?",
    "{{#Answer}}{{Answer}}{{/Answer}}{{#Worked}}{{Worked}}{{/Worked}}",  # "any" of two
    "{{^Spec}}x{{/Spec}}{{Front}}{{Spec}}",
    "{{Front}} {{Answer}}",  # "all" of two
    "no fields here",  # every field "required": genanki's rule, kept
]


def genanki_model(model: genanki_format.NoteType) -> genanki.Model:
    """genanki's own Model made from the same arguments (genanki edits the dicts it is
    given, so it gets copies)."""
    return genanki.Model(model.model_id, model.name, fields=copy.deepcopy(model.fields),
                         templates=copy.deepcopy(model.templates), css=model.css,
                         model_type=model.model_type, latex_pre=model.latex_pre,
                         latex_post=model.latex_post, sort_field_index=model.sort_field_index)


def test_schema_and_first_row_are_genankis():
    assert genanki_format.APKG_SCHEMA == APKG_SCHEMA
    assert genanki_format.APKG_COL == APKG_COL
    assert genanki_format.FRONT_BACK == genanki.Model.FRONT_BACK
    assert genanki_format.CLOZE == genanki.Model.CLOZE


def test_guids_are_genankis():
    rng = random.Random(5)
    alphabet = "ab_:{}\"é€😀 0123456789"
    cases = [(), ("",), ("conv.output_size", '{"a":1}'), (0,), (1, 2.5, None)]
    cases += [tuple("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
                    for _ in range(rng.randint(1, 3))) for _ in range(2000)]
    for values in cases:
        assert genanki_format.guid_for(*values) == genanki.guid_for(*values), values


def test_base91_digits_at_every_length():
    # genanki's digit loop (genanki/util.py), one digit per divmod; GUIDs rarely have a
    # short hash, so the lengths where pairs and a lone leading digit meet are listed
    def one_at_a_time(number):
        digits = []
        while number > 0:
            number, digit = divmod(number, 91)
            digits.append(genanki_format._BASE91[digit])
        return "".join(reversed(digits))

    numbers = [*range(0, 3 * 91 * 91), 2**64 - 1]
    numbers += [91**k + d for k in range(1, 11) for d in (-1, 0, 1)]
    numbers += [random.Random(k).getrandbits(k) for k in range(1, 65)]
    for number in numbers:
        assert genanki_format.base91(number) == one_at_a_time(number), number


@pytest.mark.parametrize("description", ["", "Drills <b>x</b>"])
def test_deck_json_is_genankis(description):
    for deck_id, name in ((1, "Default"), (2059400110, "Conv Arithmetic::Pooling")):
        assert (genanki_format.deck_json(deck_id, name, description)
                == genanki.Deck(deck_id, name, description).to_json())
    assert genanki_format.deck_json(7, "x") == genanki.Deck(7, "x").to_json()


@pytest.mark.parametrize("front", FRONTS)
def test_note_type_json_and_card_rules_are_genankis(front):
    ours = make_model(front, back_template(), card_css())
    theirs = genanki_model(ours)
    assert ours.req == theirs._req
    for timestamp, deck_id in ((1_750_000_000.9, 1), (0.0, 2059400110)):
        assert ours.to_json(timestamp, deck_id) == theirs.to_json(timestamp, deck_id)
    # to_json leaves our note type as it was (genanki fills its own dicts in)
    assert ours.fields == make_model(front, back_template(), card_css()).fields
