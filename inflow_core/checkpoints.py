"""Learned flows as single, self-contained .safetensors files (never pickle).

A file holds the network weights (``net.*``, float32), the eigenbasis arrays (``basis.*``, float64)
and JSON metadata: format name and version, the network configuration, the schedule parameters,
the basis options and the model card. Loading validates every piece and raises ValueError with a
message on anything unexpected: foreign, truncated, oversized or corrupted files, unknown versions
or architectures, wrong shapes, non-finite values, inconsistent dimensions.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .basis import EigenBasis
from .flow import InflationaryFlow
from .networks import ARCHITECTURE, N_FREQ, NetworkDenoiser
from .resources import asset_path
from .schedules import Schedule

FORMAT = "inflow-flow"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024  # far above any model this app trains (~0.3 MB for the defaults)
MAX_HEADER_BYTES = 1024 * 1024
MAX_DIM = 4096
BASIS_KEYS = ("mean", "vectors", "eigenvalues", "offset", "scale")
ASSETS = asset_path("models")


def to_bytes(flow: InflationaryFlow, card: dict | None = None) -> bytes:
    """Serialise a learned flow (network denoiser) to the bytes of one .safetensors file."""
    den = flow.denoiser
    if not isinstance(den, NetworkDenoiser):
        raise ValueError(
            "Only learned (network) flows are saved to files; an exact flow is rebuilt from its data instead."
        )
    card = card if card is not None else getattr(flow, "card", {})
    tensors = {
        f"net.{k}": v.detach().to("cpu", torch.float32).contiguous() for k, v in den.state_dict().items()
    }
    for key, value in flow.basis.state().items():
        tensors[f"basis.{key}"] = torch.as_tensor(np.ascontiguousarray(value, dtype=np.float64))
    try:
        metadata = {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "network": json.dumps(den.config()),
            "schedule": json.dumps(flow.schedule.to_dict()),
            "basis": json.dumps({"standardize": flow.basis.standardize}),
            "card": json.dumps(card or {}, allow_nan=False),
        }
    except (TypeError, ValueError) as err:
        raise ValueError(f"The model card must be JSON-serialisable with finite numbers ({err}).") from None
    return st_save(tensors, metadata=metadata)


def save_flow(flow: InflationaryFlow, path, card: dict | None = None) -> None:
    """Write a learned flow to ``path`` (one .safetensors file)."""
    Path(path).write_bytes(to_bytes(flow, card))


def load_flow(path_or_bytes, device: str = "cpu", dim: int | None = None) -> InflationaryFlow:
    """Load and validate a flow saved by ``save_flow``; ``dim`` (optional) is the D the caller needs.

    Returns an InflationaryFlow on ``device`` (float64 network on CPU) with ``.card`` set.
    """
    data = _read(path_or_bytes)
    meta = _metadata(data)
    try:
        tensors = st_load(data)
    except Exception as err:  # safetensors raises its own error types for corrupt payloads
        raise ValueError(f"The model file is corrupted ({err}).") from None
    config = _network_config(meta)
    basis = _basis(tensors, meta)
    if basis.dim != config["dim"]:
        raise ValueError(
            f"The model file is inconsistent: its network has D = {config['dim']} but its basis "
            f"has D = {basis.dim}."
        )
    if dim is not None and basis.dim != dim:
        raise ValueError(
            f"This model was trained on data with D = {basis.dim} features, but the current "
            f"data has D = {dim}; load a model trained on this data, or train a new one."
        )
    schedule = Schedule.from_dict(_json(meta, "schedule"), basis.eigenvalues)
    den = NetworkDenoiser(basis.eigenvalues, config["t_max"], config["width"], config["depth"])
    den.load_state_dict(_network_state(tensors, den))
    den = den.to(torch.float64).eval()
    return InflationaryFlow(basis, schedule, den, device=device, card=_json(meta, "card"))


def save_asset(flow: InflationaryFlow, card: dict, name: str, directory=ASSETS) -> None:
    """Write a shipped model as ``name.safetensors`` plus its card as readable ``name.json``."""
    directory = Path(directory)
    save_flow(flow, directory / f"{name}.safetensors", card)
    (directory / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")


def shipped_models() -> list[dict]:
    """The pretrained models in assets/models: name, dataset, family, path and card of each."""
    models = []
    for path in sorted(ASSETS.glob("*.safetensors")):
        card_path = path.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.exists() else {}
        models.append(
            {
                "name": path.stem,
                "dataset": card.get("data", {}).get("dataset"),
                "family": card.get("schedule", {}).get("family"),
                "path": str(path),
                "card": card,
            }
        )
    return models


# ----------------------------------------------------------------------------------- validation
def _read(path_or_bytes) -> bytes:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data = bytes(path_or_bytes)
    else:
        path = Path(path_or_bytes)
        if not path.is_file():
            raise ValueError(f"No model file at {path}.")
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(
                f"The model file is larger than {MAX_BYTES // 2**20} MB; this is not an inflow model."
            )
        data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise ValueError(
            f"The model file is larger than {MAX_BYTES // 2**20} MB; this is not an inflow model."
        )
    return data


def _metadata(data: bytes) -> dict:
    """Parse the safetensors header ourselves first, so foreign files fail with a clear message."""
    foreign = (
        "This is not a .safetensors model saved by this app (the header is unreadable). "
        "Pickle/.pt files are never loaded; export the model with save_flow."
    )
    if len(data) < 8:
        raise ValueError(foreign)
    (size,) = struct.unpack("<Q", data[:8])
    if size > MAX_HEADER_BYTES or size > len(data) - 8:
        raise ValueError(
            foreign
            if size > MAX_HEADER_BYTES
            else "The model file is truncated (its header "
            "says it is longer than it is); download or copy it again."
        )
    try:
        header = json.loads(data[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(foreign) from None
    if not isinstance(header, dict):
        raise ValueError(foreign)
    end = max(
        (
            int(v.get("data_offsets", [0, 0])[1])
            for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict)
        ),
        default=0,
    )
    if 8 + size + end > len(data):
        raise ValueError("The model file is truncated; download or copy it again.")
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError("This .safetensors file is not an inflationary-flow model (no inflow metadata).")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise ValueError(
            f"Unknown model format version {meta.get('format_version')!r} (this app reads "
            f"version {FORMAT_VERSION}); update the app or re-export the model."
        )
    return meta


def _json(meta: dict, key: str) -> dict:
    try:
        value = json.loads(meta[key])
    except (KeyError, TypeError, json.JSONDecodeError):
        raise ValueError(f"The model file's {key!r} metadata is missing or not valid JSON.") from None
    if not isinstance(value, dict):
        raise ValueError(f"The model file's {key!r} metadata must be a JSON object.")
    return value


def _network_config(meta: dict) -> dict:
    config = _json(meta, "network")
    if config.get("architecture") != ARCHITECTURE or config.get("n_freq") != N_FREQ:
        raise ValueError(
            f"Unknown network architecture {config.get('architecture')!r}; this app knows {ARCHITECTURE!r}."
        )
    for key, upper in (("dim", MAX_DIM), ("width", 4096), ("depth", 64)):
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= upper:
            raise ValueError(
                f"The model's network {key} must be a whole number from 1 to {upper}; got {value!r}."
            )
    t_max = config.get("t_max")
    if not isinstance(t_max, (int, float)) or not (np.isfinite(t_max) and t_max > 0):
        raise ValueError(f"The model's t_max must be a positive number; got {t_max!r}.")
    return config


def _basis(tensors: dict, meta: dict) -> EigenBasis:
    missing = [k for k in BASIS_KEYS if f"basis.{k}" not in tensors]
    if missing:
        raise ValueError(f"The model file lacks basis arrays {missing}.")
    state = {k: tensors[f"basis.{k}"].to(torch.float64).numpy() for k in BASIS_KEYS}
    standardize = _json(meta, "basis").get("standardize")
    if not isinstance(standardize, bool):
        raise ValueError("The model file's basis metadata must say whether the data was standardised.")
    return EigenBasis.from_state(state, standardize)  # checks shapes, finiteness, positivity


def _network_state(tensors: dict, den: NetworkDenoiser) -> dict:
    expected = den.state_dict()
    found = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
    if set(found) != set(expected):
        extra, missing = sorted(set(found) - set(expected)), sorted(set(expected) - set(found))
        raise ValueError(
            f"The model's weights do not match its architecture (missing {missing[:3]}, "
            f"unexpected {extra[:3]})."
        )
    for key, value in found.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ValueError(
                f"Weight {key!r} has shape {tuple(value.shape)}, expected "
                f"{tuple(expected[key].shape)}: the file does not match its own configuration."
            )
        if not value.is_floating_point() or not torch.isfinite(value).all():
            raise ValueError(
                f"Weight {key!r} contains NaN or infinite values (or is not a float tensor); "
                "the model is broken; retrain it."
            )
    return found
