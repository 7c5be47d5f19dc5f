"""The array world generator builds exactly stock crafter's worlds and leaves the same random stream."""

import crafter
import numpy as np
import opensimplex
import pytest
from crafter import objects

from llmrl.envs.crafter_text import worldgen
from llmrl.envs.crafter_text.game import RenderFreeCrafter


def _creatures(world) -> list[tuple[str, tuple[int, int], float]]:
    return [(type(obj).__name__, tuple(obj.pos.tolist()), obj.health) for obj in world.objects]


def _assert_same_world(stock, ours) -> None:
    np.testing.assert_array_equal(stock._mat_map, ours._mat_map)
    np.testing.assert_array_equal(stock._obj_map, ours._obj_map)
    assert _creatures(stock) == _creatures(ours)
    stock_state, our_state = stock.random.get_state(), ours.random.get_state()
    np.testing.assert_array_equal(stock_state[1], our_state[1])
    assert stock_state[2:] == our_state[2:]


def test_worlds_equal_stock_crafter_env_worlds_for_20_seeds_and_later_episodes():
    kinds = set()
    for seed in range(20):
        stock = crafter.Env(seed=seed)
        ours = RenderFreeCrafter(length=10000, seed=seed, paper_tweaks=False, image=False)
        for _ in range(1 if seed >= 4 else 2):  # episode 2 is seeded differently: check a few
            stock.reset()
            ours.reset()
            _assert_same_world(stock._world, ours.world)
            kinds |= {name for name, _, _ in _creatures(ours.world)}
            kinds |= {ours.world._mat_names[i] for i in np.unique(ours.world._mat_map)}
    # Every branch of the generator was exercised (diamonds are rare: not required).
    assert {"Cow", "Zombie", "Skeleton", "coal", "iron", "tree", "lava", "sand", "water", "path"} <= kinds


@pytest.mark.parametrize(
    ("fx", "fy", "z", "sizes", "normalize"),
    [
        (1, 1, 8, 3, True),
        (1, 1, 3, {15: 1, 5: 0.15}, False),
        (1, 1, 0, {15: 1, 5: 0.3}, True),
        ("2x", "y/5", 7, 3, True),
        ("x/5", "2y", 7, 3, True),
        (1, 1, 2, 6, True),
    ],
)
def test_noise_fields_are_bit_identical_to_crafter_scalar_noise(fx, fy, z, sizes, normalize):
    scale = {
        1: lambda v: v, "2x": lambda v: 2 * v, "2y": lambda v: 2 * v, "y/5": lambda v: v / 5, "x/5": lambda v: v / 5,
    }
    seed = 123456789
    axis = np.arange(64)
    ours = worldgen._noise(worldgen._simplex_tables(seed), scale[fx](axis), scale[fy](axis), z, sizes, normalize)
    simplex = opensimplex.OpenSimplex(seed=seed)
    stock = [
        [crafter.worldgen._simplex(simplex, scale[fx](x), scale[fy](y), z, sizes, normalize) for y in range(64)]
        for x in range(64)
    ]
    assert np.array_equal(ours, np.array(stock))  # exact, not approximately


def test_first_success_replays_crafters_short_circuit_draws():
    tests = np.random.default_rng(0).random((400, 3)) < 0.6
    thresholds = (0.5, 0.3, 0.9)
    ours, stock = np.random.RandomState(7), np.random.RandomState(7)
    chosen = worldgen._first_success(ours, tests, thresholds)
    expected = []
    for row in tests:  # crafter's `if t0 and u() > h0: ... elif t1 and u() > h1: ...`
        if row[0] and stock.uniform() > 0.5:
            expected.append(0)
        elif row[1] and stock.uniform() > 0.3:
            expected.append(1)
        elif row[2] and stock.uniform() > 0.9:
            expected.append(2)
        else:
            expected.append(-1)
    assert chosen.tolist() == expected and len(set(expected)) == 4
    assert ours.uniform() == stock.uniform()  # same number of draws consumed


def test_generate_world_rejects_a_used_world_or_a_foreign_player():
    env = RenderFreeCrafter(length=100, seed=0, paper_tweaks=False, image=False)
    env.reset()
    with pytest.raises(ValueError, match="freshly reset world"):
        worldgen.generate_world(env.world, env.player)
    other = RenderFreeCrafter(length=100, seed=1, paper_tweaks=False, image=False)
    other.reset()
    with pytest.raises(ValueError, match="Player that was added"):
        worldgen.generate_world(env.world, other.player)
    with pytest.raises(ValueError, match="Player that was added"):
        worldgen.generate_world(env.world, objects.Cow(env.world, (1, 1)))
