"""`bench_glam` on the tiny random Llama: rows per method over repeated runs, its input checks and its CLI."""

import json

import pytest
from typer.testing import CliRunner

from llmrl.bench.glam import METHODS, bench_glam
from llmrl.cli import glam_commands  # noqa: F401  (registers the commands)
from llmrl.cli.app import app


def test_each_method_row_reports_its_fastest_and_median_run(monkeypatch):
    heard: list[str] = []
    rows, summary = bench_glam("tiny-llama", num_envs=1, num_steps=2, repeats=2, progress=heard.append)
    # Runs alternate between the paths.
    assert heard == [f"{path}: run {r}/2" for r in (1, 2) for path in METHODS]
    assert [row["method"] for row in rows] == list(METHODS) == ["fast", "fp32", "naive"]
    for row in rows:
        assert row["frames"] == 2 and row["runs"] == 2
        assert row["fps"] == pytest.approx(row["frames"] / row["seconds"])
        # The fastest of two runs is at least as fast as their median (the mean of the two).
        assert row["fps"] >= row["fps_median"] > 0
        assert 0 < row["scoring_share"] < 1
        parts = row["rollout_scoring_s"] + row["update_scoring_s"] + row["rest_s"]
        assert parts == pytest.approx(row["seconds"])
    fps = {row["method"]: row["fps"] for row in rows}
    assert [(row["precision"], row["reuse_prefix"]) for row in rows][1:] == [("fp32", False), ("fp32", False)]
    assert rows[0]["reuse_prefix"] is True and rows[0]["precision"] in ("bf16", "fp32")
    assert summary["speedup_vs_fp32"] == pytest.approx(fps["fast"] / fps["fp32"])
    assert summary["speedup"] == pytest.approx(fps["fp32"] / fps["naive"])
    assert summary["frames_per_update"] == 2 and summary["lora"] is False and summary["cpu"]


def test_fast_path_precision_follows_the_cpu_detector(monkeypatch):
    import llmrl.lm.precision as precision

    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    rows, summary = bench_glam("tiny-llama", num_envs=1, num_steps=1, paths=["fast", "fp32"], lora=True)
    assert [row["precision"] for row in rows] == ["fp32", "fp32"]
    assert set(summary) >= {"speedup_vs_fp32", "lora"} and "speedup" not in summary


def test_lora_layers_changes_every_path_and_the_all_layers_reference_is_its_own_row():
    rows, summary = bench_glam("tiny-llama", num_envs=1, num_steps=2, lora=True, lora_layers=1,
                               paths=["fast", "fp32", "fp32-all-layers"])
    settings = {row["method"]: (row["lora_layers"], row["trunk_cache"]) for row in rows}
    assert settings == {"fast": (1, True), "fp32": (1, False), "fp32-all-layers": (None, False)}
    fps = {row["method"]: row["fps"] for row in rows}
    assert summary["speedup_vs_fp32"] == pytest.approx(fps["fast"] / fps["fp32"])
    assert summary["speedup_vs_fp32_all_layers"] == pytest.approx(fps["fast"] / fps["fp32-all-layers"])
    assert summary["lora_layers"] == 1 and summary["load_average_1min"] >= 0


@pytest.mark.parametrize("kwargs, message", [
    ({"lora_layers": 1}, "lora_layers needs lora"),
    ({"lora": True, "paths": ["fast", "fp32-all-layers"]}, "give lora_layers too"),
    ({"repeats": 0}, "repeats must be a positive int"),
    ({"repeats": 1.5}, "repeats must be a positive int"),
    ({"num_envs": 0}, "num_envs and num_steps must be >= 1"),
    ({"paths": ["fast", "slow"]}, "unknown bench path 'slow'"),
])
def test_bad_settings_are_rejected_before_any_model_loads(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bench_glam("tiny-llama", **kwargs)


def test_cli_repeats_reaches_the_bench_and_is_refused_with_nproc():
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "glam", "--model", "tiny-llama", "--envs", "1", "--steps", "1",
                                 "--repeats", "2", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout.strip().splitlines()[-1])["rows"]
    assert [row["runs"] for row in rows] == [2, 2, 2]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"speedup_vs_fp32", "speedup", "cpu", "lora"} <= set(summary)
    refused = runner.invoke(app, ["bench", "glam", "--nproc", "1", "--repeats", "2"])
    assert refused.exit_code != 0 and "--repeats applies to the shared-vs-naive bench" in refused.output


def test_zero_shot_table_rows_share_episodes_and_report_first_step_probabilities():
    from llmrl.bench.glam import bench_glam_zero_shot, parse_setting

    rows, summary = bench_glam_zero_shot("tiny-llama", episodes=1, settings=["glam/mean/h1", "uniform"], num_envs=1)
    assert [row["policy"] for row in rows] == ["glam/mean/h1", "uniform random"]
    for row in rows:
        assert 0 <= row["ci_low"] <= row["success_rate"] <= row["ci_high"] <= 1
        assert sum(row["p_first"].values()) == pytest.approx(1, abs=0.01) and len(row["p_first"]) == 6
    assert summary["episodes"] == 1 and summary["cpu"] and summary["precision"] in ("bf16", "fp32")
    assert parse_setting("chat/sum/h3") == ("chat", "sum", 3) and parse_setting("uniform") is None
    with pytest.raises(ValueError, match="TEMPLATE/NORMALIZE/hHISTORY"):
        parse_setting("glam/max/h3")


def test_cli_lora_layers_reaches_every_path_and_needs_lora():
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "glam", "--model", "tiny-llama", "--envs", "1", "--steps", "1", "--lora",
                                 "--lora-layers", "1", "--paths", "fast,fp32,fp32-all-layers", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["lora_layers"] == 1 and {"speedup_vs_fp32", "speedup_vs_fp32_all_layers"} <= set(summary)
    refused = runner.invoke(app, ["bench", "glam", "--model", "tiny-llama", "--lora-layers", "1"])
    assert refused.exit_code == 1 and "lora_layers needs lora" in refused.output
