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


def test_report_into_a_pipe_keeps_every_header_whole(capsys):
    from llmrl.bench.report import report

    columns = [f"a_rather_long_column_name_{i}" for i in range(6)]
    report("speeds", [dict.fromkeys(columns, 0.123456)], {"steps_per_s_warm": 412.3456}, as_json=False)
    out = capsys.readouterr().out
    assert all(column in out for column in columns)  # 6 x 27 characters: beyond rich's default 80
    assert "steps_per_s_warm: 412.3" in out
