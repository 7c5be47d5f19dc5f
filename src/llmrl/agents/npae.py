"""NPAE (GLAM's "non-pretrained action embedding" baseline): an LLM body with random weights + MLP heads.

The body has the architecture of the chosen LM but none of its knowledge; the policy no
longer scores action *strings*, it reads the prompt's hidden state h_p (last prompt token,
decoder position 0 for encoder-decoders, the same state GLAM's value head reads):

    pi(. | p) = softmax(ActionLogitsHead(h_p)),   V(p) = ValueHead(h_p)

Comparing it with GLAM separates what pre-training brings from what the architecture brings.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

from llmrl.agents.heads import ActionLogitsHead, ValueHead
from llmrl.agents.symbolic import ActorCriticPolicy
from llmrl.envs.babyai_text import ACTIONS
from llmrl.lm import LanguageModel


def randomly_initialized(lm: LanguageModel, seed: int) -> LanguageModel:
    """A copy of `lm`'s architecture and tokenizer with freshly initialized weights (seeded)."""
    config = lm.base_model.config
    auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    with torch.random.fork_rng(devices=[]):  # seeding the body must not reseed the caller's RNG
        torch.manual_seed(seed)
        model = auto.from_config(config)
    return LanguageModel(model, lm.tokenizer, name=f"random-init-{lm.name}", device=lm.device)


class NPAEPolicy(ActorCriticPolicy):
    """Observations are GLAM prompt strings; one logit per action from the prompt's hidden state."""

    def __init__(self, lm: LanguageModel, action_names: Sequence[str] = ACTIONS, *, inner: int = 1024) -> None:
        super().__init__()
        if not isinstance(lm, LanguageModel):
            raise TypeError(f"lm must be an llmrl.lm.LanguageModel, got {type(lm).__name__}")
        # The names only label the head's outputs (the prompt lists them); a renamed command set
        # (a variant) keeps the indices, which is all this policy knows of actions.
        self.action_names = tuple(action_names)
        self.lm = lm
        self.body = lm.model  # registered, so that parameters / state_dict include the body
        self.actor = ActionLogitsHead(lm.hidden_size, len(self.action_names), inner).to(lm.device)
        self.value_head = ValueHead(lm.hidden_size, inner).to(lm.device)
        # The engine returns h_p only next to candidate scores: one one-word candidate is scored
        # and ignored (a single extra token per prompt).
        self._probe = ["go"]

    def forward(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        if isinstance(prompts, str) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise TypeError("prompts must be a non-empty sequence of str (one prompt per environment)")
        grad = torch.is_grad_enabled()
        _, hidden = self.lm.score(list(prompts), [self._probe] * len(prompts), grad=grad, return_hidden=True,
                                  truncate="left")
        return self.actor(hidden), self.value_head(hidden)
