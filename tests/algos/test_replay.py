"""N-step replay: returns across episode ends, ring wrap-around, several envs, resume."""

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from llmrl.algos.replay import NStepReplayBuffer, n_step_return

SPEC = {"x": ((2,), np.float32), "img": ((2, 2), np.uint8)}


def obs_of(values):
    """Dict observation for a vector step: x = [env-id-ish value, 0], img filled with value % 256."""
    values = np.asarray(values, np.float32)
    pixels = (values.astype(np.int64) % 256).astype(np.uint8)
    return {"x": np.stack([values, np.zeros_like(values)], axis=1),
            "img": np.broadcast_to(pixels[:, None, None], (len(values), 2, 2)).copy()}


def stored(buffer):
    """All stored transitions as tuples (obs x, action, reward, next obs x, discount, done), via state_dict."""
    state = buffer.state_dict()
    size = int(state["pos_size"][1])
    return [(float(state["obs.x"][i, 0]), int(state["action"][i]), round(float(state["reward"][i]), 5),
             float(state["next_obs.x"][i, 0]), round(float(state["discount"][i]), 5), bool(state["done"][i]))
            for i in range(size)]


def step(buffer, t, reward, terminated=False, truncated=False, next_value=None):
    """One single-env step from observation t to t+1 (or to a given final observation)."""
    buffer.add(obs_of([t]), np.array([t]), np.array([reward]), obs_of([t + 1 if next_value is None else next_value]),
               np.array([terminated]), np.array([truncated]))


def test_n_step_return():
    assert n_step_return(np.array([1.0, 2.0, 3.0]), 0.5) == pytest.approx(1 + 1 + 0.75)


def test_full_windows_emit_n_step_transitions():
    buffer = NStepReplayBuffer(10, SPEC, n_step=3, gamma=0.5, num_envs=1)
    for t, r in enumerate([1.0, 2.0]):
        step(buffer, t, r)
    assert len(buffer) == 0  # windows not full yet
    step(buffer, 2, 3.0)
    step(buffer, 3, 4.0)
    assert stored(buffer) == [(0.0, 0, 2.75, 3.0, 0.125, False), (1.0, 1, 2 + 1.5 + 1.0, 4.0, 0.125, False)]


@pytest.mark.parametrize("terminated", [True, False])
def test_episode_end_inside_window_cuts_return(terminated):
    buffer = NStepReplayBuffer(10, SPEC, n_step=3, gamma=0.5, num_envs=1)
    step(buffer, 0, 1.0)
    step(buffer, 1, 2.0, terminated=terminated, truncated=not terminated, next_value=50.0)
    # Both pending steps flushed with k = 2 and 1; termination sets done, truncation bootstraps from 50.
    assert stored(buffer) == [(0.0, 0, 2.0, 50.0, 0.25, terminated), (1.0, 1, 2.0, 50.0, 0.5, terminated)]
    # The next episode starts a fresh window: nothing of the old one leaks into it.
    for t in (100, 101, 102):
        step(buffer, t, 1.0)
    assert stored(buffer)[-1] == (100.0, 100, 1.75, 103.0, 0.125, False)
    assert len(buffer) == 3


def test_n_equals_one_is_plain_one_step():
    buffer = NStepReplayBuffer(10, SPEC, n_step=1, gamma=0.9, num_envs=1)
    step(buffer, 0, 1.0)
    step(buffer, 1, 2.0, terminated=True)
    assert stored(buffer) == [(0.0, 0, 1.0, 1.0, 0.9, False), (1.0, 1, 2.0, 2.0, 0.9, True)]


def test_ring_wraps_around_keeping_the_newest():
    buffer = NStepReplayBuffer(4, SPEC, n_step=1, gamma=0.9, num_envs=1)
    for t in range(10):
        step(buffer, t, float(t))
    assert len(buffer) == 4
    assert sorted(row[0] for row in stored(buffer)) == [6.0, 7.0, 8.0, 9.0]
    assert int(buffer.state_dict()["pos_size"][0]) == 10 % 4


def test_sampling_empty_buffer_is_a_clear_error_and_small_capacity_still_samples():
    buffer = NStepReplayBuffer(2, SPEC, n_step=3, gamma=0.9, num_envs=1)
    rng = np.random.default_rng(0)
    step(buffer, 0, 1.0)
    with pytest.raises(ValueError, match="empty replay buffer"):
        buffer.sample(4, rng)
    for t in range(1, 6):
        step(buffer, t, 1.0)
    batch = buffer.sample(64, rng)  # capacity 2 < batch 64: drawn with replacement
    assert batch["action"].shape == (64,) and set(batch["action"].tolist()) == {2, 3}
    assert batch["obs"]["img"].dtype.is_floating_point is False and batch["obs"]["img"].shape == (64, 2, 2)
    assert batch["done"].dtype.is_floating_point and batch["discount"].tolist() == pytest.approx([0.729] * 64)


def reference_transitions(trajectories, n, gamma):
    """Brute force: n-step transitions of each env's recorded trajectory, cut at episode ends."""
    expected = []
    for steps in trajectories:
        episode = []
        for record in steps:
            episode.append(record)
            obs, action, reward, next_obs, terminated, truncated = record
            if terminated or truncated or len(episode) == n:
                starts = range(len(episode)) if terminated or truncated else [0]
                for s in starts:
                    window = episode[s:]
                    ret = sum(gamma**i * w[2] for i, w in enumerate(window))
                    discount = round(gamma ** len(window), 5)
                    expected.append((window[0][0], window[0][1], round(ret, 5), next_obs, discount, bool(terminated)))
                episode = [] if terminated or truncated else episode[1:]
    return expected


def test_interleaved_envs_never_mix_and_match_brute_force():
    num_envs, n, gamma = 3, 3, 0.9
    rng = np.random.default_rng(7)
    buffer = NStepReplayBuffer(1000, SPEC, n_step=n, gamma=gamma, num_envs=num_envs)
    trajectories = [[] for _ in range(num_envs)]
    # Observation value encodes (env, time) uniquely: 1000 * env + t; final observations get +500.
    for t in range(60):
        obs = [1000.0 * e + t for e in range(num_envs)]
        ends = rng.random((num_envs, 2)) < [0.1, 0.08]
        terminated, truncated = ends[:, 0], ends[:, 1] & ~ends[:, 0]
        nxt = [o + 500.0 if terminated[e] or truncated[e] else o + 1 for e, o in enumerate(obs)]
        actions, rewards = rng.integers(0, 5, num_envs), rng.normal(size=num_envs).astype(np.float32)
        buffer.add(obs_of(obs), actions, rewards, obs_of(nxt), terminated, truncated)
        for e in range(num_envs):
            trajectories[e].append((obs[e], int(actions[e]), float(rewards[e]), nxt[e], terminated[e], truncated[e]))
    got = stored(buffer)
    assert any(row[5] for row in got)
    assert any(row[4] > round(gamma**n, 5) and not row[5] for row in got)  # truncations cut windows
    assert all(row[0] // 1000 == row[3] // 1000 for row in got)  # obs and next obs from one env
    expected = reference_transitions(trajectories, n, gamma)
    # Each start observation is stored exactly once: compare row by row (returns up to float32).
    assert sorted(row[0] for row in got) == sorted(row[0] for row in expected) and len(got) == len(set(got))
    by_obs = {row[0]: row for row in got}
    for row in expected:
        assert by_obs[row[0]][2] == pytest.approx(row[2], abs=1e-4)
        assert by_obs[row[0]][:2] + by_obs[row[0]][3:] == row[:2] + row[3:]


def test_state_dict_round_trip_through_safetensors_resumes_exactly(tmp_path):
    original = NStepReplayBuffer(8, SPEC, n_step=3, gamma=0.9, num_envs=2)
    for t in range(7):  # wraps the ring and leaves pending windows
        original.add(obs_of([t, 100 + t]), np.array([t, t]), np.array([1.0, 2.0]), obs_of([t + 1, 101 + t]),
                     np.array([t == 4, False]), np.array([False, False]))
    save_file(original.state_dict(), tmp_path / "replay.safetensors")
    restored = NStepReplayBuffer(8, SPEC, n_step=3, gamma=0.9, num_envs=2)
    restored.load_state_dict(load_file(tmp_path / "replay.safetensors"))
    for buffer in (original, restored):  # the pending windows must continue identically
        buffer.add(obs_of([7, 107]), np.array([7, 7]), np.array([1.0, 2.0]), obs_of([8, 108]),
                   np.array([False, True]), np.array([False, False]))
    assert stored(original) == stored(restored)
    a, b = original.sample(16, np.random.default_rng(3)), restored.sample(16, np.random.default_rng(3))
    assert all((a[k] == b[k]).all() for k in ("action", "reward", "discount", "done"))
    assert all((a["obs"][k] == b["obs"][k]).all() for k in SPEC)
    with pytest.raises(ValueError, match="shape"):
        NStepReplayBuffer(8, SPEC, n_step=2, gamma=0.9, num_envs=2).load_state_dict(original.state_dict())
    with pytest.raises(ValueError, match="gamma"):
        NStepReplayBuffer(8, SPEC, n_step=3, gamma=0.5, num_envs=2).load_state_dict(original.state_dict())


def test_replay_rejects_bad_input():
    with pytest.raises(ValueError, match="must be >= 1"):
        NStepReplayBuffer(0, SPEC, n_step=3, gamma=0.9, num_envs=1)
    buffer = NStepReplayBuffer(8, SPEC, n_step=3, gamma=0.9, num_envs=2)
    with pytest.raises(ValueError, match="keys"):
        buffer.add({"x": np.zeros((2, 2))}, np.zeros(2), np.zeros(2), obs_of([0, 1]), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"obs\['x'\] must have shape"):
        buffer.add(obs_of([0]), np.zeros(2), np.zeros(2), obs_of([0, 1]), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="reward must have shape"):
        buffer.add(obs_of([0, 1]), np.zeros(2), np.zeros(3), obs_of([0, 1]), np.zeros(2), np.zeros(2))
