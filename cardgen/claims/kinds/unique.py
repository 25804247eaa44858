"""`unique`: the answer is the only one in the space the question states.

A `unique` claim holds a template: a `shape`, `error` or `equivalent` claim (or a
`framework_same` claim, whose one layer's padding may be the variable) whose layer
arguments may hold placeholders ``{"var": "p"}``; a `space` of integer ranges, one per
variable; and the `answer`, one assignment of the variables (or null: none). With
``"pick": "only"`` it says the template holds for the answer and for no other candidate
in the space (null: for none); with ``"pick": "smallest"`` that the answer is the first
candidate, in lexicographic order of the space's variables, for which it holds.

Every candidate is re-checked, with torch where it is installed: a candidate "holds" when
its instance of the template checks ok as a claim of its own kind. A layer the solver
refuses to build counts as not holding only once torch also refuses it.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.check_torch import quiet, torch_module, torch_run
from cardgen.claims.kind import ClaimKind
from cardgen.claims.kinds import equivalent, error, framework_same, shape
from cardgen.claims.limits import (
    MAX_GEOMETRY,
    MAX_INPUT_ELEMENTS,
    MAX_MACS,
    MAX_TENSOR_ELEMENTS,
    Failed,
    TooLarge,
    is_int,
    one_line,
)
from cardgen.claims.parse import check_keys, exact_layers, parse_items
from cardgen.layers import Layer

MAX_CANDIDATES = 65_536   # assignments in one space
MAX_FULL_CHECKS = 4_096   # candidates whose equivalence needs probing (same output shape)
_TEMPLATES = {k.name: k for k in (shape.KIND, error.KIND, equivalent.KIND,
                                  framework_same.KIND)}
_STACKS = ("layers", "other")  # where placeholders may stand: layer arguments only
_VAR = re.compile(r"[a-z][a-z0-9_]{0,7}")
PICKS = ("only", "smallest")


@dataclass(frozen=True, init=False)
class Unique:
    template: dict[str, Any]
    inner: ClaimKind
    names: tuple[str, ...]
    ranges: tuple[tuple[int, int], ...]
    answer: tuple[int, ...] | None
    pick: str

    def __init__(self, template: dict[str, Any], inner: ClaimKind, names: tuple[str, ...],
                 ranges: tuple[tuple[int, int], ...], answer: tuple[int, ...] | None,
                 pick: str) -> None:
        # the dataclass's own __init__, less its object.__setattr__ call per field (the
        # frozen class's way past its __setattr__): the fields written straight into the
        # new instance's dict, as Diagram's are (a build parses every unique claim it makes)
        state = self.__dict__
        state["template"] = template
        state["inner"] = inner
        state["names"] = names
        state["ranges"] = ranges
        state["answer"] = answer
        state["pick"] = pick

    def candidates(self) -> Iterator[tuple[int, ...]]:
        return itertools.product(*(range(lo, hi + 1) for lo, hi in self.ranges))

    def instance(self, values: Sequence[int]) -> dict[str, Any]:
        return substitute(self.template, dict(zip(self.names, values, strict=True)))

    def show(self, values: Sequence[int] | None) -> str:
        if values is None:
            return "none"
        return ", ".join(f"{n}={v}" for n, v in zip(self.names, values, strict=True))


# JSON's scalars: never a placeholder and nothing inside. Tested by exact type first, as a
# fast path (a build parses every unique claim it makes, and a Mapping check is an ABC's).
_LEAVES = frozenset({int, float, str, bool, type(None)})


def _is_var(v: Any) -> bool:
    if type(v) is dict:  # JSON's objects, told without the ABC's check
        return len(v) == 1 and "var" in v
    t = type(v)  # (a plain list, like the scalars, is no Mapping: told before the ABC)
    return t not in _LEAVES and t is not list and isinstance(v, Mapping) and set(v) == {"var"}


def _mapping(v: Any) -> bool:
    return type(v) is dict or isinstance(v, Mapping)


def _placeholders(template: Mapping[str, Any]) -> set[Any]:
    """Every placeholder's name in the template's layer arguments; Failed on a placeholder
    anywhere else (a shape or an equal flag is never a variable). A set made in one pass
    (parse's use), not a generator's items gathered into one."""
    used = set()
    for key, value in template.items():
        if key in _STACKS and isinstance(value, list):
            for layer in value:
                args = layer.get("args") if _mapping(layer) else None
                if not _mapping(args):
                    continue
                for arg in args.values():
                    if type(arg) in _LEAVES:
                        continue  # a scalar (most arguments): no placeholder, as _is_var says
                    if isinstance(arg, list):
                        for v in arg:
                            if _is_var(v):
                                used.add(v["var"])
                    elif _is_var(arg):
                        used.add(arg["var"])
        elif type(value) not in _LEAVES and _has_var(value):
            raise Failed(f"unique claim: a placeholder may stand only in layer arguments, "
                         f"not in {one_line(key, 20)}")
    return used


def _has_var(value: Any, depth: int = 0) -> bool:
    if depth > 8 or type(value) in _LEAVES:
        return False
    if type(value) is list:  # JSON's arrays (shapes) told before the ABC's checks
        for v in value:  # (a loop, not any() of a generator: shapes are lists of ints)
            if type(v) not in _LEAVES and _has_var(v, depth + 1):
                return True
        return False
    if _is_var(value):
        return True
    if _mapping(value):
        return any(_has_var(v, depth + 1) for v in value.values())
    if isinstance(value, list):  # (scalars skipped here: _has_var is False on them)
        return any(_has_var(v, depth + 1) for v in value if type(v) not in _LEAVES)
    return False


def substitute(template: Mapping[str, Any], values: Mapping[str, int]) -> dict[str, Any]:
    """The template with each placeholder replaced by its value (layer arguments only)."""
    def arg(v: Any) -> Any:
        if isinstance(v, list):
            return [values[x["var"]] if _is_var(x) else x for x in v]
        return values[v["var"]] if _is_var(v) else v

    out = dict(template)
    for key in _STACKS:
        if isinstance(template.get(key), list):
            out[key] = [{**layer, "args": {k: arg(v) for k, v in layer["args"].items()}}
                        if isinstance(layer, Mapping) and isinstance(layer.get("args"), Mapping)
                        else layer for layer in template[key]]
    return out


def parse(claim: Mapping[str, Any]) -> Unique:
    template, space, answer, pick = claim["claim"], claim["space"], claim["answer"], claim["pick"]
    if not _mapping(template) or template.get("kind") not in _TEMPLATES:
        raise Failed("unique claim: claim must be a shape, error or equivalent claim, "
                     "or a framework_same claim")
    inner = _TEMPLATES[template["kind"]]
    if template.keys() != inner.keys:  # (the message only made for a claim it refuses)
        check_keys(template, f"unique claim's {inner.name}", inner.keys)
    if pick not in PICKS:
        raise Failed(f"unique claim: pick must be one of {', '.join(PICKS)}")
    if not _mapping(space) or not 1 <= len(space) <= 4:
        raise Failed("unique claim: space must map 1 to 4 variables to [lo, hi]")
    names, ranges = [], []
    for name, bounds in space.items():
        if not isinstance(name, str) or not _VAR.fullmatch(name):
            raise Failed("unique claim: a variable name must be a short lowercase word")
        # (plain ints told by their type before is_int's call, here and in the answer)
        if (not isinstance(bounds, list) or len(bounds) != 2
                or not ((type(bounds[0]) is int or is_int(bounds[0]))
                        and (type(bounds[1]) is int or is_int(bounds[1])))
                or not 0 <= bounds[0] <= bounds[1] <= MAX_GEOMETRY):
            raise Failed(f"unique claim: space {name} must be [lo, hi] with "
                         f"0 <= lo <= hi <= {MAX_GEOMETRY}")
        names.append(name)
        ranges.append((bounds[0], bounds[1]))
    count = 1  # (a loop: prod of a generator made a function and a generator per claim)
    for lo, hi in ranges:
        count *= hi - lo + 1
    if count > MAX_CANDIDATES:
        raise TooLarge(f"too large: {count} candidates (limit {MAX_CANDIDATES})")
    used = _placeholders(template)
    if used != set(names):
        raise Failed("unique claim: the placeholders in the claim and the space's "
                     "variables must be the same")
    values: tuple[int, ...] | None = None
    if answer is not None:
        if not _mapping(answer) or set(answer) != set(names):
            raise Failed("unique claim: answer must give every variable a value, or be null")
        values = tuple([answer[n] for n in names])
        for v, (lo, hi) in zip(values, ranges, strict=True):
            if not ((type(v) is int or is_int(v)) and lo <= v <= hi):
                raise Failed("unique claim: the answer is not in the space")
    elif pick == "smallest":
        raise Failed("unique claim: pick smallest needs an answer")
    return Unique(dict(template), inner, tuple(names), tuple(ranges), values, pick)


class _Judge:
    """Whether one candidate holds, with one backend, within the claim's total budget."""

    def __init__(self, c: Unique, backend: str) -> None:
        self.c, self.backend = c, backend
        self.work = 0
        self.full_checks = 0
        self.first: Any = None
        self.stacks: dict[str, Any] = {}
        self.plans: dict[tuple[Any, ...], tuple[Any, str | None, int]] = {}
        self.outputs: dict[tuple[Any, ...], tuple[int, ...] | None] = {}

    def holds(self, values: tuple[int, ...]) -> bool:
        instance = self.c.instance(values)
        try:
            parsed = self._parse(instance)
        except TooLarge:
            raise
        except Failed as exc:
            return self._refused(instance, values, exc)
        self._charge(parsed, values)
        if self.c.inner is equivalent.KIND:
            return self._equivalent(parsed)
        try:
            self.c.inner.checker(self.backend)(parsed)
        except TooLarge:
            raise
        except Failed:
            return False
        return True

    def _parse(self, instance: dict[str, Any]) -> Any:
        """The inner kind's parse; instances differ only in layer arguments, so the rest
        is parsed once and each distinct stack once (thousands of candidates share them)."""
        if self.first is None:
            self.first = self.c.inner.parse(instance)
        stacks = {}
        for key in _STACKS:
            if key in instance:
                memo = f"{key}{instance[key]!r}"
                if memo not in self.stacks:
                    items = parse_items(instance[key], key,
                                        allow_refused=self.c.inner is error.KIND)
                    if self.c.inner is equivalent.KIND:
                        items = exact_layers(items, key)
                    self.stacks[memo] = items
                stacks[key] = self.stacks[memo]
        return dataclasses.replace(self.first, **stacks)

    def _charge(self, parsed: Any, values: tuple[int, ...]) -> None:
        stacks = [parsed.layers] + ([parsed.other] if self.c.inner is equivalent.KIND else [])
        for stack in stacks:
            self.work += self._plan(stack, parsed.input_shape)[2]
        if self.work > MAX_MACS:
            raise TooLarge(f"too large: checking the candidates up to {self.c.show(values)} "
                           f"takes more than {MAX_MACS} multiply-adds")

    def _plan(self, stack: list[Any], shape: tuple[int, ...]) -> tuple[Any, str | None, int]:
        key = (tuple(stack), shape)
        if key not in self.plans:
            self.plans[key] = plan(stack, shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
        return self.plans[key]

    def _refused(self, instance: dict[str, Any], values: tuple[int, ...],
                 why: Failed) -> bool:
        """A candidate whose layer cardgen refuses to build: it holds nowhere, once torch
        (when it judges) refuses it too. Anything else malformed fails the whole claim."""
        for key in _STACKS:
            if key not in instance:
                continue
            try:
                items = parse_items(instance[key], key, allow_refused=True)
                parsed = error.parse({"layers": instance[key],
                                      "input_shape": instance["input_shape"]})
            except Failed:
                raise Failed(f"unique claim: candidate {self.c.show(values)}: "
                             f"{one_line(why, 120)}") from None
            if all(isinstance(item, Layer) for item in items):
                continue
            if self.backend == "torch":
                try:
                    error.check_torch(parsed)
                except TooLarge:
                    raise
                except Failed:
                    raise Failed(f"unique claim: candidate {self.c.show(values)}: cardgen "
                                 "refuses a layer that torch builds and runs") from None
            return False
        raise Failed(f"unique claim: candidate {self.c.show(values)}: {one_line(why, 120)}")

    def _equivalent(self, c: equivalent.Equivalent) -> bool:
        """Shapes first (cheap); values only for candidates whose output shapes agree."""
        same = self._same_shape(c)
        if same is not None and not same:
            return not c.equal
        if self.backend == "solver":
            verdict = equivalent._equal_by_windows(c.layers, c.other, c.input_shape)
            if verdict is not None:
                return verdict == c.equal
        self.full_checks += 1
        if self.full_checks > MAX_FULL_CHECKS:
            raise TooLarge(f"too large: more than {MAX_FULL_CHECKS} candidates need probing")
        try:
            equivalent.KIND.checker(self.backend)(c)
        except TooLarge:
            raise
        except Failed:
            return False
        return True

    def _same_shape(self, c: equivalent.Equivalent) -> bool | None:
        """Whether both stacks run and give the same output shape (None: one raises)."""
        if self.backend == "solver":
            shapes = []
            for stack in (c.layers, c.other):
                got, err, _ = self._plan(stack, c.input_shape)
                if err:
                    return None
                shapes.append(got[-1])
            return shapes[0] == shapes[1]
        out = [self._torch_shape(stack, c.input_shape) for stack in (c.layers, c.other)]
        if out[0] is None or out[1] is None:
            return None  # the full check reports torch's error
        return out[0] == out[1]

    def _torch_shape(self, stack: list[Any], shape: tuple[int, ...]) -> tuple[int, ...] | None:
        key = (tuple(stack), shape)
        if key not in self.outputs:
            import torch

            with quiet():
                try:
                    x = torch.zeros(shape, dtype=torch.float64)
                    y = torch_run(stack, [torch_module(i) for i in stack], x)
                    self.outputs[key] = tuple(y.shape)
                except Failed:
                    raise
                except Exception:
                    self.outputs[key] = None
        return self.outputs[key]


def _check(c: Unique, backend: str) -> str:
    judge = _Judge(c, backend)
    found: list[tuple[int, ...]] = []
    for values in c.candidates():
        if c.pick == "smallest" and c.answer is not None and values > c.answer:
            break
        if judge.holds(values):
            found.append(values)
            if len(found) > 1 or (c.pick == "smallest"):
                break
    first = found[0] if found else None
    who = f"{backend}: " if backend == "solver" else "torch: "
    if c.pick == "smallest":
        if first != c.answer:
            raise Failed(f"{who}the smallest candidate that holds is {c.show(first)}, "
                         f"claimed {c.show(c.answer)}")
        return f"{c.show(first)} is the smallest of the space that holds"
    if c.answer is None:
        if found:
            raise Failed(f"{who}candidate {c.show(first)} holds, claimed none does")
        return f"no candidate of {prod(hi - lo + 1 for lo, hi in c.ranges)} holds"
    if found != [c.answer]:
        shown = " and ".join(c.show(v) for v in found) if found else "no candidate"
        raise Failed(f"{who}{shown} hold(s), claimed only {c.show(c.answer)}")
    return f"only {c.show(c.answer)} of {prod(hi - lo + 1 for lo, hi in c.ranges)} holds"


def check_solver(c: Unique) -> str:
    return _check(c, "solver")


def check_torch(c: Unique) -> str:
    return _check(c, "torch")


KIND = ClaimKind("unique", frozenset({"kind", "claim", "space", "answer", "pick"}),
                 parse, check_solver, check_torch)


def _set(data: Any, path: Sequence[Any], value: Any) -> Any:
    """A copy of nested JSON `data` with the entry at `path` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    # JSON's own containers with the entry there: copied whole and that entry replaced
    # (what the comprehensions below give them, without a test per entry)
    if type(data) is dict and type(head) is str and head in data \
            or type(data) is list and type(head) is int and 0 <= head < len(data):
        out = data.copy()
        out[head] = _set(data[head], rest, value)
        return out
    if isinstance(data, list):
        return [_set(v, rest, value) if i == head else v for i, v in enumerate(data)]
    return {k: _set(v, rest, value) if k == head else v for k, v in data.items()}


def _get(data: Any, path: Sequence[Any]) -> Any:
    for key in path:
        data = data[key]
    return data


def unique_claim(claim: Mapping[str, Any], where: Mapping[str, Sequence[Any]],
                 space: Mapping[str, tuple[int, int]], *, holds: bool = True,
                 pick: str = "only") -> dict[str, Any]:
    """The claim `claim` (built for the answer's own values) holds for exactly that
    answer among the candidates of `space` (``holds=False``: for none of them); with
    ``pick="smallest"``, the answer is the smallest candidate for which it holds.

    `where` maps each variable to the path of its value in `claim` (a layer argument,
    e.g. ``("layers", 0, "args", "padding")``). The builder does not search the space:
    the family knows its answer (tests and `cardgen verify` re-check every candidate).
    ValueError if the claim could not be parsed back or is too large to check.
    """
    if set(where) != set(space):
        raise ValueError("unique_claim: where and space must name the same variables")
    template: Any = dict(claim)
    answer = {}
    for name, path in where.items():
        if not path or path[0] not in _STACKS or path[2] != "args":
            raise ValueError(f"unique_claim: {name} must stand in a layer argument")
        answer[name] = _get(template, path)
        template = _set(template, path, {"var": name})
    result = {"kind": "unique", "claim": template,
              "space": {n: [int(lo), int(hi)] for n, (lo, hi) in space.items()},
              "answer": answer if holds else None, "pick": pick}
    try:
        parse(result)
    except Failed as exc:
        raise ValueError(f"cannot build this unique claim: {exc}") from None
    return result
