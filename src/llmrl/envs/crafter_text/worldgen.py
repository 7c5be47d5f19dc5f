"""Crafter's world generation over whole arrays: the same worlds as `crafter.worldgen`, ~20x faster.

Stock `generate_world` visits the 64x64 tiles one by one and asks opensimplex for one noise value
per octave and tile (~50k scalar calls from Python, most of a reset). Every noise field crafter
reads is separable in x and y, so one compiled loop computes each field on the whole grid with
opensimplex's own `_noise3` (bit-identical to the scalar `noise3` crafter calls), and the
thresholds become array masks. opensimplex's `noise3array` does the same loop but in parallel,
and its thread pool stalls for ~10 ms per call on a loaded 2-core machine: the loop here is serial.

What stays sequential is the world's random stream: a tile draws `uniform()` only where its
chain of `noise_ok and uniform() > t` tests reaches a draw, and stops at the first success, so
the number of draws depends on the values drawn. `_first_success` replays exactly those draws,
in tile order, so the stream after generation (creatures, spawns) is the stock one too.
"""

import numba
import numpy as np
from crafter import constants, engine, objects

# The noise crafter uses (opensimplex 0.4.5, pinned): the seed's permutation tables and the point noise.
from opensimplex.internals import _init as _simplex_tables
from opensimplex.internals import _noise3

# Uniform thresholds of crafter's random tests (`uniform() > t`), one column per test.
_ORES = ("coal", "iron", "diamond", "tree")
_ORE_THRESHOLDS = (0.85, 0.75, 0.994, 0.8)
_CREATURES = (objects.Cow, objects.Zombie, objects.Skeleton)
_CREATURE_THRESHOLDS = (0.985, 0.993, 0.95)


def generate_world(world: engine.World, player: objects.Player) -> None:
    """Fill a freshly reset `world` exactly as `crafter.worldgen.generate_world(world, player)`.

    Same materials, same creatures added in the same order, same random draws consumed.
    """
    if not isinstance(player, objects.Player) or player.world is not world:
        raise ValueError("generate_world needs the crafter Player that was added to this world")
    if world.objects != [player]:
        raise ValueError("generate_world needs a freshly reset world holding only the player")
    simplex = _simplex_tables(world.random.randint(0, 2**31 - 1))
    xs, ys = np.arange(world.area[0]), np.arange(world.area[1])
    # Arrays are indexed [x, y]; C order is crafter's tile order (x outer, y inner).
    dist = np.sqrt((xs[:, None] - player.pos[0]) ** 2 + (ys[None, :] - player.pos[1]) ** 2)
    ids = world._mat_ids  # material name -> id of the world's material map
    materials, tunnels = _materials(world.random, ids, simplex, xs, ys, dist)
    world._mat_map[:] = materials
    _add_creatures(world, player, ids, materials, tunnels, dist)


@numba.njit(cache=True)
def _noise3_grid(xs, ys, z, perm, perm_grad_index3, where):  # pragma: no cover (compiled)
    """opensimplex's `noise3(x, y, z)` for x in xs and y in ys, indexed [x, y]; 0 where not `where`."""
    out = np.zeros((xs.size, ys.size))
    for i in range(xs.size):
        for j in range(ys.size):
            if where[i, j]:
                out[i, j] = _noise3(xs[i], ys[j], z, perm, perm_grad_index3)
    return out


def _noise(simplex, xs, ys, z: int, sizes, normalize: bool = True, where: np.ndarray | None = None) -> np.ndarray:
    """crafter's `_simplex(simplex, x, y, z, sizes, normalize)` for all x in xs and y in ys.

    Same float operations in the same order as the scalar version, so the values are identical.
    Only tiles in `where` (default: all) are computed, as crafter asks only where its branch needs.
    """
    sizes = sizes if isinstance(sizes, dict) else {sizes: 1}
    where = np.ones((xs.size, ys.size), bool) if where is None else where
    value = 0
    for size, weight in sizes.items():
        value = value + weight * _noise3_grid(xs / size, ys / size, float(z), *simplex, where)
    return value / sum(sizes.values()) if normalize else value


def _materials(random, ids, simplex, xs, ys, dist) -> tuple[np.ndarray, np.ndarray]:
    """crafter's `_set_material` on every tile: material ids and the tunnel mask."""
    start = 4 - dist
    start += 2 * _noise(simplex, xs, ys, 8, 3)
    start = 1 / (1 + np.exp(-start))  # near the player: grass, whatever the noise
    water = _noise(simplex, xs, ys, 3, {15: 1, 5: 0.15}, False) + 0.1
    water -= 2 * start
    mountain = _noise(simplex, xs, ys, 0, {15: 1, 5: 0.3})
    mountain -= 4 * start + 0.3 * water

    # Each mask below is ANDed with the region its noise was computed on (zeros elsewhere).
    grass = start > 0.5
    rock = ~grass & (mountain > 0.15)
    deep = rock & (mountain > 0.3)
    cave = deep & (_noise(simplex, xs, ys, 6, 7, where=deep) > 0.15)
    bored = rock & ~cave
    tunnels = bored & (
        (_noise(simplex, 2 * xs, ys / 5, 7, 3, where=bored) > 0.4)
        | (_noise(simplex, xs / 5, 2 * ys, 7, 3, where=bored) > 0.4)
    )
    solid = bored & ~tunnels
    lowland = ~grass & ~rock
    shore = lowland & (0.25 < water) & (water <= 0.35)
    sand = shore & (_noise(simplex, xs, ys, 4, 9, where=shore) > -0.2)
    lake = lowland & ~sand & (0.3 < water)
    grassland = lowland & ~sand & ~lake

    # Solid rock: coal, else iron, else diamond, each only if its noise test passes and then its
    # draw; failing all three, lava or stone by noise alone. Grassland: a tree, else grass.
    tests = np.stack(
        [
            solid & (_noise(simplex, xs, ys, 1, 8, where=solid) > 0),
            solid & (_noise(simplex, xs, ys, 2, 6, where=solid) > 0.4),
            solid & (mountain > 0.18),
            grassland & (_noise(simplex, xs, ys, 5, 7, where=grassland) > 0),
        ],
        axis=-1,
    )
    lava = solid & deep & (_noise(simplex, xs, ys, 6, 5, where=solid & deep) > 0.35)
    materials = np.select(
        [grass | grassland, cave | tunnels, lava, solid, sand, lake],
        [ids[name] for name in ("grass", "path", "lava", "stone", "sand", "water")],
    ).astype(np.uint8)
    chosen = _first_success(random, tests.reshape(-1, len(_ORES)), _ORE_THRESHOLDS)
    found = chosen >= 0
    materials.reshape(-1)[found] = np.array([ids[name] for name in _ORES], np.uint8)[chosen[found]]
    return materials, tunnels


def _add_creatures(world, player, ids, materials, tunnels, dist) -> None:
    """crafter's `_set_object` on every tile: cows on grass, zombies far away, skeletons in tunnels."""
    walkable = np.isin(materials, [ids[name] for name in constants.walkable])
    tests = np.stack(
        [
            walkable & (dist > 3) & (materials == ids["grass"]),
            walkable & (dist > 10),
            walkable & (materials == ids["path"]) & tunnels,
        ],
        axis=-1,
    )
    chosen = _first_success(world.random, tests.reshape(-1, len(_CREATURES)), _CREATURE_THRESHOLDS)
    for tile in np.flatnonzero(chosen >= 0).tolist():
        kind = _CREATURES[chosen[tile]]
        pos = divmod(tile, world.area[1])
        world.add(kind(world, pos) if kind is objects.Cow else kind(world, pos, player))


def _first_success(random: np.random.RandomState, tests: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Evaluate crafter's chain `if t0 and uniform() > h0: ... elif t1 and uniform() > h1: ...`.

    `tests[i, k]` is the noise part of test k on tile i (tiles in order). Returns, per tile, the
    index of the first test whose draw passed, or -1; consumes exactly the draws crafter makes.
    """
    # Draw as many numbers as could be needed, then rewind and consume only the ones used:
    # `uniform(size=n)` gives the same numbers as n calls of `uniform()`.
    state = random.get_state()
    draws = random.uniform(size=int(tests.sum()))
    chosen, used = _chain_outcomes(tests, np.array(thresholds), draws)
    random.set_state(state)
    random.uniform(size=used)
    return chosen


@numba.njit(cache=True)
def _chain_outcomes(tests, thresholds, draws):  # pragma: no cover (compiled)
    """The chains of `_first_success` over `draws` in order: (first success per tile, draws used)."""
    chosen = np.full(tests.shape[0], -1)
    used = 0
    for tile in range(tests.shape[0]):
        for k in range(tests.shape[1]):
            if tests[tile, k]:  # crafter's `and` draws only after the noise test passed
                used += 1
                if draws[used - 1] > thresholds[k]:
                    chosen[tile] = k
                    break
    return chosen, used
