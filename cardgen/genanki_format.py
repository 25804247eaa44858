"""genanki's file format, kept as data so that a build does not import genanki.

genanki defines what cardgen writes: the collection's schema and its first row, the deck
and note-type JSON, the GUID scheme and which fields a card requires. Importing genanki
costs a build more than rendering a small deck (it pulls in asyncio and yaml, which its
packaging never uses), so the writer in `cardgen.anki` reads these copies instead. They
are genanki's values, not cardgen's: tests/test_anki_format.py compares every one with
genanki's live objects (the installed release), and the writer's rows with genanki's own
writer's. A genanki release that changes any of them fails those tests; then copy its
new values here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from cardgen.digest import sha256

__all__ = ["APKG_COL", "APKG_SCHEMA", "CLOZE", "FRONT_BACK", "NoteType", "deck_json",
           "guid_for"]

# genanki 0.13.1, genanki/apkg_schema.py and genanki/apkg_col.py, verbatim.
APKG_SCHEMA = '''
CREATE TABLE col (
    id              integer primary key,
    crt             integer not null,
    mod             integer not null,
    scm             integer not null,
    ver             integer not null,
    dty             integer not null,
    usn             integer not null,
    ls              integer not null,
    conf            text not null,
    models          text not null,
    decks           text not null,
    dconf           text not null,
    tags            text not null
);
CREATE TABLE notes (
    id              integer primary key,   /* 0 */
    guid            text not null,         /* 1 */
    mid             integer not null,      /* 2 */
    mod             integer not null,      /* 3 */
    usn             integer not null,      /* 4 */
    tags            text not null,         /* 5 */
    flds            text not null,         /* 6 */
    sfld            integer not null,      /* 7 */
    csum            integer not null,      /* 8 */
    flags           integer not null,      /* 9 */
    data            text not null          /* 10 */
);
CREATE TABLE cards (
    id              integer primary key,   /* 0 */
    nid             integer not null,      /* 1 */
    did             integer not null,      /* 2 */
    ord             integer not null,      /* 3 */
    mod             integer not null,      /* 4 */
    usn             integer not null,      /* 5 */
    type            integer not null,      /* 6 */
    queue           integer not null,      /* 7 */
    due             integer not null,      /* 8 */
    ivl             integer not null,      /* 9 */
    factor          integer not null,      /* 10 */
    reps            integer not null,      /* 11 */
    lapses          integer not null,      /* 12 */
    left            integer not null,      /* 13 */
    odue            integer not null,      /* 14 */
    odid            integer not null,      /* 15 */
    flags           integer not null,      /* 16 */
    data            text not null          /* 17 */
);
CREATE TABLE revlog (
    id              integer primary key,
    cid             integer not null,
    usn             integer not null,
    ease            integer not null,
    ivl             integer not null,
    lastIvl         integer not null,
    factor          integer not null,
    time            integer not null,
    type            integer not null
);
CREATE TABLE graves (
    usn             integer not null,
    oid             integer not null,
    type            integer not null
);
CREATE INDEX ix_notes_usn on notes (usn);
CREATE INDEX ix_cards_usn on cards (usn);
CREATE INDEX ix_revlog_usn on revlog (usn);
CREATE INDEX ix_cards_nid on cards (nid);
CREATE INDEX ix_cards_sched on cards (did, queue, due);
CREATE INDEX ix_revlog_cid on revlog (cid);
CREATE INDEX ix_notes_csum on notes (csum);
'''

APKG_COL = r'''
INSERT INTO col VALUES(
    null,
    1411124400,
    1425279151694,
    1425279151690,
    11,
    0,
    0,
    0,
    '{
        "activeDecks": [
            1
        ],
        "addToCur": true,
        "collapseTime": 1200,
        "curDeck": 1,
        "curModel": "1425279151691",
        "dueCounts": true,
        "estTimes": true,
        "newBury": true,
        "newSpread": 0,
        "nextPos": 1,
        "sortBackwards": false,
        "sortType": "noteFld",
        "timeLim": 0
    }',
    '{}',
    '{
        "1": {
            "collapsed": false,
            "conf": 1,
            "desc": "",
            "dyn": 0,
            "extendNew": 10,
            "extendRev": 50,
            "id": 1,
            "lrnToday": [
                0,
                0
            ],
            "mod": 1425279151,
            "name": "Default",
            "newToday": [
                0,
                0
            ],
            "revToday": [
                0,
                0
            ],
            "timeToday": [
                0,
                0
            ],
            "usn": 0
        }
    }',
    '{
        "1": {
            "autoplay": true,
            "id": 1,
            "lapse": {
                "delays": [
                    10
                ],
                "leechAction": 0,
                "leechFails": 8,
                "minInt": 1,
                "mult": 0
            },
            "maxTaken": 60,
            "mod": 0,
            "name": "Default",
            "new": {
                "bury": true,
                "delays": [
                    1,
                    10
                ],
                "initialFactor": 2500,
                "ints": [
                    1,
                    4,
                    7
                ],
                "order": 1,
                "perDay": 20,
                "separate": true
            },
            "replayq": true,
            "rev": {
                "bury": true,
                "ease4": 1.3,
                "fuzz": 0.05,
                "ivlFct": 1,
                "maxIvl": 36500,
                "minSpace": 1,
                "perDay": 100
            },
            "timer": 0,
            "usn": 0
        }
    }',
    '{}'
);
'''


FRONT_BACK = 0  # genanki.Model.FRONT_BACK
CLOZE = 1  # genanki.Model.CLOZE
# genanki.Model.DEFAULT_LATEX_PRE / DEFAULT_LATEX_POST
DEFAULT_LATEX_PRE = ("\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n"
                     "\\usepackage[utf8]{inputenc}\n\\usepackage{amssymb,amsmath}\n"
                     "\\pagestyle{empty}\n\\setlength{\\parindent}{0in}\n"
                     "\\begin{document}\n")
DEFAULT_LATEX_POST = "\\end{document}"

# genanki/util.py: Anki's base-91 alphabet for GUIDs
_BASE91 = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
           "!#$%&()*+,-./:;<=>?@[]^_`{|}~")
_BASE91_PAIRS = [a + b for a in _BASE91 for b in _BASE91]  # pair i: digits i // 91, i % 91


def guid_for(*values: object) -> str:
    """genanki.guid_for: the first 8 bytes of sha256 of the values joined by '__', in
    base 91."""
    digest = sha256("__".join(map(str, values)).encode()).digest()  # utf-8
    return base91(int.from_bytes(digest[:8], "big"))


def base91(number: int) -> str:
    """genanki's base-91 digits of a non-negative number ("" for 0), two digits at a time:
    half the divmods of genanki's digit loop, for a GUID per note."""
    if number < 91:
        return _BASE91[number] if number else ""
    text = ""  # a GUID's few pairs, prepended: cheaper than a list reversed and joined
    while number >= 91 * 91:
        number, pair = divmod(number, 91 * 91)
        text = _BASE91_PAIRS[pair] + text
    # the leading digit alone when it would pair with a leading zero
    return (_BASE91_PAIRS[number] if number >= 91 else _BASE91[number]) + text


def deck_json(deck_id: int, name: str, description: str = "") -> dict[str, Any]:
    """genanki.Deck(deck_id, name, description).to_json()"""
    return {
        "collapsed": False, "conf": 1, "desc": description, "dyn": 0, "extendNew": 0,
        "extendRev": 50, "id": deck_id, "lrnToday": [163, 2], "mod": 1425278051,
        "name": name, "newToday": [163, 2], "revToday": [163, 0], "timeToday": [163, 23598],
        "usn": -1,
    }


# genanki.Model.to_json's defaults for each template and field
_TEMPLATE_DEFAULTS = {"bafmt": "", "bqfmt": "", "bfont": "", "bsize": 0, "did": None}
_FIELD_DEFAULTS = {"font": "Liberation Sans", "media": [], "rtl": False, "size": 20,
                   "sticky": False}


@dataclass(eq=False)
class NoteType:
    """A note type as genanki.Model holds it (same attributes), without genanki."""

    model_id: int
    name: str
    fields: list[dict[str, Any]]
    templates: list[dict[str, Any]]
    css: str = ""
    model_type: int = FRONT_BACK
    latex_pre: str = DEFAULT_LATEX_PRE
    latex_post: str = DEFAULT_LATEX_POST
    sort_field_index: int = 0
    FRONT_BACK: ClassVar[int] = FRONT_BACK

    @cached_property
    def req(self) -> list[list[Any]]:
        """genanki.Model._req: per template, the fields its front needs ("all") or of which
        it needs one ("any"), found as genanki does, by rendering the front with chevron."""
        import chevron  # genanki's own mustache renderer (and dependency)

        sentinel = "SeNtInEl"
        names = [f["name"] for f in self.fields]
        req: list[list[Any]] = []
        for ord_, template in enumerate(self.templates):
            needed = [i for i, name in enumerate(names)
                      if sentinel not in chevron.render(
                          template["qfmt"], {n: "" if n == name else sentinel for n in names})]
            if needed:
                req.append([ord_, "all", needed])
                continue
            needed = [i for i, name in enumerate(names)
                      if sentinel in chevron.render(
                          template["qfmt"], {n: sentinel if n == name else "" for n in names})]
            if not needed:
                raise ValueError("could not compute required fields for this template; "
                                 f"please check the formatting of 'qfmt': {template}")
            req.append([ord_, "any", needed])
        return req

    def to_json(self, timestamp: float, deck_id: int) -> dict[str, Any]:
        """genanki.Model.to_json (which also fills in the defaults on its own dicts)."""
        templates = [{**copy.deepcopy(t), "ord": i, **{k: v for k, v in _TEMPLATE_DEFAULTS.items()
                                                       if k not in t}}
                     for i, t in enumerate(self.templates)]
        fields = [{**copy.deepcopy(f), "ord": i, **{k: copy.copy(v)
                                                    for k, v in _FIELD_DEFAULTS.items()
                                                    if k not in f}}
                  for i, f in enumerate(self.fields)]
        return {
            "css": self.css, "did": deck_id, "flds": fields, "id": str(self.model_id),
            "latexPost": self.latex_post, "latexPre": self.latex_pre, "latexsvg": False,
            "mod": int(timestamp), "name": self.name, "req": self.req,
            "sortf": self.sort_field_index, "tags": [], "tmpls": templates,
            "type": self.model_type, "usn": -1, "vers": [],
        }
