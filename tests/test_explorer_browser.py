"""The explorer in a real browser: start the server on a free loopback port, drive the page
with Playwright on the system Chromium, check it binds to loopback only.

Chromium comes from the system (``apt-get install chromium``; ``.ci/run`` installs it):
Playwright's own browser download cannot reach its host here. The test is skipped only when
no Chromium can be found, and says so loudly. Screenshots go to outputs/test-artefacts/.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ARTEFACTS = REPO / "outputs" / "test-artefacts"
LOAD_TIMEOUT_MS = 180_000  # first load imports the model and runs two designs: slow machine
UPDATE_TIMEOUT_MS = 120_000


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"),
                      shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket of ``pid`` and its children."""
    import psutil

    proc = psutil.Process(pid)
    out = []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            conns = p.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        out += [(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]
    return out


@pytest.fixture
def server():
    """The explorer as `make explore` runs it, on a free loopback port; always stopped."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = open(ARTEFACTS / "explorer-server.log", "w")  # noqa: SIM115 - closed in finally
    # (no compositions ahead of time: ~30 CPU-s of a helper process the test does not need)
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
           "RTW_EXPLORER_COMPOSE_AHEAD": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "solara", "run", "sim/explorer/app.py", "--host", "127.0.0.1",
         "--port", str(port), "--no-open", "--production", "--no-check-version"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"explorer server exited with {proc.returncode}; see "
                                     f"{ARTEFACTS / 'explorer-server.log'}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("explorer server did not answer within 120 s")
            time.sleep(0.5)
        yield proc, url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=15)
        log.close()


DIGEST_JS = """async (img) => {
    const data = await (await fetch(img.src)).arrayBuffer();
    const hash = await crypto.subtle.digest("SHA-256", data);
    return Array.from(new Uint8Array(hash)).map(b => b.toString(16)).join("");
}"""


def _chart(page, container: str) -> str:
    """SHA-256 of the chart image's bytes (the page serves them as blob: URLs)."""
    return page.locator(f"{container} img").first.evaluate(DIGEST_JS)


def _wait_chart_changes(page, container: str, before: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            now = _chart(page, container)
        except Exception:  # the image is being replaced: try again
            now = before
        if now != before:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"{container}: the chart did not change")
        time.sleep(0.3)


def test_explorer_in_a_real_browser(server):
    chromium = _chromium()
    if chromium is None:
        msg = ("NO CHROMIUM FOUND: the explorer's browser test is SKIPPED. Install it with "
               "`apt-get update && apt-get install -y chromium` (.ci/run does this).")
        warnings.warn(msg, stacklevel=1)
        print(msg, file=sys.stderr)
        pytest.skip(msg)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UPDATE_TIMEOUT_MS)
    proc, url = server
    t0 = time.monotonic()
    # nothing of the server listens beyond loopback
    bound = _listening(proc.pid)
    assert bound, "the server has no listening socket"
    assert all(ip in ("127.0.0.1", "::1") for ip, _ in bound), bound

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(UPDATE_TIMEOUT_MS)
            page.goto(url)
            answer = page.locator(".rtw-answer")
            expect(answer).to_contain_text("Most people back at work",
                                           timeout=LOAD_TIMEOUT_MS)
            expect(answer).to_contain_text("multicomponent")
            first_answer = answer.inner_text()
            first_curves = _chart(page, ".rtw-curves")
            first_states = _chart(page, ".rtw-states")

            # change the design and apply it with Mesa's Reset
            page.locator(".v-select").filter(has_text="Design (compared").click()
            page.locator(".v-list-item").filter(
                has_text=re.compile(r"^\s*rtw_coordinator\s*$")).click()
            page.get_by_role("button", name="Reset").click()
            expect(answer).to_contain_text("RTW coordinator returns")
            expect(answer).to_contain_text("programme=rtw_coordinator")
            assert answer.inner_text() != first_answer
            _wait_chart_changes(page, ".rtw-curves", first_curves)  # new design, new curves

            # step the live models week by week (Mesa's Step button)
            for week in (1, 2, 3):
                page.get_by_role("button", name="Step").click()
                expect(page.locator(".rtw-week")).to_contain_text(f"Week {week} of ")
            _wait_chart_changes(page, ".rtw-states", first_states)  # weeks 1-3 drawn
            expect(page.locator(".rtw-path").first).to_contain_text("w0-")

            # Mesa's play button runs weeks until paused
            page.get_by_role("button", name="▶").click()
            deadline = time.monotonic() + 150
            while True:
                m = re.search(r"Week (\d+) of", page.locator(".rtw-week").inner_text())
                if m and int(m.group(1)) >= 10:
                    break
                assert time.monotonic() < deadline, "play did not advance the weeks"
                time.sleep(0.5)
            page.get_by_role("button", name="❚❚").click()
            expect(page.get_by_role("button", name="Step")).to_be_enabled()

            # download this scenario: the exact config as YAML, with the reproducing command
            with page.expect_download() as download:
                page.locator(".rtw-download").click()
            assert download.value.suggested_filename == "rtw-rtw_coordinator.yaml"
            text = Path(download.value.path()).read_text()
            assert "#   python -m sim population=fit_note_cohort programme=rtw_coordinator" in text
            assert yaml.safe_load(text)["programme"]["name"] == "rtw_coordinator"

            # still loopback only after the work
            assert all(ip in ("127.0.0.1", "::1") for ip, _ in _listening(proc.pid))
            shot = ARTEFACTS / "explorer.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000

            # a bad value: the CLI's one-line message in the page
            field = page.get_by_label("People per replicate")
            field.fill("abc")
            field.press("Enter")
            page.get_by_role("button", name="Reset").click()
            expect(page.locator(".rtw-answer")).to_contain_text(
                "config error: population.n: got 'abc', expected an integer")
        except BaseException:
            page.screenshot(path=str(ARTEFACTS / "explorer-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    print(f"browser test: {time.monotonic() - t0:.1f} s after the server answered",
          file=sys.stderr)
