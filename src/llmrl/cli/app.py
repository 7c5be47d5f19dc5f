"""The `llmrl` Typer application and its command groups.

Each area of the library registers its commands in its own module of
`llmrl.cli` (decorating the groups below); `llmrl.cli.main` imports them all.
"""

import typer

app = typer.Typer(
    help="Reinforcement learning with language models in text environments (GLAM, ELLM).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
train_app = typer.Typer(help="Train an agent; each run writes a run directory.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate a trained run or a zero-shot model.", no_args_is_help=True)
bench_app = typer.Typer(help="Speed benchmarks: a table, or --json with one JSON object last.", no_args_is_help=True)
play_app = typer.Typer(help="Play an environment yourself in the terminal.", no_args_is_help=True)

app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(bench_app, name="bench")
app.add_typer(play_app, name="play")
