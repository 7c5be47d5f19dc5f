"""Start N local ranks the way torchrun does (RANK, WORLD_SIZE, ... on 127.0.0.1), without its agent.

Launching the ranks directly lets a test watch each rank on its own (torchrun would kill the
survivors as soon as one rank fails, which is what the dead-rank test must not rely on).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from llmrl.runtime.distributed import free_loopback_port

WORKER = Path(__file__).with_name("distributed_worker.py")
WALL_LIMIT_S = 90  # a hang guard, not a speed target: a hung rank fails the test instead of the suite


def rank_env(rank: int, world_size: int, port: int) -> dict[str, str]:
    """torchrun's variables for `rank` of a single-node job on 127.0.0.1."""
    return {**os.environ, "RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_RANK": str(rank),
            "LOCAL_WORLD_SIZE": str(world_size), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
            "OMP_NUM_THREADS": "1"}


def worker(*args: str) -> list[str]:
    """The command of one rank of `distributed_worker.py`."""
    return [sys.executable, str(WORKER), *args]


def launch(command: list[str], world_size: int = 2) -> list[subprocess.CompletedProcess]:
    """Run `command` as `world_size` ranks on 127.0.0.1; return each rank's result, in rank order."""
    port = free_loopback_port()
    procs = [subprocess.Popen(command, env=rank_env(r, world_size, port),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(world_size)]
    results = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=WALL_LIMIT_S)
        except subprocess.TimeoutExpired:
            for p in procs:  # only the processes this launch started
                p.kill()
            raise
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return results
