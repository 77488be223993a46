"""Core tests run torch on one intra-op thread, as the app does for its flows: on a shared 2-core machine
two threads spin-wait for each other whenever another process holds a core (measured on two flow tests
under load: 47 s of CPU with 2 threads, 13 s with 1)."""

import torch

torch.set_num_threads(1)
