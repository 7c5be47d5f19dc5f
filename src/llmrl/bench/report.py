"""Shared output of every benchmark: a rich table, or JSON whose last line is one object."""

import json
import platform
from typing import Any

from rich.console import Console
from rich.table import Table


def machine_info() -> dict[str, Any]:
    """What a benchmark ran on, recorded with its numbers."""
    import torch  # deferred: the CLI imports this module at start-up

    from llmrl.runtime.run_dir import host_info

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": host_info()["cpu"],  # the model name lscpu shows, not just "x86_64"
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def report(title: str, rows: list[dict[str, Any]], summary: dict[str, Any], as_json: bool) -> None:
    """Print `rows` as a table and `summary` below it; with `as_json`, one JSON object last.

    The JSON object holds the summary keys at top level plus `rows` and `machine`.
    """
    console = Console()
    if not console.is_terminal:
        # Piped into a file or a CI log: rich would assume 80 columns and cut the headers short.
        console = Console(width=max(console.width, 240))
    if as_json:
        print(json.dumps({**summary, "rows": rows, "machine": machine_info()}))
        return
    table = Table(title=title)
    columns = list(rows[0]) if rows else []
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_fmt(row[c]) for c in columns))
    console.print(table)
    for key, value in summary.items():
        console.print(f"{key}: {_fmt(value)}")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
