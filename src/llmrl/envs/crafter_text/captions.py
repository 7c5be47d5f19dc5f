"""Text of Crafter states and transitions, as the ELLM paper's Text Crafter words them.

State: `You see a, b, and c. You are targeting X.`, then `You have in your inventory wood,
wood_pickaxe.`, then, when a stat is below its maximum, `You feel hurt and thirsty.`
Transition: the goal phrasing of what really happened this step (`chop tree`), else None.
"""

from collections.abc import Iterable, Mapping

from crafter import constants

from llmrl.envs.crafter_text.state import CrafterState

# Never named in "You see ...": the player itself, the ubiquitous sand, and arrows in flight.
HIDDEN_IN_VIEW = frozenset({"player", "sand", "arrow"})
# The stat items and the word said when each is below its maximum.
STATUS_WORDS = {"health": "hurt", "food": "hungry", "drink": "thirsty", "energy": "sleepy"}
# The achievement counter that rises when each goal really happens.
ACHIEVEMENT_CAPTIONS = {
    "collect_wood": "chop tree",
    "collect_sapling": "chop grass",
    "collect_stone": "mine stone",
    "collect_coal": "mine coal",
    "collect_iron": "mine iron",
    "collect_diamond": "mine diamond",
    "collect_drink": "drink water",
    "eat_plant": "eat plant",
    "eat_cow": "eat cow",
    "defeat_zombie": "attack zombie",
    "defeat_skeleton": "attack skeleton",
    "place_stone": "place stone",
    "place_table": "place crafting table",
    "place_furnace": "place furnace",
    "place_plant": "place plant",
    "make_wood_pickaxe": "make wood pickaxe",
    "make_stone_pickaxe": "make stone pickaxe",
    "make_iron_pickaxe": "make iron pickaxe",
    "make_wood_sword": "make wood sword",
    "make_stone_sword": "make stone sword",
    "make_iron_sword": "make iron sword",
}


def display_name(name: str) -> str:
    """A crafter name as the captions say it ('table' -> 'crafting table')."""
    return "crafting table" if name == "table" else name


def join_words(words: list[str]) -> str:
    """'a', 'a and b', 'a, b, and c'."""
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + ", and " + words[-1]


def describe_view(state: CrafterState) -> str:
    """`You see ... . You are targeting X.` from the local view (sorted unique names)."""
    names = sorted(display_name(n) for n in state.visible_names() - HIDDEN_IN_VIEW)
    seen = f"You see {join_words(names)}." if names else "You see nothing."
    target = display_name(state.target) if state.target else "nothing"
    return f"{seen} You are targeting {target}."


def describe_inventory(inventory: Mapping[str, int]) -> str:
    """`You have in your inventory wood, wood_pickaxe.` (held items in crafter's order; sapling said plant)."""
    held = [
        ("plant" if name == "sapling" else name)
        for name, count in inventory.items()
        if count > 0 and name not in STATUS_WORDS
    ]
    if not held:
        return "You have nothing in your inventory."
    return f"You have in your inventory {', '.join(held)}."


def describe_status(inventory: Mapping[str, int]) -> str:
    """`You feel hurt and sleepy.` for the stats below their maximum; '' when all are full."""
    words = [word for stat, word in STATUS_WORDS.items() if inventory[stat] < constants.items[stat]["max"]]
    return f"You feel {join_words(words)}." if words else ""


def describe_state(state: CrafterState) -> str:
    """The whole text state: view caption, inventory, and status when there is one."""
    parts = [describe_view(state), describe_inventory(state.inventory), describe_status(state.inventory)]
    return " ".join(part for part in parts if part)


def caption_transition(achievements_gained: Iterable[str], creature_hurt: str | None, fell_asleep: bool) -> str | None:
    """The goal phrasing of what really happened in one step, or None.

    `achievements_gained`: achievement counters that rose this step (crafter raises them only on
    success); `creature_hurt`: the creature the player damaged without killing it; `fell_asleep`:
    the player went to sleep this step. `wake_up` is not an action of the agent: no caption.
    """
    for name in achievements_gained:
        if name in ACHIEVEMENT_CAPTIONS:
            return ACHIEVEMENT_CAPTIONS[name]
    if creature_hurt is not None:
        return f"attack {creature_hurt}"
    return "sleep" if fell_asleep else None


def gained(before: Mapping[str, int], after: Mapping[str, int]) -> list[str]:
    """Names whose count rose from `before` to `after`, in `after`'s order."""
    return [name for name, count in after.items() if count > before[name]]

