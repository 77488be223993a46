"""Inspecting dimension reduction (issue 6): a reducing flow's latent and reconstructions, next to PCA and
UMAP, with neighbourhood-preservation scores and a suggested number of dimensions.

Conventions. A reducing flow keeps the top-d eigen-dimensions (``schedule.kept``); its *latent* is the
kept flow coordinates u(T). *Reconstruction through d dimensions* encodes, sets the compressed latent
coordinates to 0 (their prior mean, docs/MATH.md section 7: generation draws u(T) ~ N(0, diag(v(T)))) and
decodes. The PCA baseline with the same d projects on the top-d axes of the same eigenbasis (same
preprocessing), so the two differ only in what the flow does beyond the linear projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .basis import EigenBasis
from .flow import InflationaryFlow
from .metrics import energy_distance, participation_ratio, round_trip_error
from .validation import as_points, check_positive_int

# Explained-variance threshold for the second suggestion of d (the first is the participation ratio).
VARIANCE_THRESHOLD = 0.9


# ----------------------------------------------------------------------------- the flow's reduction
def kept_dims(flow: InflationaryFlow) -> np.ndarray:
    """Indices of the eigen-dimensions the flow's schedule keeps (all of them for isotropic flows)."""
    return np.flatnonzero(flow.schedule.kept)


def latent(flow: InflationaryFlow, X, **solver) -> np.ndarray:
    """Kept latent coordinates u(T) of the raw points X: (N, d)."""
    return flow.encode(X, **solver)[:, kept_dims(flow)]


def decode_kept(flow: InflationaryFlow, Z, **solver) -> np.ndarray:
    """Decode kept latent coordinates Z (N, d) to data, with the compressed coordinates at 0."""
    keep = kept_dims(flow)
    Z = as_points(Z, dim=len(keep), name="Z")
    U = np.zeros((len(Z), flow.dim))
    U[:, keep] = Z
    return flow.decode(U, **solver)


def reconstruct(flow: InflationaryFlow, X, **solver) -> np.ndarray:
    """Encode X, zero the compressed latent coordinates, decode: the data the d-dim latent remembers."""
    return decode_kept(flow, latent(flow, X, **solver), **solver)


# ----------------------------------------------------------------------------- PCA and UMAP baselines
def pca_embedding(basis: EigenBasis, X, d: int) -> np.ndarray:
    """Coordinates of X on the top-d principal axes of ``basis`` (unscaled eigen-coordinates): (N, d)."""
    d = check_positive_int(d, "d", maximum=basis.dim)
    return basis.to_eigen(X)[:, :d]


def pca_reconstruct(basis: EigenBasis, X, d: int) -> np.ndarray:
    """Project X on the top-d principal axes of ``basis`` and map back to data space."""
    Y = basis.to_eigen(X)
    d = check_positive_int(d, "d", maximum=basis.dim)
    Y[:, d:] = 0.0
    return basis.from_eigen(Y)


def umap_embedding(X, d: int = 2, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """UMAP embedding (N, d) of X. umap-learn is imported here: its first call compiles for tens of s."""
    import umap  # lazy: importing umap-learn (numba) takes seconds

    X = as_points(X, name="X")
    d = check_positive_int(d, "d", maximum=max(1, X.shape[0] - 2))
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors", minimum=2, maximum=len(X) - 1)
    reducer = umap.UMAP(
        n_components=d, n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed, n_jobs=1
    )  # a fixed random_state forces one thread in umap-learn anyway
    return np.asarray(reducer.fit_transform(X), dtype=np.float64)


# ----------------------------------------------------------------------------- scores
def rms_error(X, X_hat) -> float:
    """Root-mean-square coordinate error between X and its reconstruction (data units)."""
    A = as_points(X, name="X")
    B = as_points(X_hat, dim=A.shape[1], name="X_hat")
    if A.shape != B.shape:
        raise ValueError(f"rms_error compares equal shapes; got {A.shape} and {B.shape}.")
    return float(np.sqrt(np.mean((A - B) ** 2)))


def _check_k(k: int, n: int) -> int:
    # sklearn's trustworthiness needs k < n / 2 (its normalisation assumes it).
    return check_positive_int(k, "k", maximum=max(1, (n - 1) // 2))


def trustworthiness(X, E, k: int = 10) -> float:
    """How few of each point's k nearest neighbours in the embedding E are intruders from far away in X.

    1 = every embedding neighbour is also a near neighbour in data space (Venna & Kaski 2001).
    """
    from sklearn.manifold import trustworthiness as sk_trust

    X, E = as_points(X, name="X"), as_points(E, name="E")
    if len(X) != len(E):
        raise ValueError(f"X and E must have the same number of points; got {len(X)} and {len(E)}.")
    return float(sk_trust(X, E, n_neighbors=_check_k(k, len(X))))


def continuity(X, E, k: int = 10) -> float:
    """How few of each point's k data-space neighbours the embedding tears away: trustworthiness with
    the roles of X and E swapped."""
    return trustworthiness(E, X, k)


def knn_label_agreement(E, labels, k: int = 10) -> float:
    """Mean fraction of each point's k nearest embedding neighbours (itself excluded) with its label."""
    from sklearn.neighbors import NearestNeighbors

    E = as_points(E, name="E")
    labels = np.asarray(labels)
    if labels.shape != (len(E),):
        raise ValueError(f"labels must have one entry per point ({len(E)}); got shape {labels.shape}.")
    k = check_positive_int(k, "k", maximum=len(E) - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(E).kneighbors(E)
    # Drop each point itself (column 0 unless exact duplicates tie with it; then drop one copy of it).
    neighbours = np.array([[j for j in row if j != i][:k] for i, row in enumerate(idx)])
    return float(np.mean(labels[neighbours] == labels[:, None]))


@dataclass(frozen=True)
class Neighbourhood:
    """Neighbourhood preservation of one embedding (k nearest neighbours)."""

    trustworthiness: float
    continuity: float
    label_agreement: float | None
    k: int


def neighbourhood(X, E, labels=None, k: int = 10) -> Neighbourhood:
    """Trustworthiness, continuity and (with labels) k-NN label agreement of embedding E of X."""
    agreement = None if labels is None else knn_label_agreement(E, labels, k)
    return Neighbourhood(trustworthiness(X, E, k), continuity(X, E, k), agreement, k)


# ----------------------------------------------------------------------------- choosing d
@dataclass(frozen=True)
class DimensionSuggestion:
    """Two readings of the eigenvalue spectrum: the participation ratio and explained variance."""

    participation_ratio: float
    by_pr: int  # round(PR), clipped to 1..D-1: the suggestion
    by_variance: int  # fewest top dimensions explaining VARIANCE_THRESHOLD of the variance
    threshold: float

    def describe(self) -> str:
        return (
            f"participation ratio {self.participation_ratio:.1f} -> d = {self.by_pr}; "
            f"{self.threshold:.0%} of the variance needs d = {self.by_variance}"
        )


def suggest_dims(eigenvalues, threshold: float = VARIANCE_THRESHOLD) -> DimensionSuggestion:
    """Suggest how many dimensions to keep from the eigenvalue spectrum.

    The suggestion is the participation ratio (the paper's effective dimension, (sum lam)^2 / sum lam^2):
    k equal variances give k. Explained variance is given alongside; it asks for more dimensions on
    long-tailed spectra (90 % of the digits' pixel variance needs ~21 dims, their PR is ~13).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim != 1 or lam.size < 2 or np.any(lam < 0) or not np.all(np.isfinite(lam)):
        raise ValueError("suggest_dims needs a vector of at least 2 non-negative eigenvalues.")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold is a fraction in (0, 1]; got {threshold}.")
    lam = np.sort(lam)[::-1]
    pr = participation_ratio(lam)
    by_pr = int(np.clip(round(pr), 1, lam.size - 1))
    cumulative = np.cumsum(lam) / lam.sum()
    by_variance = int(min(np.searchsorted(cumulative, threshold - 1e-12) + 1, lam.size))
    return DimensionSuggestion(pr, by_pr, by_variance, threshold)


# ----------------------------------------------------------------------------- through the flow
@dataclass(frozen=True)
class VarianceProfile:
    """Per-eigen-dimension variance of flow coordinates over time, with measured and predicted PR."""

    times: np.ndarray  # (K,)
    variances: np.ndarray  # (K, D) measured
    predicted: np.ndarray  # (K, D) the schedule's marginal variance
    pr: np.ndarray  # (K,) measured participation ratio (of the per-dimension variances)
    predicted_pr: np.ndarray  # (K,)
    kept: np.ndarray  # (D,) bool


def variance_profile(flow: InflationaryFlow, X, n_frames: int = 20, **solver) -> VarianceProfile:
    """Inflate X and record each eigen-dimension's variance and the participation ratio at each frame."""
    traj = flow.trajectory(X, "inflate", n_frames=n_frames, **solver)
    variances = traj.states.var(axis=1, ddof=1)
    pr = np.array([participation_ratio(v) for v in variances])
    return VarianceProfile(
        traj.times,
        variances,
        flow.schedule.marginal_variance(traj.times),
        pr,
        np.asarray(flow.schedule.predicted_pr(traj.times)),
        flow.schedule.kept.copy(),
    )


def traversal(flow: InflationaryFlow, start, dim: int, span: float = 2.5, steps: int = 9) -> np.ndarray:
    """Kept latents (steps, d) along kept dimension ``dim``, -span..+span latent sd; others at ``start``."""
    keep = kept_dims(flow)
    start = np.asarray(start, dtype=np.float64).reshape(-1)
    if start.shape != (len(keep),):
        raise ValueError(f"start must have the {len(keep)} kept latent coordinates; got shape {start.shape}.")
    if not 0 <= dim < len(keep):
        raise ValueError(f"dim must index a kept dimension, 0..{len(keep) - 1}; got {dim}.")
    steps = check_positive_int(steps, "steps", minimum=2, maximum=50)
    sd = np.sqrt(flow.schedule.latent_variance()[keep[dim]])
    Z = np.repeat(start[None], steps, axis=0)
    Z[:, dim] = np.linspace(-span, span, steps) * sd
    return Z


# ----------------------------------------------------------------------------- images and splits
def as_images(X, height: int, width: int) -> np.ndarray:
    """Rows of X (N, h*w) as images (N, h, w), row-major (the layout of numpy and scikit-learn images)."""
    X = as_points(X, name="X")
    height = check_positive_int(height, "height")
    width = check_positive_int(width, "width")
    if height * width != X.shape[1]:
        raise ValueError(
            f"An image of {height} x {width} has {height * width} pixels, but the data has "
            f"{X.shape[1]} columns; choose a height and width whose product is {X.shape[1]}."
        )
    return X.reshape(len(X), height, width)


def image_shapes(dim: int) -> list[tuple[int, int]]:
    """The (height, width) pairs with height * width = dim and both >= 2, squarest first."""
    pairs = [(h, dim // h) for h in range(2, dim // 2 + 1) if dim % h == 0]
    return sorted(pairs, key=lambda hw: (abs(hw[0] - hw[1]), -hw[0]))


def holdout_split(n_total: int, n_train: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) row indices of a data set of n_total rows, where train is exactly the subset
    ``datasets.load(name, n=n_train, seed=seed)`` draws from a fixed table (the digits)."""
    n_train = check_positive_int(n_train, "n_train", maximum=n_total)
    train = (
        np.sort(np.random.default_rng(seed).choice(n_total, n_train, replace=False))
        if n_train < n_total
        else np.arange(n_total)
    )
    return train, np.setdiff1d(np.arange(n_total), train)


# ----------------------------------------------------------------------------- the bench / card report
def evaluate(
    flow: InflationaryFlow,
    X_train,
    X_test,
    labels_test=None,
    k: int = 10,
    pairs: int = 3,
    with_umap: bool = False,
    seed: int = 0,
    **solver,
) -> dict:
    """Figures of a reducing flow on held-out data, each next to its baseline (bench/digits.py, cards).

    Round trip; reconstruction RMS through the d-dim latent vs PCA with the same d (same basis);
    neighbourhood scores (k) of the flow's latent vs PCA (and UMAP) in data space; generation: energy
    distance of generated points to one half of X_test against the floor, the distance between the two
    halves (same sizes), with the Gaussian and the empirical prior (training latents' compressed coords).
    """
    X_train = as_points(X_train, name="X_train")
    X_test = as_points(X_test, dim=X_train.shape[1], name="X_test")
    d = len(kept_dims(flow))
    U = flow.encode(X_test, **solver)
    nfe_encode = flow.last_stats.nfe
    back = flow.decode(U, **solver)
    trip = round_trip_error(X_test, back)
    recon = decode_kept(flow, U[:, kept_dims(flow)], **solver)
    embeddings = {"flow": U[:, kept_dims(flow)], "pca": pca_embedding(flow.basis, X_test, d)}
    if with_umap:
        embeddings["umap"] = umap_embedding(X_test, d, seed=seed)
    scores = {name: neighbourhood(X_test, E, labels_test, k).__dict__ for name, E in embeddings.items()}
    half = len(X_test) // 2
    order = np.random.default_rng(seed).permutation(len(X_test))
    A, B = X_test[order[:half]], X_test[order[half : 2 * half]]
    generation = {"floor": energy_distance(A, B), "n": half, "pairs": pairs}
    for prior in ("gaussian", "empirical") if d < flow.dim else ("gaussian",):
        ref = X_train if prior == "empirical" else None
        values = [
            energy_distance(flow.sample(half, seed=seed + j, prior=prior, reference=ref, **solver), B)
            for j in range(pairs)
        ]
        generation[prior] = float(np.mean(values))
    return {
        "d": d,
        "n_test": len(X_test),
        "k": k,
        "round_trip": {
            "max_error": trip.max_abs,
            "mean_error": trip.mean_abs,
            "nfe_encode": nfe_encode,
            "nfe_decode": flow.last_stats.nfe,
        },
        "reconstruction_rms": {
            "flow": rms_error(X_test, recon),
            "pca": rms_error(X_test, pca_reconstruct(flow.basis, X_test, d)),
        },
        "neighbourhood": scores,
        "generation": generation,
    }
