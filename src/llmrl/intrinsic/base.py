"""The contracts between the trainer and the intrinsic-reward package.

A trainer runs `num_envs` environments in parallel and owns one `IntrinsicReward`.
Per step, for each env i:

1. build a `GoalContext` of the current state (`context_from_info(info)` does it from
   a Text-Crafter `info` dict) and ask `intrinsic.goals(contexts)` for the goals to
   condition the agent on (`[]` for every env when `intrinsic.uses_goals` is False);
2. step the env, then hand one `Transition` per env to `intrinsic.rewards(...)`,
   which returns one float per env (the intrinsic reward of that step);
3. call `intrinsic.update()` when the agent updates (it trains the RND predictor;
   `{}` for the others) and log `intrinsic.stats()`.

Per-episode memory (goals achieved, captions seen) is cleared when a transition has
`done=True` and by `reset(i)`; the trainer may call `reset(i)` at every episode
start, which is harmless after a `done`.

Build one with `llmrl.intrinsic.make_intrinsic(name, *, num_envs, embedder, suggester=None,
threshold=0.99, seed=0, device="cpu")`, name in `INTRINSIC_NAMES`: "ellm" (and
"ellm-nofilter") need a `GoalSuggester` (see `llmrl.intrinsic.make_suggester`); "oracle" builds
its own; "ellm", "ellm-nofilter", "oracle", "rnd", "apt" need an `Embedder`
(`llmrl.lm.load_embedder("minilm")`); "novelty" and "none" need neither.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class GoalContext:
    """What a goal suggester sees for one env at one state.

    caption: the state caption (`You see ... . You are targeting X.`).
    inventory: the inventory sentence (`You have in your inventory wood.`; "" if none).
    status: the status sentence (`You feel hungry.`; "" when all stats are full).
    achieved: goals achieved so far this episode; suggesters drop them (and their
        aliases) from what they return. `IntrinsicReward.goals` fills this in from its
        own per-episode record, so a trainer may pass the empty set.
    feasible: the oracle's feasible goals of this state (`crafter_text.feasible_goals`),
        used by the oracle suggester and for the suggestion-quality statistics;
        None when unknown (then no quality statistics are counted for this context).
    """

    caption: str
    inventory: str = ""
    status: str = ""
    achieved: frozenset[str] = frozenset()
    feasible: tuple[str, ...] | None = None

    def __post_init__(self):
        for name in ("caption", "inventory", "status"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"GoalContext.{name} must be a str, got {type(getattr(self, name)).__name__}")
        if not isinstance(self.achieved, frozenset):
            raise TypeError(
                f"GoalContext.achieved must be a frozenset of goal strings, got {type(self.achieved).__name__}"
            )
        if self.feasible is not None and not isinstance(self.feasible, tuple):
            raise TypeError(
                f"GoalContext.feasible must be a tuple of goal strings or None, got {type(self.feasible).__name__}"
            )

    @property
    def text(self) -> str:
        """The whole state text (caption, inventory, status); what suggestions are memoized by."""
        return " ".join(part for part in (self.caption, self.inventory, self.status) if part)


def context_from_info(
    info: Mapping[str, Any], achieved: frozenset[str] = frozenset(), *, oracle: bool = True
) -> GoalContext:
    """A `GoalContext` from a Text-Crafter `info` dict (from `reset` or `step`).

    `oracle=True` also fills `feasible` from `info["state"]` (cheap: a set computation).
    """
    missing = [k for k in ("state_caption", "inventory_caption", "status_caption") if k not in info]
    if missing:
        raise KeyError(f"info lacks {missing}; pass the info dict of a CrafterTextEnv reset/step")
    feasible = None
    if oracle:
        from llmrl.envs.crafter_text import feasible_goals

        feasible = tuple(feasible_goals(info["state"]))
    return GoalContext(
        caption=info["state_caption"],
        inventory=info["inventory_caption"],
        status=info["status_caption"],
        achieved=achieved,
        feasible=feasible,
    )


@dataclass(frozen=True)
class Transition:
    """One env's step, as the intrinsic rewards need it.

    env_index: which of the `num_envs` envs stepped.
    caption: the ground-truth transition caption (`info["transition_caption"]`), None when
        nothing happened.
    prev_goals: the goals the agent was conditioned on in the state the step started
        from (what `goals()` returned for it; () for rewards without goals).
    next_state_text: the whole text state after the step (`obs["text"]`), embedded by
        RND and APT.
    done: the episode ended with this step (terminated or truncated).
    """

    env_index: int
    caption: str | None
    prev_goals: tuple[str, ...] = ()
    next_state_text: str = ""
    done: bool = False


@runtime_checkable
class GoalSuggester(Protocol):
    """Suggests goals for a batch of states."""

    def suggest(self, contexts: Sequence[GoalContext]) -> list[list[str]]:
        """One list of goals per context: lower-cased, de-duplicated, without `context.achieved`."""
        ...

    def stats(self) -> dict[str, float]:
        """Running statistics: queries, llm_prompts, cache_hit_rate, parse_failures,
        feasible_share (suggested goals that were feasible), feasible_coverage
        (feasible goals that were suggested)."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """A sentence encoder: `embed(texts)` -> float tensor [len(texts), dim], rows L2-normalized."""

    def embed(self, texts: list[str]) -> Any: ...


class IntrinsicReward(Protocol):
    """An intrinsic reward over `num_envs` parallel envs (one object per run)."""

    name: str
    num_envs: int
    uses_goals: bool  # True for ellm/oracle: the agent is conditioned on goals

    def reset(self, env_index: int) -> None:
        """Env `env_index` starts a new episode: forget its per-episode memory."""
        ...

    def goals(self, contexts: Sequence[GoalContext]) -> list[list[str]]:
        """Goals to condition on for the current state of each env (contexts[i] is env i)."""
        ...

    def rewards(self, transitions: Sequence[Transition]) -> np.ndarray:
        """One float32 reward per transition (same order), for the step just taken."""
        ...

    def update(self) -> dict[str, float]:
        """One learning step of the reward's own model (RND predictor); {} when it has none."""
        ...

    def stats(self) -> dict[str, float]:
        """Running statistics to log (mean reward, share of rewarded steps, suggester stats...)."""
        ...

    def state_dict(self) -> dict:
        """Everything needed to resume (tensors and JSON-able values only)."""
        ...

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""
        ...


INTRINSIC_NAMES = ("ellm", "ellm-nofilter", "oracle", "novelty", "rnd", "apt", "none")
