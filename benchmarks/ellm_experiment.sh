#!/usr/bin/env bash
# The ELLM CPU experiment of issue 6, in the background: 3 seeds each of ELLM (closed form,
# embedded SmolLM2-135M), oracle, novelty, RND and none, FRAMES frames per run, then the
# README table and the plot (ROOT/achievements_per_episode.png).
#   benchmarks/ellm_experiment.sh [FRAMES] [ROOT] [STAGE_FRAMES]
#   (defaults: 200000 runs/ellm-experiment 25000; JOBS=2 runs at a time, one core each)
# Every run reaches STAGE_FRAMES before any goes further (then 2x, ...), so stopping it early
# leaves all methods at one budget. Re-running it resumes unfinished runs and skips finished
# ones. Progress: ROOT/logs/*.log; result: ROOT/summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMES="${1:-200000}"
ROOT="${2:-runs/ellm-experiment}"
STAGE="${3:-25000}"
mkdir -p "$ROOT"
PY="${PYTHON:-.venv/bin/python}"
nohup "$PY" -m llmrl.experiments.ellm_pretraining run --frames "$FRAMES" --root "$ROOT" --seeds 3 --jobs "${JOBS:-2}" \
  --stage-frames "$STAGE" > "$ROOT/summary.md" 2> "$ROOT/experiment.err" &
echo "started (pid $!): tail -f $ROOT/logs/*.log; the table lands in $ROOT/summary.md"
