"""The 24 Crafter goals of the ELLM paper, their aliases, and the oracle's feasible-goal lister."""

from crafter import constants

from llmrl.envs.crafter_text.captions import ACHIEVEMENT_CAPTIONS
from llmrl.envs.crafter_text.state import CrafterState

GOALS: tuple[str, ...] = (
    "eat plant",
    "eat cow",
    "attack zombie",
    "attack skeleton",
    "attack cow",
    "chop tree",
    "chop grass",
    "mine stone",
    "mine coal",
    "mine iron",
    "mine diamond",
    "drink water",
    "sleep",
    "place stone",
    "place crafting table",
    "place furnace",
    "place plant",
    "make crafting table",
    "make wood pickaxe",
    "make stone pickaxe",
    "make iron pickaxe",
    "make wood sword",
    "make stone sword",
    "make iron sword",
)
# Goals the paper counts as one: alias -> the phrasing the transition captioner emits.
ALIASES: dict[str, str] = {"make crafting table": "place crafting table", "attack cow": "eat cow"}

# The goal each collectable material gives (crafter's `collect` rules).
_COLLECT_GOALS = {
    material: ACHIEVEMENT_CAPTIONS[f"collect_{next(iter(rule['receive']))}"]
    for material, rule in constants.collect.items()
}
_PLACE_GOALS = {name: ACHIEVEMENT_CAPTIONS[f"place_{name}"] for name in constants.place}
_MAKE_GOALS = {name: ACHIEVEMENT_CAPTIONS[f"make_{name}"] for name in constants.make}


def canonical_goal(goal: str) -> str:
    """`goal` lower-cased and stripped, with the paper's aliases resolved."""
    goal = " ".join(goal.lower().split())
    return ALIASES.get(goal, goal)


def _has(inventory: dict[str, int], needs: dict[str, int]) -> bool:
    return all(inventory[item] >= amount for item, amount in needs.items())


def feasible_goals(state: CrafterState) -> list[str]:
    """The goals (of `GOALS`, in its order) achievable from `state`: what is in view and held.

    Requirements are crafter's own (data.yaml): tools to collect, materials to place on a
    visible cell that accepts them, ingredients plus a visible table/furnace to make. Eating a
    plant needs a ripe one in view; sleeping needs energy below its maximum.
    """
    seen = state.visible_names()
    inv = state.inventory
    feasible = set()
    for material, rule in constants.collect.items():
        if material in seen and _has(inv, rule["require"]):
            feasible.add(_COLLECT_GOALS[material])
    for creature in ("zombie", "skeleton", "cow"):
        if creature in seen:
            feasible.add(f"attack {creature}")
    if "cow" in seen:
        feasible.add("eat cow")
    if state.ripe_plant_visible:
        feasible.add("eat plant")
    if not state.sleeping and inv["energy"] < constants.items["energy"]["max"]:
        feasible.add("sleep")
    for name, rule in constants.place.items():
        uses = {"wood": state.table_wood} if name == "table" else rule["uses"]
        if _has(inv, uses) and seen & set(rule["where"]):
            feasible.add(_PLACE_GOALS[name])
    if "place crafting table" in feasible:
        feasible.add("make crafting table")
    for name, rule in constants.make.items():
        if _has(inv, rule["uses"]) and set(rule["nearby"]) <= seen:
            feasible.add(_MAKE_GOALS[name])
    return [goal for goal in GOALS if goal in feasible]
