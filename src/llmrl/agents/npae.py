"""NPAE (GLAM's "non-pretrained action embedding" baseline): an LLM body with random weights + MLP heads.

The body has the architecture of the chosen LM but none of its knowledge; the policy no
longer scores action *strings*, it reads the prompt's hidden state h_p (last prompt token,
decoder position 0 for encoder-decoders, the same state GLAM's value head reads):

    pi(. | p) = softmax(ActionLogitsHead(h_p)),   V(p) = ValueHead(h_p)

Comparing it with GLAM separates what pre-training brings from what the architecture brings.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
from torch import Tensor
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

from llmrl.agents.actor_critic import ActorCriticPolicy
from llmrl.agents.heads import ActionLogitsHead, ValueHead
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
        # Prompts repeat a lot (history 1, small rooms): each distinct prompt is tokenized once.
        self._prompt_ids = lru_cache(maxsize=1 << 16)(self._encode)

    def _encode(self, prompt: str) -> tuple[int, ...]:
        # The tokenization GLAM's scorer uses, so h_p is the state GLAM's value head reads;
        # left truncation keeps the newest observations when a prompt exceeds the context.
        ids = self.lm.boundary.encode_prompt(prompt)[0]
        limit = self.lm.max_length
        return tuple(ids[-limit:] if limit else ids)

    def prompt_hidden(self, prompts: Sequence[str]) -> Tensor:
        """h_p [B, hidden]: one forward pass of the body over the right-padded prompts, no candidate tokens.

        Right padding keeps every prompt at positions 0..n-1 and, with causal attention, the
        last real token never sees the padding; so h_p equals the unbatched one.
        """
        ids = [self._prompt_ids(p) for p in prompts]
        lengths = torch.tensor([len(i) for i in ids])
        pad = self.lm.tokenizer.pad_token_id
        batch = torch.full((len(ids), int(lengths.max())), pad, dtype=torch.long)
        for row, seq in enumerate(ids):
            batch[row, : len(seq)] = torch.tensor(seq)
        mask = (torch.arange(batch.shape[1])[None] < lengths[:, None]).long()
        batch, mask = batch.to(self.lm.device), mask.to(self.lm.device)
        model = self.lm.base_model
        if self.lm.is_encoder_decoder:
            # Decoder position 0 after the start token reads the whole encoded prompt.
            start = torch.full((len(ids), 1), model.config.decoder_start_token_id, device=self.lm.device)
            out = model(input_ids=batch, attention_mask=mask, decoder_input_ids=start, output_hidden_states=True)
            return out.decoder_hidden_states[-1][:, 0]
        # The backbone without the LM head: NPAE never needs vocabulary logits.
        hidden = model.base_model(input_ids=batch, attention_mask=mask).last_hidden_state
        return hidden[torch.arange(len(ids), device=hidden.device), lengths.to(hidden.device) - 1]

    def forward(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        if isinstance(prompts, str) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise TypeError("prompts must be a non-empty sequence of str (one prompt per environment)")
        # A PPO minibatch repeats prompts (an agent turning in place, history 1): the body runs
        # once per distinct prompt and the rows are gathered back (gradients add up the same).
        unique = list(dict.fromkeys(prompts))
        row = {prompt: i for i, prompt in enumerate(unique)}
        hidden = self.prompt_hidden(unique)[torch.tensor([row[p] for p in prompts], device=self.lm.device)]
        return self.actor(hidden), self.value_head(hidden)
