"""The explorer's pages, in menu order, each with the settings it keeps in the session.

Add a page by appending one ``PageSpec`` (see docs/ARCHITECTURE.md). ``settings`` are the page's own
defaults: the session model creates them once and the page edits them with ``state.bind(url_path, name)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inflow_core.training import TrainConfig

_TRAIN = TrainConfig()


@dataclass(frozen=True)
class PageSpec:
    """A page file, its menu title and icon, its URL name, a one-line summary for the home map, and the
    defaults of the settings it keeps across page switches."""

    path: str
    title: str
    icon: str
    url_path: str
    summary: str
    settings: dict = field(default_factory=dict)


PAGES: list[PageSpec] = [
    PageSpec(
        "pages/data.py",
        "Data",
        ":material/scatter_plot:",
        "data",
        "choose a built-in dataset, upload a CSV / NPY table or draw your own; see its shape and "
        "eigenvalue spectrum.",
        {
            "source": "builtin",
            "label_column": "",
            "three_d": True,
            # the Draw source: tool, class of the next stroke, points per lasso, the strokes drawn so far
            # ({"class": k, "points": [[x1, x2], ...]}) and the canvas version (one per consumed event)
            "tool": "lasso",
            "draw_class": 1,
            "density": 50,
            "strokes": [],
            "canvas": 0,
            "draw_error": None,
        },
    ),
    PageSpec(
        "pages/schedule.py",
        "Schedule",
        ":material/timeline:",
        "schedule",
        "pick how each dimension is inflated: keep all, keep the top d, or keep the variance ratios.",
    ),
    PageSpec(
        "pages/train.py",
        "Train / Load",
        ":material/model_training:",
        "train",
        "use the exact flow of the data, train a network in the background, or load a saved model.",
        {
            "seconds": int(_TRAIN.seconds),
            "steps": None,
            "device": "auto",
            "seed": _TRAIN.seed,
            "width": _TRAIN.width,
            "depth": _TRAIN.depth,
            "batch": _TRAIN.batch_size,
            "lr": _TRAIN.lr,
            "fresh": True,
            "shipped": None,
        },
    ),
    PageSpec(
        "pages/flow.py",
        "Flow",
        ":material/animation:",
        "flow",
        "watch the particles inflate into a Gaussian and collapse dimensions, or generate data back.",
        {
            "direction": "inflate",
            "particles": 1000,
            "frames": 60,
            "colour": "label",
            "prior": "gaussian",
            "three_d": True,
            "dims": [0, 1],
            "trails": 0,
            "blur": True,
        },
    ),
    PageSpec(
        "pages/uncertainty.py",
        "Uncertainty",
        ":material/blur_on:",
        "uncertainty",
        "carry error ellipses through the flow into the latent space, and latent regions back to data.",
        {
            "selected": None,
            "kind": "isotropic",
            "s1": None,
            "s2": None,
            "angle": 30.0,
            "level": 0.9,
            "samples": 200,
            "frames": 30,
            "c1": 0.0,
            "c2": 0.0,
            "radius": 2.0,
        },
    ),
    PageSpec(
        "pages/calibration.py",
        "Calibration",
        ":material/target:",
        "calibration",
        "check that latent credible regions keep their coverage through generation and the round trip.",
        {
            "choices": ["exact", "coarse"],
            "step": 0.5,
            "n_test": 2000,
            "n_boundary": 200,
            "ran_for": None,
            "sized_for": None,
        },
    ),
    PageSpec(
        "pages/inference.py",
        "Inference",
        ":material/query_stats:",
        "inference",
        "infer mixture weights from latent codes, and check the posterior's calibration by simulation.",
        {
            "w1": 0.5,
            "w2": 0.25,
            "w3": 0.25,
            "n": 2000,
            "noise": 0.0,
            "method": "gibbs",
            "simulated": None,
            "inferred": None,
            "replicates": 200,
            "sbc_n": 500,
            "solver": "dopri5",
            "euler_steps": 5,
            "sbc_for": "",
            "grid": 0,
            "density": None,
        },
    ),
    PageSpec(
        "pages/inspect.py",
        "Inspect",
        ":material/image_search:",
        "inspect",
        "see what a dimension-reducing flow kept on 64-D digits or your data, next to PCA and UMAP.",
        {
            "source": None,
            "n": 500,
            "k": 10,
            "is_image": None,
            "shape": None,
            "d": None,
            "walk_dim": 0,
            "span": 2.5,
            "prior": "empirical",
            "n_gen": 24,
            "selected": 0,
            "encoded": None,
            "umap": None,
            "generated": None,
            "profile": None,
        },
    ),
]


# Settings of the class lesson's banner, kept like a page's (it shows on every page while a lesson runs).
LESSON_SETTINGS = {"present": False}


def page_defaults() -> dict[str, dict]:
    """A fresh copy of every page's settings by URL name, and the lesson's under "lesson" (lists copied, so
    sessions never share one)."""
    groups = {p.url_path: p.settings for p in PAGES} | {"lesson": LESSON_SETTINGS}
    return {
        name: {k: list(v) if isinstance(v, list) else v for k, v in values.items()}
        for name, values in groups.items()
    }
