"""`LLMPolicy`: a language model *is* the policy (GLAM), with a value head on its hidden state.

For a prompt p and the action strings a_1..a_K (the env's commands):

    score(a_k) = sum_j log P_LM(token_j of a_k | p, tokens before j)     (or the mean over j)
    pi(a_k | p) = softmax_k(score(a_k))
    V(p)        = ValueHead(h_p),  h_p the last layer's hidden state at the last prompt token
                  (decoder position 0 for encoder-decoders)

The candidates are the policy's fixed `action_names` (BabyAI-Text) or, for a `CandidatePrompt`
observation, that step's own list (text games); a batch of lists of different lengths K_i gives
logits [B, max K_i] with -inf past each list's end. Scores come from the engine's
`LanguageModel.score` (the prompt computed once, its KV cache shared by the candidates: method
"shared"). The LM is fine-tuned fully or through LoRA adapters; the value head is always
trained. PPO's `act`, `evaluate`, `value` come from `ActorCriticPolicy` over `forward`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from llmrl.agents.action_names import check_action_names
from llmrl.agents.actor_critic import ActorCriticPolicy
from llmrl.agents.heads import ValueHead
from llmrl.envs.babyai_text import ACTIONS
from llmrl.envs.text_games.common import CandidatePrompt
from llmrl.lm import LanguageModel, load_lm

POLICY_FILE = "llmrl_policy.json"
VALUE_HEAD_FILE = "value_head.safetensors"
SCORING = ("shared", "naive")
NORMALIZE = ("sum", "mean")
Observation = str | CandidatePrompt
"""A prompt scored against the policy's `action_names`, or a prompt with its own candidates."""


class LLMPolicy(ActorCriticPolicy):
    """Categorical policy over action strings scored by an LM, plus GLAM's value head.

    An observation is a prompt string, whose candidates are the fixed `action_names`
    (BabyAI-Text), or a `CandidatePrompt` with its own list (text games: a new list every step).

    `normalize="mean"` uses the per-token mean log-likelihood (length-normalized scores);
    `scoring="naive"` scores one padded row per (prompt, action), the slow reference path.
    `reuse_prefix=True` (causal LMs, shared scoring) reuses the keys and values of prompt prefixes
    found by token ids: in a rollout each step starts from the previous step of its episode (the
    instruction and goal at least), and in the update an episode's steps compute their common
    prefix once (`LanguageModel.score(reuse_prefix=True)`; same log-probs and values to rounding).
    The LM's `precision` (fp32 or bf16) sets the body's compute dtype; values and log-softmax are fp32.
    `action_names` may be reassigned (a variant with other command names) without retraining.
    """

    def __init__(
        self,
        lm: LanguageModel,
        action_names: Sequence[str] = ACTIONS,
        *,
        normalize: str = "sum",
        scoring: str = "shared",
        value_inner: int = 1024,
        reuse_prefix: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(lm, LanguageModel):
            raise TypeError(f"lm must be an llmrl.lm.LanguageModel (see load_lm), got {type(lm).__name__}")
        if normalize not in NORMALIZE:
            raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")
        if scoring not in SCORING:
            raise ValueError(f"scoring must be one of {SCORING}, got {scoring!r}")
        self.lm = lm
        self.body = lm.model  # registered, so that state_dict / parameters / DDP see the LM
        self.value_head = ValueHead(lm.hidden_size, value_inner).to(lm.device)
        self.action_names = tuple(action_names)
        self.normalize = normalize
        self.scoring = scoring
        self.value_inner = value_inner
        self.reuse_prefix = bool(reuse_prefix)

    @property
    def action_names(self) -> tuple[str, ...]:
        return self._action_names

    @action_names.setter
    def action_names(self, names: Sequence[str]) -> None:
        self._action_names = check_action_names(names)

    # ------------------------------------------------------------------ policy
    def distribution(self, obs: Sequence[Observation], *, grad: bool = False) -> tuple[Tensor, Tensor]:
        """Logits [B, K] (each observation's candidates' log-likelihoods, -inf past its own count) and values [B].

        One `lm.score` call scores every prompt against its own candidates (ragged lists);
        K is the longest list of the batch.
        """
        prompts, candidates = _split_observations(obs, self.action_names)
        with torch.set_grad_enabled(grad):
            scores, hidden = self.lm.score(
                prompts,
                candidates,
                method=self.scoring,
                normalize=self.normalize,
                grad=grad,
                return_hidden=True,
                truncate="left",
                reuse_prefix=self.reuse_prefix and self.scoring == "shared" and not self.lm.is_encoder_decoder,
            )
            # -inf padding: probability 0 in the softmax, never sampled, no entropy (ActorCriticPolicy).
            logits = pad_sequence(scores, batch_first=True, padding_value=-math.inf)
            return logits.float(), self.value_head(hidden.float())

    def forward(self, obs: Sequence[Observation]) -> tuple[Tensor, Tensor]:
        """(logits, values) of `distribution`, with autograd when grad is enabled (PPO's update, DDP)."""
        return self.distribution(obs, grad=torch.is_grad_enabled())

    # ---------------------------------------------------------------- training
    def checkpoint_state(self) -> dict[str, Tensor]:
        """Tensors a training checkpoint needs: all weights, or only the trainable ones under LoRA."""
        state = self.state_dict()
        if not self.lm.has_adapters:
            return state
        trainable = {name for name, p in self.named_parameters() if p.requires_grad}
        return {name: tensor for name, tensor in state.items() if name in trainable}

    def load_checkpoint_state(self, state: dict[str, Tensor]) -> None:
        """Inverse of `checkpoint_state` (raises if a trainable tensor is missing or unexpected)."""
        expected = set(self.checkpoint_state())
        missing, unexpected = expected - set(state), set(state) - expected
        if missing or unexpected:
            raise ValueError(
                f"checkpoint does not match this policy: missing {sorted(missing)[:5]}, "
                f"unexpected {sorted(unexpected)[:5]} (was it saved with the same model and LoRA setting?)"
            )
        self.load_state_dict(state, strict=not self.lm.has_adapters)

    # ------------------------------------------------------------- persistence
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the LM (weights or base + adapters), tokenizer, value head and policy settings."""
        directory = self.lm.save_pretrained(directory)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.value_head.state_dict().items()},
                  str(directory / VALUE_HEAD_FILE))
        settings = {
            "action_names": list(self.action_names),
            "normalize": self.normalize,
            "scoring": self.scoring,
            "value_inner": self.value_inner,
            "reuse_prefix": self.reuse_prefix,
            "precision": self.lm.precision,
        }
        (directory / POLICY_FILE).write_text(json.dumps(settings, indent=2) + "\n")
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, *, device: str | torch.device = "cpu") -> LLMPolicy:
        """Load a policy written by `save_pretrained` (LoRA adapters stay trainable)."""
        directory = Path(directory)
        settings_file = directory / POLICY_FILE
        if not settings_file.is_file():
            raise FileNotFoundError(
                f"{directory} holds no saved LLMPolicy (no {POLICY_FILE}); save one with save_pretrained"
            )
        settings = json.loads(settings_file.read_text())
        policy = cls(
            load_lm(str(directory), device=device),
            settings["action_names"],
            normalize=settings["normalize"],
            scoring=settings["scoring"],
            value_inner=settings["value_inner"],
            reuse_prefix=settings.get("reuse_prefix", False),
        )
        policy.lm.precision = settings.get("precision", "fp32")
        policy.value_head.load_state_dict(load_file(str(directory / VALUE_HEAD_FILE), device=str(policy.lm.device)))
        return policy


def _split_observations(obs: Sequence[Observation], action_names: tuple[str, ...]) -> tuple[list[str], list[list[str]]]:
    """Prompts and the candidate list of each: a CandidatePrompt's own, else the policy's action names."""
    if isinstance(obs, (str, CandidatePrompt)) or not all(isinstance(o, (str, CandidatePrompt)) for o in obs):
        raise TypeError("observations must be a sequence of prompt strings or CandidatePrompt (one per environment)")
    if not obs:
        raise ValueError("observations is empty: give at least one prompt")
    prompts = [o if isinstance(o, str) else o.prompt for o in obs]
    candidates = [list(action_names if isinstance(o, str) else o.candidates) for o in obs]
    return prompts, candidates
