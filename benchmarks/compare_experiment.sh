#!/usr/bin/env bash
# The README comparison: every method on one BabyAI-Text task, 3 seeds each, the same frame budget,
# then `llmrl compare` over all runs. Usage:
#   benchmarks/compare_experiment.sh FRAMES [OUT_DIR] [SEEDS]
# The README's run (54 min, one torch thread, 2-core machine at load average 3-5 from other work):
#   OMP_NUM_THREADS=1 LLMRL=.venv/bin/llmrl benchmarks/compare_experiment.sh 32768 runs/compare-final "0 1 2"
# Methods: symbolic PPO, DRRN, NPAE (tiny body), BC (tiny llama, expert demos), GLAM with the tiny
# model and GLAM with the embedded SmolLM2 (GLAM_SMOL_FRAMES, default 128: it trains at ~0.6 frames/s
# on one CPU core, so 128 frames take ~3.5 min a seed where FRAMES would take hours).
# Every run shares the cpu-tiny presets' task (GoTo, 5x5 room, one distractor); the run name is the
# method, so the table and plot label rows by method.
set -euo pipefail
FRAMES=${1:?usage: $0 FRAMES [OUT_DIR] [SEEDS]}
OUT=${2:-runs/compare-$(date +%Y%m%d-%H%M%S)}
SEEDS=${3:-"0 1 2"}
GLAM_SMOL_FRAMES=${GLAM_SMOL_FRAMES:-128}
LLMRL=${LLMRL:-llmrl}
TASK="env_id=BabyAIText-GoTo-v0 room_size=5 num_dists=1"
mkdir -p "$OUT"

train() {  # train ALGO PRESET NAME FRAMES_KEY=VALUE... (FRAMES_KEY: the config key of the budget)
  local algo=$1 preset=$2 name=$3; shift 3
  for seed in $SEEDS; do
    echo "== $name seed $seed"
    $LLMRL train "$algo" --config "$preset" $TASK "seed=$seed" "name=$name" "out_dir=$OUT" "$@"
  done
}

train symbolic-ppo symbolic-ppo/cpu-tiny symbolic-ppo "total_frames=$FRAMES"
train drrn drrn/cpu-tiny drrn "total_frames=$FRAMES"
train npae npae/cpu-tiny npae-tiny "total_frames=$FRAMES"
train glam glam/cpu-tiny glam-tiny "total_frames=$FRAMES"
train glam glam/cpu-tiny glam-smollm2 "total_frames=$GLAM_SMOL_FRAMES" model=smollm2-135m \
  num_envs=4 num_steps=16 epochs=1 minibatch_size=16 lr=1e-5 normalize=sum
# BC is offline: its frames are demonstration steps processed; 200 bot episodes x epochs.
train bc bc/cpu-tiny bc-tiny

runs=$(find "$OUT" -mindepth 2 -maxdepth 2 -type d | sort)
# shellcheck disable=SC2086
$LLMRL compare $runs --budgets "$((FRAMES / 2)),$FRAMES" --out "$OUT/compare"
