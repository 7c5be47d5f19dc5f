"""The trainers, one method per module, their config sections (`settings`), the PPO loop and the
two run drivers (`ppo_run`, `offpolicy_run`).

The run infrastructure they share lives below, in `llmrl.runtime`; its public names are
importable from here as well (`from llmrl.train import load_config`)."""

from llmrl.runtime import *  # noqa: F403
from llmrl.runtime import __all__  # noqa: F401
