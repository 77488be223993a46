"""Screenshots of every page at a desktop (1400x900) and a projector (1024x768) size, for docs/screenshots.

    python scripts/screenshots.py [--out docs/screenshots]

Starts the app (the browser tests' server fixture), opens each page in headless Chromium (Debian's
/usr/bin/chromium), presses the page's main button where it has one (the browser tests' MAIN_PAGES; the
Calibration experiment takes ~20 s), waits for the result and every chart, and saves
``<page>_<width>x<height>.png``: what a user sees, without scrolling. Look at them before committing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from test_browser import MAIN_PAGES, assert_no_exception, open_with_results  # noqa: E402

VIEWPORTS = ((1400, 900), (1024, 768))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with streamlit_server("screenshots.log") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for width, height in VIEWPORTS:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(180_000)
            for name, path, button, result in MAIN_PAGES:
                open_with_results(page, url + path, button, result)
                assert_no_exception(page)
                target = args.out / f"{name}_{width}x{height}.png"
                page.screenshot(path=str(target))
                print(target, flush=True)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
