"""The learned denoiser's preconditioning (docs/MATH.md section 5) and call signature."""

import numpy as np
import pytest
import torch

import inflow_core as ic
from inflow_core.networks import NetworkDenoiser, preconditioning


def test_preconditioning_matches_math_md():
    lam = torch.tensor([2.0, 0.5, 1e-3], dtype=torch.float64)
    c = torch.tensor([1e-4, 0.5, 30.0], dtype=torch.float64)
    c_in, c_skip, c_out = preconditioning(lam, c)
    for i in range(3):
        sd, sn = lam[i].item(), c[i].item()
        assert c_in[i].item() == pytest.approx(1 / np.sqrt(sd + sn), rel=1e-14)
        assert c_skip[i].item() == pytest.approx(sd / (sd + sn), rel=1e-14)
        assert c_out[i].item() == pytest.approx(np.sqrt(sd * sn / (sd + sn)), rel=1e-14)


def test_preconditioned_input_and_target_have_unit_variance():
    # For data of variance sd and noise sn: Var(c_in y) = 1 and Var((y0 - c_skip y) / c_out) = 1, exactly.
    lam = torch.tensor([3.0, 0.2], dtype=torch.float64)
    c = torch.tensor([0.01, 40.0], dtype=torch.float64)
    c_in, c_skip, c_out = preconditioning(lam, c)
    torch.testing.assert_close(c_in**2 * (lam + c), torch.ones(2, dtype=torch.float64))
    target_var = ((1 - c_skip) ** 2 * lam + c_skip**2 * c) / c_out**2
    torch.testing.assert_close(target_var, torch.ones(2, dtype=torch.float64))


def test_untrained_network_is_the_gaussian_denoiser():
    # The output layer starts at zero, so Den = c_skip * y = lam / (lam + c) * y.
    lam = np.array([1.5, 0.3, 0.05])
    den = NetworkDenoiser(lam, t_max=10.0, width=32, depth=2).double()
    gauss = ic.GaussianDenoiser(lam)
    y = torch.randn(50, 3, dtype=torch.float64)
    noise = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    out = den(y, 2.5, noise)
    assert out.dtype == torch.float64 and out.shape == (50, 3)
    # Up to the float32 storage of the eigenvalues inside the network.
    torch.testing.assert_close(out, gauss(y, 2.5, noise), rtol=1e-7, atol=1e-12)


def test_call_signature_and_attributes():
    den = NetworkDenoiser(np.ones(4), t_max=5.0, width=16, depth=1)
    assert den.kind == "network" and den.exact is False and den.dim == 4
    torch.nn.init.normal_(den.net.out.weight)
    y = torch.randn(7, 4, dtype=torch.float64)
    noise = torch.full((4,), 0.5, dtype=torch.float64)
    out = den(y, 1.0, noise)  # float64 in, float64 out; the float32 network computes in between
    assert out.dtype == torch.float64 and torch.isfinite(out).all()
    # A per-sample time tensor (training) gives the same result as the float time (integration).
    batch_t = den(y, torch.full((7,), 1.0), noise)
    torch.testing.assert_close(out, batch_t)
    assert not torch.allclose(out, den(y, 4.0, noise))  # the time conditioning is used


def test_loss_at_initialisation_is_dimension_for_any_data():
    # With F = 0 the regression target has unit variance per dimension whatever the data (it depends
    # only on second moments), so the initial loss is D: a check of the loss weighting of docs/MATH.md 5.
    X, _ = ic.datasets.load("circles", n=20000, seed=1)
    basis = ic.EigenBasis.fit(X)
    den = NetworkDenoiser(basis.eigenvalues, t_max=10.0, width=16, depth=1)
    gen = torch.Generator().manual_seed(0)
    y0 = torch.as_tensor(basis.to_eigen(X), dtype=torch.float32)
    t = torch.rand(len(y0), generator=gen) * 10
    noise = 5e-4 * torch.exp(t)[:, None].expand(-1, 2)
    loss = den.loss(y0, torch.randn(y0.shape, generator=gen), t, noise)
    assert loss.item() == pytest.approx(2.0, rel=0.03)


@pytest.mark.parametrize("bad", [np.array([1.0, -1.0]), np.array([[1.0]]), np.array([np.nan])])
def test_bad_eigenvalues_rejected(bad):
    with pytest.raises(ValueError):
        NetworkDenoiser(bad, t_max=1.0)


def test_float64_network_runs_in_float32_for_loose_solves():
    """A loaded (float64) model lends a float32 copy to solves at tolerance >= 1e-5: Den within 1e-5 of
    float64 (relative to its size), the same flow within the tolerance; tight solves keep float64."""
    flow = ic.load_flow("assets/models/circles_isotropic.safetensors")
    den = flow.denoiser
    fast = den.for_tolerance(1e-5)
    assert fast.eigenvalues.dtype == torch.float32 and den.eigenvalues.dtype == torch.float64
    assert den.for_tolerance(1e-9) is den and fast.for_tolerance(1e-5) is fast
    X, _ = ic.datasets.load("circles", n=300, seed=3)
    y = torch.as_tensor(flow.basis.to_eigen(X))
    for t in (0.0, 3.0, 10.0):
        noise = torch.as_tensor(flow.schedule.noise(t))
        exact = den(y, t, noise)
        assert ((fast(y, t, noise) - exact).abs().max() / exact.abs().max()).item() < 1e-5
    U_fast = flow.encode(X[:100])  # default tolerance: the float32 copy
    U_exact = flow.encode(X[:100], rtol=1e-7, atol=1e-7)  # float64
    np.testing.assert_allclose(U_fast, U_exact, atol=1e-3)


def test_blocks_of_rows_give_the_same_denoiser():
    """Without gradients the network runs on blocks of CHUNK_ROWS rows: the same values as one block, for a
    shared time and for per-row times."""
    from inflow_core.networks import CHUNK_ROWS

    torch.manual_seed(0)
    den = NetworkDenoiser(np.array([2.0, 0.5]), t_max=5.0, width=16, depth=2)
    for p in den.net.out.parameters():  # a non-zero output layer, so F contributes
        torch.nn.init.normal_(p, std=0.3)
    y = torch.randn(2 * CHUNK_ROWS + 7, 2, dtype=torch.float64)
    noise = torch.tensor([0.3, 0.3], dtype=torch.float64)
    for t in (1.5, torch.rand(len(y), dtype=torch.float64) * 5.0):
        with torch.enable_grad():
            whole = den(y, t, noise).detach()
        with torch.no_grad():
            blocks = den(y, t, noise)
        torch.testing.assert_close(blocks, whole, rtol=1e-6, atol=1e-6)
