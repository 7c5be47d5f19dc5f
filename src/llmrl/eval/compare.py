"""Compare methods across run directories: success at fixed frame budgets, frames to a success level.

Runs are grouped by algorithm + config without its seed, budget and where it was written,
so the seeds of one setting are aggregated. For each run, from its metrics.csv:

- success at budget B: the mean `success_rate` of its last `smooth` rows with frames <= B
  (training success is noisy per update); NaN when the run stopped before B;
- success at end: the same over its last `smooth` rows, whatever its frames (the only success
  of a run too short or too slow for the budgets, e.g. GLAM with a real LM on CPU);
- frames to threshold: the first frames at which the mean of a full window of `smooth` rows
  reaches `threshold` (0.5); NaN when it never does.

A group reports the mean and standard deviation over its seeds (and how many seeds reached
the threshold), and its frames: the mean over seeds of the last frames each run logged. A run
that logged no success yet (no episode ended, e.g. a few updates of a slow model) has no success
values and is left out of the plot, not an error. `evaluate_run` evaluates the latest
checkpoint of any BabyAI run (GLAM or a baseline) with its algorithm's evaluator (`llmrl.registry`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from llmrl.eval.episodes import EvalResult
from llmrl.eval.plots import PlotError, RunCurves, plot_learning_curves, read_run, run_algo, run_label
from llmrl.registry import ALGORITHMS, algorithm

# Keys that say where or how long a run went, not what it was: runs differing only in them are seeds
# of one setting (a staged experiment resumes each run with a larger total_frames).
_NOT_SETTINGS = {"seed", "out_dir", "name", "tensorboard", "checkpoint_every", "keep_checkpoints", "log_every",
                 "device", "total_frames"}
ALGOS = tuple(name for name, entry in ALGORITHMS.items() if entry.evaluate_ref is not None)


@dataclass
class GroupSummary:
    """One method/setting aggregated over its seeds."""

    label: str
    algo: str
    runs: list[str]
    final_frames: float  # mean over seeds of the last logged frames
    success_at: dict[int, tuple[float, float]] = field(default_factory=dict)  # budget -> (mean, std)
    final_success: tuple[float, float] = (math.nan, math.nan)  # (mean, std) of the success at each run's end
    frames_to_threshold: tuple[float, float] = (math.nan, math.nan)  # (mean, std) over the seeds that reached it
    reached: int = 0  # seeds that reached the threshold


def success_at_budget(run: RunCurves, budget: int, smooth: int = 5) -> float:
    """Mean success_rate of the last `smooth` rows with frames <= budget (NaN if the run ends before it)."""
    if last_frames(run) < budget:
        return math.nan
    frames, success = _curve(run)
    upto = success[frames <= budget]
    return float(np.mean(upto[-smooth:])) if upto.size else math.nan


def frames_to_threshold(run: RunCurves, threshold: float = 0.5, smooth: int = 5) -> float:
    """First frames where the mean of the last `smooth` success rows reaches `threshold` (NaN: never).

    The window must be full (all rows, for a run shorter than it): one early update ends only a
    dozen episodes, so a lucky first row alone would "reach" 0.5 on a task the untrained policy
    already solves ~40% of the time.
    """
    frames, success = _curve(run)
    window = min(smooth, len(success))
    for i in range(max(window - 1, 0), len(success)):  # no rows: no window, never reached
        if np.mean(success[i - window + 1 : i + 1]) >= threshold:
            return float(frames[i])
    return math.nan


def last_frames(run: RunCurves) -> float:
    """The last frames the run logged, whether or not that row has a success value (NaN: none)."""
    frames = run.columns.get("frames")
    if frames is None:
        raise PlotError(f"{run.path / 'metrics.csv'} has no 'frames' column")
    logged = frames[~np.isnan(frames)]
    return float(logged[-1]) if logged.size else math.nan


def _curve(run: RunCurves) -> tuple[np.ndarray, np.ndarray]:
    for column in ("frames", "success_rate"):
        if column not in run.columns:
            raise PlotError(f"{run.path / 'metrics.csv'} has no {column!r} column")
    keep = ~np.isnan(run.columns["frames"]) & ~np.isnan(run.columns["success_rate"])
    return run.columns["frames"][keep], run.columns["success_rate"][keep]


def group_key(run: RunCurves) -> tuple[str, str]:
    """(algo, settings): runs differing only in seed (or output place) share it."""
    algo = run_algo(run.path)
    settings = {k: v for k, v in run.config.items() if k.split(".")[-1] not in _NOT_SETTINGS}
    return algo, json.dumps(settings, sort_keys=True, default=str)


def compare_runs(
    run_dirs: Sequence[str | Path],
    budgets: Sequence[int] | None = None,
    *,
    threshold: float = 0.5,
    smooth: int = 5,
) -> tuple[list[GroupSummary], list[int]]:
    """Summaries per group and the budgets used (default: the shortest run's final frames and half of it)."""
    if not run_dirs:
        raise PlotError("give at least one run directory")
    if smooth < 1 or not 0 < threshold <= 1:
        raise ValueError(f"smooth must be >= 1 and threshold in (0, 1], got {smooth} and {threshold}")
    runs = [read_run(path) for path in run_dirs]
    for run in runs:
        if math.isnan(last_frames(run)):
            raise PlotError(f"{run.path / 'metrics.csv'} has no row with its frames logged")
    if budgets is None:
        common = int(min(last_frames(run) for run in runs))
        budgets = sorted({common // 2, common} - {0})
    if any(b <= 0 for b in budgets):
        raise ValueError(f"budgets must be positive frame counts, got {list(budgets)}")
    groups: dict[tuple[str, str], list[RunCurves]] = {}
    for run in runs:
        groups.setdefault(group_key(run), []).append(run)
    labels = _labels(groups)
    summaries = []
    for key, members in groups.items():
        reached = [f for f in (frames_to_threshold(r, threshold, smooth) for r in members) if not math.isnan(f)]
        summaries.append(GroupSummary(
            label=labels[key],
            algo=key[0],
            runs=[str(r.path) for r in members],
            final_frames=float(np.mean([last_frames(r) for r in members])),
            success_at={b: _mean_std([success_at_budget(r, b, smooth) for r in members]) for b in budgets},
            final_success=_mean_std([_final_success(r, smooth) for r in members]),
            frames_to_threshold=_mean_std(reached),
            reached=len(reached),
        ))
    return summaries, list(budgets)


def _final_success(run: RunCurves, smooth: int) -> float:
    """Mean success_rate of the run's last `smooth` rows that have one (NaN: none has)."""
    success = _curve(run)[1]
    return float(np.mean(success[-smooth:])) if success.size else math.nan


def _labels(groups: dict[tuple[str, str], list[RunCurves]]) -> dict[tuple[str, str], str]:
    """The algo, plus the run name (without timestamp, the plot's legend) when it says more than the algo."""
    labels = {}
    for (algo, settings), members in groups.items():
        name = run_label(members[0].path)
        labels[(algo, settings)] = algo if name == algo else f"{algo} ({name})"
    if len(set(labels.values())) < len(labels):  # same names too: number them
        labels = {key: f"{label} #{i}" for i, (key, label) in enumerate(labels.items(), 1)}
    return labels


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and std over seeds; NaN when there are none or one seed lacks the value (no partial means)."""
    if not values or any(math.isnan(v) for v in values):
        return math.nan, math.nan
    return float(np.mean(values)), float(np.std(values))


def _cell(mean: float, std: float, digits: int = 3) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if digits else f"{mean:,.0f} ± {std:,.0f}"


def table_rows(
    summaries: Sequence[GroupSummary], budgets: Sequence[int], threshold: float = 0.5
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison table (strings), shared by the markdown and the terminal table."""
    header = ["method", "seeds", "frames", *[f"success @ {b:,}" for b in budgets], "success at end",
              f"frames to {threshold:g}"]
    rows = []
    for s in summaries:
        to_threshold = _cell(*s.frames_to_threshold, digits=0) if s.reached else "never"
        if s.reached and s.reached < len(s.runs):
            to_threshold += f" ({s.reached}/{len(s.runs)} seeds)"
        rows.append([s.label, str(len(s.runs)), f"{s.final_frames:,.0f}",
                     *[_cell(*s.success_at[b]) for b in budgets], _cell(*s.final_success), to_threshold])
    return header, rows


def write_comparison(
    summaries: Sequence[GroupSummary], budgets: Sequence[int], out_dir: str | Path, *, threshold: float = 0.5,
    smooth: int = 5,
) -> tuple[Path, Path, Path]:
    """Write compare.md, compare.json and compare.png under `out_dir`.

    The plot's learning curves are trailing means over `smooth` rows.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Runs that logged no success (no episode ended yet) have no curve to draw.
    runs = [run for s in summaries for run in s.runs if _curve(read_run(run))[1].size]
    if not runs:
        raise PlotError("no run logged a success_rate yet (no episode ended): nothing to compare")
    unplotted = [s.label for s in summaries if not set(s.runs) & set(runs)]
    header, rows = table_rows(summaries, budgets, threshold)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    note = (f"\nSuccess: mean ± std over seeds of the mean training success_rate of the last logged rows "
            f"at or before each frame budget (n/a: a seed stopped before it) or at the run's end; "
            f"frames: the last frames logged (mean over seeds); frames to {threshold:g}: first frames where "
            f"it is reached.\n")
    if unplotted:
        note += f"Not in the plot (no episode ended, so no success logged): {', '.join(unplotted)}.\n"
    md = out_dir / "compare.md"
    md.write_text("\n".join(lines) + "\n" + note)
    js = out_dir / "compare.json"
    payload = {"budgets": list(budgets), "threshold": threshold,
               "groups": [{**asdict(s), "success_at": {str(b): v for b, v in s.success_at.items()}} for s in summaries]}
    js.write_text(json.dumps(_finite(payload), indent=2) + "\n")
    # One curve per group: by run name when names tell the groups apart, else by config.
    names = {run_label(Path(r)) for r in runs}
    by_name = len(names) == len(summaries) - len(unplotted)
    # The curves are smoothed as the table is (the trailing mean of `smooth` rows).
    png = plot_learning_curves(runs, out_dir / "compare.png", group_by="name" if by_name else None,
                               title="success rate vs frames", smooth=smooth)
    return md, js, png


def _finite(value: object) -> object:
    """NaN -> null (JSON has no NaN), recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def evaluate_run(run_dir: str | Path, *, episodes: int, seed: int = 0, overrides: Sequence[str] = (),
                 num_envs: int = 16) -> EvalResult:
    """Evaluate the latest checkpoint of a GLAM or baseline run on seeded episodes (actions sampled)."""
    algo = run_algo(run_dir)
    if algo not in ALGOS:
        raise ValueError(f"{run_dir} was written by algo {algo!r}; evaluable algos: {', '.join(ALGOS)}")
    return algorithm(algo).evaluate(run_dir, episodes=episodes, seed=seed, overrides=list(overrides),
                                    num_envs=num_envs)
