"""The `llmrl` Typer application and its command groups.

Each area of the library registers its commands in its own module of
`llmrl.cli` (decorating the groups below); `llmrl.cli.main` imports them all.
"""

import logging
import os
import warnings

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


def quiet_libraries() -> None:
    """Silence what the libraries below llmrl print on every run: FutureWarning/UserWarning
    notices, weight-loading progress bars and advisory log lines. llmrl's own output is kept."""
    # Read by transformers and huggingface_hub when they are imported, which commands do lazily.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category)
    # Checked first (filters are prepended): warnings that llmrl itself raises still show.
    warnings.filterwarnings("default", module=r"llmrl(\.|$)")
    for name in ("transformers", "sentence_transformers", "huggingface_hub", "accelerate", "peft", "torch"):
        logging.getLogger(name).setLevel(logging.ERROR)


@app.callback()
def main_options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show the libraries' warnings and progress bars."),
) -> None:
    """Reinforcement learning with language models in text environments (GLAM, ELLM)."""
    if not verbose:
        quiet_libraries()
