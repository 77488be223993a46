"""The explorer's pages, in menu order. Add a page by appending one ``PageSpec`` (see ``explorer``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """A page file, its menu title and icon, its URL name and a one-line summary for the home map."""

    path: str
    title: str
    icon: str
    url_path: str
    summary: str


PAGES: list[PageSpec] = [
    PageSpec("pages/data.py", "Data", ":material/scatter_plot:", "data",
             "choose a built-in dataset or upload a CSV / NPY table; see its shape and eigenvalue spectrum."),
    PageSpec("pages/schedule.py", "Schedule", ":material/timeline:", "schedule",
             "pick how each dimension is inflated: keep all, keep the top d, or keep the variance ratios."),
    PageSpec("pages/train.py", "Train / Load", ":material/model_training:", "train",
             "use the exact flow of the data, train a network in the background, or load a saved model."),
    PageSpec("pages/flow.py", "Flow", ":material/animation:", "flow",
             "watch the particles inflate into a Gaussian and collapse dimensions, or generate data back."),
    PageSpec("pages/uncertainty.py", "Uncertainty", ":material/blur_on:", "uncertainty",
             "carry error ellipses through the flow into the latent space, and latent regions back to data."),
    PageSpec("pages/calibration.py", "Calibration", ":material/target:", "calibration",
             "check that latent credible regions keep their coverage through generation and the round trip."),
    PageSpec("pages/inspect.py", "Inspect", ":material/image_search:", "inspect",
             "see what a dimension-reducing flow kept on 64-D digits or your data, next to PCA and UMAP."),
]
