"""`bench_glam` on the tiny random Llama: rows per method over repeated runs, and its input checks."""

import pytest

from llmrl.bench.glam import METHODS, bench_glam


def test_each_method_row_reports_its_fastest_and_median_run():
    heard: list[str] = []
    rows, summary = bench_glam("tiny-llama", num_envs=1, num_steps=2, repeats=2, progress=heard.append)
    # Runs alternate between the methods.
    assert heard == ["shared scoring: run 1/2", "naive scoring: run 1/2", "shared scoring: run 2/2",
                     "naive scoring: run 2/2"]
    assert [row["method"] for row in rows] == list(METHODS)
    for row in rows:
        assert row["frames"] == 2 and row["runs"] == 2
        assert row["fps"] == pytest.approx(row["frames"] / row["seconds"])
        # The fastest of two runs is at least as fast as their median (the mean of the two).
        assert row["fps"] >= row["fps_median"] > 0
        assert 0 < row["scoring_share"] < 1
    assert summary["speedup"] == pytest.approx(rows[0]["fps"] / rows[1]["fps"])
    assert summary["frames_per_update"] == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"repeats": 0}, "repeats must be a positive int"),
    ({"repeats": 1.5}, "repeats must be a positive int"),
    ({"num_envs": 0}, "num_envs and num_steps must be >= 1"),
])
def test_bad_settings_are_rejected_before_any_model_loads(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bench_glam("tiny-llama", **kwargs)
