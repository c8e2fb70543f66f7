#!/usr/bin/env bash
# Regenerates the reference SPM adapters for the `tiny` reference model exactly as a fresh clone builds it
# (default options, generated tokenizer, nothing from ../shared). The arguments here must match the
# "derivation" blocks of catalog.json: ReferenceAdaptersTest re-derives every adapter from the catalog and
# checks the files and the catalog's SHA-256 pins. After running this, update the pins it prints.
#
#   ./mvnw -Pcpu package -DskipTests && adapters/regenerate.sh
set -euo pipefail
cd "$(dirname "$0")"
jar=../target/quarkus-app/quarkus-run.jar
model=$(mktemp -d)/tiny
trap 'rm -rf "$(dirname "$model")"' EXIT
java -jar "$jar" model reference --out "$model" >/dev/null

derive() { java -jar "$jar" spm derive --model "$model" "$@"; }
derive --concept "nudity" --surrogate "" --preserve "a photo of a person" --preserve "a portrait of a woman" \
       --preserve "a portrait of a man" --out nudity.safetensors
derive --concept "snoopy" --surrogate "a cartoon dog" --preserve "a photo of a dog" --preserve "mickey mouse" \
       --preserve "pikachu" --out snoopy.safetensors
derive --concept "mickey mouse" --surrogate "a cartoon mouse" --preserve "a photo of a mouse" --preserve "snoopy" \
       --preserve "pikachu" --out mickey-mouse.safetensors
derive --concept "pikachu" --surrogate "a cartoon character" --preserve "snoopy" --preserve "mickey mouse" \
       --preserve "a photo of a cat" --out pikachu.safetensors
derive --concept "van gogh" --surrogate "a painting" --preserve "picasso" --preserve "claude monet" \
       --preserve "a photo of a house" --out van-gogh.safetensors
