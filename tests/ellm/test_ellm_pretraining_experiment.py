"""The CPU experiment's summary: a Markdown table (mean ± std over seeds, frames reached) and a plot."""

import csv
from pathlib import Path

import pytest

from llmrl.experiments.ellm_pretraining import jobs, summarize


def fake_run(root, method, seed, rows):
    run = root / "ellm" / f"{method}-seed{seed}-20250101-000000"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(f"intrinsic: {method}\nseed: {seed}\n")
    with (run / "metrics.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "frames", "achievements_per_episode", "crafter_score"])
        writer.writeheader()
        for frames, achievements, score in rows:
            writer.writerow({"step": frames, "frames": frames, "achievements_per_episode": achievements,
                             "crafter_score": score})
    return run


def test_summary_table_from_fake_metrics(tmp_path):
    fake_run(tmp_path, "ellm", 0, [(1000, 0.5, 0.1), (2000, 2.0, 1.0)])
    fake_run(tmp_path, "ellm", 1, [(1000, 1.0, 0.2), (2000, 4.0, 3.0)])
    fake_run(tmp_path, "none", 0, [(1000, 1.5, 0.4)])
    fake_run(tmp_path, "oracle", 0, [(1000, 1.0, "")])  # no Crafter score logged yet
    lines = summarize(tmp_path).splitlines()
    assert lines[0] == "| method | seeds | frames reached | achievements / episode | Crafter score |"
    # Methods in the experiment's order; the last row of each run; std over seeds (statistics.stdev).
    assert lines[2] == "| ellm | 2 | 2,000 | 3.00 ± 1.41 | 2.00 ± 1.41 |"
    assert lines[3] == "| oracle | 1 | 1,000 | 1.00 ± 0.00 | n/a |"
    assert lines[4] == "| none | 1 | 1,000 | 1.50 ± 0.00 | 0.40 ± 0.00 |"
    assert (tmp_path / "achievements_per_episode.png").stat().st_size > 0


def test_summary_reports_unequal_frames_and_needs_runs(tmp_path):
    fake_run(tmp_path, "rnd", 0, [(1000, 1.0, 0.5)])
    fake_run(tmp_path, "rnd", 1, [(1000, 1.0, 0.5), (3000, 3.0, 0.5)])
    assert "| rnd | 2 | 1,000-3,000 | 2.00 ± 1.41 | 0.50 ± 0.00 |" in summarize(tmp_path)
    with pytest.raises(FileNotFoundError, match="no ELLM runs"):
        summarize(tmp_path / "empty")


def test_jobs_name_each_method_and_seed_and_start_from_the_preset():
    (job,) = [j for j in jobs(["novelty"], 3, Path("cfg.yaml")) if j.name == "novelty-seed2"]
    assert job.algo == "ellm" and job.new_run == ("--config", "cfg.yaml", "--intrinsic", "novelty", "seed=2")


def test_summary_at_one_budget_reads_each_run_within_it(tmp_path):
    fake_run(tmp_path, "ellm", 0, [(1000, 0.5, 0.1), (2000, 2.0, 1.0)])
    fake_run(tmp_path, "none", 0, [(1000, 1.5, 0.4)])
    lines = summarize(tmp_path, at_most=1500).splitlines()
    assert lines[2] == "| ellm | 1 | 1,000 | 0.50 ± 0.00 | 0.10 ± 0.00 |"
    assert lines[3] == "| none | 1 | 1,000 | 1.50 ± 0.00 | 0.40 ± 0.00 |"
    with pytest.raises(FileNotFoundError, match="within 500 frames"):
        summarize(tmp_path, at_most=500)
