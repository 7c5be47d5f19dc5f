"""Small trainable heads put on top of a body (an LLM's hidden state, a text encoder, a CNN).

- ``ValueHead``: GLAM's critic, hidden -> 1024 -> sigmoid -> 1024 -> sigmoid -> 1.
- ``ActionLogitsHead``: NPAE's policy, the same MLP shape ending in one logit per action.
- ``DuelingHead``: Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a') (Wang et al. 2016) for the DQNs.
"""

from __future__ import annotations

from torch import Tensor, nn


def _sigmoid_mlp(in_features: int, inner: int, out_features: int) -> nn.Sequential:
    # Sigmoid, not ReLU, because that is the published GLAM head: keeping it makes our critic
    # (and the NPAE head) the one whose results we compare against; a different activation
    # would be an ablation, not a reproduction.
    if min(in_features, inner, out_features) < 1:
        raise ValueError(f"layer sizes must be >= 1, got in={in_features}, inner={inner}, out={out_features}")
    return nn.Sequential(
        nn.Linear(in_features, inner), nn.Sigmoid(),
        nn.Linear(inner, inner), nn.Sigmoid(),
        nn.Linear(inner, out_features),
    )


class ValueHead(nn.Module):
    """Critic on a hidden state: [..., hidden_size] -> [...] values."""

    def __init__(self, hidden_size: int, inner: int = 1024) -> None:
        super().__init__()
        self.net = _sigmoid_mlp(hidden_size, inner, 1)

    def forward(self, hidden: Tensor) -> Tensor:
        # LLM bodies often run in bf16/fp16; the head keeps its own (usually float32) dtype.
        return self.net(hidden.to(self.net[0].weight.dtype)).squeeze(-1)


class ActionLogitsHead(nn.Module):
    """Policy head giving one logit per action: [..., hidden_size] -> [..., num_actions]."""

    def __init__(self, hidden_size: int, num_actions: int, inner: int = 1024) -> None:
        super().__init__()
        self.net = _sigmoid_mlp(hidden_size, inner, num_actions)

    def forward(self, hidden: Tensor) -> Tensor:
        return self.net(hidden.to(self.net[0].weight.dtype))


class DuelingHead(nn.Module):
    """Dueling Q-head: [..., in_features] -> [..., num_actions] with Q = V + A - mean(A).

    Each stream is linear on the features by default. ``hidden > 0`` puts one ReLU layer of that
    width first in each stream: Wang et al.'s Atari streams, which follow a conv torso with no
    dense layer of its own (a body that ends in a dense layer, like ELLM's fusion, needs none).
    """

    def __init__(self, in_features: int, num_actions: int, hidden: int = 0) -> None:
        super().__init__()
        if min(in_features, num_actions) < 1 or hidden < 0:
            raise ValueError(f"sizes must be >= 1 (hidden >= 0), got in={in_features}, actions={num_actions}, "
                             f"hidden={hidden}")

        def stream(out_features: int) -> nn.Module:
            if hidden == 0:
                return nn.Linear(in_features, out_features)
            return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out_features))

        self.value, self.advantage = stream(1), stream(num_actions)

    def forward(self, features: Tensor) -> Tensor:
        advantage = self.advantage(features)
        # Subtracting the mean advantage makes V and A identifiable (V is then the mean Q)
        # without the instability of subtracting the max.
        return self.value(features) + advantage - advantage.mean(dim=-1, keepdim=True)
