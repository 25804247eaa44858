"""network.models: the recorded architectures are torchvision's, and module claims are
checked against torchvision's own definitions (the `models` extra)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from cardgen.claims import check_claim
from cardgen.claims.kinds import module as module_kind
from cardgen.families import network_models as nm

ROOT = Path(__file__).resolve().parents[1]


def require_models() -> None:
    from conftest import _missing

    from cardgen.torchvision_models import ModelsUnavailable, torchvision_models

    try:
        torchvision_models()
    except ModelsUnavailable as exc:
        _missing("torchvision", "network.models' claims name its models", str(exc))


def _claims(per_model: int = 4) -> list[dict]:
    """Module claims of every model, level and recorded size (a seeded sample)."""
    rng = random.Random(5)
    data = nm.architectures()
    out = []
    for level in nm.LEVELS:
        for model in sorted(data["models"]):
            points = nm._eligible(model, level)
            for point in rng.sample(points, min(per_model, len(points))):
                out.append(nm._claim(model, point["path"], rng.choice(data["sizes"])))
    return out


def test_the_recorded_architectures_are_torchvisions(tmp_path):
    require_models()
    out = tmp_path / "architectures.json"
    subprocess.run([sys.executable, str(ROOT / "tools" / "record_models.py"), "--out",
                    str(out)], check=True, capture_output=True, timeout=600)
    assert json.loads(out.read_text()) == nm.architectures()


def test_module_claims_hold_with_the_solver_and_with_torchvision():
    claims = _claims()
    assert {c["model"] for c in claims} == set(module_kind.MODELS)
    for claim in claims:
        result = check_claim(claim, "solver")
        assert result.ok, result.detail
    pytest.importorskip("torch")
    require_models()
    for claim in claims:
        result = check_claim(claim, "torch")
        assert result.ok, (claim["model"], claim["path"], result.detail)


def _tampered(claim: dict) -> list[tuple[dict, bool]]:
    """(a false claim, whether the solver can tell: the model itself needs torchvision)."""
    out = claim["output_shape"]
    bigger = [*out[:-1], out[-1] + 1]
    other = next(p["path"] for p in nm.architectures()["models"][claim["model"]]["points"]
                 if p["path"] != claim["path"] and p["source"] == 0)
    return [
        ({**claim, "output_shape": bigger}, True),
        ({**claim, "enters": [*claim["enters"][:-1], claim["enters"][-1] + 1]}, True),
        # the same layers under another module's name: only torchvision knows
        ({**claim, "path": other}, False),
    ]


@pytest.mark.parametrize("backend", ["solver", "torch"])
def test_a_tampered_module_claim_fails(backend):
    if backend == "torch":
        pytest.importorskip("torch")
        require_models()
    claim = nm._claim("resnet18", "layer2.0", 160)
    assert check_claim(claim, backend).ok
    for false, solver_can_tell in _tampered(claim):
        if backend == "solver" and not solver_can_tell:
            continue
        assert not check_claim(false, backend).ok, false


@pytest.mark.parametrize(("key", "value"), [
    ("model", "resnet50"), ("model", "os"), ("path", "layer2.__class__"),
    ("path", "layer2..0"), ("path", "x" * 200), ("input_shape", [1, 1, 64, 64]),
    ("inside", []), ("before", [{"type": "Eval", "args": {}}]),
])
def test_a_malformed_module_claim_is_refused(key, value):
    claim = {**nm._claim("alexnet", "features.3", 224), key: value}
    for backend in ("solver",):
        result = check_claim(claim, backend)
        assert not result.ok and result.detail


def test_without_torchvision_the_torch_check_says_how_to_install_it(monkeypatch):
    pytest.importorskip("torch")
    from cardgen import torchvision_models

    def missing():
        raise torchvision_models.ModelsUnavailable(
            f"torchvision is not installed: {torchvision_models.INSTALL}")

    monkeypatch.setattr(torchvision_models, "torchvision_models", missing)
    module_kind._model.cache_clear()
    module_kind._run.cache_clear()
    try:
        result = check_claim(nm._claim("vgg11", "features.2", 200), "torch")
    finally:
        module_kind._model.cache_clear()
        module_kind._run.cache_clear()
    assert not result.ok and "pip install 'cardgen[models]'" in result.detail


def test_paths_are_written_as_python_reaches_them():
    assert nm.dotted("resnet18", "layer3.0.downsample.0") == \
        "resnet18.layer3[0].downsample[0]"
    assert nm.dotted("mobilenet_v2", "features.2.conv.1.0") == \
        "mobilenet_v2.features[2].conv[1][0]"


def test_verify_without_torchvision_stops_with_one_line(tmp_path):
    """A deck with network.models cards, verified with torch where torchvision cannot be
    imported: exit 2 and one line that says how to install it, not a failure per card."""
    pytest.importorskip("torch")
    import os

    recipe = tmp_path / "m.toml"
    recipe.write_text('[deck]\nname = "M"\nseed = 1\n[families."network.models"]\ncount = 3\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    built = subprocess.run([sys.executable, "-m", "cardgen", "build", str(recipe), "--out",
                            str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    hidden = tmp_path / "hide"
    (hidden / "torchvision").mkdir(parents=True)
    (hidden / "torchvision" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'torchvision'\")\n")
    env["PYTHONPATH"] = f"{hidden}{os.pathsep}{ROOT}"
    result = subprocess.run([sys.executable, "-m", "cardgen", "verify", str(tmp_path / "m.apkg")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "pip install 'cardgen[models]'" in lines[0]
