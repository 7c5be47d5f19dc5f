"""Sampling parameters of a generation request, checked once, shared by local and server generation."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SamplingParams:
    """What decides a completion besides the model and the prompt (and so keys the cache).

    temperature 0 is greedy decoding; `seed` makes sampling at temperature > 0 repeatable.
    """

    max_new_tokens: int = 64
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    n: int = 1
    seed: int | None = None

    def __post_init__(self):
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive int, got {self.max_new_tokens!r}")
        if not self.temperature >= 0:
            raise ValueError(f"temperature must be >= 0 (0 = greedy), got {self.temperature!r}")
        if not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"n must be a positive int, got {self.n!r}")
        if any(not isinstance(s, str) or not s for s in self.stop):
            raise ValueError(f"stop must be a list of non-empty strings, got {list(self.stop)!r}")

    @classmethod
    def build(cls, max_new_tokens: int, temperature: float, stop: list[str] | None, n: int, seed: int | None):
        """From `generate`'s keyword arguments (stop as a list, or None)."""
        if isinstance(stop, str):
            raise ValueError(f"stop must be a list of strings, not the string {stop!r}")
        return cls(max_new_tokens, float(temperature), tuple(stop or ()), n, seed)

    @property
    def greedy(self) -> bool:
        """Temperature 0: the output is a function of the prompt."""
        return self.temperature == 0.0

    @property
    def cacheable(self) -> bool:
        """Greedy or seeded: the same request must give the same answer. Unseeded samples are not cached."""
        return self.greedy or self.seed is not None

    def as_dict(self) -> dict:
        """JSON-ready fields (the seed is irrelevant to greedy decoding, so it is dropped there)."""
        fields = asdict(self)
        fields["stop"] = list(self.stop)
        if self.greedy:
            fields["seed"] = None
        return fields


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """`text` up to (not including) the first occurrence of any stop string."""
    end = len(text)
    for s in stop:
        found = text.find(s)
        if found != -1:
            end = min(end, found)
    return text[:end]
