"""Exact denoisers against their definitions (docs/MATH.md section 5)."""

import numpy as np
import pytest
import torch

from inflow_core import EmpiricalDenoiser, GaussianDenoiser


def brute_force_empirical(y, ref, c):
    """The textbook formula, in float64 with an explicit log-sum-exp."""
    d2 = (((y[:, None, :] - ref[None, :, :]) ** 2) / c).sum(-1)
    logw = -0.5 * d2
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    return (w / w.sum(axis=1, keepdims=True)) @ ref


def test_gaussian_denoiser_is_the_posterior_mean():
    lam = np.array([2.0, 0.5])
    den = GaussianDenoiser(lam)
    y = torch.tensor([[1.0, -2.0], [0.5, 0.25]], dtype=torch.float64)
    noise = torch.tensor([1.0, 0.5], dtype=torch.float64)
    expected = y.numpy() * lam / (lam + noise.numpy())
    np.testing.assert_allclose(den(y, 0.3, noise).numpy(), expected)


@pytest.mark.parametrize("c", [1e-4, 5e-4, 0.1, 10.0, 1e4])
def test_empirical_denoiser_matches_brute_force_at_every_noise_level(c):
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((300, 3)) * [2.0, 1.0, 0.3]
    y = ref[:50] + rng.standard_normal((50, 3)) * np.sqrt(c)
    noise = np.array([c, 2 * c, 0.5 * c])
    den = EmpiricalDenoiser(ref, block_entries=1000)  # force many chunks
    out = den(torch.as_tensor(y), 0.0, torch.as_tensor(noise)).numpy()
    np.testing.assert_allclose(out, brute_force_empirical(y, ref, noise), rtol=1e-9, atol=1e-10)


def test_empirical_denoiser_limits():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((100, 2))
    den = EmpiricalDenoiser(ref)
    y = torch.as_tensor(ref[:10] + 1e-3)
    tiny = den(y, 0.0, torch.full((2,), 1e-8, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(tiny, ref[:10], atol=1e-12)  # snaps to the nearest reference
    huge = den(y, 0.0, torch.full((2,), 1e8, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(huge, np.broadcast_to(ref.mean(0), (10, 2)), atol=1e-6)  # the mean


def test_empirical_denoiser_is_stable_in_float32_at_small_noise():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((500, 2)) * 3
    y = ref[:20] + 0.01
    noise = np.array([5e-4, 5e-4])
    den = EmpiricalDenoiser(ref).to(torch.float32)
    out = den(torch.as_tensor(y, dtype=torch.float32), 0.0, torch.as_tensor(noise, dtype=torch.float32))
    assert torch.isfinite(out).all()
    np.testing.assert_allclose(out.double().numpy(), brute_force_empirical(y, ref, noise), atol=1e-4)


def test_denoisers_reject_bad_inputs():
    with pytest.raises(ValueError, match="positive"):
        GaussianDenoiser(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="NaN"):
        EmpiricalDenoiser(np.array([[1.0, np.nan], [0.0, 1.0]]))
