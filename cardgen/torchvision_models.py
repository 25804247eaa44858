"""torchvision's model definitions, built without weights (the `models` extra).

torchvision 0.28.0's PyPI wheel links its C++ operators against CUDA; next to a CPU build
of torch 2.13.0 they fail to load, and ``import torchvision`` then fails where it
registers fake kernels for ``torchvision::nms`` and ``torchvision::qnms``. The model
definitions are plain Python and use neither operator, so when the operators are missing
this module declares their schemas (the same signatures torchvision's C++ declares) before
importing torchvision. Where torchvision's operators load, nothing is declared.
"""

from __future__ import annotations

from typing import Any

INSTALL = "pip install 'cardgen[models]' (torchvision==0.28.0)"

_LIB: Any = None  # kept alive: torch drops a Library's definitions when it is collected


class ModelsUnavailable(Exception):
    """torchvision is not installed (or cannot be imported); the message says how."""


def _declare_missing_ops(torch: Any) -> None:
    global _LIB
    try:
        torch.ops.torchvision.nms.default  # noqa: B018
        return  # torchvision's own operators are loaded
    except (AttributeError, RuntimeError):
        pass
    if _LIB is None:
        _LIB = torch.library.Library("torchvision", "DEF")
        _LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _LIB.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")


def torchvision_models() -> Any:
    """``torchvision.models``; ModelsUnavailable (one line) without torchvision."""
    try:
        import torch
    except ImportError:
        raise ModelsUnavailable(f"torch and torchvision are needed: {INSTALL}") from None
    try:
        import torchvision.models as models
    except ImportError as exc:
        if "torchvision" in str(exc) and "No module named" in str(exc):
            raise ModelsUnavailable(f"torchvision is not installed: {INSTALL}") from None
        raise
    except RuntimeError:  # its operators did not load: declare them and import again
        import sys

        for name in [n for n in sys.modules if n == "torchvision" or
                     n.startswith("torchvision.")]:
            del sys.modules[name]
        _declare_missing_ops(torch)
        import torchvision.models as models
    return models


def load(name: str) -> Any:
    """torchvision's model `name` with random (not downloaded) weights, in eval mode."""
    return getattr(torchvision_models(), name)(weights=None).eval()
