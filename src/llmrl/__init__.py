"""llmrl: reinforcement learning with language models in text environments."""

__version__ = "0.1.0"
