"""`llmrl train glam`, `llmrl eval glam`, `llmrl bench glam` and `llmrl demo`."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn

from llmrl.cli.app import app, bench_app, eval_app, train_app
from llmrl.cli.preset_commands import run_config

DEMO_CONFIG = "glam/cpu-demo"


def _use_threads(threads: int | None) -> None:
    """Set torch's thread count when --threads was given (torch's default otherwise)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _fail(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(1)


@train_app.command("glam")
def train_glam_command(
    config: Path | None = typer.Option(
        None, "--config", help="Preset name (llmrl presets glam) or YAML file, e.g. glam/cpu-tiny."
    ),
    overrides: list[str] | None = typer.Argument(None, help="key=value overrides, e.g. lr=1e-5 num_envs=4."),
    resume: Path | None = typer.Option(None, "--resume", help="Run directory to continue from its latest checkpoint."),
) -> None:
    """Train an LLM policy with PPO in BabyAI-Text (GLAM); writes a run directory."""
    from llmrl.runtime import ConfigError, NotARunDirError
    from llmrl.runtime.distributed import DistributedError
    from llmrl.train.glam import GlamConfig, train_glam

    if config is None and resume is None:
        raise typer.BadParameter("give --config PRESET (a new run, e.g. glam/cpu-tiny) or --resume RUN_DIR",
                                 param_hint="--config")
    try:
        cfg, config_path = run_config(GlamConfig, "glam", config, resume, overrides or [])
    except (ConfigError, NotARunDirError) as error:
        raise _fail(error) from error
    try:
        run = train_glam(cfg, config_path=config_path, resume=resume)
    except DistributedError as error:
        typer.echo(f"error: {error}", err=True)
        sys.stderr.flush()
        os._exit(1)  # skip the process group's teardown: with a peer gone it can abort or hang
    if run is not None:  # under torchrun, rank 0 only
        typer.echo(f"run directory: {run.path}")


@eval_app.command("glam")
def eval_glam_command(
    run: Path | None = typer.Option(None, "--run", help="Run directory (its latest checkpoint is evaluated)."),
    zero_shot: bool = typer.Option(False, "--zero-shot", help="Evaluate an untrained model (--model)."),
    model: str = typer.Option("smollm2-135m", "--model", help="Model for --zero-shot: embedded name, HF id or path."),
    env: str | None = typer.Option(None, "--env", help="Env id [default: the run's, else BabyAIText-GoTo-v0]."),
    episodes: int = typer.Option(100, "--episodes", min=1, help="Number of episodes."),
    variant: str | None = typer.Option(None, "--variant", help="Generalization variant, e.g. nouns or french."),
    suite: str | None = typer.Option(None, "--suite", help="'generalization': every variant, table + JSON."),
    seed: int = typer.Option(0, "--seed", min=0, help="Episode i uses seed 1e9*seed + i."),
    overrides: list[str] | None = typer.Argument(None, help="key=value config overrides (e.g. room_size=6)."),
    out: Path | None = typer.Option(None, "--out", help="Where the suite writes [default: RUN/eval or eval/]."),
) -> None:
    """Success rate (99% CI), mean return and length, with actions sampled from the policy.

    A run trained on a text game (`text_game:` in its config) is evaluated on that game."""
    from llmrl.eval.glam_eval import generalization_suite, markdown_table
    from llmrl.runtime import CheckpointError, ConfigError, NotARunDirError, RunDir, load_config
    from llmrl.train.glam import GlamConfig, evaluate_glam_policy
    from llmrl.train.lm_policies import build_policy, load_policy

    if (run is None) == (not zero_shot):
        raise typer.BadParameter("give exactly one of --run RUN_DIR or --zero-shot --model NAME", param_hint="--run")
    if suite not in (None, "generalization"):
        raise typer.BadParameter(f"unknown suite {suite!r}; accepted: generalization", param_hint="--suite")
    extra = list(overrides or []) + ([f"env_id={env}"] if env else [])
    try:
        if run is not None:
            cfg = RunDir.open(run).load_config(GlamConfig, extra)
            if cfg.text_game is not None and (env or variant or suite):
                raise ValueError(f"this run plays {cfg.text_game.env} (text_game in its config); --env, --variant "
                                 "and --suite are BabyAI-Text's: evaluate it with --episodes and --seed")
            policy = load_policy(cfg, run)
        else:
            cfg = load_config(GlamConfig, None, [f"model={model}", "env_id=BabyAIText-GoTo-v0", *extra])
            policy = build_policy(cfg)
        if suite is not None:
            target = out or (run / "eval" if run is not None else Path("eval"))
            _, md, js = generalization_suite(policy, cfg, target, episodes=episodes, seed=seed)
            typer.echo(md.read_text(), nl=False)
            typer.echo(f"wrote {md} and {js}")
            return
        result = evaluate_glam_policy(policy, cfg, episodes=episodes, seed=seed, variant=variant)
        typer.echo(markdown_table([result]), nl=False)
        typer.echo(json.dumps(asdict(result)))
    except (ConfigError, NotARunDirError, CheckpointError, ValueError) as error:
        raise _fail(error) from error


@bench_app.command("glam")
def bench_glam_command(
    model: str | None = typer.Option(None, "--model", help="Model [default: smollm2-135m; tiny-llama with --nproc]."),
    num_envs: int | None = typer.Option(None, "--envs", min=1, help="Envs per rollout [2; per rank with --nproc: 4]."),
    num_steps: int | None = typer.Option(None, "--steps", min=1, help="Steps per env per rollout [2; --nproc: 8]."),
    nproc: str | None = typer.Option(None, "--nproc", help="Data-parallel scaling instead: rank counts, e.g. 1,2."),
    repeats: int = typer.Option(1, "--repeats", min=1, help="Fresh-policy runs per method; the fastest counts."),
    lora: bool = typer.Option(False, "--lora", help="LoRA adapters (r 16) instead of full fine-tuning."),
    lora_layers: int | None = typer.Option(None, "--lora-layers", min=1,
                                           help="With --lora: adapt the top N layers only (every path); the fast "
                                                "path then also reuses the frozen trunk's states."),
    precision: str = typer.Option("auto", "--precision", help="The fast path's precision: auto, bf16 or fp32."),
    paths: str = typer.Option("fast,fp32,naive", "--paths", help="Paths to time, comma-separated (also "
                              "fp32-all-layers: fp32 with LoRA on every layer, with --lora-layers)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch threads for every path [torch's]."),
    zero_shot: int | None = typer.Option(None, "--zero-shot", min=1,
                                         help="Instead: zero-shot success over N seeded GoTo 5x5 episodes per "
                                              "prompt setting (template/normalize/history) and a random policy."),
    settings: str | None = typer.Option(None, "--settings", help="With --zero-shot: rows, e.g. "
                                        "glam/mean/h3,chat/sum/h1,uniform [default: the docs/glam.md table]."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Frames/s of one PPO update on the fast path (bf16 + prefix reuse; with --lora-layers also the trunk
    cache), the fp32 shared path of the same model and naive scoring, or its scaling over ranks (--nproc)."""
    from llmrl.bench.glam import SCALING_MODEL, bench_glam, bench_glam_scaling
    from llmrl.bench.report import report

    _use_threads(threads)
    if zero_shot is not None:
        from llmrl.bench.glam import ZERO_SHOT_SETTINGS, bench_glam_zero_shot

        with Console(stderr=True).status("evaluating") as status:
            rows, summary = bench_glam_zero_shot(
                model or "smollm2-135m", episodes=zero_shot, precision=precision, progress=status.update,
                settings=settings.split(",") if settings else ZERO_SHOT_SETTINGS,
                on_row=lambda row: typer.echo(json.dumps(row), err=True))
        report("GLAM zero-shot success on GoTo (same seeded episodes, actions sampled)", rows, summary, as_json)
        return
    if nproc is None:
        try:
            with Console(stderr=True).status("timing") as status:
                rows, summary = bench_glam(model or "smollm2-135m", num_envs=num_envs or 2,
                                           num_steps=num_steps or 2, repeats=repeats, lora=lora,
                                           lora_layers=lora_layers, precision=precision, paths=paths.split(","),
                                           progress=status.update)
        except ValueError as error:
            raise _fail(error) from error
        report("GLAM rollout + update: fast path vs fp32 shared vs naive scoring", rows, summary, as_json)
        return
    if repeats != 1:
        raise typer.BadParameter("--repeats applies to the shared-vs-naive bench, not to --nproc scaling",
                                 param_hint="--repeats")
    try:
        counts = [int(n) for n in nproc.split(",")]
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated rank counts such as 1,2, got {nproc!r}",
                                 param_hint="--nproc") from None
    try:
        rows, summary = bench_glam_scaling(counts, model or SCALING_MODEL, envs_per_rank=num_envs or 4,
                                           num_steps=num_steps or 8)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--nproc") from error
    report("GLAM data-parallel scaling (one core per rank, envs per rank fixed)", rows, summary, as_json)


@app.command("demo")
def demo(
    config: Path = typer.Option(Path(DEMO_CONFIG), "--config", help="Training preset [default: cpu-demo]."),
    episodes: int = typer.Option(20, "--episodes", min=1,
                                 help="Evaluation episodes, before training and after each update."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch threads [torch's default]."),
    overrides: list[str] | None = typer.Argument(None, help="key=value overrides of the preset."),
) -> None:
    """The tour: evaluate the embedded SmolLM2 zero-shot, train it with GLAM (cpu-demo), evaluate it after
    every update on the same seeded episodes, print and plot its success curve."""
    from llmrl.eval.glam_eval import evaluate_policy
    from llmrl.runtime import ConfigError, latest_checkpoint
    from llmrl.train.glam import GlamConfig, train_glam
    from llmrl.train.lm_policies import build_policy, load_policy_checkpoint

    console = Console()
    start = time.perf_counter()
    _use_threads(threads)
    try:
        cfg, config_path = run_config(GlamConfig, "glam", config, None, overrides or [])
    except ConfigError as error:
        raise _fail(error) from error
    # Every update's checkpoint is evaluated after training: write one per update and keep them all.
    cfg = replace(cfg, checkpoint_every=cfg.frames_per_update,
                  keep_checkpoints=max(cfg.keep_checkpoints, cfg.num_updates))

    def evaluate(policy, label: str):
        with Progress(*Progress.get_default_columns(), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(label, total=episodes)

            def on_episode(done: int) -> None:
                bar.update(task, completed=done)
                if not console.is_terminal and done == episodes:
                    console.print(f"{label}: {episodes} episodes done", highlight=False)

            return evaluate_policy(policy, cfg, episodes=episodes, num_envs=min(episodes, 10), on_episode=on_episode)

    seeds = f"seeds 0..{episodes - 1}, actions sampled"
    console.rule(f"1/4 evaluating the pretrained {cfg.model} zero-shot on {episodes} episodes ({seeds})")
    policy = build_policy(cfg)
    console.print(f"{policy.lm!r}", highlight=False)
    curve = [(0, evaluate(policy, "before"))]
    console.rule(f"2/4 training GLAM ({cfg.model}, {cfg.env_id}, {cfg.num_updates} updates of "
                 f"{cfg.frames_per_update} frames)")
    trained_at = time.perf_counter()
    run = train_glam(cfg, config_path=config_path, console=console, log_every_s=0.0)
    train_s = time.perf_counter() - trained_at
    steps = sorted(p for p in run.checkpoints_dir.iterdir() if p.is_dir())
    console.rule(f"3/4 evaluating the policy after each of its {len(steps)} updates on the same {episodes} episodes")
    for step in steps:
        load_policy_checkpoint(policy, step)
        update = int(step.name.rsplit("-", 1)[1])
        curve.append((update * cfg.frames_per_update, evaluate(policy, f"after update {update}")))
    before, after = curve[0][1], curve[-1][1]
    table = _before_after_table(before, after)
    (run.path / "eval.md").write_text(table + "\n" + _curve_table(curve))
    console.print(table, markup=False, highlight=False)
    if after.ci_low > before.ci_high:
        verdict = "after > before: the 99% intervals do not overlap"
    elif after.success_rate > before.success_rate:
        verdict = "after > before, but the 99% intervals overlap: not a significant rise at this size"
    else:
        verdict = "no rise: this short CPU run does not improve the policy (see docs/glam.md)"
    console.print(verdict, highlight=False)
    console.rule("4/4 the success curve (same seeded episodes at every point)")
    for frames, result in curve:
        console.print(f"  {frames:>6} frames: success {result.success_rate:.3f} "
                      f"[{result.ci_low:.3f}, {result.ci_high:.3f}]", highlight=False)
    plot = _plot_curve(curve, run.path / "plots" / "eval_success_vs_frames.png", cfg.model, episodes)
    console.print(f"run directory : {run.path}")
    console.print(f"metrics (CSV) : {run.metrics_path}   TensorBoard: tensorboard --logdir {run.tb_dir}")
    console.print(f"checkpoint    : {latest_checkpoint(run.path)}")
    console.print(f"evaluation    : {run.path / 'eval.md'}")
    console.print(f"plot          : {plot}")
    console.print(f"training took {train_s:.0f} s; done in {time.perf_counter() - start:.0f} s")


def _plot_curve(curve: list, out: Path, model: str, episodes: int) -> Path:
    """Success rate with its 99% interval against training frames, one point per evaluation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = [f for f, _ in curve]
    rates = [r.success_rate for _, r in curve]
    errors = [[r.success_rate - r.ci_low for _, r in curve], [r.ci_high - r.success_rate for _, r in curve]]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.errorbar(frames, rates, yerr=errors, marker="o", capsize=4)
    ax.set_xlabel("training frames")
    ax.set_ylabel(f"success rate ({episodes} seeded episodes, 99% CI)")
    ax.set_ylim(0, 1)
    ax.set_title(f"GLAM {model}: evaluation on the same episodes after each update")
    ax.grid(alpha=0.3)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out


def _curve_table(curve: list) -> str:
    """Markdown: the evaluation after each number of training frames (0: the pretrained model)."""
    lines = ["| training frames | success rate | 99% CI | mean return | mean length | episodes |",
             "|---|---|---|---|---|---|"]
    for frames, result in curve:
        lines.append(f"| {frames} | {result.success_rate:.3f} | [{result.ci_low:.3f}, {result.ci_high:.3f}] | "
                     f"{result.mean_return:.3f} | {result.mean_length:.1f} | {result.episodes} |")
    return "\n".join(lines) + "\n"


def _before_after_table(before, after) -> str:
    """Markdown: success rate (99% Wilson interval), mean return and length, before and after training."""
    lines = ["| policy | success rate | 99% CI | mean return | mean length | episodes |", "|---|---|---|---|---|---|"]
    for name, result in (("pretrained (before)", before), ("trained (after)", after)):
        lines.append(f"| {name} | {result.success_rate:.3f} | [{result.ci_low:.3f}, {result.ci_high:.3f}] | "
                     f"{result.mean_return:.3f} | {result.mean_length:.1f} | {result.episodes} |")
    return "\n".join(lines) + "\n"
