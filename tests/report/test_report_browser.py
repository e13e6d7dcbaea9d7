"""The report as a person sees it: headless Chromium loads it, takes a screenshot, and a
small script reports every figure's decoded and rendered size.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); skipped without it. Marked
slow: ``make test-slow`` or ``pytest -m slow tests/report``.
"""

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from nntopo.report import build_report

pytestmark = pytest.mark.slow

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Appended to a copy of the page: after the load event, one <pre id="probe"> with, per
# <img>, [naturalWidth, naturalHeight, rendered width, rendered height, complete].
_PROBE = """<script>
window.addEventListener("load", () => {
  const sizes = [...document.images].map(i => {
    const r = i.getBoundingClientRect();
    return [i.naturalWidth, i.naturalHeight, r.width, r.height, i.complete];
  });
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(sizes);
  document.body.appendChild(pre);
});
</script>
"""


def _browser() -> str | None:
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(browser: str, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=10000", "--allow-file-access-from-files"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=180)


def _console(stderr: str) -> list[str]:
    """The page's console messages (Chromium logs them as ``...:CONSOLE:LINE] "text", source: URL``)."""
    return [ln for ln in stderr.splitlines() if re.search(r":CONSOLE[:(]", ln)]


@pytest.fixture(scope="module")
def browser():
    path = _browser()
    if path is None:
        pytest.skip("no Chromium found (Debian: apt-get install -y chromium)")
    return path


def test_report_in_headless_chromium(browser, full_store, tmp_path):
    page = build_report(full_store, tmp_path / "report.html", strict=True)
    html = page.read_text(encoding="utf-8")
    n_img = html.count("<img ")
    assert n_img > 0

    shot = tmp_path / "report.png"
    res = _run(browser, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    assert _console(res.stderr) == []
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1280)
    # not a blank page: the header band is dark, the body light, figures in between
    assert pixels[..., :3].std() > 0.05 and pixels[:40, :, :3].mean() < 0.4 and pixels[..., :3].mean() > 0.6

    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    res = _run(browser, "--window-size=1280,2400", "--dump-dom", probe.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    assert _console(res.stderr) == []
    found = re.search(r'<pre id="probe">(.*?)</pre>', res.stdout, re.S)
    assert found, res.stdout[-2000:]
    sizes = json.loads(found.group(1))
    assert len(sizes) == n_img
    for natural_w, natural_h, shown_w, shown_h, complete in sizes:
        assert complete and natural_w > 100 and natural_h > 100
        assert shown_w > 50 and shown_h > 50
        # scaled down to the column at most, never distorted
        assert np.isclose(shown_w / shown_h, natural_w / natural_h, rtol=0.02)


def test_console_check_sees_errors(browser, tmp_path):
    """The checks above can fail: a page with a script error and a missing image."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="missing.png"><script>nothing_here();</script>'
                   + _PROBE + "</body></html>", encoding="utf-8")
    res = _run(browser, "--dump-dom", bad.as_uri())
    assert any("nothing_here" in ln for ln in _console(res.stderr))
    sizes = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', res.stdout, re.S).group(1))
    assert sizes[0][0] == 0  # the missing image decodes to nothing
