"""`llmrl models` and `llmrl bench scoring`."""

import typer
from rich.console import Console
from rich.table import Table

from llmrl.bench.report import report
from llmrl.cli.app import app, bench_app
from llmrl.lm.registry import EMBEDDED_MODELS


@app.command("models")
def models() -> None:
    """List the embedded models (shipped in pip packages, usable offline) and where their files are."""
    from llmrl.lm.loading import cached_gguf_path

    table = Table(title="Embedded models")
    for column in ("name", "kind", "package", "file", "size_mb", "converted_cache"):
        table.add_column(column, overflow="fold")  # paths wrap rather than being cut
    for spec in EMBEDDED_MODELS.values():
        try:
            path = spec.path()
        except ModuleNotFoundError as error:
            table.add_row(spec.name, spec.kind, spec.pip_name, f"missing: {error}", "-", "-")
            continue
        files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
        size = sum(f.stat().st_size for f in files) / 2**20
        if spec.filename is not None and spec.filename.endswith(".gguf"):
            converted = cached_gguf_path(spec)
            cached = str(converted) if converted.is_dir() else "no (converted on first load)"
        else:
            cached = "not needed"
        table.add_row(spec.name, spec.kind, spec.pip_name, str(path), f"{size:.1f}", cached)
    Console().print(table)


@bench_app.command("scoring")
def bench_scoring_command(
    prompts: int | None = typer.Option(
        None, min=1, max=64, help="Prompts scored in forward: GLAM-like, default 8 (8 to 32 is typical); "
        "with --candidates, TextWorld prompts per count, default 1.",
    ),
    train_prompts: int = typer.Option(4, min=1, max=64, help="Prompts in the forward + backward timing."),
    actions: int = typer.Option(6, min=1, max=6, help="Candidate actions per prompt (BabyAI's six, in order)."),
    model: str = typer.Option("smollm2-135m", help="Model to score with."),
    threads: int = typer.Option(2, min=1, help="torch threads (no more than free cores, or torch slows 10x)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
    candidates: str | None = typer.Option(
        None, "--candidates", help="Many-candidate bench instead: comma-separated counts, e.g. 6,50,200,500, "
        "on real TextWorld prompts; shared vs KV reuse vs naive in forward (needs llmrl[textworld]).",
    ),
    games: int = typer.Option(6, "--games", min=1, help="--candidates: TextWorld games generated for prompts."),
    kv_budget: int = typer.Option(32768, "--kv-budget", min=1, help="--candidates: keys per KV-reuse micro-batch."),
) -> None:
    """Time naive vs shared-prefix candidate scoring (6 actions) in forward and forward + backward."""
    import torch

    from llmrl.bench.scoring import bench_scoring
    from llmrl.lm.loading import load_lm

    torch.set_num_threads(threads)
    console = Console(stderr=True)
    if candidates is not None:
        from llmrl.bench.scoring import bench_many_candidates

        try:
            counts = [int(c) for c in candidates.split(",") if c.strip()]
        except ValueError as error:
            raise typer.BadParameter(f"--candidates takes comma-separated counts, got {candidates!r}") from error
        with console.status("loading the model") as status:
            lm = load_lm(model)
            rows, summary = bench_many_candidates(
                lm, counts, num_prompts=prompts or 1, games=games, kv_token_budget=kv_budget,
                progress=status.update,
            )
        report("Many-candidate scoring: shared vs KV reuse vs naive (forward)", rows, summary, as_json)
        return
    with console.status("loading the model") as status:
        lm = load_lm(model)
        rows, summary = bench_scoring(lm, prompts or 8, train_prompts, actions, progress=status.update)
    report("Candidate scoring: naive vs shared prefix (CPU)", rows, summary, as_json)
