"""LLMPolicy on per-step (ragged) candidate lists: the same numbers as one row per (prompt, candidate)."""

import math

import pytest
import torch

from llmrl.agents.llm_policy import LLMPolicy
from llmrl.envs.text_games import CandidatePrompt
from llmrl.lm import tiny_random_lm

OBS = [
    CandidatePrompt("Goal of the agent: take the key \n Observation 0: a chest \n Action 0: ",
                    ("open the chest", "look", "go north", "eat the apple")),
    CandidatePrompt("Goal of the agent: leave \n Observation 0: a door \n Action 0: ", ("open door", "wait")),
    CandidatePrompt("Goal of the agent: sing \n Observation 0: silence \n Action 0: ",
                    ("sing a song", "take the lamp from the table", "x")),
]
ACTIONS = torch.tensor([2, 1, 0])
TOLERANCE = dict(atol=1e-5, rtol=1e-4)  # float32: the packed tree and single rows sum in other orders


def small_policy(normalize: str = "sum") -> LLMPolicy:
    torch.manual_seed(0)
    return LLMPolicy(tiny_random_lm("llama", seed=1), normalize=normalize, value_inner=16)


def reference(policy: LLMPolicy) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """log pi(action), entropy over the valid candidates and V, each pair scored in its own row."""
    logps, entropies, values = [], [], []
    for obs, action in zip(OBS, ACTIONS.tolist(), strict=True):
        scores = torch.cat([policy.lm.score([obs.prompt], [[c]], method="naive", normalize=policy.normalize,
                                            grad=True)[0] for c in obs.candidates])
        log_probs = torch.log_softmax(scores, 0)
        logps.append(log_probs[action])
        entropies.append(-(log_probs.exp() * log_probs).sum())
        _, hidden = policy.lm.score([obs.prompt], [[obs.candidates[0]]], grad=True, return_hidden=True)
        values.append(policy.value_head(hidden)[0])
    return torch.stack(logps), torch.stack(entropies), torch.stack(values)


def gradients(policy: LLMPolicy, outputs: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
    policy.zero_grad(set_to_none=True)
    logp, entropy, values = outputs
    (logp.sum() + 0.1 * entropy.sum() + values.pow(2).sum()).backward()
    return {name: p.grad.clone() for name, p in policy.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("normalize", ["sum", "mean"])
def test_ragged_candidates_give_the_log_probs_entropy_and_gradients_of_one_row_per_pair(normalize):
    policy = small_policy(normalize)
    policy.train(True)
    logits, _ = policy.distribution(OBS)
    assert logits.shape == (3, 4)
    assert torch.isinf(logits[1, 2:]).all() and torch.isinf(logits[2, 3:]).all() and torch.isfinite(logits[0]).all()

    ragged = policy.evaluate(OBS, ACTIONS)
    single = reference(policy)
    for got, want in zip(ragged, single, strict=True):
        torch.testing.assert_close(got, want, **TOLERANCE)
    # A one-candidate-too-many entropy (uniform padding) would be log 4 for every row, not these.
    assert not torch.allclose(ragged[1][1], torch.tensor(math.log(4.0)))

    got, want = gradients(policy, ragged), gradients(policy, single)
    assert got.keys() == want.keys() and len(got) > 4
    for name in got:
        assert torch.isfinite(got[name]).all(), name
        torch.testing.assert_close(got[name], want[name], **TOLERANCE, msg=lambda m, n=name: f"{n}: {m}")


def test_act_samples_only_a_step_s_own_candidates_and_mixes_with_fixed_action_names():
    policy = small_policy()
    short = CandidatePrompt("Observation 0: a room \n Action 0: ", ("look",))
    prompt = "Goal of the agent: go to the box \n Observation 0: \n Action 0: "  # the policy's six actions
    generator = torch.Generator().manual_seed(0)
    for _ in range(30):
        actions, logp, values = policy.act([short, prompt, OBS[1]], generator)
        assert actions[0] == 0 and logp[0] == 0.0  # one candidate: certain
        assert 0 <= actions[1] < 6 and 0 <= actions[2] < 2
        assert values.shape == (3,) and torch.isfinite(logp).all()
    logits, _ = policy.distribution([short, prompt])
    # The plain prompt keeps all six of its actions; the one-candidate row is padded after its first.
    assert logits.shape == (2, 6) and torch.isfinite(logits[1]).all() and torch.isinf(logits[0, 1:]).all()


def test_bad_observations_are_rejected_with_what_is_accepted():
    policy = small_policy()
    with pytest.raises(TypeError, match="CandidatePrompt"):
        policy.distribution(["a prompt", 3])
    with pytest.raises(TypeError, match="sequence of prompt strings"):
        policy.distribution(OBS[0])
    with pytest.raises(ValueError, match="at least one"):
        policy.distribution([])
    with pytest.raises(ValueError, match="non-empty"):
        CandidatePrompt("p", ())
    with pytest.raises(TypeError, match="sequence of str"):
        CandidatePrompt("p", "look")
