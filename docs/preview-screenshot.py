"""The README's picture of `exporter preview content/pokrovsk.md`, taken in Debian's Chromium.

Run from the repository's root (docs/make-images.sh does): it starts the preview, waits for the
page to be up to date, takes a screenshot, stops the preview with Ctrl-C (SIGINT), and writes
docs/preview.png with a palette of 256 colours, which keeps it small.
"""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

with tempfile.TemporaryFile() as log:
    preview = subprocess.Popen([sys.executable, "-m", "exporter", "preview", "content/pokrovsk.md",
                                "--no-open"], stderr=log)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(rb"at (http://\S+) ", (log.seek(0), log.read())[1])):
            if preview.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the preview did not start: {(log.seek(0), log.read())[1].decode()}")
            time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(found.group(1).decode())
            page.wait_for_function("document.getElementById('status').textContent == 'Up to date'")
            page.wait_for_timeout(500)  # (the page images are decoded)
            shot = page.screenshot()
            browser.close()
    finally:
        preview.send_signal(signal.SIGINT)
        preview.wait(timeout=30)

Image.open(io.BytesIO(shot)).quantize(256).save("docs/preview.png", optimize=True)
