"""The system's headless Chromium through selenium, for the page tests (the serve page,
report.html). Test modules skip first when selenium is missing
(``pytest.importorskip("selenium.webdriver")``), then use :data:`needs_browser` and
:func:`chromium`."""

from __future__ import annotations

import os
import shutil

import pytest

BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                               "google-chrome"))), None)
DRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(not (BROWSER and DRIVER), reason="no Chromium and "
                                   "chromedriver (apt-get install chromium chromium-driver)")


def chromium(tmp_path_factory, width: int, height: int):
    """Yield a headless Chromium driver with a fresh profile and no network chatter
    (this machine's closed network refuses it); quit it afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium look for a driver
    opts = Options()
    opts.binary_location = BROWSER
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--window-size={width},{height}",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
