"""report.html in a real headless browser (the system's Chromium and chromedriver, through
selenium): every plot decodes and is drawn at a readable size, nothing overflows the
window sideways (wide and narrow), and the tables are there.

Skipped without matplotlib, selenium, Chromium or chromedriver (``apt-get install
chromium chromium-driver``, ``pip install -e '.[report,browser]'``).
``NERTAG_SCREENSHOT=report.png`` saves a screenshot of the page there.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("matplotlib", reason="the report extra is not installed: "
                                         "pip install -e '.[report]'")
pytest.importorskip("selenium.webdriver", reason="selenium is not installed: "
                                                "pip install -e '.[browser]'")

from browser import chromium, needs_browser  # noqa: E402

pytestmark = needs_browser

IMAGES = """return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth,
  i.naturalHeight, i.getBoundingClientRect().width]);"""
OVERFLOW = "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from nertag.config import load_config
    from nertag.training.loop import train

    out = tmp_path_factory.mktemp("page") / "model"
    train(load_config(None, ["train.epochs=3", "model.hidden=20"]), output=out)
    return out / "report.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from chromium(tmp_path_factory, 1200, 900)


def test_plots_render_and_nothing_overflows(page, browser):
    from selenium.webdriver.common.by import By

    browser.set_window_size(1200, 900)
    browser.get(page.as_uri())
    images = browser.execute_script(IMAGES)
    assert len(images) == 4
    for alt, complete, w, h, shown in images:
        assert complete and w > 800 and h > 400, alt  # decoded PNGs, drawn at 160 dpi
        assert 500 <= shown <= 600, (alt, shown)       # two plots a row at 1200 px
    assert browser.execute_script(OVERFLOW) <= 0
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Training report: model")
    tables = browser.find_elements(By.CSS_SELECTOR, "table.num")
    assert len(tables) == 3  # per type, confusion, every epoch
    assert tables[1].find_element(By.CSS_SELECTOR, "tr th").text == "gold \\ predicted"
    if os.environ.get("NERTAG_SCREENSHOT"):
        browser.save_screenshot(os.environ["NERTAG_SCREENSHOT"])
    browser.set_window_size(640, 900)  # narrow: one plot a row, still no sideways scrolling
    browser.get(page.as_uri())
    assert browser.execute_script(OVERFLOW) <= 0
    shown = [img[4] for img in browser.execute_script(IMAGES)]
    assert all(s > 450 for s in shown), shown
