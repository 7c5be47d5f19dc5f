"""The registry of algorithms: every entry resolves, the CLI and compare dispatch through it."""

import dataclasses

import pytest
from typer.testing import CliRunner

from llmrl.eval.compare import ALGOS, evaluate_run
from llmrl.registry import ALGORITHMS, algorithm
from llmrl.train import RunDir


def test_every_entry_resolves_to_a_config_a_trainer_and_an_evaluator():
    assert set(ALGORITHMS) == {"glam", "symbolic-ppo", "drrn", "npae", "bc", "ellm"}
    for entry in ALGORITHMS.values():
        assert dataclasses.is_dataclass(entry.config), entry.name
        assert callable(entry.train) and entry.train.__name__.startswith("train_"), entry.name
        if entry.evaluate_ref is None:
            with pytest.raises(ValueError, match=f"llmrl eval {entry.name}"):
                entry.evaluate  # noqa: B018
        else:
            assert callable(entry.evaluate), entry.name
    assert set(ALGOS) == {"glam", "symbolic-ppo", "drrn", "npae", "bc"}
    with pytest.raises(ValueError, match="unknown algorithm 'ppo'; known: glam, symbolic-ppo"):
        algorithm("ppo")


def test_cli_has_train_and_eval_commands_for_every_generic_entry():
    from llmrl.cli import baseline_commands  # noqa: F401  (registers the commands)
    from llmrl.cli.app import app

    for group in ("train", "eval"):
        result = CliRunner().invoke(app, [group, "--help"])
        assert result.exit_code == 0, result.output
        for entry in ALGORITHMS.values():
            if entry.generic_cli:
                assert entry.name in result.output, (group, entry.name)
    help_text = CliRunner().invoke(app, ["train", "drrn", "--help"]).output
    assert "DRRN: text Q-learning" in help_text


def test_evaluate_run_dispatches_on_the_runs_algorithm(tmp_path):
    from llmrl.train.symbolic_ppo import SymbolicPPOConfig, train_symbolic_ppo

    cfg = SymbolicPPOConfig(env_id="BabyAIText-GoTo-v0", room_size=5, num_dists=1, num_envs=2, num_steps=4,
                            minibatch_size=4, epochs=1, channels=4, mission_hidden=8, total_frames=8,
                            out_dir=str(tmp_path), tensorboard=False)
    run = train_symbolic_ppo(cfg)
    result = evaluate_run(run.path, episodes=3, num_envs=2)
    assert result.env_id == "BabyAIText-GoTo-v0" and result.episodes == 3 and 0 <= result.success_rate <= 1
    assert evaluate_run(run.path, episodes=3, num_envs=2) == result  # seeded: the same episodes
    ellm = RunDir.create(tmp_path, "ellm", "x")
    with pytest.raises(ValueError, match="written by algo 'ellm'; evaluable algos: glam, symbolic-ppo"):
        evaluate_run(ellm.path, episodes=1)
