"""The scoring benchmark runs end to end on a tiny model and reports what the JSON promises."""

import llmrl.bench.scoring as bench
from llmrl.lm import tiny_random_lm


def test_bench_scoring_summary(monkeypatch):
    monkeypatch.setattr(bench, "TOKEN_RANGE", (20, 1000))  # the word-level tokenizer counts differently
    rows, summary = bench.bench_scoring(tiny_random_lm("llama"), num_prompts=2, train_prompts=1, num_actions=3)
    assert {"speedup_forward", "speedup_train", "max_abs_diff"} <= summary.keys()
    assert summary["max_abs_diff"] < 1e-4 and summary["actions"] == 3
    assert [(r["phase"], r["method"]) for r in rows] == [
        ("forward", "shared"), ("forward", "naive"), ("train", "shared"), ("train", "naive")
    ]
    assert all(r["seconds"] > 0 and r["gflop_per_s"] > 0 for r in rows)
