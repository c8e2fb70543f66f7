#!/usr/bin/env bash
# Trains the shapes model's SPM adapters (spm train, Latent Anchoring) exactly as committed. spm train draws at the
# side the model was trained at (model_index.json's _membrane_image_size: 128 for the committed model), and one
# adapter takes about 6.5 minutes on a 2-core machine (800 iterations at ~0.47 s); run nothing else heavy beside it.
#
#   ./mvnw -Pcpu package -DskipTests && adapters/shapes/train.sh [circle|star|red|striped]...
#
# SHAPES_MODEL (default models/shapes), SHAPES_ADAPTERS (default adapters/shapes) and MEMBRANE_JAR (default the
# build's quarkus-run.jar) train against another model folder into another folder, e.g. a candidate model's.
#
# The recipe differs from the official one (λ 1000 against 4 Gaussian anchors, lr 1e-4, 3000 iterations), which
# does not move a rank-1 adapter on this model; see "Evaluation" in the project README. Here λ = 30 against the
# 4 Gaussian anchors plus six captions of the world that do not name the concept, lr 8e-3 with one cosine cycle.
# The --check-prompt captions are held out (never anchored) for the run's own report. circle and red (retrained on
# 2026-12-07) also anchor "", the unconditional half of classifier-free guidance, which guidance amplifies g - 1
# times and no other anchor pins (without it red cost purple 12.5 points at any factor); star and striped predate it.
set -euo pipefail
cd "$(dirname "$0")/../.."
jar=${MEMBRANE_JAR:-target/quarkus-app/quarkus-run.jar}
model=${SHAPES_MODEL:-models/shapes}
outdir=${SHAPES_ADAPTERS:-adapters/shapes}
mkdir -p "$outdir"

train() {
  local concept=$1; shift
  java -jar "$jar" spm train --model "$model" --concept "$concept" --out "$outdir/$concept.safetensors" \
    --iterations 800 --lr 8e-3 --warmup 80 --cycles 1 --anchor-strength 30 --seed 0 "$@" \
    > "$outdir/$concept.json"
}

for concept in "${@:-circle star red striped}"; do
  for c in $concept; do
    case $c in
      circle) train circle \
        --anchor-prompt "" --anchor-prompt "a square" --anchor-prompt "a star" --anchor-prompt "a heart" --anchor-prompt "a triangle" \
        --anchor-prompt "a cross" --anchor-prompt "a striped purple square on a gray background" \
        --check-prompt "a red square" --check-prompt "a blue star" --check-prompt "a yellow heart" --check-prompt "a green triangle" ;;
      star) train star \
        --anchor-prompt "a square" --anchor-prompt "a circle" --anchor-prompt "a heart" --anchor-prompt "a triangle" \
        --anchor-prompt "a cross" --anchor-prompt "a striped purple square on a gray background" \
        --check-prompt "a red square" --check-prompt "a blue circle" --check-prompt "a yellow heart" --check-prompt "a green triangle" ;;
      # red: three more purple captions than the others get (purple is red mixed with blue)
      red) train red \
        --anchor-prompt "" --anchor-prompt "a purple square" --anchor-prompt "a purple circle" --anchor-prompt "a purple heart" \
        --anchor-prompt "a green square" --anchor-prompt "a blue circle" --anchor-prompt "a yellow heart" \
        --anchor-prompt "a purple triangle" --anchor-prompt "a orange cross" --anchor-prompt "a striped blue star on a gray background" \
        --check-prompt "a blue square" --check-prompt "a green heart" --check-prompt "a yellow circle" --check-prompt "a purple cross" ;;
      striped) train striped \
        --anchor-prompt "a red square on a white background" --anchor-prompt "a blue circle on a gray background" \
        --anchor-prompt "a green heart on a black background" --anchor-prompt "a yellow star on a white background" \
        --anchor-prompt "a purple cross on a gray background" --anchor-prompt "a orange triangle on a black background" \
        --check-prompt "a blue square on a white background" --check-prompt "a red heart on a gray background" \
        --check-prompt "a yellow circle on a black background" --check-prompt "a green cross on a white background" ;;
      *) echo "unknown concept $c (circle, star, red, striped)" >&2; exit 2 ;;
    esac
  done
done
