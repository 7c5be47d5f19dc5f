"""`llmrl plot`: learning curves of run directories as a PNG."""

from pathlib import Path

import typer

from llmrl.cli.app import app


@app.command("plot")
def plot(
    run_dirs: list[Path] = typer.Argument(..., help="Run directories (runs/<algo>/<name>-<time>/) to plot."),
    x: str = typer.Option("frames", "--x", help="metrics.csv column on the x axis."),
    y: str = typer.Option("success_rate", "--y", help="metrics.csv column on the y axis."),
    out: Path | None = typer.Option(
        None, "--out", help="PNG path [default: RUN/plots/Y_vs_X.png for one run, plots/Y_vs_X.png for several]."
    ),
    group_by: str | None = typer.Option(
        None,
        "--group-by",
        help="'name' (run name without timestamp) or a dotted config key [default: same config except seed].",
    ),
    band: str = typer.Option("minmax", "--band", help="Band over seeds: minmax, std or none."),
    smooth: int = typer.Option(1, "--smooth", help="Trailing mean of each run's y over this many rows (1: raw)."),
) -> None:
    """Plot learning curves (mean over seeds with a band) from the runs' metrics.csv; print the PNG path."""
    from llmrl.eval.plots import PlotError, plot_learning_curves  # matplotlib only when plotting

    try:
        path = plot_learning_curves(run_dirs, out, x=x, y=y, group_by=group_by, band=band,  # type: ignore[arg-type]
                                    smooth=smooth)
    except PlotError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(str(path))
