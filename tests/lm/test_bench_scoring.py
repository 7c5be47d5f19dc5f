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


def test_bench_many_candidates_json_on_a_tiny_model(tmp_path, monkeypatch):
    """`llmrl bench scoring --candidates`: real TextWorld prompts, three methods, one JSON object last."""
    import json

    import pytest
    from typer.testing import CliRunner

    pytest.importorskip("textworld")  # a guard only: textworld is locked in requirements.lock for CI
    from llmrl.cli import lm_commands  # noqa: F401  (registers the commands)
    from llmrl.cli.app import app

    monkeypatch.setenv("LLMRL_CACHE_DIR", str(tmp_path / "cache"))  # the generated game goes here
    model_dir = tiny_random_lm("llama").save_pretrained(tmp_path / "tiny")
    result = CliRunner().invoke(app, [
        "bench", "scoring", "--candidates", "3,40", "--games", "1", "--model", str(model_dir), "--threads", "1",
        "--kv-budget", "256", "--json",
    ])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["candidates"] == [3, 40] and out["methods"] == ["shared", "kv", "naive"]
    assert out["max_abs_diff"] < 1e-4 and out["distinct_commands"] >= 40
    assert {"shared_over_naive_at_40", "shared_over_kv_at_40", "cpu_model", "machine"} <= out.keys()
    rows = out["rows"]
    assert [(r["candidates"], r["method"]) for r in rows] == [
        (n, m) for n in (3, 40) for m in ("shared", "kv", "naive")
    ]
    # 3 candidates: all the richest state's own commands; 40: its own first, then other games' commands.
    assert rows[0]["own_candidates"] == 3 and 3 < rows[3]["own_candidates"] <= 40
    assert all(r["seconds"] > 0 and r["max_abs_diff_vs_naive"] < 1e-4 for r in rows)
    # Shared feeds the fewest tokens (a prefix tree), naive the most (the prompt once per candidate).
    assert rows[3]["fed_tokens"] < rows[4]["fed_tokens"] < rows[5]["fed_tokens"]
