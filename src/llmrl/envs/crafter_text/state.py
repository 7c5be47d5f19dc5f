"""What the agent perceives of a Crafter state: the local 9x7 view, the facing cell, the inventory."""

from dataclasses import dataclass

import numpy as np
from crafter import constants, objects

# Crafter's semantic ids: 0 = outside the world, then the materials, then the object types in
# the order crafter.Env gives its SemanticView.
OBJECT_TYPES = (objects.Player, objects.Cow, objects.Zombie, objects.Skeleton, objects.Arrow, objects.Plant)
SEMANTIC_NAMES: tuple[str | None, ...] = (None, *constants.materials, *(t.__name__.lower() for t in OBJECT_TYPES))
_OBJECT_IDS = {cls: 1 + len(constants.materials) + i for i, cls in enumerate(OBJECT_TYPES)}

# The local view of the agent: 9 columns (x) by 7 rows (y), the player at [4, 3].
VIEW_SHAPE = (9, 7)
_OFFSET = (VIEW_SHAPE[0] // 2, VIEW_SHAPE[1] // 2)
CREATURES = ("cow", "zombie", "skeleton")


@dataclass(frozen=True, eq=False)
class CrafterState:
    """A snapshot of what the player perceives; input of the state captions and `feasible_goals`."""

    local_view: np.ndarray  # (9, 7) semantic ids indexed [x, y]; the player is at [4, 3]
    target: str | None  # name of the facing cell: its object if any, else its material
    inventory: dict[str, int]  # crafter's 16 items, including health/food/drink/energy
    sleeping: bool
    ripe_plant_visible: bool  # a plant in view is ripe (only then `eat plant` can succeed)
    table_wood: int  # wood a table costs under the rules played (2 stock, 1 with paper tweaks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CrafterState):
            return NotImplemented
        fields = ("target", "inventory", "sleeping", "ripe_plant_visible", "table_wood")
        same_fields = all(getattr(self, f) == getattr(other, f) for f in fields)
        return same_fields and np.array_equal(self.local_view, other.local_view)

    def visible_names(self) -> set[str]:
        """Names of everything in the local view (crafter's names: 'table', 'cow', ...)."""
        return {SEMANTIC_NAMES[i] for i in np.unique(self.local_view) if i != 0}


def local_view(world, center) -> np.ndarray:
    """The (9, 7) semantic crop around `center`; cells outside the world are 0."""
    view = np.zeros(VIEW_SHAPE, np.int64)
    x0, y0 = int(center[0]) - _OFFSET[0], int(center[1]) - _OFFSET[1]
    (w, h) = world.area
    xs, ys = slice(max(x0, 0), min(x0 + VIEW_SHAPE[0], w)), slice(max(y0, 0), min(y0 + VIEW_SHAPE[1], h))
    inner = (slice(xs.start - x0, xs.stop - x0), slice(ys.start - y0, ys.stop - y0))
    view[inner] = world._mat_map[xs, ys]
    indices = world._obj_map[xs, ys]
    for dx, dy in zip(*np.nonzero(indices), strict=True):
        view[inner[0].start + dx, inner[1].start + dy] = object_id(world._objects[indices[dx, dy]])
    return view


def object_id(obj) -> int:
    """Semantic id of a crafter object, subclasses (the tweaked player) included."""
    return next(_OBJECT_IDS[cls] for cls in type(obj).__mro__ if cls in _OBJECT_IDS)


def observe(world, player, table_wood: int) -> CrafterState:
    """Snapshot the player's perception of `world`."""
    view = local_view(world, player.pos)
    material, obj = world[player.pos + np.asarray(player.facing)]
    target = SEMANTIC_NAMES[object_id(obj)] if obj is not None else material
    plant_id = _OBJECT_IDS[objects.Plant]
    ripe = False
    if (view == plant_id).any():
        x0, y0 = int(player.pos[0]) - _OFFSET[0], int(player.pos[1]) - _OFFSET[1]
        ripe = any(world[(x0 + x, y0 + y)][1].ripe for x, y in zip(*np.nonzero(view == plant_id), strict=True))
    return CrafterState(
        local_view=view,
        target=target,
        inventory=dict(player.inventory),
        sleeping=bool(player.sleeping),
        ripe_plant_visible=ripe,
        table_wood=table_wood,
    )
