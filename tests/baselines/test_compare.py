"""`llmrl compare` on mixed budgets: rows that stop early or log no success, and same-algo settings."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from llmrl.eval.compare import (
    compare_runs,
    frames_to_threshold,
    last_frames,
    success_at_budget,
    table_rows,
    write_comparison,
)
from llmrl.eval.plots import PlotError, read_run
from llmrl.train import RunDir
from llmrl.train.symbolic_ppo import SymbolicPPOConfig

NAN = math.nan


def _run(root: Path, algo: str, name: str, seed: int, curve: list[tuple[int, float]], setting: int = 0) -> Path:
    """A run directory whose metrics.csv holds (frames, success_rate) rows; NaN success = no episode ended."""
    run = RunDir.create(root, algo, name, SymbolicPPOConfig(seed=seed, channels=8 + setting))
    with run.metrics_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "frames", "success_rate"])
        writer.writerows([frames, frames, "" if math.isnan(rate) else rate] for frames, rate in curve)
    return run.path


def test_frames_count_rows_without_success_and_success_at_end_skips_them(tmp_path):
    path = _run(tmp_path, "glam", "g", 0, [(64, 0.2), (128, 0.4), (192, NAN)])
    run = read_run(path)
    assert last_frames(run) == 192  # the run trained to 192 frames though its last update ended no episode
    assert success_at_budget(run, 192, smooth=1) == pytest.approx(0.4)
    summaries, _ = compare_runs([path], [192], smooth=5)
    assert summaries[0].final_frames == 192
    assert summaries[0].final_success == pytest.approx((0.3, 0.0))


def test_short_rows_show_their_frames_and_success_at_end_and_no_success_rows_stay_out_of_the_plot(tmp_path):
    runs = [_run(tmp_path, "drrn", "drrn", s, [(100, 0.2), (200, 0.5), (300, 0.7)]) for s in (0, 1)]
    short = [_run(tmp_path, "bc", "bc", s, [(40, 0.6), (80, 0.8 + 0.1 * s)]) for s in (0, 1)]
    silent = [_run(tmp_path, "npae", "npae", s, [(32, NAN), (64, NAN)]) for s in (0, 1)]
    summaries, budgets = compare_runs([*runs, *short, *silent], [150, 300], smooth=1)
    header, rows = table_rows(summaries, budgets)
    assert header == ["method", "seeds", "frames", "success @ 150", "success @ 300", "success at end", "frames to 0.5"]
    by_method = {row[0]: row for row in rows}
    assert by_method["drrn"][2:] == ["300", "0.200 ± 0.000", "0.700 ± 0.000", "0.700 ± 0.000", "200 ± 0"]
    assert by_method["bc"][2:] == ["80", "n/a", "n/a", "0.850 ± 0.050", "40 ± 0"]
    assert by_method["npae"][2:] == ["64", "n/a", "n/a", "n/a", "never"]
    md, js, png = write_comparison(summaries, budgets, tmp_path / "out")
    assert "Not in the plot (no episode ended, so no success logged): npae." in md.read_text()
    groups = {g["label"]: g for g in json.loads(js.read_text())["groups"]}
    assert groups["npae"]["final_success"] == [None, None] and groups["bc"]["final_frames"] == 80
    assert png.stat().st_size > 0


def test_rows_are_labelled_by_algo_and_run_name_like_the_plot_legend(tmp_path, monkeypatch):
    tiny = [_run(tmp_path, "glam", "glam-tiny", s, [(100, 0.3), (200, 0.6)], setting=0) for s in (0, 1)]
    smol = [_run(tmp_path, "glam", "glam-smollm2", s, [(10, 0.3), (20, 0.4)], setting=1) for s in (0, 1)]
    bc = _run(tmp_path, "bc", "bc-tiny", 0, [(50, 0.7)])
    drrn = _run(tmp_path, "drrn", "drrn", 0, [(100, 0.4), (200, 0.6)])
    summaries, budgets = compare_runs([*tiny, *smol, bc, drrn], [200], smooth=1)
    labels = sorted(s.label for s in summaries)
    assert labels == ["bc (bc-tiny)", "drrn", "glam (glam-smollm2)", "glam (glam-tiny)"]  # a name = its algo: once
    assert {s.label: len(s.runs) for s in summaries}["glam (glam-smollm2)"] == 2  # seeds grouped per setting
    plotted: dict[str, object] = {}

    def spy(runs, out, **kwargs):  # record how the curves are grouped instead of drawing them
        plotted.update(kwargs, runs=runs)
        return Path(out)

    monkeypatch.setattr("llmrl.eval.compare.plot_learning_curves", spy)
    write_comparison(summaries, budgets, tmp_path / "out")
    assert plotted["group_by"] == "name" and len(plotted["runs"]) == 6  # curves "glam-tiny", "glam-smollm2", ...


def test_compare_rejects_a_set_where_no_run_logged_success_or_frames(tmp_path):
    silent = _run(tmp_path, "npae", "npae", 0, [(32, NAN)])
    summaries, budgets = compare_runs([silent], [32])
    with pytest.raises(PlotError, match="no run logged a success_rate"):
        write_comparison(summaries, budgets, tmp_path / "out")
    no_frames = RunDir.create(tmp_path, "drrn", "drrn", SymbolicPPOConfig())
    no_frames.metrics_path.write_text("step,frames,success_rate\n1,,0.5\n")
    with pytest.raises(PlotError, match="no row with its frames logged"):
        compare_runs([no_frames.path])


def test_frames_to_threshold_waits_for_a_full_window(tmp_path):
    lucky_start = read_run(_run(tmp_path, "glam", "g", 0, [(100, 0.9), (200, 0.1), (300, 0.2), (400, 0.9), (500, 0.9)]))
    assert frames_to_threshold(lucky_start, 0.5, smooth=3) == 500  # not 100: one noisy first update is no level
    short = read_run(_run(tmp_path, "bc", "b", 0, [(10, 0.4), (20, 0.8)]))
    assert frames_to_threshold(short, 0.5, smooth=5) == 20  # shorter than the window: all its rows
    assert math.isnan(frames_to_threshold(read_run(_run(tmp_path, "npae", "n", 0, [(8, NAN)])), 0.5))
