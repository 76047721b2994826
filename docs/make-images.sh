#!/usr/bin/env bash
# Regenerate the README's pictures with the project's own pipeline (exporter build + proof).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for style in classic modern large-print; do
  exporter build content/pokrovsk.md -f pdf --style "$style" -o "$work/$style" --force
  exporter proof "$work/$style/pokrovsk.pdf" -o "$work/$style/proof" --dpi 60
  cp "$work/$style/proof/pokrovsk-p001.png" "docs/style-$style.png"
done
cp docs/style-classic.png docs/pokrovsk-page1.png
exporter proof "$work/classic/pokrovsk.pdf" -o "$work/sheet" --dpi 40
cp "$work/sheet/pokrovsk-contact.png" docs/pokrovsk-contact.png
python docs/preview-screenshot.py
