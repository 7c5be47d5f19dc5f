"""Crafter's game logic without its renderer: the same world, rules and random stream.

`crafter.Env.step` draws a 64x64 image every step (about 85% of its cost). `RenderFreeCrafter`
drives the same world and objects, in the same order, with the same random draws, and draws
the image only when asked. Its reset builds stock's world with `worldgen`: same world, ~10x faster.

One deliberate difference: stock Crafter picks the creature to despawn from a `set` of objects,
whose order follows memory addresses, so two stock envs with one seed drift apart after the first
despawn. Here the candidates are ordered by creation, so a seed and actions replay exactly.
"""

import crafter
import numpy as np
from crafter import constants, objects

from llmrl.envs.crafter_text import worldgen

# Objects update only within this Manhattan distance of the player (stock: 2 * max(view)).
_UPDATE_RADIUS = 2 * 9


class PaperPlayer(objects.Player):
    """The player of the ELLM paper's Crafter copy: a table costs 1 wood and every hit kills."""

    def _place(self, name: str, target, material: str) -> None:
        if name != "table":
            return super()._place(name, target, material)
        # The stock rule charges 2 wood, the paper's 1. Lending one wood to the stock rule does
        # exactly that: with w >= 1 wood it places and leaves w - 1; with w = 0 it fails.
        placed_before = self.achievements["place_table"]
        self.inventory["wood"] += 1
        super()._place(name, target, material)
        if self.achievements["place_table"] == placed_before:
            self.inventory["wood"] -= 1
        return None

    def _do_object(self, obj) -> None:
        # Paper: base damage 5 >= every creature's health (zombie 5, cow and skeleton 3), so one
        # hit kills. Stock damage is >= 1, so leaving the creature 1 health gives that outcome.
        if isinstance(obj, (objects.Zombie, objects.Skeleton, objects.Cow)):
            obj.health = min(obj.health, 1)
        super()._do_object(obj)


class RenderFreeCrafter(crafter.Env):
    """Stock `crafter.Env` whose step renders only when `image=True`.

    `reset()` and `step()` return None (or the 64x64x3 image); the caller reads the world,
    the player and `last_reward` directly. `paper_tweaks` selects `PaperPlayer` and drops the
    +-0.1 health term of the reward, as the ELLM paper did.
    """

    def __init__(self, *, length: int, seed: int, paper_tweaks: bool, image: bool) -> None:
        super().__init__(length=length, seed=seed)
        self.paper_tweaks = paper_tweaks
        self.image = image
        self.last_reward = 0.0
        self.frame: np.ndarray | None = None
        # The tweaked player shows as crafter's player in the semantic map.
        self._sem_view._obj_ids[PaperPlayer] = self._sem_view._obj_ids[objects.Player]
        unit = self._size // self._view
        # The night noise of LocalView._noise draws from the world's random stream: this shape.
        self._noise_shape = tuple(int(n) for n in self._local_view._grid * unit)

    @property
    def world(self):
        """The crafter `engine.World` being played."""
        return self._world

    @property
    def player(self) -> objects.Player:
        """The player object (a `PaperPlayer` with `paper_tweaks`)."""
        return self._player

    @property
    def step_count(self) -> int:
        """Steps taken in the current episode."""
        return self._step

    def reseed(self, seed: int) -> None:
        """Make the next `reset()` the first episode of `seed`, as `crafter.Env(seed=seed)`."""
        self._seed = int(seed)
        self._episode = 0

    def reset(self) -> np.ndarray | None:
        """Start the next episode (stock `crafter.Env.reset`, with the tweaked player if asked)."""
        center = (self._world.area[0] // 2, self._world.area[1] // 2)
        self._episode += 1
        self._step = 0
        self._world.reset(seed=hash((self._seed, self._episode)) % (2**31 - 1))
        self._update_time()
        player_cls = PaperPlayer if self.paper_tweaks else objects.Player
        self._player = player_cls(self._world, center)
        self._last_health = self._player.health
        self._world.add(self._player)
        self._unlocked = set()
        # Stock's world, generated over whole arrays (stock's per-tile noise is most of a reset).
        worldgen.generate_world(self._world, self._player)
        self.last_reward = 0.0
        self.frame = self._obs()
        return self.frame

    def step(self, action: int) -> tuple[bool, bool]:
        """Play one of the 17 crafter actions; returns (dead, out_of_time).

        Same order as stock: player first (it was added first), then nearby objects, then the
        chunk balancing every 10 steps, then the (optional) frame.
        """
        self._step += 1
        self._update_time()
        self._player.action = constants.actions[action]
        px, py = (int(c) for c in self._player.pos)
        for obj in self._world.objects:
            # Stock compares the distance to the player's position at the time of the check:
            # only the player moved before, and it updates first.
            if obj is self._player:
                obj.update()
                px, py = (int(c) for c in self._player.pos)
                continue
            ox, oy = obj.pos
            if abs(int(ox) - px) + abs(int(oy) - py) < _UPDATE_RADIUS:
                obj.update()
        if self._step % 10 == 0:
            world = self._world
            for chunk, objs in world.chunks.items():
                # Creation order (the object's index in the world), not set order: reproducible.
                ordered = sorted(objs, key=lambda obj: world._obj_map[tuple(obj.pos)])
                self._balance_chunk(chunk, ordered)
        self.frame = self._obs()
        health = self._player.health
        reward = 0.0 if self.paper_tweaks else (health - self._last_health) / 10
        self._last_health = health
        unlocked = {
            name for name, count in self._player.achievements.items() if count > 0 and name not in self._unlocked
        }
        if unlocked:
            self._unlocked |= unlocked
            reward += 1.0
        self.last_reward = reward
        dead = health <= 0
        return dead, bool(self._length and self._step >= self._length)

    def semantic_map(self) -> np.ndarray:
        """The whole world as crafter's semantic ids (as stock info['semantic'])."""
        return self._sem_view()

    def render_image(self) -> np.ndarray:
        """The 64x64x3 frame of the current state, without disturbing the game's random stream."""
        state = self._world.random.get_state()
        frame = self.render()
        self._world.random.set_state(state)
        return frame

    def _obs(self) -> np.ndarray | None:
        if self.image:
            return self.render()
        # Stock rendering draws night noise from the world's random stream; draw the same
        # numbers so that creatures and spawns stay identical to stock Crafter.
        if self._world.daylight < 0.5:
            self._world.random.uniform(32, 127, self._noise_shape)
        return None
