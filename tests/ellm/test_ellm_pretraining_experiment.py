"""The CPU experiment's summary: a Markdown table (mean ± std over seeds, frames reached) and a plot."""

import csv

import pytest

from llmrl.experiments.ellm_pretraining import command, summarize


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


def test_command_starts_a_new_run_then_resumes_it(tmp_path):
    config = tmp_path / "cfg.yaml"
    fresh = command("novelty", 2, 5000, tmp_path, config)
    assert fresh[fresh.index("--intrinsic") + 1] == "novelty" and fresh[fresh.index("--name") + 1] == "novelty-seed2"
    assert {"seed=2", "total_frames=5000", "torch_threads=1"} <= set(fresh) and "--resume" not in fresh
    run = fake_run(tmp_path, "novelty", 2, [(1000, 1.0, 0.5)])
    (run / "checkpoints" / "step-0000001000").mkdir(parents=True)
    (run / "checkpoints" / "step-0000001000" / "meta.json").write_text('{"step": 1000}')
    resumed = command("novelty", 2, 5000, tmp_path, config)
    assert resumed[resumed.index("--resume") + 1] == str(run) and "--config" not in resumed


def test_stages_bring_every_run_to_the_same_budget_in_turn():
    from llmrl.experiments.ellm_pretraining import stages

    assert stages(200_000, 50_000) == [50_000, 100_000, 150_000, 200_000]
    assert stages(120_000, 50_000) == [50_000, 100_000, 120_000]
    assert stages(200_000, None) == [200_000] and stages(10_000, 50_000) == [10_000]


def test_summary_at_one_budget_reads_each_run_within_it(tmp_path):
    fake_run(tmp_path, "ellm", 0, [(1000, 0.5, 0.1), (2000, 2.0, 1.0)])
    fake_run(tmp_path, "none", 0, [(1000, 1.5, 0.4)])
    lines = summarize(tmp_path, at_most=1500).splitlines()
    assert lines[2] == "| ellm | 1 | 1,000 | 0.50 ± 0.00 | 0.10 ± 0.00 |"
    assert lines[3] == "| none | 1 | 1,000 | 1.50 ± 0.00 | 0.40 ± 0.00 |"
    with pytest.raises(FileNotFoundError, match="within 500 frames"):
        summarize(tmp_path, at_most=500)
