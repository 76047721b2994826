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
# The library page of --catalog, in Chromium (Playwright, the test extra), light and dark.
exporter build content -o "$work/library" --catalog --force
python - "$work/library/index.html" <<'PY'
import sys
from playwright.sync_api import sync_playwright

with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
    for scheme, width, name in (("light", 760, "catalog"), ("dark", 380, "catalog-dark")):
        page = browser.new_page(viewport={"width": width, "height": 440}, color_scheme=scheme)
        page.goto(f"file://{sys.argv[1]}")
        page.screenshot(path=f"docs/{name}.png")
    browser.close()
PY
python docs/preview-screenshot.py
