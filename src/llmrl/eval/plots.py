"""Learning curves from run directories (mean and band over seeds) and bar charts, as PNG."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

Band = Literal["minmax", "std", "none"]
_RUN_SUFFIX = re.compile(r"(-seed\d+)?-\d{8}-\d{6}(-\d+)?$")


def run_label(run_dir: Path) -> str:
    """A run directory's name without its timestamp and a `-seed<N>` before it: the label its seeds share."""
    return _RUN_SUFFIX.sub("", run_dir.name)


class PlotError(ValueError):
    """A run directory or column that cannot be plotted."""


@dataclass(frozen=True)
class RunCurves:
    """The metrics.csv columns of one run, as float arrays (empty cells are NaN)."""

    path: Path
    columns: dict[str, np.ndarray]
    config: dict[str, object]


def flatten_dict(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`: the dotted keys that overrides use."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(flatten_dict(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def run_algo(path: str | Path) -> str:
    """The algorithm that wrote a run directory (its run.json)."""
    meta = Path(path) / "run.json"
    if not meta.is_file():
        raise PlotError(f"{path} is not a run directory (no run.json); run directories are made by `llmrl train`")
    return json.loads(meta.read_text()).get("algo", "?")


def read_run(path: str | Path) -> RunCurves:
    """Read a run directory's metrics.csv (and its flattened config.yaml, if any)."""
    path = Path(path)
    metrics = path / "metrics.csv"
    if not path.is_dir():
        raise PlotError(f"run directory not found: {path}")
    if not metrics.is_file() or metrics.stat().st_size == 0:
        raise PlotError(
            f"{path} has no metrics yet (no {metrics.name}); is it a run directory that has logged an update?"
        )
    with metrics.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise PlotError(f"{metrics} has a header but no rows yet")
    columns = {key: np.array([_to_float(row[key]) for row in rows]) for key in rows[0]}
    config_file = path / "config.yaml"
    config = flatten_dict(yaml.safe_load(config_file.read_text()) or {}) if config_file.is_file() else {}
    return RunCurves(path, columns, config)


def group_runs(runs: Sequence[RunCurves], group_by: str | None = None) -> dict[str, list[RunCurves]]:
    """Group runs into labelled curves.

    `group_by=None`: runs whose configs differ only in keys named `seed` form one group,
    labelled by the config keys that differ between groups. `"name"`: runs with the same
    `run_label` (directory name without timestamp and seed suffix). Any other value is a dotted config key
    (e.g. `ppo.lr`): runs with the same value of it.
    """
    groups: dict[str, list[RunCurves]] = {}
    if group_by == "name":
        for run in runs:
            groups.setdefault(run_label(run.path), []).append(run)
        return groups
    if group_by is not None:
        for run in runs:
            if group_by not in run.config:
                keys = ", ".join(sorted(run.config)) or "(no config.yaml)"
                raise PlotError(f"--group-by {group_by!r} is not a config key of {run.path}; its keys: {keys}")
            groups.setdefault(f"{group_by}={run.config[group_by]}", []).append(run)
        return groups
    keyed: dict[str, list[RunCurves]] = {}
    for run in runs:
        keyed.setdefault(_identity(_without_seed(run.config)), []).append(run)
    if len(keyed) == 1:
        (members,) = keyed.values()
        return {run_label(members[0].path): members}
    configs = [_without_seed(members[0].config) for members in keyed.values()]
    keys = sorted({k for config in configs for k in config})
    varying = [k for k in keys if len({_identity(config.get(k)) for config in configs}) > 1]
    for config, members in zip(configs, keyed.values(), strict=True):
        groups[", ".join(f"{k}={config.get(k)}" for k in varying)] = members
    return groups


def _without_seed(config: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in config.items() if k.split(".")[-1] != "seed"}


def _identity(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def plot_learning_curves(
    run_dirs: Sequence[str | Path],
    out: str | Path | None = None,
    *,
    x: str = "frames",
    y: str = "success_rate",
    group_by: str | None = None,
    band: Band = "minmax",
    title: str | None = None,
    smooth: int = 1,
) -> Path:
    """Plot `y` against `x` for each group of runs: the mean over its seeds and a band; return the PNG path.

    Seeds of a group are interpolated onto the x values of its first run, up to the
    shortest run's end, before averaging. `band` is the min-max range or +-1 std over seeds.
    `smooth` > 1 first replaces each run's y by its trailing mean over that many rows
    (per-update training success is noisy).
    `out` defaults to `<run>/plots/<y>_vs_<x>.png` for one run, `plots/<y>_vs_<x>.png` otherwise.
    """
    if not run_dirs:
        raise PlotError("give at least one run directory")
    if band not in ("minmax", "std", "none"):
        raise PlotError(f"band must be 'minmax', 'std' or 'none', got {band!r}")
    if smooth < 1:
        raise PlotError(f"smooth must be a number of rows >= 1, got {smooth}")
    runs = [read_run(path) for path in run_dirs]
    for run in runs:
        for column in (x, y):
            if column not in run.columns:
                available = ", ".join(run.columns)
                raise PlotError(f"column {column!r} not in {run.path / 'metrics.csv'}; available: {available}")
    if out is None:
        name = f"{y}_vs_{x}.png"
        out = runs[0].path / "plots" / name if len(runs) == 1 else Path("plots") / name
    out = Path(out)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, members in group_runs(runs, group_by).items():
        grid, curves = _align(members, x, y, smooth)
        mean = np.nanmean(curves, axis=0)
        seeds = f" ({len(members)} seeds)" if len(members) > 1 else ""
        # Markers on short curves: a run of one or two updates (the demo) is otherwise invisible.
        marker = "o" if len(grid) <= 20 else None
        (line,) = ax.plot(grid, mean, marker=marker, label=f"{label}{seeds}")
        if len(members) > 1 and band != "none":
            if band == "minmax":
                low, high = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
            else:
                std = np.nanstd(curves, axis=0)
                low, high = mean - std, mean + std
            ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(x)
    ax.set_ylabel(y if smooth == 1 else f"{y} (trailing mean of {smooth} rows)")
    ax.set_title(title or f"{y} vs {x}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, out)


def plot_bars(values: Mapping[str, float], path: str | Path, title: str, *, ylabel: str = "") -> Path:
    """A bar chart of named values (e.g. success rate per achievement); return the PNG path."""
    if not values:
        raise PlotError("plot_bars needs at least one value")
    names = list(values)
    heights = [float(values[name]) for name in names]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.4 * len(names) + 2), 4.5))
    ax.bar(range(len(names)), heights)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize="small")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, Path(path))


def _align(members: list[RunCurves], x: str, y: str, smooth: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Put every run's y (trailing mean over `smooth` rows) on the first run's x grid.

    The grid is cut at the shortest run's last x.
    """
    series = []
    for run in members:
        keep = ~np.isnan(run.columns[x]) & ~np.isnan(run.columns[y])
        if not keep.any():
            raise PlotError(f"{run.path / 'metrics.csv'} has no rows with both {x!r} and {y!r} set")
        series.append((run.columns[x][keep], trailing_mean(run.columns[y][keep], smooth)))
    end = min(xs[-1] for xs, _ in series)
    grid = series[0][0][series[0][0] <= end]
    return grid, np.stack([np.interp(grid, xs, ys) for xs, ys in series])


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and the `window - 1` before it (fewer at the start)."""
    sums = np.cumsum(np.insert(values.astype(float), 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _save(fig: plt.Figure, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _to_float(cell: str) -> float:
    if cell in ("", None):
        return math.nan
    if cell in ("True", "False"):
        return float(cell == "True")
    try:
        return float(cell)
    except ValueError:
        return math.nan
