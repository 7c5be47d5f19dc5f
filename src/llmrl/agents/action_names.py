"""The command list a text policy scores (BabyAI's six, or a variant's synonyms)."""

from collections.abc import Sequence


def check_action_names(names: Sequence[str]) -> tuple[str, ...]:
    """`names` as a tuple, or a ValueError unless they are at least two non-empty strings."""
    names = tuple(names)
    if len(names) < 2 or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError(f"action_names must be at least two non-empty strings, got {names!r}")
    return names
