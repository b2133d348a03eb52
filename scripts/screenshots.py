"""Screenshots of a running Townhall for the docs, taken in Debian Chromium.

Start the demo (`make demo`), wait a minute for the day to fill, then:
    .venv/bin/python scripts/screenshots.py [http://127.0.0.1:8000] [--login EMAIL]
It writes docs/screenshots/{inbox,item,teams,crisis}.png (crisis: once a room is open).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--login", default="dan.murphy@acme.example")
    parser.add_argument("--password", default="townhall-demo")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(base_url=args.url, viewport={"width": 1280, "height": 860})
        page.goto("/login")
        page.get_by_label("E-mail").fill(args.login)
        page.get_by_label("Password").fill(args.password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/inbox")
        page.goto("/inbox?department=all")
        page.locator("#item-rows li.row").first.wait_for()
        page.screenshot(path=str(OUT / "inbox.png"))
        page.locator("#item-rows li.row a").first.click()
        page.wait_for_url("**/items/*")
        page.screenshot(path=str(OUT / "item.png"), full_page=True)
        page.goto("/teams")
        page.screenshot(path=str(OUT / "teams.png"), full_page=True)
        page.goto("/crises")
        rooms = page.locator("#rooms a")
        if rooms.count():
            rooms.first.click()
            page.wait_for_url("**/crises/*")
            page.screenshot(path=str(OUT / "crisis.png"))
        browser.close()
    print(f"wrote screenshots in {OUT}")


if __name__ == "__main__":
    main()
