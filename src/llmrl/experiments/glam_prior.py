"""The GLAM prior experiment: does a pretrained LM, grounded by PPO, learn GoTo faster than agents without it?

    python -m llmrl.experiments.glam_prior run --frames 20480 --root runs/glam-prior --stage-frames 4096
    python -m llmrl.experiments.glam_prior summarize --root runs/glam-prior

Every method trains on one task (BabyAIText-GoTo-v0, a 5x5 room, one distractor), 3 seeds each,
to the same frame budget (`llmrl.experiments.staged`: resumable, all methods advance stage by
stage). Methods (`METHODS`):

- glam-smollm2: the embedded SmolLM2-135M-Instruct through LoRA on its top 4 layers, the
  `glam/cpu-demo` settings (GLAM prompt, mean-normalized scores, history 2, 16 envs x 16 steps);
- npae-smollm2: SmolLM2-135M's architecture with random weights, trained whole (GLAM's NPAE
  baseline); lr 1e-4, since the tiny preset's 3e-3 suits a 2-layer body, not 30 layers;
- glam-tiny: GLAM on the tiny random LM (`glam/cpu-tiny`);
- symbolic-ppo and drrn: the baselines' `cpu-tiny` presets.

`summarize` writes `<root>/compare/compare.{md,json,png}` (`llmrl compare`: training success at
budgets, frames to 0.5) over each job's run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from llmrl.eval.compare import compare_runs, write_comparison
from llmrl.experiments.staged import Job, run_dir_of, run_staged

TASK = ("env_id=BabyAIText-GoTo-v0", "room_size=5", "num_dists=1")
# name -> (trainer, arguments of a new run besides the task and seed)
METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "glam-smollm2": ("glam", ("--config", "glam/cpu-demo", "checkpoint_every=1024")),
    "glam-tiny": ("glam", ("--config", "glam/cpu-tiny")),
    "symbolic-ppo": ("symbolic-ppo", ("--config", "symbolic-ppo/cpu-tiny")),
    "drrn": ("drrn", ("--config", "drrn/cpu-tiny")),
    "npae-smollm2": ("npae", ("--config", "npae/cpu-tiny", "model=smollm2-135m", "lr=1e-4",
                              "checkpoint_every=512")),
}


def jobs(methods: list[str], seeds: int) -> list[Job]:
    """One run per (method, seed), named `<method>-seed<seed>`, in `METHODS` order (the slowest last)."""
    return [Job(METHODS[m][0], f"{m}-seed{seed}", (*METHODS[m][1], *TASK, f"seed={seed}"))
            for m in METHODS if m in methods for seed in range(seeds)]


def summarize(root: Path, methods: list[str], seeds: int, budgets: list[int]) -> str:
    """Compare the runs started so far (`llmrl compare`); returns compare.md's text."""
    runs = [run for job in jobs(methods, seeds) if (run := run_dir_of(root, job.algo, job.name)) is not None
            and (run / "metrics.csv").is_file()]
    if not runs:
        raise FileNotFoundError(f"no run of this experiment with metrics under {root}")
    summaries, used = compare_runs(runs, budgets)
    md, _, png = write_comparison(summaries, used, root / "compare")
    return md.read_text() + f"\nPlot: {png}"


def main(argv: list[str] | None = None) -> None:
    """Command line of the experiment (see the module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("run", "summarize"))
    parser.add_argument("--root", type=Path, default=Path("runs/glam-prior"))
    parser.add_argument("--frames", type=int, default=20_480, help="frames per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, of {tuple(METHODS)}")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (one core each)")
    parser.add_argument("--stage-frames", type=int, default=None,
                        help="bring every run to this many frames, then to twice as many, ... up to --frames")
    parser.add_argument("--budgets", default="4096,10240,20480", help="comma-separated frame budgets of the table")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    try:
        budgets = [int(b) for b in args.budgets.split(",") if b]
    except ValueError:
        parser.error(f"--budgets must be comma-separated frame counts, got {args.budgets!r}")
    if unknown or not methods or min(args.frames, args.seeds, args.jobs, args.stage_frames or 1, *budgets) < 1:
        parser.error(f"need methods among {tuple(METHODS)} (unknown: {unknown}), and frames, seeds, jobs, "
                     "stage frames and budgets >= 1")
    if args.action == "run":
        run_staged(jobs(methods, args.seeds), args.frames, args.root, stage_frames=args.stage_frames,
                   processes=args.jobs, settings=["keep_checkpoints=1"])
    print(summarize(args.root, methods, args.seeds, budgets))


if __name__ == "__main__":
    main()
