"""Audit claims (DESIGN.md §3): build them with the solver, check untrusted ones.

Builders (``shape_claim`` ...) are used by the problem families; each computes its result
with cardgen's solver and returns a JSON-ready dict.

``check_claim(claim, backend)`` re-checks a claim that may come from a hostile deck, with
PyTorch (``"torch"``) or with cardgen's solver (``"solver"``). The claim is data: its
structure is validated strictly, layer types go through the allow-list of
``Layer.from_json``, nothing is evaluated, and every tensor that would be materialised is
bounded first, so a claim can make a check fail but never exhaust memory or CPU.

One concept a module:

- ``limits``: the limits both backends obey; ``budget``: a stack's exact plan against them;
- ``parse``: untrusted JSON to checked layers, shapes and tensors;
- ``kind``: what a claim kind is (keys, parser, a checker per backend);
- ``kinds/``: one module per kind, each with its builder; ``kinds.KINDS`` registers them;
- ``build``: what the trusted builders share; ``check_torch``: running torch safely;
- ``check``: ``check_claim``, the entry point for untrusted claims.

torch is imported only inside the torch checks: ``import cardgen.claims`` stays fast.
"""

from cardgen.claims.build import claim_work
from cardgen.claims.check import ClaimCheck, check_claim
from cardgen.claims.check_torch import torch_available, torch_version
from cardgen.claims.kind import BACKENDS
from cardgen.claims.kinds.equivalent import equivalent_claim, equivalent_template
from cardgen.claims.kinds.error import error_claim
from cardgen.claims.kinds.framework_same import framework_same_claim
from cardgen.claims.kinds.macs import macs_claim
from cardgen.claims.kinds.module import module_claim
from cardgen.claims.kinds.padding import padding_claim
from cardgen.claims.kinds.params import params_claim
from cardgen.claims.kinds.shape import shape_claim
from cardgen.claims.kinds.support import support_claim
from cardgen.claims.kinds.transpose_output_size import transpose_output_size_claim
from cardgen.claims.kinds.unique import unique_claim
from cardgen.claims.kinds.unpool import unpool_claim
from cardgen.claims.kinds.values import values_claim
from cardgen.claims.kinds.windows import windows_claim
from cardgen.claims.limits import LIMITS

__all__ = [
    "BACKENDS", "ClaimCheck", "LIMITS", "check_claim", "claim_work", "equivalent_claim",
    "equivalent_template", "error_claim", "macs_claim", "padding_claim", "params_claim",
    "shape_claim", "torch_available", "torch_version", "unique_claim", "values_claim",
    "windows_claim", "module_claim", "framework_same_claim", "support_claim",
    "transpose_output_size_claim", "unpool_claim",
]
