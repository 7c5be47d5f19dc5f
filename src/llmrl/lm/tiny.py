"""Tiny randomly initialised language models with an offline word-level tokenizer.

They are what unit tests and the `cpu-tiny` presets train: a few hundred thousand
parameters, a vocabulary covering BabyAI-Text and Text-Crafter, no model hub.
"""

from collections.abc import Iterable

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    GPT2Config,
    LlamaConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    T5Config,
)

from llmrl.lm.model import LanguageModel

PAD, EOS, BOS, UNK = "[PAD]", "[EOS]", "[BOS]", "[UNK]"
SPECIAL_TOKENS = (PAD, EOS, BOS, UNK)

# Words of the GLAM prompt, BabyAI-Text observations/missions, Text-Crafter captions.
BASE_WORDS = """
red green blue purple yellow grey ball box key door wall floor
turn left right go forward pick up drop toggle put next to the a an then after you
steps step see carry open closed locked possible action actions of agent goal observation
i would like have and in front is there nothing here your inventory
tree water grass sand stone coal iron diamond table furnace cow zombie skeleton plant
sapling wood pickaxe sword lava path arrow eat drink collect place make attack
sleep noop do move up down health food thirst energy rest wake cut chop mine
wooden craft near at on with by it this that no not are""".split()
PUNCTUATION = list(",:.;!?'\"()-_/")
DIGITS = [str(d) for d in range(10)]

FAMILIES = ("llama", "gpt2", "t5")


def build_word_tokenizer(extra_words: Iterable[str] = ()) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over the built-in vocabulary plus `extra_words`.

    Text is split on whitespace and punctuation; unknown words map to [UNK]
    and text is lower-cased first.
    """
    words: list[str] = []
    for word in [*BASE_WORDS, *PUNCTUATION, *DIGITS, *(w.lower() for w in extra_words)]:
        if word not in words:
            words.append(word)
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *words])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=PAD, eos_token=EOS, bos_token=BOS, unk_token=UNK
    )


def tiny_random_lm(
    family: str = "llama",
    *,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 512,
    extra_words: Iterable[str] = (),
    attn_implementation: str = "sdpa",
    device: str | torch.device = "cpu",
) -> LanguageModel:
    """A tiny randomly initialised `family` model ("llama", "gpt2" or "t5"), offline.

    Dropout is 0 so that scores are deterministic in train mode too (PPO ratios).
    Save it with `lm.save_pretrained(dir)` and reload it with `load_lm(dir)`.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown tiny model family {family!r}; accepted: {', '.join(FAMILIES)}")
    if hidden_size % num_heads:
        raise ValueError(f"hidden_size ({hidden_size}) must be divisible by num_heads ({num_heads})")
    tokenizer = build_word_tokenizer(extra_words)
    ids = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.bos_token_id,
    }
    if family == "llama":
        config = LlamaConfig(
            hidden_size=hidden_size,
            intermediate_size=2 * hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=num_heads,
            num_key_value_heads=max(1, num_heads // 2),
            max_position_embeddings=max_positions,
            tie_word_embeddings=True,
            **ids,
        )
    elif family == "gpt2":
        config = GPT2Config(
            n_embd=hidden_size,
            n_layer=num_layers,
            n_head=num_heads,
            n_positions=max_positions,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            **ids,
        )
    else:
        config = T5Config(
            d_model=hidden_size,
            d_ff=2 * hidden_size,
            d_kv=hidden_size // num_heads,
            num_heads=num_heads,
            num_layers=num_layers,
            dropout_rate=0.0,
            decoder_start_token_id=tokenizer.pad_token_id,
            **ids,
        )
    model = _init_model(config, seed, attn_implementation)
    return LanguageModel(model, tokenizer, name=f"tiny-random-{family}", device=device)


def _init_model(config: PretrainedConfig, seed: int, attn_implementation: str) -> PreTrainedModel:
    config._attn_implementation = attn_implementation
    auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    # fork_rng: seeding the model must not reseed the caller's global torch RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return auto.from_config(config, attn_implementation=attn_implementation)
