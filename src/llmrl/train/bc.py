"""Behaviour cloning of an LLM policy: offline cross-entropy on the GLAM action distribution.

For a demonstration (prompt p, action a*), with the LLM policy pi(a | p) = softmax_a(score(a | p)):

    L = - mean over the batch of log pi(a* | p)

so BC trains exactly the distribution GLAM's PPO trains, from fixed data instead of rollouts.
Demonstrations come from the BabyAI bot (`source: expert`) or from a JSONL file of recorded
trajectories (`source: path/to/trajectories.jsonl`, e.g. a GLAM run's own episodes written by
`record_trajectories`). The JSONL format is one step per line, the fields of `ExpertStep`:

    {"episode": 0, "step": 0, "mission": "go to the red ball", "descriptions": ["You see ..."],
     "action": "turn left", "action_index": 0, "reward": 0.0, "done": false, "success": false}

Prompts are rebuilt from each episode's steps with the GLAM template and history, so a
cloned policy reads what the PPO-trained one reads. Metrics: `frames` counts demonstration
steps processed (epochs x dataset size); `success_rate` is an evaluation after each epoch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.console import Console

from llmrl.agents.llm_policy import LLMPolicy
from llmrl.agents.prompt import GlamTemplate, PromptHistory, PromptTemplate
from llmrl.envs.babyai_text import (
    ExpertStep,
    expert_trajectories,
    variant_action_names,
    variant_prompt_headers,
)
from llmrl.eval.glam_eval import EvalResult, build_template, evaluate_policy, make_prompt_env
from llmrl.eval.stats import episode_seeds
from llmrl.runtime.checkpoint import latest_checkpoint, save_checkpoint
from llmrl.runtime.guard import check_finite
from llmrl.runtime.metrics import MetricsLogger
from llmrl.runtime.progress import TrainingProgress
from llmrl.runtime.run_dir import RunDir
from llmrl.runtime.seeding import seed_everything, update_generator
from llmrl.train.lm_policies import build_policy, load_policy, load_policy_checkpoint
from llmrl.train.settings import BabyAITextSettings, LMPolicySettings, check_at_least_one, checkpoint_due

EXPERT = "expert"


@dataclass
class BCConfig(LMPolicySettings):
    """Every setting of a behaviour-cloning run (preset `bc/paper`).

    The run, task, prompt and LM fields are `LMPolicySettings`, as GLAM's are: the cloned policy
    is built, prompted and evaluated as a GLAM policy (in BabyAI-Text; GLAM's text games are not cloned).
    """

    source: str = EXPERT  # "expert" (the BabyAI bot) or a trajectories .jsonl path
    demo_episodes: int = 1_000  # bot episodes (source: expert), seeds demo_seed, demo_seed + 1, ...
    demo_seed: int = 10_000_000  # far from the evaluation seeds 1e9 * seed + i and the training seeds
    successful_only: bool = True  # clone only episodes that reached the goal

    # Optimization.
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-5
    max_grad_norm: float | None = 0.5

    # Evaluation after each epoch; a checkpoint after each epoch that crosses a multiple of
    # checkpoint_every demonstration frames (1: every epoch).
    eval_episodes: int = 100
    checkpoint_every: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least_one(self, ("demo_episodes", "epochs", "batch_size", "eval_episodes"))
        if self.source != EXPERT and not self.source.endswith(".jsonl"):
            raise ValueError(f"source must be 'expert' or a .jsonl trajectories file, got {self.source!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


# --------------------------------------------------------------------------- trajectories
def write_trajectories(path: str | Path, steps: Iterable[ExpertStep]) -> Path:
    """Write steps as JSONL (one `ExpertStep` per line); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for step in steps:
            f.write(json.dumps({**asdict(step), "descriptions": list(step.descriptions)}) + "\n")
    return path


def read_trajectories(path: str | Path) -> list[ExpertStep]:
    """Read a JSONL trajectories file; a malformed line raises with its line number."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"trajectories file not found: {path}")
    steps = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            steps.append(ExpertStep(**{**row, "descriptions": tuple(row["descriptions"])}))
        except (json.JSONDecodeError, TypeError, KeyError) as error:
            raise ValueError(f"{path}:{number} is not a trajectory step ({error}); expected the fields of "
                             f"ExpertStep: episode, step, mission, descriptions, action, action_index, "
                             "reward, done, success") from error
    return steps


@torch.no_grad()
def record_trajectories(policy: LLMPolicy, cfg: BabyAITextSettings, path: str | Path, *, episodes: int,
                        seed: int = 0) -> Path:
    """Play `episodes` episodes of cfg's env with `policy` (actions sampled) and write them as JSONL.

    Episode i starts from seed 1e9 * seed + i, as evaluations do: a GLAM run's own
    trajectories for behaviour cloning.
    """
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive int, got {episodes!r}")
    env = make_prompt_env(cfg, build_template(cfg, policy, cfg.variant), cfg.variant)
    generator = torch.Generator().manual_seed(seed)
    policy.train(False)

    def play() -> Iterable[ExpertStep]:
        for episode, episode_seed in enumerate(episode_seeds(seed, episodes)):
            prompt, info = env.reset(seed=episode_seed)
            done, step = False, 0
            while not done:
                action = int(policy.act([prompt], generator)[0][0])
                next_prompt, reward, terminated, truncated, next_info = env.step(action)
                done = terminated or truncated
                yield ExpertStep(episode=episode, step=step, mission=info["mission"],
                                 descriptions=tuple(info["descriptions"]), action=policy.action_names[action],
                                 action_index=action, reward=float(reward), done=done,
                                 success=bool(next_info["success"]))
                prompt, info, step = next_prompt, next_info, step + 1

    try:
        return write_trajectories(path, play())
    finally:
        env.close()


def demonstrations(steps: Sequence[ExpertStep], history: int, variant: str | None, successful_only: bool,
                   template: PromptTemplate | None = None) -> tuple[list[str], torch.Tensor]:
    """(prompts, action indices) of the steps, prompts rebuilt per episode with `template` and history.

    `template` defaults to GLAM's with `variant`'s headers.
    """
    template = template or GlamTemplate(variant_prompt_headers(variant))
    names = variant_action_names(variant)
    episodes: dict[int, list[ExpertStep]] = {}
    for step in steps:
        episodes.setdefault(step.episode, []).append(step)
    prompts, actions = [], []
    for episode in episodes.values():
        if successful_only and not any(s.success for s in episode):
            continue
        memory = PromptHistory(history)
        for step in sorted(episode, key=lambda s: s.step):
            memory.observe(step.descriptions)
            prompts.append(template(step.mission, memory.turns, names))
            actions.append(step.action_index)
            memory.act(names[step.action_index])
    if not prompts:
        raise ValueError("no demonstration steps to clone (no episodes, or none successful with successful_only)")
    return prompts, torch.tensor(actions)


def load_demonstrations(cfg: BCConfig, template: PromptTemplate) -> tuple[list[str], torch.Tensor]:
    """The (prompt, action) pairs `cfg.source` names, prompted with `template`."""
    if cfg.source == EXPERT:
        is_text = cfg.env_id.startswith("BabyAIText-")
        kwargs = {"room_size": cfg.room_size, "num_dists": cfg.num_dists} if is_text else {}
        steps = list(expert_trajectories(cfg.env_id, cfg.demo_episodes, seed=cfg.demo_seed, variant=cfg.variant,
                                         **kwargs))
    else:
        steps = read_trajectories(cfg.source)
    return demonstrations(steps, cfg.history, cfg.variant, cfg.successful_only, template)


def evaluate_run(run_dir: str | Path, *, episodes: int, seed: int = 0, overrides: Sequence[str] = (),
                 num_envs: int = 16) -> EvalResult:
    """Success rate of a BC run's latest checkpoint (`llmrl eval run`): the GLAM protocol."""
    cfg = RunDir.open(run_dir).load_config(BCConfig, list(overrides))
    return evaluate_policy(load_policy(cfg, run_dir), cfg, episodes=episodes, seed=seed, num_envs=num_envs)


# --------------------------------------------------------------------------- training
def train_bc(
    cfg: BCConfig,
    *,
    config_path: str | Path | None = None,
    resume: str | Path | None = None,
    console: Console | None = None,
) -> RunDir:
    """Clone the demonstrations into an LLM policy, evaluating after each epoch; return the run directory."""
    run = RunDir.open(resume) if resume is not None else RunDir.create(cfg.out_dir, "bc", cfg.name, cfg, config_path)
    seed_everything(cfg.seed)
    policy = build_policy(cfg)
    optimizer = torch.optim.Adam(policy.trainable_parameters(), lr=cfg.lr)
    prompts, actions = load_demonstrations(cfg, build_template(cfg, policy, cfg.variant))
    start_epoch = 0
    checkpoint = latest_checkpoint(run.path) if resume is not None else None
    if checkpoint is not None:
        start_epoch = load_policy_checkpoint(policy, checkpoint, optimizer, rng=True)["epoch"]
    size = len(prompts)
    logger = MetricsLogger(run, resume_step=start_epoch * size if resume is not None else None,
                           tensorboard=cfg.tensorboard)
    params = policy.trainable_parameters()
    with logger, TrainingProgress(cfg.epochs * size, "bc", initial_frames=start_epoch * size,
                                  console=console) as progress:
        for epoch in range(start_epoch, cfg.epochs):
            policy.train(True)
            order = torch.randperm(size, generator=update_generator(cfg.seed, epoch, 1))
            total, correct = 0.0, 0
            for start in range(0, size, cfg.batch_size):
                batch = order[start : start + cfg.batch_size].tolist()
                logits, _ = policy.distribution([prompts[i] for i in batch], grad=True)
                target = actions[batch].to(logits.device)
                loss = F.cross_entropy(logits, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm or float("inf"))
                check_finite("loss and gradient norm", {"loss": loss, "grad_norm": grad_norm},
                             step=epoch + 1, checkpoint=checkpoint)
                optimizer.step()
                total += loss.item() * len(batch)
                correct += int((logits.argmax(-1) == target).sum())
            result = evaluate_policy(policy, cfg, episodes=cfg.eval_episodes, seed=cfg.seed)
            frames = (epoch + 1) * size
            logger.log(frames, {"frames": frames, "epoch": epoch + 1, "demo_frames": size, "loss": total / size,
                                "accuracy": correct / size, "success_rate": result.success_rate,
                                "return": result.mean_return, "episode_length": result.mean_length})
            progress.update(frames, success=result.success_rate, loss=total / size)
            if not (checkpoint_due(cfg.checkpoint_every, frames - size, frames) or epoch + 1 == cfg.epochs):
                continue
            checkpoint = save_checkpoint(
                run, epoch + 1, modules={"policy": policy}, optimizers={"adam": optimizer},
                extra={"epoch": epoch + 1, "frames": frames}, keep_last=cfg.keep_checkpoints,
                state_dict_fn=lambda _, module: module.checkpoint_state(),
            )
    return run
