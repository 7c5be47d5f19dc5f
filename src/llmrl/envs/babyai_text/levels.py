"""GLAM's BabyAI-Text tasks as one seeded minigrid level.

`GlamLevel(tasks=...)` draws one task type per reset from the level's own seeded RNG
(`self.np_random`), so a seed fixes the task type, layout and mission (the public
GLAM code drew the task once per env instance, unseeded). Splits restrict the
color-object pairs named in missions: `train` never names a held-out pair, `test`
names only held-out pairs; distractors are unrestricted.

Episode limit (reference rule, computed by minigrid's RoomGridLevel.reset):
max_steps = navigations_needed * room_size**2 * num_rooms.
"""

from minigrid.core.constants import COLOR_NAMES
from minigrid.core.roomgrid import RoomGrid
from minigrid.envs.babyai.core.roomgrid_level import RoomGridLevel
from minigrid.envs.babyai.core.verifier import (
    AfterInstr,
    BeforeInstr,
    GoToInstr,
    ObjDesc,
    OpenInstr,
    PickupInstr,
    PutNextInstr,
)

TASKS = ("goto", "pickup", "putnext", "open", "pickup_then_goto", "goto_after_pickup")
"""Task types, one per registered single-task id."""

SEQUENCE_PHRASINGS = ("pickup_then_goto", "goto_after_pickup")
"""Two phrasings of the reference's one "pick up then go to" task family."""

SPLITS = (None, "train", "test")

HELD_OUT_PAIRS = frozenset({("yellow", "box"), ("red", "key"), ("green", "ball"), ("red", "door"), ("grey", "door")})
"""(color, type) pairs the training split never names in a mission; the test split names only them."""

_OBJECT_PAIRS = tuple((color, kind) for kind in ("ball", "box", "key") for color in COLOR_NAMES)
_DOOR_PAIRS = tuple((color, "door") for color in COLOR_NAMES)
# Free cells the placement rules cannot use: the agent's cell and its four neighbours.
_CELLS_NEAR_AGENT = 5


def _split_pairs(pairs: tuple[tuple[str, str], ...], split: str | None) -> tuple[tuple[str, str], ...]:
    if split == "train":
        return tuple(p for p in pairs if p not in HELD_OUT_PAIRS)
    if split == "test":
        return tuple(p for p in pairs if p in HELD_OUT_PAIRS)
    return pairs


class GlamLevel(RoomGridLevel):
    """One 1-room (2 rooms for `open`) BabyAI level drawing its task type from `tasks` at each reset."""

    def __init__(
        self,
        tasks: tuple[str, ...] = TASKS,
        split: str | None = None,
        room_size: int = 8,
        num_dists: int = 8,
        **kwargs,
    ):
        tasks = tuple(tasks)
        if not tasks or any(t not in TASKS for t in tasks):
            raise ValueError(f"tasks must be a non-empty subset of {TASKS}, got {tasks}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if not isinstance(room_size, int) or room_size < 5:
            raise ValueError(f"room_size must be an int >= 5, got {room_size!r}")
        # Mission objects + distractors (+ the key of `open`) must fit the free cells.
        capacity = (room_size - 2) ** 2 - _CELLS_NEAR_AGENT - 2
        if not isinstance(num_dists, int) or not 0 <= num_dists <= capacity:
            raise ValueError(
                f"num_dists must be an int in [0, {capacity}] for room_size {room_size}, got {num_dists!r}"
            )
        if "putnext" in tasks and num_dists > len(_OBJECT_PAIRS) - 2:
            raise ValueError(f"putnext needs unique objects: num_dists must be <= {len(_OBJECT_PAIRS) - 2}")
        self.tasks = tasks
        # A mixed level draws one of the reference's task families, then a phrasing: the two
        # sequence phrasings together are one family, so they come up 1/5 of the time, not 2/6.
        sequences = tuple(t for t in tasks if t in SEQUENCE_PHRASINGS)
        self.families = tuple((t,) for t in tasks if t not in SEQUENCE_PHRASINGS) + ((sequences,) if sequences else ())
        self.split = split
        self.num_dists = num_dists
        self.task_type = tasks[0]
        self._objects = _split_pairs(_OBJECT_PAIRS, split)
        self._door_colors = tuple(c for c, _ in _split_pairs(_DOOR_PAIRS, split))
        super().__init__(room_size=room_size, num_rows=1, num_cols=2 if tasks == ("open",) else 1, **kwargs)

    def _gen_grid(self, width: int, height: int) -> None:
        # Draw the task first: `open` needs a second room, so the grid width follows it.
        family = self.families[self._rand_int(0, len(self.families))] if len(self.families) > 1 else self.families[0]
        self.task_type = family[self._rand_int(0, len(family))] if len(family) > 1 else family[0]
        self.num_cols = 2 if self.task_type == "open" else 1
        self.width = (self.room_size - 1) * self.num_cols + 1
        # Our own rejection loop (not RoomGridLevel's, which prints every rejection).
        while True:
            RoomGrid._gen_grid(self, self.width, height)
            self.gen_mission()
            if self._valid_layout():
                break
        self.surface = self.instrs.surface(self)
        self.mission = self.surface

    def _valid_layout(self) -> bool:
        if not self.check_objs_reachable(raise_exc=False):
            return False
        if isinstance(self.instrs, PutNextInstr):
            self.instrs.reset_verifier(self)
            return not self.instrs.objs_next()
        return True

    def _draw_pairs(self, count: int) -> list[tuple[str, str]]:
        """`count` distinct allowed (color, type) pairs for the mission's objects."""
        return [self._objects[i] for i in self.np_random.choice(len(self._objects), size=count, replace=False)]

    def gen_mission(self) -> None:
        self.place_agent(0, 0)
        if self.task_type == "open":
            color = self._rand_elem(self._door_colors)
            self.add_door(0, 0, door_idx=0, color=color, locked=True)  # door to the right-hand room
            self.add_object(0, 0, "key", color)
            self.add_distractors(0, 0, num_distractors=self.num_dists, all_unique=False)
            self.instrs = OpenInstr(ObjDesc("door", color))
            return
        pairs = self._draw_pairs(1 if self.task_type in ("goto", "pickup") else 2)
        for color, kind in pairs:
            self.add_object(0, 0, kind, color)
        # PutNext keeps every object unique so that "the A next to the B" is unambiguous.
        self.add_distractors(0, 0, num_distractors=self.num_dists, all_unique=self.task_type == "putnext")
        descs = [ObjDesc(kind, color) for color, kind in pairs]
        first, second = descs[0], descs[-1]
        if self.task_type == "goto":
            self.instrs = GoToInstr(first)
        elif self.task_type == "pickup":
            self.instrs = PickupInstr(first)
        elif self.task_type == "putnext":
            self.instrs = PutNextInstr(first, second)
        elif self.task_type == "pickup_then_goto":
            self.instrs = BeforeInstr(PickupInstr(first), GoToInstr(second))
        else:  # goto_after_pickup
            self.instrs = AfterInstr(GoToInstr(second), PickupInstr(first))
