"""`llmrl train ellm`, `llmrl eval ellm` and `llmrl bench ellm`."""

from pathlib import Path

import typer
from rich.console import Console

from llmrl.cli.app import bench_app, eval_app, train_app
from llmrl.cli.preset_commands import run_config
from llmrl.intrinsic.base import INTRINSIC_NAMES


@train_app.command("ellm")
def train_ellm_command(
    overrides: list[str] = typer.Argument(
        None, help="key=value settings on top of the config (dqn.lr=1e-4 env.num_envs=2)."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Preset name (llmrl presets ellm) or YAML file, e.g. ellm/cpu-demo."
    ),
    intrinsic: str | None = typer.Option(None, "--intrinsic", help=f"Intrinsic reward: {'|'.join(INTRINSIC_NAMES)}."),
    resume: Path | None = typer.Option(None, "--resume", help="Run directory to continue from its latest checkpoint."),
    finetune_from: Path | None = typer.Option(
        None, "--finetune-from", help="Pretrained ELLM run to fine-tune (give task=NAME, e.g. task=attack_cow)."
    ),
    root: Path | None = typer.Option(
        None, "--root", help="Where run directories are created (out_dir=ROOT) [default: the config's out_dir]."
    ),
    name: str | None = typer.Option(None, "--name", help="Run name (name=NAME) [default: the config's file name]."),
) -> None:
    """Pretrain (or fine-tune) a goal-conditioned DQN with an intrinsic reward on Text Crafter."""
    from llmrl.runtime import ConfigError, NotARunDirError
    from llmrl.train.ellm import train_ellm
    from llmrl.train.ellm_config import EllmConfig

    settings = list(overrides or [])
    if root is not None:
        settings.append(f"out_dir={root}")
    if name is not None:
        settings.append(f"name={name}")
    if intrinsic is not None:
        settings.append(f"intrinsic={intrinsic}")
    if finetune_from is not None:
        if resume is not None:
            raise typer.BadParameter("give either --resume or --finetune-from, not both")
        settings.append(f"finetune_from={finetune_from}")
    try:
        cfg, config = run_config(EllmConfig, "ellm", config, resume, settings)
        if resume is None and cfg.finetune_from and cfg.task is None:
            raise ConfigError("--finetune-from needs the downstream task: add task=NAME (e.g. task=attack_cow)")
    except (ConfigError, NotARunDirError) as error:
        raise typer.BadParameter(str(error)) from error
    run = train_ellm(cfg, config_path=config, resume=resume)
    typer.echo(str(run.path))


@eval_app.command("ellm")
def eval_ellm_command(
    run: Path = typer.Option(..., "--run", help="ELLM run directory."),
    episodes: int = typer.Option(20, "--episodes", min=1, help="Evaluation episodes."),
    epsilon: float = typer.Option(0.0, "--epsilon", min=0.0, max=1.0, help="Exploration rate while evaluating."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="A step-* directory [default: latest]."),
) -> None:
    """Achievements per episode, Crafter score and success per achievement (JSON + bar chart)."""
    from llmrl.runtime import CheckpointError, NotARunDirError
    from llmrl.train.ellm import evaluate_ellm

    try:
        result = evaluate_ellm(run, episodes, epsilon=epsilon, checkpoint=checkpoint)
    except (NotARunDirError, CheckpointError) as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(
        f"{result['episodes']} episodes: {result['achievements_per_episode']:.2f} achievements/episode, "
        f"Crafter score {result['crafter_score']:.2f}\nbars: {result['plot']}"
    )


@bench_app.command("ellm")
def bench_ellm_command(
    steps: int = typer.Option(2000, "--steps", min=1, help="Env steps timed per pass (cold, then warm)."),
    intrinsic: str = typer.Option("ellm", "--intrinsic", help=f"Intrinsic reward: {'|'.join(INTRINSIC_NAMES)}."),
    model: str = typer.Option("smollm2-135m", "--model", help="Goal-suggesting LLM (closed form)."),
    num_envs: int = typer.Option(4, "--num-envs", min=1),
    threads: int = typer.Option(2, "--threads", min=1, help="torch threads (1 where other jobs share the cores)."),
    length: int = typer.Option(10_000, "--length", min=1, help="Episode length (10000: stock Crafter; 400: paper)."),
    precision: str = typer.Option("bf16", "--precision", help="DQN update matmuls: bf16 (autocast) or fp32."),
    suggester_dtype: str = typer.Option("bfloat16", "--suggester-dtype",
                                        help="Weights of the goal-suggesting LLM: bfloat16, float32 or float16."),
    train_every: int = typer.Option(4, "--train-every", min=1,
                                    help="Env steps per DQN update (4: the paper's; more: fewer updates)."),
    dueling_hidden: int = typer.Option(0, "--dueling-hidden", min=0,
                                       help="ReLU layer in each dueling stream (0: none; 512: the experiment's)."),
    warm_repeats: int = typer.Option(3, "--warm-repeats", min=1, help="Warm passes; their median is reported."),
    device: str = typer.Option("cpu", "--device", help="Torch device of the DQN, the LLM and the embedder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Env steps/s of the full ELLM loop (env, captions, LLM goals, reward, DQN updates), cold and warm caches."""
    from llmrl.bench.ellm import bench_ellm
    from llmrl.bench.report import report

    if intrinsic not in INTRINSIC_NAMES:
        raise typer.BadParameter(f"--intrinsic {intrinsic!r} is not one of {', '.join(INTRINSIC_NAMES)}")
    console = Console(stderr=True)
    try:
        rows, summary = bench_ellm(
            steps, intrinsic=intrinsic, model=model, num_envs=num_envs, threads=threads, length=length,
            precision=precision, suggester_dtype=suggester_dtype, train_every=train_every,
            dueling_hidden=dueling_hidden, device=device, warm_repeats=warm_repeats, progress=console.log,
        )
    except ValueError as error:  # e.g. an unknown --precision or --suggester-dtype, rejected by the configs
        raise typer.BadParameter(str(error)) from error
    report("ELLM loop speed", rows, summary, as_json)
