"""Evaluation: the episode loop every method is evaluated with (`episodes`), success rates with
confidence intervals (`stats`), learning curves and bars (`plots`), cross-run comparison (`compare`).

Between `llmrl.runtime` and `llmrl.train`: nothing here imports a trainer (docs/architecture.md)."""
