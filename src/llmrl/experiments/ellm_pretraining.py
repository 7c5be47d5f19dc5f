"""The ELLM CPU experiment (preset `ellm/cpu-experiment`): seeds x methods of pretraining, a table and a plot.

    python -m llmrl.experiments.ellm_pretraining run --frames 200000 --root runs/ellm-experiment
    python -m llmrl.experiments.ellm_pretraining summarize --root runs/ellm-experiment

`run` trains every (method, seed) with `llmrl train ellm` in subprocesses (`--jobs` at a
time, one torch thread each), skipping pairs already finished and resuming interrupted ones,
then summarizes. With `--stage-frames S` every run first goes to S frames, then all to 2S,
and so on up to `--frames`: an experiment stopped early (it takes CPU-days) leaves every
method at the same budget, and a later `run` continues it. `summarize` prints a Markdown table
of the last logged achievements per episode and Crafter score (mean +- std over seeds, with the
frames each run reached) and plots achievements per episode against frames
(`<root>/achievements_per_episode.png`).
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

import yaml

from llmrl.eval.plots import plot_learning_curves
from llmrl.experiments.staged import Job, last_row, run_staged
from llmrl.presets import resolve_config

METHODS = ("ellm", "oracle", "novelty", "rnd", "none")
CONFIG = resolve_config("ellm/cpu-experiment")


def jobs(methods: list[str], seeds: int, config: Path) -> list[Job]:
    """One `llmrl train ellm` run per (method, seed), named `<method>-seed<seed>`."""
    return [Job("ellm", f"{method}-seed{seed}", ("--config", str(config), "--intrinsic", method, f"seed={seed}"))
            for method in methods for seed in range(seeds)]


def summarize(root: Path, at_most: int | None = None) -> str:
    """Markdown table (one row per method) and the learning-curve plot of the runs under `root`.

    `at_most`: read each run at its last row within that many frames, so that runs stopped
    at different points are compared at one budget.
    """
    runs = sorted(p for p in (root / "ellm").glob("*-seed*-*") if (p / "metrics.csv").is_file())
    if not runs:
        raise FileNotFoundError(f"no ELLM runs with metrics under {root / 'ellm'}")
    by_method: dict[str, list[dict[str, str]]] = {}
    for run in runs:
        method = yaml.safe_load((run / "config.yaml").read_text())["intrinsic"]
        row = last_row(run, at_most)
        if row:
            by_method.setdefault(method, []).append(row)
    if not by_method:
        raise FileNotFoundError(f"no ELLM run under {root / 'ellm'} logged a row within {at_most} frames")
    lines = ["| method | seeds | frames reached | achievements / episode | Crafter score |", "|---|---|---|---|---|"]
    for method in sorted(by_method, key=lambda m: METHODS.index(m) if m in METHODS else len(METHODS)):
        rows = by_method[method]
        frames = [int(r["frames"]) for r in rows]
        reached = f"{min(frames):,}" if min(frames) == max(frames) else f"{min(frames):,}-{max(frames):,}"
        lines.append(f"| {method} | {len(rows)} | {reached} | {_mean_std(rows, 'achievements_per_episode')} "
                     f"| {_mean_std(rows, 'crafter_score')} |")
    plot = plot_learning_curves(runs, root / "achievements_per_episode.png", x="frames",
                                y="achievements_per_episode", group_by="intrinsic")
    return "\n".join(lines) + f"\n\nPlot: {plot}"


def _mean_std(rows: list[dict[str, str]], key: str) -> str:
    values = [float(r[key]) for r in rows if r.get(key) not in (None, "")]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "n/a"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {spread:.2f}"


def main(argv: list[str] | None = None) -> None:
    """Command line of the experiment (see the module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("run", "summarize"))
    parser.add_argument("--root", type=Path, default=Path("runs/ellm-experiment"))
    parser.add_argument("--frames", type=int, default=200_000, help="frames per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, of {METHODS}")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one core each)")
    parser.add_argument("--at-most", type=int, default=None,
                        help="summarize each run at its last row within this many frames (one budget for all)")
    parser.add_argument("--stage-frames", type=int, default=None,
                        help="bring every run to this many frames, then to twice as many, ... up to --frames")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or min(args.frames, args.seeds, args.jobs, args.stage_frames or 1) < 1:
        parser.error(f"need methods among {METHODS} (unknown: {unknown}), frames, seeds, jobs and stage frames >= 1")
    if args.action == "run":
        # One checkpoint kept: a full replay is over a gigabyte, and 15 runs share one disk.
        run_staged(jobs(methods, args.seeds, args.config), args.frames, args.root, stage_frames=args.stage_frames,
                   processes=args.jobs, settings=["torch_threads=1", "keep_checkpoints=1"])
    print(summarize(args.root, args.at_most))


if __name__ == "__main__":
    main()
