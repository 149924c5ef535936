"""Headless Chromium driven through Debian's chromium-driver and python3-selenium, for the
tests of the web page that act as an operator would (type, click, read what is shown), and
keep screenshots of what they saw under <build>/screenshots/ (CI keeps them as artefacts)."""

import json
import os
import re
import shutil

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def screenshot_dir():
    """<build>/screenshots (GRALARM_BUILD_DIR, set by ctest), else ./screenshots."""
    d = os.path.join(os.environ.get("GRALARM_BUILD_DIR", "."), "screenshots")
    os.makedirs(d, exist_ok=True)
    return d


class Page:
    """One browser on gralarm's page, 1280x900, in the language `lang` ("en", "es")."""

    def __init__(self, base_url, profile_dir, lang="en", width=1280, height=900):
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", f"--window-size={width},{height}",
                     f"--user-data-dir={profile_dir}", f"--lang={lang}"):
            opts.add_argument(flag)
        opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.base_url = base_url.rstrip("/")
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.driver.set_window_size(width, height)

    def open(self, fragment=""):
        """Loads the page (at #fragment) and waits until its first refresh is shown."""
        self.driver.get(self.base_url + "/" + (("#" + fragment) if fragment else ""))
        self.wait("typeof state === 'object' && state.updated > 0", "first refresh")

    def js(self, expression, *args):
        """The value of a page expression (args as arguments[i])."""
        return self.driver.execute_script("return " + expression, *args)

    def run(self, script, *args):
        """Runs statements in the page; what their `return` gives."""
        return self.driver.execute_script(script, *args)

    def wait(self, expression, what, timeout=15):
        WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
            lambda d: d.execute_script("return " + expression), message=what)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def click(self, css):
        self.find(css).click()

    def type(self, css, text, clear=True):
        e = self.find(css)
        if clear:
            e.clear()
        e.send_keys(text)

    def text(self, css):
        return self.find(css).text

    def tab(self, name):
        """Shows the tab `name` (home, add, metrics, configure, templates, silences,
        settings, help) by clicking its button."""
        self.click(f"#tab-button-{name}")
        self.wait(f"!document.getElementById('tab-{name}').hidden", f"tab {name}")

    def set_lang(self, lang):
        """Chooses the language with the header's switch."""
        self.run("const s = document.getElementById('lang'); s.value = arguments[0];"
                 " s.dispatchEvent(new Event('change', {bubbles: true}));", lang)
        self.wait(f"document.documentElement.lang === {json.dumps(lang)}", f"language {lang}")

    def no_horizontal_scroll(self):
        return self.js("document.documentElement.scrollWidth <= "
                       "document.documentElement.clientWidth")

    def screenshot(self, name):
        """Saves <build>/screenshots/<name>.png (the whole page's height) and returns its path."""
        path = os.path.join(screenshot_dir(), re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".png")
        height = self.js("Math.min(document.documentElement.scrollHeight, 6000)")
        width = self.driver.get_window_size()["width"]
        self.driver.set_window_size(width, max(900, height))
        self.driver.save_screenshot(path)
        self.driver.set_window_size(width, 900)
        return path

    def console_errors(self):
        """The page's console errors and exceptions so far (SEVERE entries; the browser's
        own request for /favicon.ico, which gralarm does not serve, aside)."""
        return [e["message"] for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE" and "/favicon.ico" not in e["message"]]

    def close(self):
        self.driver.quit()
