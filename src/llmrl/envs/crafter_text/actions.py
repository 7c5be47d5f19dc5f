"""Text action sets of Text Crafter: crafter's 17 actions named in words, or the paper's verb-noun set.

`primitive` (default): the 17 crafter actions, index i is crafter action i.
`verb_noun`: the 29 valid verb x noun actions of the ELLM paper (of its 139 combinations, the
110 invalid ones, e.g. `drink tree`, are left out; `make crafting table` places one). Every
interaction (`chop tree`, `eat cow`, `drink water`, ...) is crafter's `do` on the facing cell:
the name is the agent's intent, and the transition caption says what really happened.
"""

from crafter import constants

from llmrl.envs.crafter_text.goals import ALIASES, GOALS

# crafter's own action names -> words (`place_table` places a crafting table).
PRIMITIVE_ACTIONS: tuple[str, ...] = tuple(
    "place crafting table" if name == "place_table" else name.replace("_", " ") for name in constants.actions
)
_MOVES = ("noop", "move left", "move right", "move up", "move down")
_INTERACTIONS = tuple(g for g in GOALS if g.split()[0] in ("eat", "attack", "chop", "mine", "drink"))
VERB_NOUN_ACTIONS: tuple[str, ...] = (
    *_MOVES,
    "sleep",
    *_INTERACTIONS,
    *(g for g in GOALS if g.startswith(("place ", "make "))),
)
ACTION_SETS: dict[str, tuple[str, ...]] = {"primitive": PRIMITIVE_ACTIONS, "verb_noun": VERB_NOUN_ACTIONS}


class ActionSet:
    """Names of one action set and the crafter action each one plays."""

    def __init__(self, name: str) -> None:
        if name not in ACTION_SETS:
            raise ValueError(f"unknown action_set {name!r}; accepted: {sorted(ACTION_SETS)}")
        self.name = name
        self.names = ACTION_SETS[name]
        self._crafter = tuple(
            PRIMITIVE_ACTIONS.index("do" if text in _INTERACTIONS else ALIASES.get(text, text)) for text in self.names
        )

    def __len__(self) -> int:
        return len(self.names)

    def index(self, action: int | str) -> int:
        """The index in this set of `action`, given as an index or as its name (any case/spacing)."""
        if isinstance(action, str):
            text = " ".join(action.lower().replace("_", " ").split())
            if text not in self.names:
                raise ValueError(f"unknown action {action!r}; valid actions: {', '.join(self.names)}")
            return self.names.index(text)
        try:
            index = int(action)
        except (TypeError, ValueError):
            raise ValueError(f"action must be an int in [0, {len(self)}) or a name, got {action!r}") from None
        if index != action or not 0 <= index < len(self):
            raise ValueError(f"action index {action!r} out of range [0, {len(self)})")
        return index

    def crafter_action(self, index: int) -> int:
        """The crafter action (0..16) that action `index` of this set plays."""
        return self._crafter[index]
