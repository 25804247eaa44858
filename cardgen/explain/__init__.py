"""Writers: facts the solver computed, turned into the sentences and labels cards show.

The solver returns numbers, windows and which rule fired; it holds no English. Each
writer here words one kind of fact, so one sentence form is fixed in one place for every
card (and diagram caption) that uses it. A writer takes facts, never free text, and
raises when the facts it is given do not agree with each other.
"""


def count_of(n: int, noun: str, plural: str | None = None) -> str:
    """'1 placement', '3 placements': a count with its noun agreeing."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
