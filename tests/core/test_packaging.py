"""`pip install .` gives a self-contained package: the CLI and the shipped models work from any folder."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
# What pyproject.toml builds the package from.
SOURCES = ("pyproject.toml", "README.md", "inflow_core", "assets")


@pytest.mark.slow
def test_installed_package_finds_its_models_from_any_folder(tmp_path):
    # ~1 min. The sources are copied first, because pip builds in the source tree and would leave
    # build/ and *.egg-info in the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    venv = tmp_path / "venv"
    # Without its own pip, the venv uses this environment's pip and setuptools (which builds wheels).
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # --system-site-packages reaches the base interpreter only; if these tests run in a virtual
    # environment, its packages (torch, ...) are added too.
    (Path(site) / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OMP_NUM_THREADS": "1"}
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", str(src)],
        check=True,
        env=env,
        timeout=300,
    )
    shutil.rmtree(src)  # nothing may still point into the sources

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(
        [
            python,
            "-m",
            "inflow_core",
            "sample",
            "--model",
            "circles_isotropic",
            "--n",
            "50",
            "--out",
            "x.npy",
        ],
        check=True,
        env=env,
        cwd=elsewhere,
        timeout=300,
        capture_output=True,
    )
    samples = np.load(elsewhere / "x.npy")
    assert samples.shape == (50, 2) and np.isfinite(samples).all()

    probe = (
        "import json, inflow_core as ic; print(json.dumps({'package': ic.__file__, "
        "'models': [m['path'] for m in ic.checkpoints.shipped_models()], "
        "'lessons': str(ic.resources.asset_path('lessons.json'))}))"
    )
    found = json.loads(
        subprocess.run(
            [python, "-c", probe],
            check=True,
            env=env,
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    )
    package = Path(found["package"]).parent
    assert package == Path(site) / "inflow_core"
    shipped = sorted(p.name for p in (ROOT / "assets" / "models").glob("*.safetensors"))
    assert sorted(Path(p).name for p in found["models"]) == shipped
    assert all(Path(p).parent == package / "assets" / "models" for p in found["models"])
    assert Path(found["lessons"]) == package / "assets" / "lessons.json"
    assert Path(found["lessons"]).is_file()
