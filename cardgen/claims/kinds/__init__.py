"""The claim kinds, one module each: parser, solver and torch checks, and the builder the
families call. A new kind is a new module here and one line in ``KINDS``."""

from __future__ import annotations

from cardgen.claims.kind import ClaimKind
from cardgen.claims.kinds import (
    equivalent,
    error,
    framework_same,
    macs,
    module,
    padding,
    params,
    shape,
    support,
    transpose_output_size,
    unique,
    unpool,
    values,
    windows,
)

KINDS: dict[str, ClaimKind] = {kind.name: kind for kind in (
    shape.KIND,
    error.KIND,
    values.KIND,
    windows.KIND,
    equivalent.KIND,
    unique.KIND,
    padding.KIND,
    params.KIND,
    macs.KIND,
    module.KIND,
    framework_same.KIND,
    support.KIND,
    transpose_output_size.KIND,
    unpool.KIND,
)}
