"""Per-update metrics: one CSV row and TensorBoard scalars per `log` call, flushed at once.

The CSV is the source of truth for `llmrl plot`; TensorBoard is for watching a run live.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmrl.runtime.run_dir import RunDir

Scalar = int | float | bool | str


class MetricsLogger:
    """Append one row per update to `metrics.csv` (first column `step`) and to TensorBoard.

    Every row is flushed when logged, so a crash loses nothing already logged. The header is
    fixed by the first row; a later row with new keys extends it (the file is rewritten once,
    older rows get empty cells) and a row missing keys leaves those cells empty.

    With `resume_step=k` (resuming from a checkpoint taken at step k), rows with a step
    above k are dropped from the CSV and TensorBoard's events from step k+1 on are purged,
    so the resumed run continues its curves without duplicates.
    """

    def __init__(self, run_dir: RunDir, *, resume_step: int | None = None, tensorboard: bool = True) -> None:
        self.path = run_dir.metrics_path
        self.columns: list[str] = []
        self._last_step: int | None = None
        if resume_step is not None:
            self._truncate_after(resume_step)
        elif self.path.exists() and self.path.stat().st_size > 0:
            raise FileExistsError(
                f"{self.path} already has rows; pass resume_step=<checkpoint step> to continue a run"
            )
        self._file = self.path.open("a", newline="")
        self._writer: Any = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # slow import, only when used

            purge = None if resume_step is None else resume_step + 1
            self._writer = SummaryWriter(log_dir=str(run_dir.tb_dir), purge_step=purge)

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Write the metrics of one update at `step` (e.g. frames so far); steps must increase."""
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise ValueError(f"step must be a non-negative int, got {step!r}")
        if self._last_step is not None and step <= self._last_step:
            raise ValueError(f"step {step} is not after the last logged step {self._last_step}")
        metrics = {key: _scalar(key, value) for key, value in metrics.items()}
        new = [key for key in metrics if key not in self.columns]
        if new:
            self._extend_header(new)
        row = {"step": step, **metrics}
        csv.DictWriter(self._file, fieldnames=["step", *self.columns]).writerow(row)
        self._file.flush()
        self._last_step = step
        if self._writer is not None:
            for key, value in metrics.items():
                if isinstance(value, int | float) and math.isfinite(value):
                    self._writer.add_scalar(key, value, step)
            self._writer.flush()

    def close(self) -> None:
        """Flush and close the CSV file and the TensorBoard writer."""
        self._file.close()
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _extend_header(self, new: list[str]) -> None:
        """Add columns: rewrite the file (atomically) with the wider header and the old rows."""
        rows = _read_rows(self.path) if self.columns else []
        self.columns += new
        self._file.close()
        _write_rows(self.path, ["step", *self.columns], rows)
        self._file = self.path.open("a", newline="")

    def _truncate_after(self, resume_step: int) -> None:
        if not self.path.exists():
            return
        with self.path.open(newline="") as f:
            reader = csv.DictReader(f)
            fieldnames = list(reader.fieldnames or [])
            rows = [row for row in reader if int(row["step"]) <= resume_step]
        if fieldnames and fieldnames[0] != "step":
            raise ValueError(f"{self.path} is not a metrics file written by MetricsLogger (first column not 'step')")
        self.columns = fieldnames[1:]
        self._last_step = int(rows[-1]["step"]) if rows else None
        _write_rows(self.path, fieldnames, rows)


def _scalar(key: object, value: object) -> Scalar:
    """Check a metric's name and value; numpy scalars and one-element tensors become Python numbers."""
    if key == "step" or not isinstance(key, str) or not key:
        raise ValueError(f"metric name {key!r} is not allowed (non-empty str other than 'step')")
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if not isinstance(value, Scalar):
        raise TypeError(f"metric {key!r} = {value!r}: values must be int, float, bool or str")
    return value


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _write_rows(path: Path, fieldnames: list[str], rows: list[dict[str, str]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        if fieldnames:
            writer.writeheader()
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
