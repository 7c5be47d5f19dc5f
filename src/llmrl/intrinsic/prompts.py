"""Prompts of the goal suggesters: ELLM's few-shot open-ended prompt and the yes/no question.

Our own wording in the reference's form: the valid verbs, a one-sentence instruction,
two worked examples answered as `- verb noun` bullet lists, then the state and the question.
The yes/no question gets worked examples too (two yes, two no).
"""

from llmrl.envs.crafter_text import GOALS

# Verbs of Crafter's goals, in first-seen order: eat, attack, chop, mine, drink, sleep, place, make.
CRAFTER_VERBS: tuple[str, ...] = tuple(dict.fromkeys(goal.split()[0] for goal in GOALS))

QUESTION = "What are the best things to do next?"

FEW_SHOT_EXAMPLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "You see grass, tree, and water. You are targeting tree. "
        "You have nothing in your inventory. You feel thirsty.",
        ("chop tree", "drink water"),
    ),
    (
        "You see cow, crafting table, grass, and stone. You are targeting cow. "
        "You have in your inventory wood, wood_pickaxe. You feel hungry.",
        ("eat cow", "mine stone", "make wood sword"),
    ),
)


def open_ended_prompt(state_text: str, verbs: tuple[str, ...] = CRAFTER_VERBS) -> str:
    """The few-shot prompt whose continuation is a `- verb noun` list of goals for the state.

    It ends with a newline after the question, so the model answers with the list at once.
    """
    header = (
        f"Valid actions: {', '.join(verbs)}.\n"
        "You are playing Crafter, a survival game. Given what you see and hold, list the best next "
        "actions, one per line as '- action object', using only valid actions and objects you see or have.\n"
    )
    shots = "".join(
        f"\n{state}\n{QUESTION}\n" + "".join(f"- {goal}\n" for goal in goals) for state, goals in FEW_SHOT_EXAMPLES
    )
    return f"{header}{shots}\n{state_text}\n{QUESTION}\n"


YES_NO_EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("You see grass, and tree. You are targeting tree.", "chop tree", "yes"),
    ("You see grass, and stone. You are targeting grass. You have in your inventory wood.", "mine stone", "no"),
    ("You see cow, and grass. You are targeting cow. You feel hungry.", "attack cow", "yes"),
    ("You see grass, and tree. You are targeting grass. You feel thirsty.", "drink water", "no"),
)
"""Worked yes/no answers before the state. Without them SmolLM2-135M ranked goals by a fixed
prior (crafting table, stone tools first): 0% of its top 3 were feasible on 36 states of random
play; with them 54% (random picks: 17%)."""


def yes_no_preamble() -> str:
    """The start of every yes/no state prompt: the game and the worked answers, ending at a newline.

    It is the same for every state, so scoring computes it once (`LanguageModel.score(prefix=...)`).
    """
    shots = "".join(
        f"{state}\nQuestion: Should you {goal}?\nAnswer: {answer}\n" for state, goal, answer in YES_NO_EXAMPLES
    )
    return (
        "You are playing Crafter, a survival game. Answer yes only if the action is possible now and useful.\n"
        f"{shots}"
    )


def yes_no_state_prompt(state_text: str) -> str:
    """The closed form's prompt, said once for every goal: the preamble, the state and the question's
    stem (the stem is the same for all goals, so it belongs to the prompt)."""
    return f"{yes_no_preamble()}{state_text}\nQuestion: Should you"


def yes_no_question(goal: str) -> str:
    """The rest of the closed-form question about one goal, after `yes_no_state_prompt`; ' yes'/' no' follow."""
    return f" {goal}?\nAnswer:"


def yes_no_prompt(state_text: str, goal: str) -> str:
    """The whole closed-form prompt for one goal (the per-goal formulation)."""
    return yes_no_state_prompt(state_text) + yes_no_question(goal)
