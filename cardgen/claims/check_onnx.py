"""Running a one-node ONNX graph in ONNX Runtime, the optional third judge of the
`framework_same` claims (``pip install '.[onnx]'``).

onnx and onnxruntime are imported only inside these functions: cardgen builds and checks
decks without them, and says so where they would have been used.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

OPSET = 21
IR_VERSION = 10  # what onnxruntime 1.30 reads at opset 21


@functools.cache
def onnxruntime_available() -> bool:
    """True when onnx and onnxruntime both import (a broken install counts as absent)."""
    try:
        if any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxruntime")):
            return False
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except Exception:  # a broken install (or a blocked import) counts as absent
        return False
    return True


def onnxruntime_version() -> str | None:
    if not onnxruntime_available():
        return None
    import onnxruntime

    return str(onnxruntime.__version__)


def run_node(op: str, attrs: Mapping[str, Any], x: Any, initializers: Sequence[Any] = ()) -> Any:
    """Run one ONNX node `op` on the float32 array `x` (its first input) and the float32
    arrays `initializers` (its next inputs, e.g. W and B) on the CPU; the output array.
    onnxruntime's exceptions propagate."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    names = ["x"] + [f"i{i}" for i in range(len(initializers))]
    node = helper.make_node(op, names, ["y"], **dict(attrs))
    graph = helper.make_graph(
        [node], "cardgen", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                          list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)
                     for name, a in zip(names[1:], initializers, strict=True)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # tiny graphs: a thread pool costs more than it saves
    options.inter_op_num_threads = 1
    options.log_severity_level = 4  # its refusals come back as exceptions, not log lines
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {"x": np.asarray(x, dtype=np.float32)})[0]
