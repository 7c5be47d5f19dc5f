"""The PPO loop's envs replay exactly, and a resumed GLAM run ends with the uninterrupted run's weights."""

import numpy as np
import torch

from llmrl.envs.babyai_text import make
from llmrl.runtime.vec_env import SeededVecEnv
from llmrl.train import latest_checkpoint, load_config
from llmrl.train.glam import GlamConfig, train_glam
from llmrl.train.lm_policies import build_policy, load_policy_checkpoint

TINY = [
    "model=tiny-llama", "env_id=BabyAIText-GoTo-v0", "room_size=5", "num_dists=1", "history=2",
    "value_inner=32", "num_envs=2", "num_steps=6", "epochs=2", "minibatch_size=6", "lr=1e-3",
    "tensorboard=false",
]


def test_seeded_vec_env_restores_running_episodes_by_replay():
    def make_env(_):
        return make("BabyAIText-GoTo-v0", room_size=5, num_dists=1)

    envs = SeededVecEnv(make_env, 3, seed=7)
    rng = np.random.default_rng(0)
    for _ in range(30):
        envs.step(rng.integers(0, 3, size=3).tolist())
    state = envs.state()
    twin = SeededVecEnv(make_env, 3, seed=7)
    twin.restore(state)
    assert twin.obs == envs.obs and twin.returns == envs.returns and twin.episodes == envs.episodes
    actions = rng.integers(0, 3, size=(20, 3)).tolist()
    for step in actions:
        a, b = envs.step(step), twin.step(step)
        assert np.array_equal(a[0], b[0]) and a[4] == b[4] and envs.obs == twin.obs


def test_resumed_run_ends_with_exactly_the_uninterrupted_parameters(tmp_path):
    overrides = [*TINY, "total_frames=36", "checkpoint_every=1", "keep_checkpoints=0", f"out_dir={tmp_path}"]
    full = train_glam(load_config(GlamConfig, None, [*overrides, "name=full"]))
    part = train_glam(load_config(GlamConfig, None, [*overrides, "name=part", "total_frames=24"]))
    resumed = train_glam(part.load_config(GlamConfig, ["total_frames=36"]), resume=part.path)
    assert resumed == part
    cfg = load_config(GlamConfig, None, overrides)
    params = []
    for run in (full, resumed):
        policy = build_policy(cfg)
        load_policy_checkpoint(policy, latest_checkpoint(run.path))
        params.append(policy.state_dict())
    assert params[0].keys() == params[1].keys()
    for name in params[0]:
        assert torch.equal(params[0][name], params[1][name]), name
    # The resumed run's metrics continue the stopped run's rows without gaps or duplicates.
    steps = [line.split(",")[0] for line in (resumed.path / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == ["12", "24", "36"]
