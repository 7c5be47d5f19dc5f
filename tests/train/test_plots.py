"""Learning-curve and bar plots from fake run directories, and the `llmrl plot` command."""

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmrl.cli import run_commands  # noqa: F401  (registers `plot`)
from llmrl.cli.app import app
from llmrl.eval.plots import PlotError, group_runs, plot_bars, plot_learning_curves, read_run
from llmrl.runtime.run_dir import RunDir


@dataclass
class Cfg:
    seed: int = 1
    lr: float = 0.1


def fake_run(root: Path, name: str, cfg: Cfg, n: int = 5, columns=("frames", "success_rate")) -> Path:
    run = RunDir.create(root=root, algo="glam", name=name, config=cfg)
    with run.metrics_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", *columns])
        for i in range(n):
            writer.writerow([i, *(i * 100 if c == "frames" else i / n * cfg.seed for c in columns)])
    return run.path


def png_ok(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"


def test_groups_seeds_and_plots(tmp_path):
    a = fake_run(tmp_path, "demo", Cfg(seed=1))
    b = fake_run(tmp_path, "demo", Cfg(seed=2), n=4)
    c = fake_run(tmp_path, "other", Cfg(seed=1, lr=0.5))
    runs = [read_run(p) for p in (a, b, c)]
    groups = group_runs(runs)
    assert {label: len(members) for label, members in groups.items()} == {"lr=0.1": 2, "lr=0.5": 1}
    assert sorted(group_runs(runs, "name")) == ["demo", "other"]
    assert sorted(group_runs(runs, "seed")) == ["seed=1", "seed=2"]
    out = plot_learning_curves([a, b, c], tmp_path / "curves.png", band="std")
    assert png_ok(out)
    assert png_ok(plot_learning_curves([a]))  # default path inside the run
    assert (a / "plots" / "success_rate_vs_frames.png").is_file()


def test_clear_errors(tmp_path):
    a = fake_run(tmp_path, "demo", Cfg())
    empty = RunDir.create(root=tmp_path, algo="glam", name="empty").path
    with pytest.raises(PlotError, match=r"has no metrics yet"):
        plot_learning_curves([a, empty], tmp_path / "x.png")
    with pytest.raises(PlotError, match=r"column 'return' not in .*metrics.csv; available: step, frames, success_rate"):
        plot_learning_curves([a], tmp_path / "x.png", y="return")
    with pytest.raises(PlotError, match=r"--group-by 'ppo.lr' is not a config key .* its keys: lr, seed"):
        plot_learning_curves([a], tmp_path / "x.png", group_by="ppo.lr")
    with pytest.raises(PlotError, match="run directory not found"):
        read_run(tmp_path / "nope")


def test_bars(tmp_path):
    out = plot_bars({"collect_wood": 0.9, "place_table": 0.4, "eat_cow": 0.1}, tmp_path / "bars.png", "achievements")
    assert png_ok(out)
    with pytest.raises(PlotError, match="at least one value"):
        plot_bars({}, tmp_path / "none.png", "empty")


def test_cli_plot(tmp_path):
    a = fake_run(tmp_path, "demo", Cfg())
    out = tmp_path / "cli.png"
    result = CliRunner().invoke(app, ["plot", str(a), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out) and png_ok(out)
    result = CliRunner().invoke(app, ["plot", str(a), "--y", "missing"])
    assert result.exit_code == 1
    assert "error: column 'missing' not in" in result.output


def test_trailing_mean_smooths_each_run():
    import numpy as np

    from llmrl.eval.plots import trailing_mean

    values = np.array([0.0, 1.0, 0.0, 1.0, 4.0])
    np.testing.assert_allclose(trailing_mean(values, 2), [0.0, 0.5, 0.5, 0.5, 2.5])
    np.testing.assert_allclose(trailing_mean(values, 1), values)
    np.testing.assert_allclose(trailing_mean(values, 10), [0.0, 0.5, 1 / 3, 0.5, 1.2])


def test_smoothed_plot_and_bad_window(tmp_path):
    a = fake_run(tmp_path, "demo", Cfg())
    assert png_ok(plot_learning_curves([a], tmp_path / "smooth.png", smooth=3))
    with pytest.raises(PlotError, match="smooth must be a number of rows >= 1"):
        plot_learning_curves([a], tmp_path / "x.png", smooth=0)
    result = CliRunner().invoke(app, ["plot", str(a), "--out", str(tmp_path / "cli.png"), "--smooth", "3"])
    assert result.exit_code == 0, result.output
