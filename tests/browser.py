"""A real browser for the console's tests: Debian's Chromium, driven through its chromedriver."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", "/tmp/kafka-kit-console-screenshots"))
"""Where the tests' screenshots go; ``./dev screenshots`` points this at docs/console/."""


def chromium() -> tuple[str, str]:
    """The system Chromium and its driver (browser downloads are not possible here)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI must test the console: install the chromium and chromium-driver packages"
            )
        pytest.skip("chromium and chromium-driver are not installed here")
    return binary, driver


class Browser:
    """One headless Chromium window on a service, with its console log at hand."""

    def __init__(self, base_url: str) -> None:
        binary, driver = chromium()
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--disable-gpu"):  # fmt: skip
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(driver), options=options)
        self.base_url = base_url
        self.log: list[dict[str, Any]] = []

    def open(self, path: str) -> None:
        """Navigate to ``path`` of the service."""
        self.driver.get(f"{self.base_url}{path}")

    @property
    def path(self) -> str:
        """The path (and query) of the page shown."""
        return str(self.driver.current_url).removeprefix(self.base_url)

    def find(self, css: str) -> WebElement:
        """The element ``css`` selects (it must be there)."""
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        """Every element ``css`` selects."""
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def wait_for(
        self, condition: Callable[[], object], timeout_s: float = 60, what: str = "a condition"
    ) -> Any:
        """Poll ``condition`` until it is truthy (an element gone mid-refresh counts as not yet)."""

        def check(_: object) -> object:
            try:
                return condition()
            except Exception:  # noqa: BLE001 - the page re-rendered under us: ask again
                return False

        return WebDriverWait(self.driver, timeout_s, poll_frequency=0.2).until(check, what)

    def text_of(self, css: str) -> str:
        """The visible text of the element ``css`` selects ("" if there is none)."""
        return str(self._fresh(lambda: found[0].text if (found := self.find_all(css)) else ""))

    def attribute(self, css: str, name: str) -> str | None:
        """An attribute of the element ``css`` selects (it must be there)."""
        return cast(str | None, self._fresh(lambda: self.find(css).get_attribute(name)))

    def click(self, css: str) -> None:
        """Click the element ``css`` selects (it must be there)."""
        self._fresh(lambda: self.find(css).click())

    @staticmethod
    def _fresh(action: Callable[[], object]) -> object:
        # A live page swaps its content every refresh: an element found a moment ago may be
        # gone; finding it again finds its successor.
        for _ in range(20):
            try:
                return action()
            except StaleElementReferenceException:
                continue
        return action()

    def console_messages(self) -> list[dict[str, Any]]:
        """Every console message since the browser started."""
        self.log += self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return self.log

    def screenshot(self, name: str) -> Path:
        """Save the window as ``<SCREENSHOTS>/<name>.png``."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(target))
        return target

    def quit(self) -> None:
        """Close the browser."""
        self.driver.quit()
