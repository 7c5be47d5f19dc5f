"""Staged experiments: resumable command lines, stage budgets, and the GLAM prior experiment's jobs and table."""

import csv
import json
import sys

import pytest
import yaml

from llmrl.experiments import glam_prior
from llmrl.experiments.staged import Job, command, frames_reached, run_dir_of, run_staged, stages


def fake_run(root, algo, name, rows, config=None):
    run = root / algo / f"{name}-20250101-000000"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config or {"seed": 0}))
    (run / "run.json").write_text(json.dumps({"algo": algo, "name": name}))
    with (run / "metrics.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "frames", "success_rate"])
        writer.writeheader()
        for frames, success in rows:
            writer.writerow({"step": frames, "frames": frames, "success_rate": success})
    return run


def test_command_starts_a_new_run_then_resumes_it(tmp_path):
    job = Job("npae", "npae-seed2", ("--config", "npae/cpu-tiny", "seed=2"))
    fresh = command(job, 5000, tmp_path, ["keep_checkpoints=1"])
    assert fresh[:6] == [sys.executable, "-m", "llmrl", "train", "npae", "--config"]
    assert {"seed=2", "total_frames=5000", f"out_dir={tmp_path}", "name=npae-seed2", "keep_checkpoints=1"} <= set(fresh)
    run = fake_run(tmp_path, "npae", "npae-seed2", [(1000, 0.5)])
    assert "--resume" not in command(job, 5000, tmp_path)  # started, but no checkpoint yet: start again
    (run / "checkpoints" / "step-0000001000").mkdir(parents=True)
    (run / "checkpoints" / "step-0000001000" / "meta.json").write_text('{"step": 1000}')
    resumed = command(job, 5000, tmp_path)
    assert resumed[resumed.index("--resume") + 1] == str(run) and "--config" not in resumed
    assert "total_frames=5000" in resumed and frames_reached(tmp_path, job) == 1000


def test_run_dir_of_does_not_confuse_seed_1_with_seed_10(tmp_path):
    fake_run(tmp_path, "glam", "glam-seed10", [(10, 0.0)])
    assert run_dir_of(tmp_path, "glam", "glam-seed1") is None
    one = fake_run(tmp_path, "glam", "glam-seed1", [(10, 0.0)])
    assert run_dir_of(tmp_path, "glam", "glam-seed1") == one


def test_stages_bring_every_run_to_the_same_budget_in_turn():
    assert stages(200_000, 50_000) == [50_000, 100_000, 150_000, 200_000]
    assert stages(120_000, 50_000) == [50_000, 100_000, 120_000]
    assert stages(200_000, None) == [200_000] and stages(10_000, 50_000) == [10_000]


def test_finished_jobs_are_skipped_and_names_must_be_unique(tmp_path):
    done = Job("glam", "done", ("--config", "glam/cpu-tiny"))
    fake_run(tmp_path, "glam", "done", [(2048, 0.5)])
    run_staged([done], 2048, tmp_path)  # reached: nothing is started (a started process would log)
    assert not any((tmp_path / "logs").iterdir())
    with pytest.raises(ValueError, match="unique"):
        run_staged([done, done], 2048, tmp_path)


def test_glam_prior_jobs_share_the_task_and_name_method_and_seed():
    jobs = glam_prior.jobs(["glam-smollm2", "npae-smollm2"], 2)
    assert [j.name for j in jobs] == ["glam-smollm2-seed0", "glam-smollm2-seed1", "npae-smollm2-seed0",
                                      "npae-smollm2-seed1"]
    assert all(set(glam_prior.TASK) <= set(j.new_run) for j in jobs)
    assert jobs[2].algo == "npae" and "model=smollm2-135m" in jobs[2].new_run and "seed=0" in jobs[2].new_run


def test_glam_prior_summary_groups_seeds_across_budgets(tmp_path):
    for seed, frames in ((0, 4096), (1, 8192)):  # one seed a stage ahead: one group all the same
        config = {"seed": seed, "model": "tiny-llama", "total_frames": frames}
        rows = [(f, 0.2 + f / 10_000) for f in range(256, frames + 1, 256)]
        fake_run(tmp_path, "glam", f"glam-tiny-seed{seed}", rows, config)
    text = glam_prior.summarize(tmp_path, ["glam-tiny"], 2, [4096])
    (row,) = [line for line in text.splitlines() if line.startswith("| glam")]
    assert row.startswith("| glam (glam-tiny) | 2 | 6,144 |")
    assert (tmp_path / "compare" / "compare.png").stat().st_size > 0
    with pytest.raises(FileNotFoundError, match="no run"):
        glam_prior.summarize(tmp_path, ["drrn"], 2, [4096])
