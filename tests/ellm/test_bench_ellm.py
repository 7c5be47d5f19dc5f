"""`llmrl bench ellm`: both passes time the same number of steps, with DQN updates, and report the JSON keys."""

import pytest
import torch

from llmrl.bench.ellm import bench_config, bench_ellm
from llmrl.intrinsic.closed_form import ClosedFormSuggester
from llmrl.lm import tiny_random_lm


def test_cold_and_warm_passes_with_llm_calls_counted(embedder):
    suggester = ClosedFormSuggester(tiny_random_lm(), top_k=3)
    threads_before = torch.get_num_threads()
    rows, summary = bench_ellm(48, num_envs=2, length=50, embedder=embedder, suggester=suggester)
    # Timed on the 2 cores, then the caller's thread count is back.
    assert summary["threads"] == 2 and torch.get_num_threads() == threads_before
    cold, *warm_runs = rows
    assert [(r["cache"], r["run"]) for r in rows] == [("cold", 1), ("warm", 1), ("warm", 2), ("warm", 3)]
    assert {r["steps"] for r in rows} == {48}
    assert {r["dqn_updates"] for r in rows} == {12}  # one per 4 env steps
    speeds = sorted(r["steps_per_s"] for r in warm_runs)
    assert summary["steps_per_s_warm"] == speeds[1] > 0  # the median of the 3 warm passes
    assert sorted(summary["steps_per_s_warm_runs"]) == speeds
    assert summary["steps_per_s_cold"] == cold["steps_per_s"] > 0
    # A step's time splits into its share of an update and everything else.
    for row in rows:
        assert row["update_ms"] > 0 and row["other_ms_per_step"] > 0
        split = row["other_ms_per_step"] + row["update_ms"] * row["dqn_updates"] / row["steps"]
        assert split == pytest.approx(1000 / row["steps_per_s"])
    assert summary["update_ms_warm"] == sorted(r["update_ms"] for r in warm_runs)[1]
    warm = warm_runs[0]
    # The cold pass asked the LLM; the warm pass replays the same seeded states from the caches.
    assert summary["llm_calls_per_1k_steps"] > 0 and warm["llm_calls_per_1k_steps"] == 0


def test_train_every_sets_the_updates_timed(embedder):
    suggester = ClosedFormSuggester(tiny_random_lm(), top_k=3)
    rows, summary = bench_ellm(48, num_envs=2, length=50, train_every=8, warm_repeats=1, embedder=embedder,
                               suggester=suggester)
    assert [r["dqn_updates"] for r in rows] == [6, 6]  # one per 8 env steps
    assert summary["dqn"]["train_every"] == 8 and summary["dueling_hidden"] == 0


def test_dueling_hidden_times_the_experiment_network(tmp_path):
    assert bench_config("ellm", 4, 0, tmp_path / "goals.sqlite", "m").dueling_hidden == 0
    assert bench_config("ellm", 4, 0, tmp_path / "goals.sqlite", "m", dueling_hidden=512).dueling_hidden == 512


def test_bench_settings_are_the_cpu_presets_and_bad_input_is_rejected(tmp_path):
    cfg = bench_config("ellm", 4, 0, tmp_path / "goals.sqlite", "smollm2-135m")
    assert (cfg.suggester.top_k, cfg.suggester.dtype, cfg.dqn.precision) == (3, "bfloat16", "bf16")
    assert (cfg.dqn.batch_size, cfg.dqn.train_every) == (64, 4)
    with pytest.raises(ValueError, match="must be >= 1"):
        bench_ellm(0)
    with pytest.raises(ValueError, match="warm_repeats must be >= 1"):
        bench_ellm(10, warm_repeats=0)
    with pytest.raises(ValueError, match="must be > 0: train_every=0"):  # DQNConfig's check, before any model loads
        bench_ellm(10, train_every=0)


@pytest.mark.parametrize("device", ["nonsense", "cuda:7"] if not torch.cuda.is_available() else ["nonsense"])
def test_unusable_device_is_rejected_before_anything_loads(device):
    with pytest.raises(ValueError, match=f"device '{device}' is not usable here.*accepted: cpu"):
        bench_ellm(8, device=device)  # no embedder or suggester given: the check comes before loading them


def test_device_reaches_the_timed_config(tmp_path):
    assert bench_config("ellm", 4, 0, tmp_path / "goals.sqlite", "m", device="cuda").device == "cuda"
