"""The chat page in a real headless Chromium (Debian's, driven by Playwright; no browser download), against a
real `hesabu serve` on a free port with a temporary SQLite database in development mode. Payments go through
the page's simulator to the real C2B endpoint and their alerts come back through the real outbox sender.

The final screen is saved as test-artifacts/chat.png (docs/chat.png in the README is a copy of it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
# as the machine notes say: without the background-networking flags Chromium keeps dialling Google's hosts
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
WAIT_MS = 20_000

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):  # CI must run it: a missing package fails
    import playwright.sync_api as playwright_sync
else:
    playwright_sync = pytest.importorskip("playwright.sync_api")


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (make test installs it)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`hesabu migrate` then `hesabu serve` as `make run` does, on a free port; stopped after the test."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HESABU_ENV": "development", "HESABU_WEB_CHAT": "true",
           "HESABU_DATABASE_URL": f"sqlite:///{tmp_path / 'hesabu.db'}", "HESABU_PUBLIC_URL": base,
           "HESABU_SPOOL_DIR": str(tmp_path / "spool"), "NO_PROXY": "127.0.0.1,localhost",
           # the server runs this checkout's code, whatever else is installed
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for name in ("HESABU_TELEGRAM_TOKEN", "HESABU_TWILIO_ACCOUNT_SID", "HESABU_SECRET_KEY"):
        env.pop(name, None)
    hesabu = [sys.executable, "-m", "webhooks"]
    subprocess.run([*hesabu, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=60)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([*hesabu, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "hesabu serve did not come up"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_the_chat_page_shows_the_whole_loop(server: str, tmp_path: Path) -> None:
    _need_chromium()
    expect = playwright_sync.expect
    expect.set_options(timeout=WAIT_MS)
    with playwright_sync.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1180, "height": 860}, device_scale_factor=1)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            messages = page.locator("#messages > li")

            page.goto(f"{server}/chat")
            expect(page.locator("#business")).to_have_text("Demo Duka")
            expect(messages.filter(has_text="Karibu")).to_have_count(1)

            # /help gets the help
            help_lines = messages.filter(has_text="/invoice NAME AMOUNT")
            expect(help_lines).to_have_count(1)
            send_text(page, "/help")
            expect(page.locator("#messages > li.in").filter(has_text="/help")).to_have_count(1)
            expect(help_lines).to_have_count(2)

            # a payment for an open invoice: the alert arrives through the outbox
            simulate(page, "2500", "INV-0001", "Mary Wanjiku", "0712345678")
            expect(messages.filter(has_text="paid INV-0001 in full")).to_have_count(1)

            # a mangled one: a suggestion whose button confirms it, and the message changes in place
            simulate(page, "4750", "INV 4", "Jane Doe", "0700111222")
            suggestion = messages.filter(has_text="Which invoice is it for?")
            expect(suggestion).to_have_count(1)
            message_id = suggestion.get_attribute("data-id")
            suggestion.get_by_role("button", name="INV-0003 Achieng H. KES 4,750.00").click()
            same = page.locator(f'#messages > li[data-id="{message_id}"]')
            expect(same).not_to_contain_text("Which invoice")
            expect(same).to_contain_text("INV-0003")
            expect(same.get_by_role("button", name="Undo")).to_be_visible()

            # /invoice makes an invoice that the next simulated payment pays
            send_text(page, "/invoice Wanjiru Kamau 1800 maize flour")
            expect(messages.filter(has_text="INV-0007 for Wanjiru")).to_have_count(1)
            simulate(page, "1800", "INV-0007", "Wanjiru Kamau", "0711222333")
            expect(messages.filter(has_text="paid INV-0007 in full")).to_have_count(1)

            page.evaluate("document.getElementById('messages').scrollTop = 1e9")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "chat.png"))
            assert problems == []
        finally:
            context.close()


def send_text(page: object, text: str) -> None:
    page.fill("#text", text)  # type: ignore[attr-defined]
    page.press("#text", "Enter")  # type: ignore[attr-defined]


def simulate(page: object, amount: str, ref: str, name: str, phone: str) -> None:
    for field, value in (("#sim-amount", amount), ("#sim-ref", ref), ("#sim-name", name), ("#sim-phone", phone)):
        page.fill(field, value)  # type: ignore[attr-defined]
    page.click("#sim-send")  # type: ignore[attr-defined]
    playwright_sync.expect(page.locator("#sim-status")).to_contain_text("HTTP 200")  # type: ignore[attr-defined]
