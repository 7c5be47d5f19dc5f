"""Words and phrase templates of BabyAI-Text, and the generalization variants of GLAM.

A `Lexicon` renders every piece of text the environment emits: description sentences,
missions (from minigrid's instruction tree) and action names. The English lexicon
reproduces the reference wording; a variant is another lexicon (substituted words,
or French phrase templates), so mission, descriptions and actions stay consistent.
"""

import string
from dataclasses import dataclass, field, replace

from minigrid.envs.babyai.core.verifier import (
    AfterInstr,
    AndInstr,
    BeforeInstr,
    GoToInstr,
    Instr,
    ObjDesc,
    OpenInstr,
    PickupInstr,
    PutNextInstr,
)

ACTIONS = ("turn left", "turn right", "go forward", "pick up", "drop", "toggle")
"""The six GLAM commands, in minigrid's action index order."""

VARIANTS = (
    "nouns",
    "colors",
    "invented_nouns",
    "invented_adjectives",
    "invented_both",
    "rephrased",
    "synonym_actions",
    "french",
)
"""Names accepted by `variant=` (None is the reference English)."""

_NOUNS = {"ball": "chair", "box": "table", "key": "car"}
_COLORS = {
    "red": "vermilion", "green": "jade", "blue": "cyan", "purple": "violet", "yellow": "golden", "grey": "silver",
}
_INVENTED_NOUNS = {"ball": "dax", "box": "xolo", "key": "afze"}
_INVENTED_COLORS = {"red": "faze", "green": "jatu", "blue": "croh", "purple": "vurst", "yellow": "gakul", "grey": "sil"}
_SYNONYM_ACTIONS = ("rotate left", "rotate right", "move ahead", "take", "release", "switch")

_ENGLISH_HEADERS = {
    "actions": "Possible action of the agent:",
    "goal": "Goal of the agent:",
    "observation": "Observation",
    "action": "Action",
}


@dataclass(frozen=True)
class Lexicon:
    """English text of BabyAI-Text; `colors`/`nouns` substitute words (identity when absent)."""

    name: str | None = None
    colors: dict[str, str] = field(default_factory=dict)
    nouns: dict[str, str] = field(default_factory=dict)
    actions: tuple[str, ...] = ACTIONS
    headers: dict[str, str] = field(default_factory=lambda: dict(_ENGLISH_HEADERS))

    # --- descriptions -------------------------------------------------------------
    def _steps(self, n: int, direction: str) -> str:
        return f"{n} step {direction}" if n == 1 else f"{n} steps {direction}"

    def offset(self, dx: int, dy: int) -> str:
        """Offset of a cell `dx` to the right (negative: left) and `dy` forward of the agent."""
        if dx == 0:
            return self._steps(dy, "forward")
        side = self._steps(abs(dx), "right" if dx > 0 else "left")
        return side if dy == 0 else f"{side} and {self._steps(dy, 'forward')}"

    def color(self, color: str) -> str:
        return self.colors.get(color, color)

    def noun(self, kind: str) -> str:
        return self.nouns.get(kind, kind)

    def carry(self, color: str, kind: str) -> str:
        return f"You carry a {self.color(color)} {self.noun(kind)}"

    def wall(self, dx: int, dy: int) -> str:
        return f"You see a wall {self.offset(dx, dy)}"

    def thing(self, color: str, kind: str, dx: int, dy: int) -> str:
        return f"You see a {self.color(color)} {self.noun(kind)} {self.offset(dx, dy)}"

    def door(self, state: str, color: str, dx: int, dy: int) -> str:
        # The reference writes the article `a` before every door state, `open` included.
        return f"You see a {state} {self.color(color)} {self.noun('door')} {self.offset(dx, dy)}"

    # --- missions -----------------------------------------------------------------
    def describe_obj(self, desc: ObjDesc) -> str:
        """Minigrid's `ObjDesc.surface` wording, with this lexicon's words."""
        words = self.noun(desc.type) if desc.type else "object"
        if desc.color:
            words = f"{self.color(desc.color)} {words}"
        if desc.loc:
            words += {"front": " in front of you", "behind": " behind you"}.get(desc.loc, f" on your {desc.loc}")
        return ("a " if len(desc.obj_set) > 1 else "the ") + words

    def mission(self, instr: Instr) -> str:
        """The mission sentence of a minigrid instruction tree."""
        if isinstance(instr, GoToInstr):
            return f"go to {self.describe_obj(instr.desc)}"
        if isinstance(instr, PickupInstr):
            return f"pick up {self.describe_obj(instr.desc)}"
        if isinstance(instr, OpenInstr):
            return f"open {self.describe_obj(instr.desc)}"
        if isinstance(instr, PutNextInstr):
            return f"put {self.describe_obj(instr.desc_move)} next to {self.describe_obj(instr.desc_fixed)}"
        if isinstance(instr, BeforeInstr):
            return f"{self.mission(instr.instr_a)}, then {self.mission(instr.instr_b)}"
        if isinstance(instr, AfterInstr):
            return f"{self.mission(instr.instr_a)} after you {self.mission(instr.instr_b)}"
        if isinstance(instr, AndInstr):
            return f"{self.mission(instr.instr_a)} and {self.mission(instr.instr_b)}"
        raise TypeError(f"unsupported BabyAI instruction {type(instr).__name__}")


# French: all four object nouns are feminine; `objet` and `mur` are masculine.
_FR_NOUNS = {"ball": "balle", "box": "boîte", "key": "clé", "door": "porte", "wall": "mur", "object": "objet"}
_FR_FEMININE = {"balle", "boîte", "clé", "porte"}
_FR_COLORS = {  # (masculine, feminine)
    "red": ("rouge", "rouge"),
    "green": ("vert", "verte"),
    "blue": ("bleu", "bleue"),
    "purple": ("violet", "violette"),
    "yellow": ("jaune", "jaune"),
    "grey": ("gris", "grise"),
}
_FR_STATES = {"open": "ouverte", "closed": "fermée", "locked": "verrouillée"}
_FR_LOCS = {"front": "devant toi", "behind": "derrière toi", "left": "à ta gauche", "right": "à ta droite"}
# (imperative, past infinitive used after `après`)
_FR_VERBS = {
    GoToInstr: ("va à", "être allé à"),
    PickupInstr: ("ramasse", "avoir ramassé"),
    OpenInstr: ("ouvre", "avoir ouvert"),
    PutNextInstr: ("pose", "avoir posé"),
}
_FR_ACTIONS = ("tourner à gauche", "tourner à droite", "avancer", "ramasser", "lâcher", "basculer")
_FR_HEADERS = {
    "actions": "Actions possibles de l'agent :",
    "goal": "But de l'agent :",
    "observation": "Observation",
    "action": "Action",
}


@dataclass(frozen=True)
class FrenchLexicon(Lexicon):
    """French text: nouns before adjectives, gender agreement, `pas` for steps."""

    name: str | None = "french"
    actions: tuple[str, ...] = _FR_ACTIONS
    headers: dict[str, str] = field(default_factory=lambda: dict(_FR_HEADERS))

    def offset(self, dx: int, dy: int) -> str:
        parts = []
        if dx:
            parts.append(f"{abs(dx)} pas à {'droite' if dx > 0 else 'gauche'}")
        if dy:
            parts.append(f"{dy} pas devant")
        return "à " + " et ".join(parts)

    def _noun_phrase(self, kind: str | None, color: str | None, state: str | None = None) -> tuple[str, bool]:
        noun = _FR_NOUNS.get(kind or "object", kind or "objet")
        feminine = noun in _FR_FEMININE
        words = [noun]
        if color:
            words.append(_FR_COLORS[color][feminine])
        if state:
            words.append(_FR_STATES[state])
        return " ".join(words), feminine

    def _indefinite(self, kind: str | None, color: str | None, state: str | None = None) -> str:
        phrase, feminine = self._noun_phrase(kind, color, state)
        return f"{'une' if feminine else 'un'} {phrase}"

    def carry(self, color: str, kind: str) -> str:
        return f"Tu portes {self._indefinite(kind, color)}"

    def wall(self, dx: int, dy: int) -> str:
        return f"Tu vois {self._indefinite('wall', None)} {self.offset(dx, dy)}"

    def thing(self, color: str, kind: str, dx: int, dy: int) -> str:
        return f"Tu vois {self._indefinite(kind, color)} {self.offset(dx, dy)}"

    def door(self, state: str, color: str, dx: int, dy: int) -> str:
        return f"Tu vois {self._indefinite('door', color, state)} {self.offset(dx, dy)}"

    def describe_obj(self, desc: ObjDesc) -> str:
        phrase, feminine = self._noun_phrase(desc.type, desc.color)
        if desc.loc:
            phrase += " " + _FR_LOCS[desc.loc]
        if len(desc.obj_set) > 1:
            return f"{'une' if feminine else 'un'} {phrase}"
        return f"{'la' if feminine else 'le'} {phrase}"

    def _after_preposition(self, preposition: str, desc: ObjDesc) -> str:
        """`à` / `de` followed by an object, with French contractions (au, du, d'un)."""
        obj = self.describe_obj(desc)
        contracted = {("à", "le "): "au ", ("de", "le "): "du ", ("de", "un "): "d'un ", ("de", "une "): "d'une "}
        for (prep, article), joined in contracted.items():
            if prep == preposition and obj.startswith(article):
                return joined + obj[len(article) :]
        return f"{preposition} {obj}"

    def _clause(self, instr: Instr, past: bool) -> str:
        if isinstance(instr, AndInstr):
            return f"{self._clause(instr.instr_a, past)} et {self._clause(instr.instr_b, past)}"
        verb = _FR_VERBS[type(instr)][past]
        if isinstance(instr, GoToInstr):
            # `va à` + object: contract `à le` into `au`.
            return f"{verb.removesuffix('à')}{self._after_preposition('à', instr.desc)}"
        if isinstance(instr, PutNextInstr):
            fixed = self._after_preposition("de", instr.desc_fixed)
            return f"{verb} {self.describe_obj(instr.desc_move)} à côté {fixed}"
        return f"{verb} {self.describe_obj(instr.desc)}"

    def mission(self, instr: Instr) -> str:
        if isinstance(instr, BeforeInstr):
            return f"{self._clause(instr.instr_a, False)}, puis {self._clause(instr.instr_b, False)}"
        if isinstance(instr, AfterInstr):
            return f"{self._clause(instr.instr_a, False)} après {self._clause(instr.instr_b, True)}"
        if isinstance(instr, (GoToInstr, PickupInstr, OpenInstr, PutNextInstr, AndInstr)):
            return self._clause(instr, False)
        raise TypeError(f"unsupported BabyAI instruction {type(instr).__name__}")


ENGLISH = Lexicon()

_LEXICONS: dict[str | None, Lexicon] = {
    None: ENGLISH,
    "nouns": Lexicon("nouns", nouns=_NOUNS),
    "colors": Lexicon("colors", colors=_COLORS),
    "invented_nouns": Lexicon("invented_nouns", nouns=_INVENTED_NOUNS),
    "invented_adjectives": Lexicon("invented_adjectives", colors=_INVENTED_COLORS),
    "invented_both": Lexicon("invented_both", colors=_INVENTED_COLORS, nouns=_INVENTED_NOUNS),
    # The goal is introduced differently; mission and observations keep their wording.
    "rephrased": replace(ENGLISH, name="rephrased", headers={**_ENGLISH_HEADERS, "goal": "I would like the agent to:"}),
    "synonym_actions": Lexicon("synonym_actions", actions=_SYNONYM_ACTIONS),
    "french": FrenchLexicon(),
}


def get_lexicon(variant: str | None = None) -> Lexicon:
    """The lexicon of a variant (None: reference English); raises ValueError for unknown names."""
    if variant not in _LEXICONS:
        raise ValueError(f"unknown variant {variant!r}; accepted: None, {', '.join(VARIANTS)}")
    return _LEXICONS[variant]


def variant_action_names(variant: str | None = None) -> tuple[str, ...]:
    """The six action commands under a variant, in minigrid's index order."""
    return get_lexicon(variant).actions


def variant_prompt_headers(variant: str | None = None) -> dict[str, str]:
    """Prompt words under a variant: keys `actions`, `goal`, `observation`, `action`.

    English: "Possible action of the agent:", "Goal of the agent:", "Observation", "Action".
    """
    return dict(get_lexicon(variant).headers)


def _charset() -> str:
    """Every character any lexicon can emit (the Text spaces' character set)."""
    chars = set(string.ascii_letters + string.digits + " ,.'-:")
    tables: list = [_NOUNS, _COLORS, _INVENTED_NOUNS, _INVENTED_COLORS, _FR_NOUNS, _FR_STATES, _FR_LOCS]
    words = [w for table in tables for w in table.values()]
    words += [w for pair in _FR_COLORS.values() for w in pair]
    words += [w for pair in _FR_VERBS.values() for w in pair]
    words += list(_FR_ACTIONS) + list(_SYNONYM_ACTIONS) + ["à côté", "après", "portes", "pas à"]
    for word in words:
        chars.update(word)
    return "".join(sorted(chars))


CHARSET = _charset()
