"""Shared fixtures for the core tests."""

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread: on the shared 2-core machine, small float64 solves are several
    times faster than with two threads that wait on each other (measured 2.7 s against 12.8 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
