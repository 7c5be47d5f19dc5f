"""NaN guard: stop training before a non-finite loss or gradient reaches the weights.

Trainers call `check_finite` on the losses (and, after backward, the gradients) before
`optimizer.step()`, so a diverged run never writes a bad checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch

Value = float | int | torch.Tensor | None


class TrainingDiverged(RuntimeError):
    """A loss, gradient or statistic became NaN or infinite."""


def check_finite(
    name: str,
    values: Value | Mapping[str, Value],
    *,
    step: int | None = None,
    checkpoint: str | Path | None = None,
) -> None:
    """Raise `TrainingDiverged` if `values` (a number, a tensor, or a dict of them) is not all finite.

    The message names each non-finite entry, the step, and the last good checkpoint, which is
    kept (the run can be resumed from it with a smaller learning rate). `None` entries (e.g.
    parameters without gradients) are skipped. Checks a dict with one device sync.
    """
    items = dict(values) if isinstance(values, Mapping) else {name: values}
    tensors = {k: v.detach() for k, v in items.items() if isinstance(v, torch.Tensor) and v.numel() > 0}
    numbers = {k: v for k, v in items.items() if v is not None and not isinstance(v, torch.Tensor)}
    for key, value in numbers.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"check_finite({name!r}): {key!r} is a {type(value).__name__}, not a number or tensor")
    bad = [k for k, v in numbers.items() if not math.isfinite(v)]
    if tensors:
        finite = torch.stack([torch.isfinite(t).all() for t in tensors.values()])
        if not bool(finite.all()):
            bad += [k for k, ok in zip(tensors, finite.tolist(), strict=True) if not ok]
    if not bad:
        return
    where = f" at step {step}" if step is not None else ""
    kept = (
        f"the last good checkpoint is kept at {checkpoint}"
        if checkpoint is not None
        else "no checkpoint had been saved yet"
    )
    shown = ", ".join(f"{k}={_describe(items[k])}" for k in bad[:10])
    more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
    raise TrainingDiverged(f"training diverged{where}: non-finite {name}: {shown}{more}; {kept}")


def _describe(value: Value) -> str:
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            return str(value.item())
        nan = int(torch.isnan(value).sum())
        inf = int(torch.isinf(value).sum())
        return f"tensor{tuple(value.shape)} with {nan} nan, {inf} inf"
    return str(value)
