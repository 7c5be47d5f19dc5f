"""Candidate-scoring speed: naive (one row per prompt x action) against shared prefix (and KV reuse).

GLAM-like prompts (reference layout, 3 observations of history, 150-250 tokens)
with the 6 BabyAI actions, scored by the embedded SmolLM2 on the CPU; timed in
forward (no grad) and in forward + backward (sum of scores + a value read from the
hidden state, as a PPO loss would). Achieved FLOP/s count the weight matmuls of the
tokens actually computed (2 x body params per token, plus the head at scored
positions; x3 with backward), against a measured float32 matmul peak.

`bench_many_candidates` (at the end) scores real TextWorld prompts with 6 to hundreds of
candidates by shared, KV-cache reuse (`llmrl.lm.kv_scoring`) and naive, in forward.
"""

import platform
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psutil
import torch

from llmrl.lm.kv_scoring import DEFAULT_KV_TOKEN_BUDGET, score_kv_reuse
from llmrl.lm.model import LanguageModel
from llmrl.lm.scoring import DEFAULT_TOKEN_BUDGET, CandidateTree, micro_batches

ACTIONS = ["turn left", "turn right", "go forward", "pick up", "drop", "toggle"]
COLORS = ["red", "green", "blue", "purple", "yellow", "grey"]
OBJECTS = ["ball", "box", "key"]
TOKEN_RANGE = (150, 250)


def _offset(rng: random.Random) -> str:
    def steps(n: int) -> str:
        return f"{n} step" if n == 1 else f"{n} steps"

    side, across, ahead = rng.choice(["left", "right"]), rng.randint(1, 3), rng.randint(1, 6)
    return f"{steps(across)} {side} and {steps(ahead)} forward"


def _observation(rng: random.Random, sentences: int) -> str:
    parts = [f"You see a wall {rng.randint(1, 6)} steps forward"]
    for _ in range(sentences - 1):
        if rng.random() < 0.2:
            thing = f"{rng.choice(['open', 'closed', 'locked'])} {rng.choice(COLORS)} door"
        else:
            thing = f"{rng.choice(COLORS)} {rng.choice(OBJECTS)}"
        parts.append(f"You see a {thing} {_offset(rng)}")
    return ", ".join(parts) + ", "


def glam_prompt(rng: random.Random, sentences: int) -> str:
    """A prompt in GLAM's layout: actions, goal, 3 observations and 2 actions, then `Action 2: `."""
    goal = f"go to the {rng.choice(COLORS)} {rng.choice(OBJECTS)}"
    text = f"Possible action of the agent: {', '.join(ACTIONS)} \n Goal of the agent: {goal} \n "
    for step in range(3):
        text += f"Observation {step}: {_observation(rng, sentences)}\n "
        text += f"Action {step}: " + (f"{rng.choice(ACTIONS)} \n " if step < 2 else "")
    return text


def glam_prompts(lm: LanguageModel, count: int, seed: int = 0) -> list[str]:
    """`count` GLAM-like prompts whose token counts fall in TOKEN_RANGE for `lm`'s tokenizer."""
    rng = random.Random(seed)
    prompts: list[str] = []
    while len(prompts) < count:
        prompt = glam_prompt(rng, rng.randint(3, 6))
        tokens = len(lm.boundary.encode_prompt(prompt)[0])
        if TOKEN_RANGE[0] <= tokens <= TOKEN_RANGE[1]:
            prompts.append(prompt)
    return prompts


def matmul_peak_flops(size: int = 1024, repeats: int = 5) -> float:
    """Best measured float32 FLOP/s of a square matmul at the current thread count."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every 5 ms by a thread."""

    def __enter__(self) -> "PeakRSS":
        self._process = psutil.Process()
        self.base = self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def useful_flops(lm: LanguageModel, prompts: list[str], actions: list[str], method: str) -> float:
    """Weight-matmul FLOPs of one forward over the tokens that `method` computes (padding not counted)."""
    pairs = lm.encode(prompts, [actions] * len(prompts))
    embedding = lm.base_model.get_input_embeddings().weight
    body_params = sum(p.numel() for p in lm.base_model.parameters()) - embedding.numel()
    # The tokens each method feeds: a candidate's last token never is (llmrl.lm.scoring).
    if method == "shared":
        tokens = sum(len(p.prompt) + len(CandidateTree(p.candidates)) for p in pairs)
    else:
        tokens = sum(len(p.prompt) + len(c) - 1 for p in pairs for c in p.candidates)
    scored = sum(len(c) for p in pairs for c in p.candidates)
    return 2.0 * body_params * tokens + 2.0 * embedding.numel() * scored


def _timed(fn: Callable[[], list[torch.Tensor]]) -> tuple[float, float, list[torch.Tensor]]:
    """(seconds of a warm call, extra peak RSS of the first call in MB, scores).

    The first call at a new batch shape pays one-time costs (allocator growth, page faults,
    kernel set-up): up to 3x a steady call for the packed shared rows. A training loop runs in
    the steady state, so both methods are timed on their second call; peak memory comes from
    the first, where it is highest.
    """
    with PeakRSS() as memory:
        fn()
    start = time.perf_counter()
    scores = fn()
    seconds = time.perf_counter() - start
    return seconds, memory.extra_mb, scores


def bench_scoring(
    lm: LanguageModel,
    num_prompts: int,
    train_prompts: int,
    num_actions: int = len(ACTIONS),
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[dict], dict]:
    """Rows (forward and train, naive and shared) and a summary with speedups and max |diff|."""
    if num_prompts < 1 or train_prompts < 1:
        raise ValueError("need at least one prompt for forward and for train")
    if not 1 <= num_actions <= len(ACTIONS):
        raise ValueError(f"num_actions must be in 1..{len(ACTIONS)}, got {num_actions}")
    actions = ACTIONS[:num_actions]
    prompts = glam_prompts(lm, max(num_prompts, train_prompts))
    value_head = torch.nn.Linear(lm.hidden_size, 1)
    progress("measuring the matmul peak")
    peak = matmul_peak_flops()

    def forward(method: str) -> list[torch.Tensor]:
        return lm.score(prompts[:num_prompts], [actions] * num_prompts, method=method)

    def train(method: str) -> list[torch.Tensor]:
        lm.model.zero_grad(set_to_none=True)
        scores, hidden = lm.score(
            prompts[:train_prompts], [actions] * train_prompts, method=method, grad=True, return_hidden=True
        )
        # A PPO-shaped loss: through the action scores and through a value on the hidden state.
        loss = torch.stack(scores).sum() + value_head(hidden).sum()
        loss.backward()
        return [s.detach() for s in scores]

    rows, results = [], {}
    for phase, fn, count, passes in (("forward", forward, num_prompts, 1), ("train", train, train_prompts, 3)):
        for method in ("shared", "naive"):
            progress(f"{phase}: {method}, {count} prompts x {num_actions} actions")
            seconds, extra_mb, scores = _timed(partial(fn, method))
            flops = passes * useful_flops(lm, prompts[:count], actions, method)
            results[phase, method] = (seconds, scores)
            rows.append({
                "phase": phase,
                "method": method,
                "prompts": count,
                "seconds": seconds,
                "ms_per_prompt": 1000 * seconds / count,
                "gflop_per_s": flops / seconds / 1e9,
                "pct_of_matmul_peak": 100 * flops / seconds / peak,
                "peak_extra_mb": extra_mb,
            })

    def diff(phase: str) -> float:
        shared, naive = results[phase, "shared"][1], results[phase, "naive"][1]
        return max(float((a - b).abs().max()) for a, b in zip(shared, naive, strict=True))

    def speedup(phase: str) -> float:
        return results[phase, "naive"][0] / results[phase, "shared"][0]

    token_counts = [len(lm.boundary.encode_prompt(p)[0]) for p in prompts]
    summary = {
        "model": lm.name,
        "speedup_forward": speedup("forward"),
        "speedup_train": speedup("train"),
        "max_abs_diff": max(diff("forward"), diff("train")),
        "prompt_tokens_mean": sum(token_counts) / len(token_counts),
        "actions": num_actions,
        "matmul_peak_gflop_per_s": peak / 1e9,
    }
    return rows, summary


# ------------------------------------------------------------------ many candidates
# `llmrl bench scoring --candidates 6,50,200,500`: real TextWorld prompts and commands, scored
# by the three causal methods in one run.

MANY_METHODS = ("shared", "kv", "naive")
BENCH_GAME = {"rooms": 8, "objects": 30, "quest_length": 5}  # large games: up to ~55 admissible commands
PREFERRED_VERBS = ("take", "open", "go", "unlock")  # carrying and opening things multiplies the commands


@dataclass(frozen=True)
class ScoringState:
    """A real decision point of a text game: the prompt there and its admissible commands."""

    prompt: str
    admissible: tuple[str, ...]


def textworld_states(
    games: int = 6, steps: int = 60, seed: int = 0, cache_dir: str | Path | None = None
) -> tuple[list[ScoringState], list[str]]:
    """States along biased random walks of `games` generated TextWorld games, and every command seen.

    The walk prefers taking, opening and moving (80%), which reaches states with many
    admissible commands. Games are generated from seeds seed.. and cached (see TextWorldEnv).
    """
    from llmrl.envs.text_games import TextWorldEnv, TextWorldGame
    from llmrl.envs.text_games.prompt import TextGamePrompter

    states: list[ScoringState] = []
    pool: dict[str, None] = {}  # insertion-ordered set: the same run gives the same order
    for game in range(games):
        env = TextWorldEnv(TextWorldGame(**BENCH_GAME), game_seeds=[seed + game], max_steps=steps, cache_dir=cache_dir)
        rng = random.Random(seed + game)
        prompter = TextGamePrompter(history=2)
        obs, info = env.reset(seed=seed + game)
        prompt = prompter.reset(obs, info)
        for _ in range(steps):
            admissible = info["admissible_commands"]
            states.append(ScoringState(prompt, tuple(admissible)))
            pool.update(dict.fromkeys(admissible))
            preferred = [c for c in admissible if c.split()[0] in PREFERRED_VERBS]
            command = rng.choice(preferred if preferred and rng.random() < 0.8 else admissible)
            obs, _, terminated, truncated, info = env.step(command)
            prompt = prompter.step(command, obs)
            if terminated or truncated:
                obs, info = env.reset()
                prompt = prompter.reset(obs, info)
        env.close()
    return states, list(pool)


def candidate_sets(
    states: list[ScoringState], pool: list[str], count: int, num_prompts: int, seed: int = 0
) -> list[tuple[str, list[str], int]]:
    """(prompt, `count` candidates, how many are the state's own) for the `num_prompts` richest states.

    A state's admissible commands come first; when it has fewer than `count`, other real
    commands of the generated games fill the set (drawn without repeats).
    """
    if len(pool) < count:
        raise ValueError(f"the generated games gave {len(pool)} distinct commands, fewer than {count}: "
                         "generate more games (--games)")
    rng = random.Random(seed + count)
    richest = sorted(range(len(states)), key=lambda i: (-len(states[i].admissible), i))[:num_prompts]
    sets = []
    for i in richest:
        own = list(states[i].admissible[:count])
        taken = set(own)
        others = [c for c in pool if c not in taken]
        sets.append((states[i].prompt, own + rng.sample(others, count - len(own)), len(own)))
    return sets


def bench_many_candidates(
    lm: LanguageModel,
    counts: list[int],
    num_prompts: int = 1,
    games: int = 6,
    methods: tuple[str, ...] = MANY_METHODS,
    kv_token_budget: int = DEFAULT_KV_TOKEN_BUDGET,
    cache_dir: str | Path | None = None,
    steps: int = 60,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[dict], dict]:
    """Forward scoring time of shared, KV-reuse and naive at each candidate count, on real TextWorld prompts.

    One row per (count, method): seconds of one call (after a warm-up of every method at the
    smallest count), its extra peak RSS, and the largest |log-prob - naive's|. Each method cuts
    its work into micro-batches (naive and shared by the model's token budget, KV reuse by
    `kv_token_budget` keys), so memory stays bounded at hundreds of candidates.
    """
    if lm.is_encoder_decoder:
        raise ValueError("the many-candidate bench compares causal-model methods; pick a decoder-only model")
    if not counts or min(counts) < 1 or num_prompts < 1:
        raise ValueError("need at least one candidate count >= 1 and one prompt")
    unknown = set(methods) - set(MANY_METHODS)
    if unknown or "naive" not in methods:
        raise ValueError(f"methods must include 'naive' (the reference) and come from {MANY_METHODS}")
    progress(f"generating {games} TextWorld games and walking them")
    states, pool = textworld_states(games, steps=steps, cache_dir=cache_dir)

    def run(method: str, prompts: list[str], cands: list[list[str]]) -> list[torch.Tensor]:
        if method == "kv":
            return score_kv_reuse(lm, prompts, cands, token_budget=kv_token_budget)
        if method == "shared":
            return lm.score(prompts, cands, method=method)
        # Naive: `lm.score` batches whole prompts, all of a prompt's rows at once (500 rows of ~280
        # tokens: ~140k tokens, GBs of activations); chunks of candidates keep each call near the
        # model's token budget.
        out = []
        for prompt, options in zip(prompts, cands, strict=True):
            pair = lm.encode([prompt], [options])[0]
            per_row = len(pair.prompt) + max(len(c) for c in pair.candidates)
            size = max(1, DEFAULT_TOKEN_BUDGET // per_row)
            out.append(torch.cat([lm.score([prompt], [options[i : i + size]], method="naive")[0]
                                  for i in range(0, len(options), size)]))
        return out

    sets = {n: candidate_sets(states, pool, n, num_prompts) for n in sorted(set(counts))}
    warm = sets[min(sets)]
    for method in methods:
        progress(f"warm-up: {method}")
        run(method, [p for p, _, _ in warm], [c for _, c, _ in warm])
    rows, summary_speed = [], {}
    for n, chosen in sets.items():
        prompts, cands = [p for p, _, _ in chosen], [c for _, c, _ in chosen]
        pairs = lm.encode(prompts, cands)
        results = {}
        for method in methods:
            progress(f"{n} candidates x {num_prompts} prompts: {method}")
            with PeakRSS() as memory:
                start = time.perf_counter()
                scores = run(method, prompts, cands)
                seconds = time.perf_counter() - start
            results[method] = (seconds, scores, memory.extra_mb)
        naive_seconds, naive_scores, _ = results["naive"]
        for method, (seconds, scores, extra_mb) in results.items():
            diff = max(float((a - b).abs().max()) for a, b in zip(scores, naive_scores, strict=True))
            rows.append({
                "candidates": n,
                "method": method,
                "prompts": num_prompts,
                "own_candidates": sum(k for _, _, k in chosen) / num_prompts,
                "prompt_tokens": sum(len(p.prompt) for p in pairs) / num_prompts,
                "candidate_tokens": sum(len(c) for p in pairs for c in p.candidates) / (n * num_prompts),
                "fed_tokens": fed_tokens(pairs, method, kv_token_budget) / num_prompts,
                "seconds": seconds,
                "ms_per_prompt": 1000 * seconds / num_prompts,
                "speedup_vs_naive": naive_seconds / seconds,
                "max_abs_diff_vs_naive": diff,
                "peak_extra_mb": extra_mb,
            })
        if "shared" in results:
            summary_speed[f"shared_over_naive_at_{n}"] = naive_seconds / results["shared"][0]
            if "kv" in results:
                summary_speed[f"shared_over_kv_at_{n}"] = results["kv"][0] / results["shared"][0]
    summary = {
        "model": lm.name,
        "candidates": sorted(sets),
        "methods": list(methods),
        **summary_speed,
        "max_abs_diff": max(r["max_abs_diff_vs_naive"] for r in rows),
        "distinct_commands": len(pool),
        "games": games,
        "kv_token_budget": kv_token_budget,
        "cpu_model": cpu_model(),
    }
    return rows, summary


def fed_tokens(pairs, method: str, kv_token_budget: int = DEFAULT_KV_TOKEN_BUDGET) -> int:
    """Tokens each method feeds through the model: KV reuse's rows with their padding, naive's without."""
    if method == "shared":
        return sum(len(p.prompt) + len(CandidateTree(p.candidates)) for p in pairs)
    if method == "kv":
        total = 0
        for p in pairs:
            # As KVReuseScorer cuts them: rows of cand[:-1], padded to the longest of their micro-batch.
            lengths = [len(c) - 1 for c in p.candidates if len(c) > 1]
            groups = micro_batches([len(p.prompt) + n for n in lengths], kv_token_budget, max_padding=1.0)
            total += len(p.prompt) + sum(len(g) * max(lengths[i] for i in g) for g in groups)
        return total
    return sum(len(p.prompt) + len(c) - 1 for p in pairs for c in p.candidates)


def cpu_model() -> str:
    """The processor's name (`lscpu`'s "Model name"), recorded with the numbers."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
