"""Config sections: one meaning per field name across trainers, frame-counted checkpoints, clear rejections."""

import dataclasses

import pytest

from llmrl.registry import ALGORITHMS
from llmrl.train import latest_checkpoint
from llmrl.train.settings import checkpoint_due

TINY = dict(env_id="BabyAIText-GoTo-v0", room_size=5, num_dists=1, tensorboard=False)


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def test_every_trainer_has_the_run_section_with_device_auto():
    for entry in ALGORITHMS.values():
        fields = _fields(entry.config)
        run_fields = {"seed", "device", "out_dir", "name", "checkpoint_every", "keep_checkpoints", "tensorboard"}
        assert run_fields <= set(fields), entry.name
        assert fields["device"].default == "auto", entry.name


def test_shared_sections_replace_copied_fields():
    from llmrl.algos.dqn import DQNConfig, DQNSettings
    from llmrl.train.bc import BCConfig
    from llmrl.train.drrn import DRRNConfig
    from llmrl.train.glam import GlamConfig
    from llmrl.train.settings import BabyAITextSettings, LMSettings

    for section in (BabyAITextSettings, LMSettings):
        assert issubclass(GlamConfig, section) and issubclass(BCConfig, section)
    assert issubclass(DRRNConfig, DQNSettings) and issubclass(DQNConfig, DQNSettings)
    assert not hasattr(BCConfig, "glam") and not hasattr(DRRNConfig, "glam")
    assert "epsilon_start" not in _fields(DRRNConfig)


@pytest.mark.parametrize(("every", "before", "after", "due"), [
    (32, 16, 32, True), (32, 32, 48, False), (32, 48, 80, True), (1, 7, 8, True), (0, 0, 10**9, False),
])
def test_checkpoint_due_counts_frames(every, before, after, due):
    assert checkpoint_due(every, before, after) is due


def test_ppo_checkpoints_after_the_updates_that_cross_a_multiple_of_checkpoint_every(tmp_path):
    from llmrl.train.symbolic_ppo import SymbolicPPOConfig, train_symbolic_ppo

    cfg = SymbolicPPOConfig(**TINY, num_envs=2, num_steps=8, minibatch_size=8, epochs=1, channels=4,
                            mission_hidden=8, total_frames=80, checkpoint_every=32, keep_checkpoints=0,
                            out_dir=str(tmp_path))
    run = train_symbolic_ppo(cfg)  # 16 frames per update, 5 updates
    assert sorted(p.name for p in (run.path / "checkpoints").glob("step-*")) == [
        "step-0000000002", "step-0000000004", "step-0000000005"]


def test_drrn_uses_the_dqn_section_and_checkpoint_every_zero_saves_only_at_the_end(tmp_path):
    from llmrl.train.drrn import DRRNConfig, train_drrn

    cfg = DRRNConfig(**TINY, out_dir=str(tmp_path), history=1, num_envs=2, hidden=8, max_words=32, batch_size=4,
                     learning_starts=4, train_every=2, target_update_every=4, log_every=8, total_frames=24,
                     buffer_size=64, precision="bf16", n_step=3, checkpoint_every=0, keep_checkpoints=0)
    run = train_drrn(cfg)
    assert [p.name for p in (run.path / "checkpoints").glob("step-*")] == [latest_checkpoint(run.path).name]
    assert latest_checkpoint(run.path).name.endswith("24")


@pytest.mark.parametrize(("algo", "changes", "message"), [
    ("drrn", {"template": "chat"}, "template must be 'glam' for DRRN"),
    ("drrn", {"precision": "fp16"}, "DRRNConfig.precision must be one of fp32, bf16"),
    ("drrn", {"train_every": 0}, "DRRNConfig fields must be > 0: train_every=0"),
    ("bc", {"checkpoint_every": -1}, "checkpoint_every and keep_checkpoints must be >= 0"),
    ("bc", {"model": "tiny-bert"}, "tiny models are tiny-llama"),
    ("symbolic-ppo", {"env_id": "CartPole-v1"}, "env_id must be one of"),
    ("glam", {"variant": "klingon"}, "variant must be null or one of"),
    ("ellm", {"seed": -1}, "seed, checkpoint_every and keep_checkpoints must be >= 0"),
])
def test_sections_reject_bad_values_with_what_is_accepted(algo, changes, message):
    with pytest.raises(ValueError, match=message):
        ALGORITHMS[algo].config(**changes)


def test_a_drrn_config_saved_with_retired_keys_says_how_to_convert_it(tmp_path):
    from llmrl.train import ConfigError, load_config
    from llmrl.train.drrn import DRRNConfig

    saved = tmp_path / "config.yaml"
    saved.write_text("num_envs: 8\ntrain_every: 1\nupdates_per_train: 1\n")
    with pytest.raises(ConfigError, match="train_every to train_every \\* num_envs / updates_per_train"):
        load_config(DRRNConfig, saved)
