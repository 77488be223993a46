"""Speed of one solve (issue 15): the Flow page's default animations, before and after, in the same run.

    python bench/flow_speed.py [--threads 1,2] [--repeats 5]

Jobs: 2,000 circles particles, 60 frames, inflate direction, through
* the exact empirical flow of the 2,000 reference points, isotropic and reducing-to-1 schedules, and
* the shipped learned models assets/models/circles_isotropic and circles_reducing.
"before" is the code as it was before issue 15, frozen below: the float64 kernel over every reference
(``w @ ref`` layout), the float64 network with one time embedding per row, and the solver on the flow
coordinates u. "after" is the library's default call, ``flow.trajectory(X, n_frames=60)``. Both at the
default solver settings (dopri5, tolerance 1e-5), timed alternately (median of ``repeats`` and range).
Accuracy: the largest latent (and frame) error against a float64 dopri5 solve at tolerance 1e-9, and the
round trip (decode the latents with the same code and solver, compare with the data).
Target: at most 0.5 s per animation, latent error no larger than before.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import inflow_core as ic  # noqa: E402
from inflow_core.flow import solve_ode  # noqa: E402
from inflow_core.networks import preconditioning  # noqa: E402

TARGET_S = 0.5


class BeforeEmpirical(torch.nn.Module):
    """EmpiricalDenoiser.forward as it was: every reference, float64, 1 MB blocks, ``softmax @ ref``."""

    def __init__(self, reference: np.ndarray):
        super().__init__()
        self.reference = torch.as_tensor(reference)
        self.dim = reference.shape[1]

    def forward(self, y, t, noise):
        ref = self.reference
        inv_sd = noise.rsqrt()
        ref_s = ref * inv_sd
        half_norm = 0.5 * (ref_s * ref_s).sum(dim=1)
        ref_s_t = ref_s.T.contiguous()
        ys_all = y * inv_sd
        chunk = max(1, 131_072 // ref.shape[0])
        out = torch.empty_like(y)
        for start in range(0, y.shape[0], chunk):
            logits = torch.addmm(half_norm, ys_all[start : start + chunk], ref_s_t, beta=-1)
            out[start : start + chunk] = torch.softmax(logits, dim=1) @ ref
        return out


class BeforeNetwork(torch.nn.Module):
    """NetworkDenoiser.forward as it was: float64, the time embedding computed for every row."""

    def __init__(self, network: torch.nn.Module):
        super().__init__()
        self.network = network
        self.dim = network.dim

    def forward(self, y, t, noise):
        den = self.network
        c_in, c_skip, c_out = preconditioning(den.eigenvalues, noise)
        s = torch.as_tensor(t, dtype=y.dtype).reshape(-1).expand(y.shape[0]) / den.t_max
        return c_skip * y + c_out * den.net(c_in * y, s)


def before_solve(flow: ic.InflationaryFlow, U: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, int]:
    """The solver on u with flow.field (unchanged since: schedule arrays converted at every call)."""
    nfe = 0

    def field(t, u):
        nonlocal nfe
        nfe += 1
        return flow.field(float(t), u)

    with torch.no_grad():
        states = solve_ode(field, flow.tensor(U), flow.tensor(times), flow.solver)
    return states.numpy(), nfe


def timed(fn, repeats: int) -> tuple[list[float], object]:
    walls, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - start)
    return walls, result


def measure(
    name: str,
    before_flow: ic.InflationaryFlow,
    after_flow: ic.InflationaryFlow,
    X: np.ndarray,
    reference: np.ndarray,
    repeats: int,
) -> None:
    times = np.linspace(0.0, after_flow.schedule.t_max, 60)
    U0 = after_flow.to_flow(X)
    before_solve(before_flow, U0[:50], times)  # warm-up: one-off allocations
    after_flow.trajectory(X[:50], n_frames=60)
    rows = {"before": ([], None), "after": ([], None)}
    for _ in range(repeats):  # alternate, so both see the same load
        for label, run in (
            ("before", lambda: before_solve(before_flow, U0, times)),
            ("after", lambda: after_flow.trajectory(X, n_frames=60)),
        ):
            walls, result = timed(run, 1)
            rows[label] = (rows[label][0] + walls, result)
    for label, (walls, result) in rows.items():
        if label == "before":
            states, nfe = result
            back, _ = before_solve(before_flow, states[-1], times[::-1].copy())
            round_trip = np.abs(before_flow.from_flow(back[-1]) - X).max()
        else:
            states, nfe = result.states, result.nfe
            round_trip = np.abs(after_flow.decode(states[-1]) - X).max()
        wall = np.median(walls)
        met = "met" if wall <= TARGET_S else "NOT met"
        verdict = "" if label == "before" else f"  <= {TARGET_S} s: {met}"
        print(
            f"{name:<22}{label:<8}{wall:>8.3f} [{min(walls):.3f}-{max(walls):.3f}]{nfe:>6d}"
            f"{np.abs(states[-1] - reference[-1]).max():>13.2e}{np.abs(states - reference).max():>12.2e}"
            f"{round_trip:>12.2e}{verdict}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="torch thread counts to measure, comma-separated")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    X, _ = ic.datasets.load("circles", n=2000, seed=0)
    basis = ic.EigenBasis.fit(X)
    Y = basis.to_eigen(X)
    jobs = []
    for family, schedule in (
        ("isotropic", ic.Schedule.isotropic(basis.eigenvalues)),
        ("reducing to 1", ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=1)),
    ):
        jobs.append(
            (
                f"empirical {family}",
                ic.InflationaryFlow(basis, schedule, BeforeEmpirical(Y)),
                ic.InflationaryFlow(basis, schedule, ic.EmpiricalDenoiser(Y)),
            )
        )
    for model in ("circles_isotropic", "circles_reducing"):
        flow = ic.load_flow(ROOT / "assets" / "models" / f"{model}.safetensors")
        jobs.append((f"learned {model[8:]}", flow.with_solver(), flow))
        jobs[-1][1].denoiser = BeforeNetwork(flow.denoiser)

    print(f"torch {torch.__version__}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at start")
    # The float64 reference: the current code at tolerance 1e-9 (which keeps the float64 kernel).
    references = [after.trajectory(X, n_frames=60, rtol=1e-9, atol=1e-9).states for _, _, after in jobs]
    for threads in (int(v) for v in args.threads.split(",")):
        torch.set_num_threads(threads)
        print(f"\n{threads} torch thread(s); 2,000 circles particles, 60 frames, inflate, dopri5 at 1e-5")
        print(
            f"{'job':<22}{'code':<8}{'wall s (median [range])':>24}{'NFE':>6}{'latent err':>13}"
            f"{'frame err':>12}{'round trip':>12}"
        )
        for (name, before_flow, after_flow), reference in zip(jobs, references, strict=True):
            measure(name, before_flow, after_flow, X, reference, args.repeats)
    print(f"\nload average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at end")


if __name__ == "__main__":
    main()
