"""`TextWorldEnv`: TextWorld games, generated locally from a seed, as a gymnasium text env.

TextWorld (Cote et al., 2018) ships its game generator and the Inform 7 compiler in its
wheel, so a game is made on this machine from (spec, seed): nothing is downloaded. The
same spec and seed give the same game (the compiled file is byte-identical), and a game is
compiled once and kept under the cache ($LLMRL_CACHE_DIR/textworld, ~4 s per new game).

Observation: the game's text after the last command (a `spaces.Text`; TextWorld's ASCII-art
banner and its status-line prompt are removed). Action: a command (any text, as a player
would type it) or an index into this step's `info["admissible_commands"]`.

Info (every reset and step): "goal" (the game's objective), "admissible_commands" (sorted
list[str]: the candidates), "description" (what "look" prints), "inventory", "score",
"max_score", "won", "lost", "moves", "game_seed", "walkthrough" (a winning command list
from the episode's start).
Reward: the change of the game's score (a point per quest sub-goal reached).
`terminated`: won or lost; `truncated`: `max_steps` commands taken without either.

Which game an episode plays: `reset(options={"game_seed": s})` plays the game of seed s;
otherwise the env's RNG (seeded by `reset(seed=...)`) draws one from `game_seeds` when that
pool is given, else any seed in [0, 2**31) (a new game almost every episode).
"""

import argparse
import hashlib
import json
import re
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from llmrl.envs.text_games.common import cache_root, command_space, observation_space, resolve_command, tidy, to_charset

CHALLENGES = ("tw-simple", "tw-coin_collector", "tw-treasure_hunter", "tw-cooking")
MAX_GAME_SEED = 2**31 - 1
INSTALL_HINT = "TextWorld is an optional dependency: pip install 'llmrl[textworld]' (textworld>=1.7)"


def _textworld():
    try:
        import textworld
        import textworld.challenges
        import textworld.generator
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(INSTALL_HINT) from error
    return textworld


@dataclass(frozen=True)
class TextWorldGame:
    """What kind of game to generate; the seed picks one game of that kind.

    `challenge=None`: a custom game of `rooms` rooms, `objects` objects and a quest of
    `quest_length` commands (`quest_breadth` > 1 adds side branches). A challenge
    ("tw-simple", "tw-coin_collector", "tw-treasure_hunter", "tw-cooking") generates its
    own layout from `settings` (e.g. {"level": 5} for coin collector and treasure hunter;
    see TextWorld's `tw-make <challenge> --help`); the sizes are then ignored.
    """

    challenge: str | None = None
    rooms: int = 3
    objects: int = 6
    quest_length: int = 3
    quest_breadth: int = 1
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.challenge is not None and self.challenge not in CHALLENGES:
            raise ValueError(f"unknown TextWorld challenge {self.challenge!r}; accepted: {', '.join(CHALLENGES)}")
        if self.challenge is None and min(self.rooms, self.quest_length, self.quest_breadth) < 1:
            raise ValueError("rooms, quest_length and quest_breadth must be at least 1")
        if self.objects < 0:
            raise ValueError("objects must be >= 0")
        # A frozen dataclass with a dict field: keep it hashable and immutable by copying it as sorted items.
        object.__setattr__(self, "settings", dict(sorted(dict(self.settings).items())))

    def __hash__(self) -> int:
        return hash(json.dumps(asdict(self), sort_keys=True))

    def key(self, seed: int | None = None) -> str:
        """A digest of the spec (and seed) and TextWorld's version: the game's cache name."""
        textworld = _textworld()
        blob = json.dumps({**asdict(self), "seed": seed, "textworld": textworld.__version__}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def generate_game(spec: TextWorldGame, seed: int):
    """The `textworld.Game` of `spec` and `seed` (not compiled)."""
    textworld = _textworld()
    if not 0 <= seed <= MAX_GAME_SEED:
        raise ValueError(f"game seed must be in [0, {MAX_GAME_SEED}], got {seed}")
    options = textworld.GameOptions()
    options.seeds = int(seed)
    if spec.challenge is None:
        options.nb_rooms = spec.rooms
        options.nb_objects = spec.objects
        options.quest_length = spec.quest_length
        options.quest_breadth = spec.quest_breadth
        return textworld.generator.make_game(options)
    _, make, add_arguments = textworld.challenges.CHALLENGES[spec.challenge]
    try:
        return make(challenge_settings(spec.challenge, spec.settings), options)
    except KeyError as error:
        raise ValueError(f"TextWorld's {spec.challenge} needs the setting {error.args[0]!r} in settings=...; "
                         f"see `tw-make {spec.challenge} --help`") from error


def challenge_settings(challenge: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """`settings` over the challenge's own defaults (those of its `tw-make` options)."""
    textworld = _textworld()
    parser = argparse.ArgumentParser(add_help=False)
    textworld.challenges.CHALLENGES[challenge][2](parser)
    defaults = {a.dest: a.default for a in parser._actions if not a.required and a.default != argparse.SUPPRESS}
    return {**defaults, **settings}


def game_file(spec: TextWorldGame, seed: int, cache_dir: str | Path | None = None) -> Path:
    """The compiled game file of (spec, seed), generated and compiled on first use, then cached.

    It is compiled in a temporary directory renamed into place, so a concurrent process
    or a crash never leaves half a game.
    """
    root = Path(cache_dir) if cache_dir is not None else cache_root() / "textworld"
    target = root / spec.key(seed)
    path = target / "game.z8"
    if path.is_file():
        return path
    textworld = _textworld()
    game = generate_game(spec, seed)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    try:
        options = textworld.GameOptions()
        options.path = str(tmp / "game.z8")
        options.force_recompile = True
        textworld.generator.compile_game(game, options)
        tmp.chmod(0o755)
        try:
            tmp.rename(target)
        except OSError:  # another process compiled the same game first: keep its copy
            if not path.is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


_BANNER_LINE = re.compile(r"^[ $\\|_/<>]*[$\\|_/][ $\\|_/<>]*$")
_PROMPT_LINE = re.compile(r"\n?[ \t]*>[^\n]*$")


def clean_feedback(text: str) -> str:
    """TextWorld's text without its ASCII-art banner and the trailing `>` prompt + status line."""
    lines = [line for line in text.split("\n") if not _BANNER_LINE.match(line)]
    return to_charset(tidy(_PROMPT_LINE.sub("", "\n".join(lines).rstrip())))


class TextWorldEnv(gym.Env):
    """A TextWorld game per episode; candidates are TextWorld's admissible commands."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        game: TextWorldGame | None = None,
        *,
        game_seeds: Sequence[int] | None = None,
        max_steps: int = 50,
        cache_dir: str | Path | None = None,
        render_mode: str | None = None,
    ):
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        if game_seeds is not None and len(game_seeds) == 0:
            raise ValueError("game_seeds must be None or a non-empty list of seeds")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.game = game if game is not None else TextWorldGame()
        self.game_seeds = None if game_seeds is None else [int(s) for s in game_seeds]
        self.max_steps = max_steps
        self.cache_dir = cache_dir
        self.render_mode = render_mode
        self.observation_space = observation_space()
        self.action_space = command_space()
        self._tw_env = None
        self._loaded: Path | None = None
        self._state = None
        self._game_seed: int | None = None
        self._walkthrough: list[str] = []
        self._steps = 0
        self._last_score = 0
        self._last_text = ""

    @property
    def game_seed(self) -> int | None:
        """The seed of the game being played (None before the first reset)."""
        return self._game_seed

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        if "game_seed" in options:
            game_seed = int(options["game_seed"])
        elif self.game_seeds is not None:
            game_seed = self.game_seeds[int(self.np_random.integers(len(self.game_seeds)))]
        else:
            game_seed = int(self.np_random.integers(MAX_GAME_SEED + 1))
        self._start(game_file(self.game, game_seed, self.cache_dir))
        self._game_seed = game_seed
        self._state = self._tw_env.reset()
        self._walkthrough = list(self._state.get("extra.walkthrough") or [])
        self._steps = 0
        self._last_score = self._state.score or 0
        self._last_text = clean_feedback(self._state.feedback)
        return self._last_text, self._info()

    def step(self, action: str | int | np.integer):
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        command = self._command(action)
        self._state, _, done = self._tw_env.step(command)
        self._steps += 1
        score = self._state.score or 0
        reward = float(score - self._last_score)
        self._last_score = score
        self._last_text = clean_feedback(self._state.feedback)
        terminated = bool(done or self._state.won or self._state.lost)
        truncated = not terminated and self._steps >= self.max_steps
        return self._last_text, reward, terminated, truncated, self._info()

    def render(self) -> str | None:
        return self._last_text if self.render_mode == "ansi" else None

    def close(self) -> None:
        if self._tw_env is not None:
            self._tw_env.close()
            self._tw_env = None
            self._loaded = None

    def _start(self, path: Path) -> None:
        if self._loaded == path:
            return
        textworld = _textworld()
        self.close()
        infos = textworld.EnvInfos(
            admissible_commands=True, objective=True, description=True, inventory=True, score=True,
            max_score=True, won=True, lost=True, moves=True, feedback=True, extras=["walkthrough"],
        )
        with warnings.catch_warnings():
            # jericho (TextWorld's z-machine) warns that it has no score/move detection for generated
            # games; TextWorld tracks both itself.
            warnings.filterwarnings("ignore", message=".*is not fully supported.*")
            self._tw_env = textworld.start(str(path), request_infos=infos)
        self._loaded = path

    def _command(self, action: str | int | np.integer) -> str:
        return resolve_command(action, self._state.admissible_commands)

    def _info(self) -> dict[str, Any]:
        s = self._state
        return {
            "goal": to_charset(tidy(s.objective or "")),
            "admissible_commands": list(s.admissible_commands or []),
            "description": to_charset(tidy(s.description or "")),
            "inventory": to_charset(tidy(s.inventory or "")),
            "score": int(s.score or 0),
            "max_score": int(s.max_score or 0),
            "won": bool(s.won),
            "lost": bool(s.lost),
            "moves": int(s.moves or 0),
            "game_seed": self._game_seed,
            "walkthrough": list(self._walkthrough),
        }
