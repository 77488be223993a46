"""Learned flows as single, self-contained .safetensors files (never pickle).

A file holds the network weights (``net.*``, float32), the eigenbasis arrays (``basis.*``, float64)
and JSON metadata: format name and version, the network configuration, the schedule parameters,
the basis options and the model card. Loading validates every piece and raises ValueError with a
message on anything unexpected: foreign, truncated, oversized or corrupted files, unknown versions
or architectures, wrong shapes, non-finite values, inconsistent dimensions, malformed or deeply
nested JSON, cards outside their schema (``validate_card``). The header is parsed here, with bounds,
and the tensor table is matched against the file's own configuration before anything is read or
built, so no file makes the loader allocate more than the file's own size.
"""

from __future__ import annotations

import json
import math
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
from .schedules import FAMILIES, PARAMETERS, Schedule
from .validation import shown

FORMAT = "inflow-flow"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024  # far above any model this app trains (~0.3 MB for the defaults)
MAX_HEADER_BYTES = 256 * 1024  # the defaults' header is ~4 KB: tensor table, configuration, card
MAX_DIM = 1024  # the largest D of any data here (gaussian dim <= 1024, uploads <= 512)
MAX_WIDTH, MAX_DEPTH = 4096, 64  # NetworkDenoiser's own limits
MAX_TENSORS = 12 + 2 * MAX_DEPTH  # 5 basis arrays + eigenvalues, input, time and output layers + 2 per layer
MAX_JSON_DEPTH = 8  # nesting of any JSON in a file; cards need 4
BASIS_KEYS = ("mean", "vectors", "eigenvalues", "offset", "scale")
FLOAT_DTYPES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
ASSETS = asset_path("models")

# The model card: plain JSON, checked by ``validate_card`` before anything reads it.
CARD_SECTIONS = ("data", "schedule", "network", "training", "quality")
MAX_CARD_DEPTH = 4  # card -> quality -> neighbourhood -> flow -> value
MAX_CARD_ENTRIES = 1000
MAX_CARD_TEXT = 256  # characters of any string (file names included)
MAX_CARD_KEY = 64
MAX_CARD_LIST = 64
# Fields the app reads, with their types (None is always allowed); any other field is a plain value.
CARD_FIELDS = {
    "data": {
        "dataset": str,
        "n": int,
        "seed": int,
        "noise": float,
        "dim": int,
        "n_train": int,
        "fresh_samples": bool,
        "sha256": str,
        "filename": str,
    },
    "training": {
        "steps": int,
        "samples_seen": int,
        "seconds": float,
        "device": str,
        "processes": int,
        "stopped": bool,
        "final_loss": float,
        "torch": str,
        "finished_utc": str,
    },
}


def to_bytes(flow: InflationaryFlow, card: dict | None = None) -> bytes:
    """Serialise a learned flow (network denoiser) to the bytes of one .safetensors file.

    The card is checked with ``validate_card`` first, so every file written here loads again.
    """
    den = flow.denoiser
    if not isinstance(den, NetworkDenoiser):
        raise ValueError(
            "Only learned (network) flows are saved to files; an exact flow is rebuilt from its data instead."
        )
    card = validate_card(card if card is not None else getattr(flow, "card", {}))
    tensors = {
        f"net.{k}": v.detach().to("cpu", torch.float32).contiguous() for k, v in den.state_dict().items()
    }
    for key, value in flow.basis.state().items():
        tensors[f"basis.{key}"] = torch.as_tensor(np.ascontiguousarray(value, dtype=np.float64))
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "network": json.dumps(den.config()),
        "schedule": json.dumps(flow.schedule.to_dict()),
        "basis": json.dumps({"standardize": flow.basis.standardize}),
        "card": json.dumps(card, allow_nan=False),
    }
    return st_save(tensors, metadata=metadata)


def save_flow(flow: InflationaryFlow, path, card: dict | None = None) -> None:
    """Write a learned flow to ``path`` (one .safetensors file)."""
    Path(path).write_bytes(to_bytes(flow, card))


def load_flow(path_or_bytes, device: str = "cpu", dim: int | None = None) -> InflationaryFlow:
    """Load and validate a flow saved by ``save_flow``; ``dim`` (optional) is the D the caller needs.

    Every part of the file is checked, and the tensors' names, dtypes, shapes and byte ranges are
    matched against the file's own configuration before any of them is read, so a file never makes
    the server allocate more than its own size. Returns an InflationaryFlow on ``device`` (float64
    network on CPU) with ``.card`` set to the validated card, whose "schedule" and "network"
    sections are the ones the flow really uses.
    """
    data = _read(path_or_bytes)
    entries, meta = _header(data)
    config = _network_config(meta)
    schedule_params = _json(meta, "schedule")
    standardize = _json(meta, "basis").get("standardize")
    if not isinstance(standardize, bool):
        raise ValueError("The model file's basis metadata must say whether the data was standardised.")
    card = validate_card(_json(meta, "card"))
    _check_entries(entries, config)
    try:
        tensors = st_load(data)
    except Exception as err:  # safetensors raises its own error types for corrupt payloads
        raise ValueError(f"The model file is corrupted ({shown(str(err), 120)}).") from None
    basis = _basis(tensors, standardize)
    if dim is not None and basis.dim != dim:
        raise ValueError(
            f"This model was trained on data with D = {basis.dim} features, but the current "
            f"data has D = {dim}; load a model trained on this data, or train a new one."
        )
    schedule = Schedule.from_dict(schedule_params, basis.eigenvalues)
    den = NetworkDenoiser(basis.eigenvalues, config["t_max"], config["width"], config["depth"])
    den.load_state_dict(_network_state(tensors))
    den = den.to(torch.float64).eval()
    card = {**card, "schedule": schedule.to_dict(), "network": config}
    return InflationaryFlow(basis, schedule, den, device=device, card=card)


def validate_card(card) -> dict:
    """A model card checked against one schema and normalised, or ValueError saying what is wrong.

    The card must be a JSON object of plain values: finite numbers, booleans, None, strings of at
    most MAX_CARD_TEXT characters, lists of at most MAX_CARD_LIST such values, and objects nested at
    most MAX_CARD_DEPTH deep (MAX_CARD_ENTRIES values in all). The sections in CARD_SECTIONS are
    always present and always dicts (empty when missing); the fields in CARD_FIELDS have their
    types; a non-empty "schedule" section holds valid schedule parameters (a reducing one names
    dims_to_keep and inflation_gap). Numpy scalars become Python numbers. Strings are returned as
    they are: show them as plain text.
    """
    if not isinstance(card, dict):
        raise ValueError(f"The model card must be a JSON object (name: value); got {type(card).__name__}.")
    card = _plain_json(card, "", 0, [0])
    for section in CARD_SECTIONS:
        value = card.setdefault(section, {})
        if not isinstance(value, dict):
            raise ValueError(
                f"The model card's {section!r} section must be an object of named values; got "
                f"{type(value).__name__}. Re-export the model with save_flow."
            )
    for section, fields in CARD_FIELDS.items():
        for name, kind in fields.items():
            value = card[section].get(name)
            if value is not None and not _is_kind(value, kind):
                raise ValueError(
                    f"The model card's {section}.{name} must be {_KIND_NAMES[kind]}; got "
                    f"{shown(value)}. Re-export the model with save_flow."
                )
    if card["schedule"]:
        _check_card_schedule(card["schedule"])
    return card


def save_asset(flow: InflationaryFlow, card: dict, name: str, directory=ASSETS) -> None:
    """Write a shipped model as ``name.safetensors`` plus its card as readable ``name.json``."""
    directory = Path(directory)
    save_flow(flow, directory / f"{name}.safetensors", card)
    (directory / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")


def shipped_models() -> list[dict]:
    """The pretrained models in assets/models: name, dataset, family, path and validated card of each."""
    models = []
    for path in sorted(ASSETS.glob("*.safetensors")):
        card_path = path.with_suffix(".json")
        card = validate_card(json.loads(card_path.read_text()) if card_path.exists() else {})
        models.append(
            {
                "name": path.stem,
                "dataset": card["data"].get("dataset"),
                "family": card["schedule"].get("family"),
                "path": str(path),
                "card": card,
            }
        )
    return models


# ----------------------------------------------------------------------------------- validation
_KIND_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def _is_kind(value, kind: type) -> bool:
    if kind is bool or isinstance(value, bool):
        return isinstance(value, bool) and kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _plain_json(value, path: str, depth: int, count: list[int]):
    """A copy of ``value`` made of plain JSON values within the card's limits (numpy scalars converted)."""
    count[0] += 1
    if count[0] > MAX_CARD_ENTRIES:
        raise ValueError(f"The model card has more than {MAX_CARD_ENTRIES} values; keep it to a summary.")
    if isinstance(value, np.generic) and not isinstance(value, np.str_ | np.bytes_ | np.void):
        value = value.item()
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > 2**63:
            raise ValueError(f"The model card's {path} is a whole number beyond 2^63; store it as a float.")
        return value
    if isinstance(value, float):
        if not np.isfinite(value):
            raise ValueError(f"The model card must be plain JSON with finite numbers; its {path} is {value}.")
        return value
    if isinstance(value, str):
        if len(value) > MAX_CARD_TEXT:
            raise ValueError(
                f"The model card's {path} is {len(value)} characters long; at most "
                f"{MAX_CARD_TEXT} are allowed."
            )
        return value
    if isinstance(value, list | tuple | dict) and depth >= MAX_CARD_DEPTH:
        raise ValueError(
            f"The model card is nested too deeply at {path} (at most {MAX_CARD_DEPTH} levels); "
            "keep it to a summary."
        )
    if isinstance(value, list | tuple):
        if len(value) > MAX_CARD_LIST:
            raise ValueError(
                f"The model card's {path} is a list of {len(value)} items; at most "
                f"{MAX_CARD_LIST} are allowed."
            )
        return [_plain_json(item, f"{path}[{i}]", depth + 1, count) for i, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > MAX_CARD_KEY:
                raise ValueError(
                    f"The model card's field names must be text of at most {MAX_CARD_KEY} "
                    f"characters; got {shown(key)}."
                )
            out[key] = _plain_json(item, f"{path}.{key}" if path else key, depth + 1, count)
        return out
    raise ValueError(f"The model card must be plain JSON; {path} is a {type(value).__name__}.")


def _check_card_schedule(params: dict) -> None:
    """The card's schedule section: a known family and every parameter within PARAMETERS."""
    family = params.get("family")
    if not isinstance(family, str) or family not in FAMILIES:
        raise ValueError(
            f"The model card's schedule family must be one of {', '.join(FAMILIES)}; got {shown(family)}."
        )
    for name, value in params.items():
        if name == "family":
            continue
        if name not in PARAMETERS:
            raise ValueError(f"The model card's schedule has an unknown parameter {shown(name)}.")
        try:
            PARAMETERS[name].check(value)
        except ValueError as err:
            raise ValueError(f"The model card's schedule is not valid: {err}") from None
    if family == "reducing":
        missing = [k for k in ("dims_to_keep", "inflation_gap") if params.get(k) is None]
        if missing:
            raise ValueError(
                f"The model card's reducing schedule lacks {' and '.join(missing)}; re-export "
                "the model with save_flow."
            )


def _read(path_or_bytes) -> bytes:
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        data = bytes(path_or_bytes)
    else:
        try:
            path = Path(path_or_bytes)
        except TypeError:
            raise ValueError(
                f"Pass a file path or the file's bytes; got {type(path_or_bytes).__name__}."
            ) from None
        if not path.is_file():
            raise ValueError(f"No model file at {shown(str(path), 120)}.")
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


_FOREIGN = (
    "This is not a .safetensors model saved by this app (the header is unreadable). "
    "Pickle/.pt files are never loaded; export the model with save_flow."
)
_TRUNCATED = "The model file is truncated or corrupted; download or copy it again."


def _parse_json(text: str, what: str):
    """json.loads with bounded nesting (deep nesting is a ValueError, not a RecursionError)."""
    try:
        value = json.loads(text)
    except (RecursionError, ValueError):
        raise ValueError(f"The model file's {what} is not valid JSON.") from None
    _check_depth(value, what)
    return value


def _check_depth(value, what: str) -> None:
    level = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return
    if any(isinstance(item, dict | list) for item in level):
        raise ValueError(f"The model file's {what} is nested more than {MAX_JSON_DEPTH} levels deep.")


def _header(data: bytes) -> tuple[dict[str, tuple[str, tuple[int, ...], int, int]], dict]:
    """Parse and check the safetensors header ourselves: 8-byte little-endian length, then JSON.

    Returns the tensor table (name -> dtype, shape, begin, end) and the inflow metadata. Every entry
    is checked: a float dtype, a shape of whole numbers, byte offsets that match the shape and tile
    the payload exactly, at most MAX_TENSORS entries.
    """
    if len(data) < 8:
        raise ValueError(_FOREIGN)
    (size,) = struct.unpack("<Q", data[:8])
    if size < 2 or (size > MAX_HEADER_BYTES and size > len(data) - 8):
        raise ValueError(_FOREIGN)
    if size > len(data) - 8:
        raise ValueError(
            "The model file is truncated (its header says it is longer than it is); download or "
            "copy it again."
        )
    if size > MAX_HEADER_BYTES:
        raise ValueError(
            f"The model file's header is {size // 1024} KB; an inflow model's is a few KB (at "
            f"most {MAX_HEADER_BYTES // 1024} KB). Keep the model card to a summary and save "
            "again."
        )
    try:
        text = data[8 : 8 + size].decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(_FOREIGN) from None
    try:
        header = _parse_json(text, "header")
    except ValueError:
        raise ValueError(_FOREIGN) from None
    if not isinstance(header, dict):
        raise ValueError(_FOREIGN)
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError("This .safetensors file is not an inflationary-flow model (no inflow metadata).")
    if not all(isinstance(v, str) for v in meta.values()):
        raise ValueError(
            "The model file's metadata must be text entries; re-export the model with save_flow."
        )
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise ValueError(
            f"Unknown model format version {shown(meta.get('format_version'))} (this app reads "
            f"version {FORMAT_VERSION}); update the app or re-export the model."
        )
    if len(header) > MAX_TENSORS:
        raise ValueError(
            f"The model file lists {len(header)} tensors; an inflow model has at most {MAX_TENSORS}."
        )
    entries = {name: _entry(name, spec) for name, spec in header.items()}
    position = 0
    for _, _, begin, end in sorted(entries.values(), key=lambda e: (e[2], e[3])):
        if begin != position:
            raise ValueError(_TRUNCATED)
        position = end
    if position != len(data) - 8 - size:
        raise ValueError(_TRUNCATED)
    return entries, meta


def _entry(name: str, spec) -> tuple[str, tuple[int, ...], int, int]:
    """One tensor entry of the header as (dtype, shape, begin, end), or ValueError."""
    bad = f"The model file's tensor {shown(name)} has a malformed entry; the file is corrupted."
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
        raise ValueError(bad)
    dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    whole = lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_BYTES  # noqa: E731
    if not (
        isinstance(shape, list)
        and len(shape) <= 4
        and all(map(whole, shape))
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(map(whole, offsets))
        and offsets[0] <= offsets[1]
    ):
        raise ValueError(bad)
    if dtype not in FLOAT_DTYPES:
        raise ValueError(
            f"The model file's tensor {shown(name)} is not a float tensor ({shown(dtype)}); the "
            "model is broken; retrain it."
        )
    if math.prod(shape) * FLOAT_DTYPES[dtype] != offsets[1] - offsets[0]:
        raise ValueError(bad)
    return dtype, tuple(shape), offsets[0], offsets[1]


def _check_entries(entries: dict, config: dict) -> None:
    """The tensor table must be exactly the one the configuration implies (names and shapes)."""
    dim = config["dim"]
    expected = {
        "basis.mean": (dim,),
        "basis.vectors": (dim, dim),
        "basis.eigenvalues": (dim,),
        "basis.offset": (dim,),
        "basis.scale": (dim,),
    }
    with torch.device("meta"):  # shapes only: nothing is allocated
        net = NetworkDenoiser(np.ones(dim), config["t_max"], config["width"], config["depth"])
    expected.update({f"net.{k}": tuple(v.shape) for k, v in net.state_dict().items()})
    if set(entries) != set(expected):
        extra, missing = sorted(set(entries) - set(expected)), sorted(set(expected) - set(entries))
        raise ValueError(
            f"The model's weights do not match its architecture (width {config['width']}, depth "
            f"{config['depth']}): missing {', '.join(shown(k) for k in missing[:3]) or 'none'}; "
            f"unexpected {', '.join(shown(k) for k in extra[:3]) or 'none'}."
        )
    for name, shape in expected.items():
        if entries[name][1] != shape:
            kind = "Basis array" if name.startswith("basis.") else "Weight"
            raise ValueError(
                f"{kind} {name!r} has shape {entries[name][1]}, expected {shape}: the model "
                "file is inconsistent with its own configuration; re-export it."
            )


def _json(meta: dict, key: str) -> dict:
    if not isinstance(meta.get(key), str):
        raise ValueError(f"The model file's {key!r} metadata is missing or not valid JSON.")
    value = _parse_json(meta[key], f"{key!r} metadata")
    if not isinstance(value, dict):
        raise ValueError(f"The model file's {key!r} metadata must be a JSON object.")
    return value


def _network_config(meta: dict) -> dict:
    """The network configuration, checked and reduced to the keys NetworkDenoiser.config() writes."""
    config = _json(meta, "network")
    if config.get("architecture") != ARCHITECTURE:
        raise ValueError(
            f"Unknown network architecture {shown(config.get('architecture'))}; this app knows "
            f"{ARCHITECTURE!r}."
        )
    if config.get("n_freq") != N_FREQ:
        raise ValueError(
            f"The model's time embedding has n_freq = {shown(config.get('n_freq'))}; the "
            f"{ARCHITECTURE} network of this app uses {N_FREQ}. Retrain the model here."
        )
    for key, upper in (("dim", MAX_DIM), ("width", MAX_WIDTH), ("depth", MAX_DEPTH)):
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= upper:
            raise ValueError(
                f"The model's network {key} must be a whole number from 1 to {upper}; got {shown(value)}."
            )
    t_max = config.get("t_max")
    if not (isinstance(t_max, int | float) and not isinstance(t_max, bool) and 0 < t_max < np.inf):
        raise ValueError(f"The model's t_max must be a positive number; got {shown(t_max)}.")
    return {
        "architecture": ARCHITECTURE,
        "dim": config["dim"],
        "width": config["width"],
        "depth": config["depth"],
        "t_max": float(t_max),
        "n_freq": N_FREQ,
    }


def _basis(tensors: dict, standardize: bool) -> EigenBasis:
    state = {k: tensors[f"basis.{k}"].to(torch.float64).numpy() for k in BASIS_KEYS}
    return EigenBasis.from_state(state, standardize)  # checks finiteness, positivity


def _network_state(tensors: dict) -> dict:
    """The network's weights (names and shapes already matched by ``_check_entries``), all finite."""
    found = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
    for key, value in found.items():
        if not torch.isfinite(value).all():
            raise ValueError(
                f"Weight {key!r} contains NaN or infinite values; the model is broken; retrain it."
            )
    return found
