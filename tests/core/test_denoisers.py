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


# --------------------------------------------------------------------------- pruning and the float32 kernel
def circles_reference():
    import inflow_core as ic

    X, _ = ic.datasets.load("circles", n=2000, seed=0)
    return ic.EigenBasis.fit(X).to_eigen(X)


@pytest.mark.parametrize("noise", [[5e-4, 5e-4], [5e-4, 10.0], [10.0, 5e-4], [2e-3, 0.05]])
def test_pruning_changes_the_empirical_denoiser_by_rounding_only(noise):
    """Small noise on at least one axis: the result matches the textbook formula over all references for
    queries on, near and far from them, and for queries near them the kernel visits under half of them."""
    from inflow_core.denoisers import _plan

    ref = circles_reference()
    rng = np.random.default_rng(3)
    c = np.array(noise)
    y = np.concatenate(
        [
            ref[:300],
            ref[:300] + rng.standard_normal((300, 2)) * np.sqrt(c),
            rng.uniform(-3, 3, (100, 2)),
            [[8.0, -8.0]],
        ]
    )
    den = EmpiricalDenoiser(ref)
    out = den(torch.as_tensor(y), 0.0, torch.as_tensor(c)).numpy()
    np.testing.assert_allclose(out, brute_force_empirical(y, ref, c), rtol=1e-9, atol=1e-11)
    k = int(np.argmax(np.ptp(ref, axis=0) / np.sqrt(c)))
    inv_sd = torch.as_tensor(c).rsqrt()
    ref_sorted = den._sorted_by(k, torch.float64)
    plan = _plan(
        torch.as_tensor(y[:600]) * inv_sd,
        ref_sorted * inv_sd,
        k,
        den.block_entries,
        torch.finfo(torch.float64).eps,
    )
    pairs = sum((hi - lo) * plan.rows for lo, hi in zip(plan.lo, plan.hi, strict=True))
    visited = pairs / (600 * len(ref))
    assert plan.order is not None and visited < 0.5


def test_the_pruned_denoiser_has_the_same_gradient():
    """The uncertainty and likelihood code differentiate the field: pruning must not change that."""
    rng = np.random.default_rng(4)
    ref = rng.standard_normal((400, 2)) * [1.0, 0.5]
    c = torch.tensor([1e-3, 2e-3], dtype=torch.float64)
    y = torch.as_tensor(ref[:20] + 0.02 * rng.standard_normal((20, 2))).requires_grad_(True)
    den = EmpiricalDenoiser(ref)
    grad = torch.autograd.grad(den(y, 0.0, c)[:, 0].sum(), y)[0]

    def textbook(yy):
        logw = -0.5 * (((yy[:, None, :] - torch.as_tensor(ref)[None]) ** 2) / c).sum(-1)
        return torch.softmax(logw, dim=1) @ torch.as_tensor(ref)

    expected = torch.autograd.grad(textbook(y)[:, 0].sum(), y)[0]
    torch.testing.assert_close(grad, expected, rtol=1e-8, atol=1e-10)


def test_float32_kernel_stays_within_a_few_millionths_of_float64():
    """Along the circles flow's noise levels, queries on and between the references: the float32 kernel
    (float32 weights everywhere; float32 logits where their bound allows it, float64 logits elsewhere)
    stays within 1e-5 of float64 in data units."""
    ref = circles_reference()
    rng = np.random.default_rng(5)
    den64 = EmpiricalDenoiser(ref, kernel_dtype=torch.float64)
    den32 = EmpiricalDenoiser(ref, kernel_dtype=torch.float32)
    used = 0
    for c0, c1 in [(5e-4, 5e-4), (0.05, 0.05), (1.0, 1.0), (100.0, 100.0), (10.0, 5e-4), (1e3, 5e-4)]:
        c = torch.tensor([c0, c1], dtype=torch.float64)
        y = torch.as_tensor(ref[::4] + rng.standard_normal((500, 2)) * np.sqrt([c0, c1]))
        diff = (den32(y, 0.0, c) - den64(y, 0.0, c)).abs().max().item()
        assert diff < 1e-5, (c0, c1, diff)
        used += diff > 0
    assert used == 6  # the float32 weights ran at every noise level


def test_float32_kernel_is_chosen_by_the_solver_tolerance():
    ref = circles_reference()[:50]
    den = EmpiricalDenoiser(ref)
    assert den.for_tolerance(1e-5).kernel_dtype == torch.float32
    assert den.for_tolerance(1e-9) is den
    assert den.kernel_dtype is None and den.for_tolerance(1e-5).reference is den.reference
    exact = EmpiricalDenoiser(ref, kernel_dtype=torch.float64)
    assert exact.for_tolerance(1e-3) is exact
    with pytest.raises(ValueError, match="kernel_dtype"):
        EmpiricalDenoiser(ref, kernel_dtype=torch.float16)
