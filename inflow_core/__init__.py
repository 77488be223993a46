"""inflow_core: inflationary flows (de Albuquerque & Pearson, NeurIPS 2024) without any UI.

import inflow_core as ic
X, labels = ic.datasets.load("circles", n=2000, seed=0)
basis = ic.EigenBasis.fit(X)
sched = ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=1)
flow = ic.InflationaryFlow(basis, sched, ic.EmpiricalDenoiser(basis.to_eigen(X)))
U = flow.encode(X)
"""

from . import calibration, datasets, inference, likelihood, metrics, resources, uncertainty
from .basis import EigenBasis
from .checkpoints import load_flow, save_flow
from .denoisers import EmpiricalDenoiser, GaussianDenoiser
from .flow import InflationaryFlow, SolverError, SolverOptions, SolveStats, Trajectory
from .schedules import Schedule

__all__ = [
    "EigenBasis",
    "EmpiricalDenoiser",
    "GaussianDenoiser",
    "InflationaryFlow",
    "Schedule",
    "SolveStats",
    "SolverError",
    "SolverOptions",
    "Trajectory",
    "calibration",
    "datasets",
    "inference",
    "likelihood",
    "load_flow",
    "metrics",
    "resources",
    "save_flow",
    "uncertainty",
]
