"""The NaN guard names what diverged and where the last good checkpoint is."""

import math

import pytest
import torch

from llmrl.runtime.guard import TrainingDiverged, check_finite


def test_finite_values_pass():
    check_finite("loss", 1.5)
    check_finite("losses", {"policy": torch.tensor(0.1), "value": 2.0, "no_grad": None, "empty": torch.empty(0)})


def test_names_each_non_finite_entry_step_and_checkpoint():
    grads = {"w": torch.ones(3), "b": torch.tensor([1.0, math.nan, math.inf])}
    with pytest.raises(TrainingDiverged) as caught:
        check_finite("gradients", grads, step=42, checkpoint="runs/glam/x/checkpoints/step-0000000040")
    message = str(caught.value)
    assert "at step 42" in message and "non-finite gradients: b=tensor(3,) with 1 nan, 1 inf" in message
    assert "'w'" not in message and "w=" not in message
    assert "last good checkpoint is kept at runs/glam/x/checkpoints/step-0000000040" in message


def test_single_values_and_no_checkpoint():
    with pytest.raises(TrainingDiverged, match=r"non-finite loss: loss=nan; no checkpoint had been saved yet"):
        check_finite("loss", torch.tensor(float("nan")))
    with pytest.raises(TrainingDiverged, match=r"non-finite kl: kl=inf"):
        check_finite("kl", float("inf"))
    with pytest.raises(TypeError, match="not a number or tensor"):
        check_finite("loss", "0.1")  # type: ignore[arg-type]
