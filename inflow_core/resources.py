"""Where the shipped files (pretrained models, the lesson) are, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def asset_path(*parts: str) -> Path:
    """Path of a shipped file, e.g. ``asset_path("models", "circles_isotropic.safetensors")``.

    ``pip install .`` puts the repository's ``assets/`` inside the package as ``inflow_core/assets``
    (pyproject.toml); a source checkout or an editable install has it next to the package instead.
    """
    installed = _PACKAGE / "assets"
    root = installed if installed.is_dir() else _PACKAGE.parent / "assets"
    return root.joinpath(*parts)
