"""Test-wide settings: never reach a model hub; keep torch to one thread per worker."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

# pytest runs with -n 2 on a 2-core machine: more threads than cores slows torch 10x.
torch.set_num_threads(1)
