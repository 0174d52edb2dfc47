"""The README's screenshots of the chat (desktop light, desktop dark, phone), taken in headless
Chromium against `assistant serve` on the demo index: run `make demo-index` first, then
`.venv/bin/python scripts/screenshots.py [--index index] [--out docs]`."""
import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

QUESTION = "What happened at the Harbourton tidal station?"
SHOTS = (("screenshot-desktop-light.png", "light", 1280, 900),
         ("screenshot-desktop-dark.png", "dark", 1280, 900),
         ("screenshot-phone.png", "light", 390, 844))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(index: str) -> tuple[subprocess.Popen, str]:
    """`assistant serve` on a free port, once it answers /api/health."""
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("assistant")), "serve",
                               "--index", index, "--port", str(port), "--no-token"])
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not start within two minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default="index")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    server, url = serve(args.index)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            for name, theme, width, height in SHOTS:
                page = browser.new_page(viewport={"width": width, "height": height},
                                        color_scheme=theme)
                page.goto(f"{url}/?__theme={theme}")
                page.wait_for_function("document.querySelector('#as-of input')?.value")
                page.locator("#question textarea").fill(QUESTION)
                page.locator("#question textarea").press("Enter")
                page.wait_for_selector("#chat [data-testid=bot] .card", timeout=60_000)
                page.wait_for_timeout(500)
                page.screenshot(path=str(Path(args.out) / name))
                print(f"wrote {Path(args.out) / name}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
