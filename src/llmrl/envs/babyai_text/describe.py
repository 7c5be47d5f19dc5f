"""Description sentences of the agent's egocentric view (GLAM's BabyAI-Text rules).

Works on minigrid's encoded partial view `obs["image"]` (view_size x view_size x 3 of
object, color, state indices; `image[x][y]`, x left->right, y far->near, the agent at
the bottom-middle facing up; cells hidden by walls are `unseen`). Reading the encoding
the env already produced keeps the text step cheap: no rendering, no second pass over
the grid.
"""

import numpy as np
from minigrid.core.constants import IDX_TO_COLOR, IDX_TO_OBJECT, OBJECT_TO_IDX, STATE_TO_IDX
from minigrid.core.world_object import WorldObj

from llmrl.envs.babyai_text.lexicon import Lexicon

_UNSEEN, _EMPTY, _WALL, _FLOOR = (OBJECT_TO_IDX[k] for k in ("unseen", "empty", "wall", "floor"))
_DOOR = OBJECT_TO_IDX["door"]
_IDX_TO_STATE = {v: k for k, v in STATE_TO_IDX.items()}
# Cells that neither block the line of sight to a wall nor get described.
_TRANSPARENT = {_UNSEEN, _EMPTY, _FLOOR}


def describe(image: np.ndarray, carrying: WorldObj | None, lexicon: Lexicon) -> list[str]:
    """Sentences for one view, in the reference order: carried object, walls, objects."""
    view = image.tolist()  # nested Python lists: far cheaper to index than numpy scalars
    size = len(view)
    ax, ay = size // 2, size - 1  # agent cell in the view
    sentences = []
    if carrying is not None:
        sentences.append(lexicon.carry(carrying.color, carrying.type))

    # Nearest wall straight ahead, left and right, unless an object stands in front of it.
    for cells, offset in (
        (((ax, y) for y in range(ay - 1, -1, -1)), lambda x, y: (0, ay - y)),
        (((x, ay) for x in range(ax - 1, -1, -1)), lambda x, y: (x - ax, 0)),
        (((x, ay) for x in range(ax + 1, size)), lambda x, y: (x - ax, 0)),
    ):
        for x, y in cells:
            kind = view[x][y][0]
            if kind in _TRANSPARENT:
                continue
            if kind == _WALL:
                sentences.append(lexicon.wall(*offset(x, y)))
            break

    # Objects, column by column from the left, each column from far to near.
    for x, column in enumerate(view):
        for y, (kind, color, state) in enumerate(column):
            if kind in _TRANSPARENT or kind == _WALL or (x == ax and y == ay):
                continue  # the agent's own cell shows what it carries
            if kind == _DOOR:
                sentences.append(lexicon.door(_IDX_TO_STATE[state], IDX_TO_COLOR[color], x - ax, ay - y))
            else:
                sentences.append(lexicon.thing(IDX_TO_COLOR[color], IDX_TO_OBJECT[kind], x - ax, ay - y))
    return sentences
