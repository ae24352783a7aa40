"""The page at / in a real headless browser (the system's Chromium and chromedriver,
through selenium): type a sentence, see its entities highlighted with the right labels,
the look of ``--format html``, nothing loaded from elsewhere.

Skipped when selenium, Chromium or chromedriver is missing; to run it on Debian or
Ubuntu: ``apt-get install chromium chromium-driver`` and ``pip install -e '.[browser]'``.
``NERTAG_SCREENSHOT=page.png`` saves a screenshot of the typed page there.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: "
                                        "pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")
pytest.importorskip("selenium.webdriver", reason="selenium is not installed: "
                                                "pip install -e '.[browser]'")

from browser import chromium, needs_browser  # noqa: E402

pytestmark = needs_browser

#: The page's text, rebuilt from the output (marks minus their label) — equal to the
#: box once the answer to the last keystroke is shown.
SHOWN = """const out = document.getElementById('out');
return out.dataset.state === 'done' && Array.from(out.childNodes).map(
  n => n.nodeType === 3 ? n.data : n.firstChild.data).join('') ===
  document.getElementById('text').value;"""
MARKS = """return Array.from(document.querySelectorAll('#out mark')).map(m => [
  m.firstChild.data, m.dataset.label, m.title, getComputedStyle(m).backgroundColor,
  m.querySelector('.l').textContent, getComputedStyle(m).color]);"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from chromium(tmp_path_factory, 1000, 700)


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def wait_shown(browser):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 15, poll_frequency=0.05).until(lambda d: d.execute_script(SHOWN))


def test_typing_highlights_the_entities(browser, live):
    from selenium.webdriver.common.by import By

    from nertag.render.palette import colours

    browser.get(live.url + "/")
    legend = [m.text for m in browser.find_elements(By.CSS_SELECTOR, ".legend mark")]
    assert legend == ["LOC", "MISC", "ORG", "PER"]
    box = browser.find_element(By.ID, "text")
    text = "Angela Merkel met François Hollande in Paris on Monday."
    box.send_keys(text)
    wait_shown(browser)
    marks = browser.execute_script(MARKS)
    assert [(m[0], m[1]) for m in marks] == [("Angela Merkel", "PER"),
                                             ("François Hollande", "PER"), ("Paris", "LOC")]
    palette = colours(["LOC", "MISC", "ORG", "PER"])
    for shown, label, title, background, tag, colour in marks:
        assert tag == label and background == rgb(palette[label].background)
        assert colour == rgb(palette[label].text)
        assert title.startswith(f"{label} 0.") or title == f"{label} 1.00"  # confidence
    status = browser.find_element(By.ID, "status").text
    assert status.startswith("3 entities in ")
    link = browser.find_element(By.ID, "json")
    assert link.is_displayed() and link.get_attribute("href").startswith("blob:")
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(r.startswith(live.url + "/") for r in resources), resources
    if os.environ.get("NERTAG_SCREENSHOT"):
        browser.save_screenshot(os.environ["NERTAG_SCREENSHOT"])


def test_more_typing_and_the_decoder(browser, live):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(live.url + "/")
    box = browser.find_element(By.ID, "text")
    box.send_keys("Kiptoo, who trains with the Nairobi")
    wait_shown(browser)
    box.send_keys(" Athletics Club, said he hadn't planned to attack.")  # the answer follows
    wait_shown(browser)
    assert [(m[0], m[1]) for m in browser.execute_script(MARKS)] == \
        [("Kiptoo", "PER"), ("Nairobi Athletics Club", "ORG")]
    browser.execute_script("document.getElementById('out').dataset.state = 'waiting'")
    Select(browser.find_element(By.ID, "decoder")).select_by_value("greedy")
    wait_shown(browser)
    assert [m[0] for m in browser.execute_script(MARKS)] == \
        ["Kiptoo", "Nairobi", "Athletics", "Club"]


def test_offsets_after_characters_outside_the_bmp(browser, live, tagger):
    """The server counts code points, JavaScript UTF-16 units: emoji before the names
    must not shift the marks (chromedriver cannot type emoji: the value is set)."""
    text = "🙂🙂 Angela Merkel visited 𝔘 Paris with 𝔘𝔘 François Hollande."
    browser.get(live.url + "/")
    browser.execute_script("""const box = document.getElementById('text');
        box.value = arguments[0];
        box.dispatchEvent(new Event('input'));""", text)
    wait_shown(browser)
    marks = [(m[0], m[1]) for m in browser.execute_script(MARKS)]
    assert marks == [(e.text, e.label) for e in tagger(text).ents]
    assert ("Angela Merkel", "PER") in marks
