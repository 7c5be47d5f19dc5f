"""Margins of the learning checks over seeds: untrained vs trained success on the checks' 200 episodes.

The learning checks (tests/glam/test_glam_learning.py, tests/baselines/test_baseline_learning.py)
train one seed of each `cpu-tiny` preset and require a gain of at least 0.3. This script trains
other seeds (and optional overrides) the same way, to see how much margin a preset leaves:

    python benchmarks/learning_margins.py glam --seeds 0,1,2 [key=value ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ALGOS = ("glam", "symbolic-ppo", "drrn", "npae", "bc")
EPISODES = 200


def gain(algo: str, seed: int, overrides: list[str]) -> tuple[float, float]:
    """(untrained, trained) success of one seed, evaluated as the learning checks do."""
    from llmrl.eval.compare import evaluate_run
    from llmrl.eval.glam_eval import evaluate_policy
    from llmrl.presets import resolve_config
    from llmrl.registry import algorithm
    from llmrl.runtime import load_config

    entry = algorithm(algo)
    with tempfile.TemporaryDirectory() as out:
        settings = [f"out_dir={out}", "tensorboard=false", f"seed={seed}", *overrides]
        cfg = load_config(entry.config, resolve_config(f"{algo}/cpu-tiny"), settings)
        if algo == "glam":
            from llmrl.train.lm_policies import build_policy, load_policy

            before = evaluate_policy(build_policy(cfg), cfg, episodes=EPISODES, seed=1, num_envs=25).success_rate
            run = entry.train(cfg)
            trained = load_policy(cfg, run.path)
            return before, evaluate_policy(trained, cfg, episodes=EPISODES, seed=1, num_envs=25).success_rate
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "baselines"))
        from test_baseline_learning import _untrained_success

        before = _untrained_success(algo, cfg)
        run = entry.train(cfg)
        return before, evaluate_run(run.path, episodes=EPISODES).success_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("algo", choices=ALGOS)
    parser.add_argument("overrides", nargs="*", help="key=value settings on top of the cpu-tiny preset")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds [0,1,2]")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    torch.set_num_threads(1)  # as under pytest -n 2 on 2 cores
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")),
                 platform.processor())
    rows = []
    print(f"{args.algo} cpu-tiny {' '.join(args.overrides)} | {model}")
    print("| seed | untrained | trained | gain | seconds |\n|---|---|---|---|---|")
    for seed in seeds:
        start = time.perf_counter()
        before, after = gain(args.algo, seed, args.overrides)
        rows.append({"seed": seed, "untrained": before, "trained": after, "gain": after - before,
                     "seconds": time.perf_counter() - start})
        seconds = rows[-1]["seconds"]
        print(f"| {seed} | {before:.3f} | {after:.3f} | {after - before:+.3f} | {seconds:.0f} |", flush=True)
    if args.json:
        print(json.dumps({"algo": args.algo, "overrides": args.overrides, "cpu": model, "torch": torch.__version__,
                          "min_gain": min(r["gain"] for r in rows), "rows": rows}))


if __name__ == "__main__":
    main()
