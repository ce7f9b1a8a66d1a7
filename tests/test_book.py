"""The built book: offline (no script, style or font from outside the machine), with typeset
math, the ledger table and the chapter's figures, as headless Chromium renders them; no
placeholder repository URL and no repository or launch buttons while none is set; every
Python cross-reference resolving into the API reference.

The Selenium tests drive Debian's ``chromium`` through ``chromium-driver`` against a local
HTTP server on 127.0.0.1: no console error, no request to any other host, every image loaded,
the search page finding a claim id, one ledger row per claim, the claims' statement anchors
resolving; they save screenshots under ``_build/screenshots/``. They skip, saying why, where
chromium, chromedriver or selenium is missing (``make browser`` installs the first two as root)
and fail instead when ``BOUNDBOOK_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
PLACEHOLDER = "github.com/boundbook"

EXTERNAL = re.compile(r"""<(script|link|img|iframe)\b[^>]*\b(src|href)=["'](https?:)?//""", re.I)


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    root = Path(__file__).resolve().parents[1]
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(root), "--path-output", str(out),
                           "--warningiserror", "--keep-going"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out / "_build" / "html"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromedriver() -> str | None:
    return shutil.which("chromedriver")


def skip_or_fail(reason: str) -> None:
    if os.environ.get("BOUNDBOOK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and BOUNDBOOK_REQUIRE_BROWSER=1 requires the browser tests")
    pytest.skip(f"{reason} (`make browser` installs chromium and chromium-driver as root)")


def render(page: Path, tmp_path: Path) -> str:
    exe = chromium()
    if exe is None:
        skip_or_fail("chromium is not installed")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}",
           # every host name fails to resolve: whatever renders, rendered offline
           "--host-resolver-rules=MAP * ~NOTFOUND",
           "--virtual-time-budget=15000", "--run-all-compositor-stages-before-draw",
           "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_no_external_resources(html):
    offenders = []
    for page in html.rglob("*.html"):
        for m in EXTERNAL.finditer(page.read_text(errors="replace")):
            offenders.append(f"{page.relative_to(html)}: {m.group(0)}")
    assert not offenders, offenders[:10]
    assert list(html.glob("_static/mathjax/**/tex-chtml*.js")) or \
        list(html.glob("_static/**/mathjax*")), "no local MathJax in _static"


@pytest.mark.parametrize("page, expect", [
    ("index.html", ["Reading a verdict"]),  # the root redirects to book/intro.html
    ("book/intro.html", ["Reading a verdict"]),
    ("book/ledger.html", ["gos-binary-radius", "gos-multiclass-bound", "<table"]),
    ("notebooks/ghosts_of_softmax.html", ["gos-safe-steps", "<img"]),
])
def test_pages_render_offline_with_math(html, tmp_path, page, expect):
    dom = render(html / page, tmp_path)
    for text in expect:
        assert text in dom, f"{page}: {text!r} missing"
    assert "mjx-container" in dom, f"{page}: MathJax did not typeset"


def test_chapter_figures_are_local_files(html):
    page = (html / "notebooks" / "ghosts_of_softmax.html").read_text()
    srcs = re.findall(r'<img[^>]+src="([^"]+)"', page)
    assert len(srcs) >= 3, srcs
    for s in srcs:
        assert s.startswith("data:") or (html / "notebooks" / s).resolve().exists(), s


def test_chapter_tables_render_as_tables(html):
    """Tables that cells display as Markdown must become HTML tables, not pipe text."""
    page = (html / "notebooks" / "ghosts_of_softmax.html").read_text()
    assert page.count("<table") >= 4
    assert "|---|" not in page


# --- repository URL and buttons ------------------------------------------------------------

def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return (config.get("repository") or {}).get("url") or ""


def test_no_placeholder_repository_url(html):
    """No page, script or index names the old placeholder repository."""
    offenders = [str(p.relative_to(html)) for p in html.rglob("*")
                 if p.is_file() and p.suffix in {".html", ".js", ".txt", ".json", ".xml"}
                 and PLACEHOLDER in p.read_text(errors="replace")]
    assert not offenders, f"{PLACEHOLDER} in {offenders[:10]}"


def test_no_repository_or_launch_buttons_without_a_url(html):
    if repository_url():
        pytest.skip("repository.url is set in _config.yml: the buttons are wanted")
    labels = ("source-repository-button", "source-issues-button", "source-edit-button",
              "launch-buttons", "mybinder.org", "colab.research.google.com")
    offenders = [f"{p.relative_to(html)}: {label}" for p in html.rglob("*.html")
                 for label in labels if label in p.read_text(errors="replace")]
    assert not offenders, offenders[:10]


class ProofText(HTMLParser):
    """The text inside each formal statement (a sphinx-proof admonition), by its id."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "div":
            a = dict(attrs)
            classes = (a.get("class") or "").split()
            self.stack.append(a.get("id") if {"proof", "admonition"} <= set(classes) else None)

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        ids = [i for i in self.stack if i]
        if ids:
            self.text[ids[-1]] = self.text.get(ids[-1], "") + data


def test_statements_have_no_untypeset_dollars(html):
    """Every `$...$` and `$$...$$` of a claim's statement became math: a `$` left in the text
    means MyST did not parse it (a `$$` block needs blank lines around it inside a paragraph;
    a line starting with `+ ` opens a list), and the reader sees TeX soup."""
    offenders = []
    for page in sorted((html / "notebooks").glob("*.html")):
        parser = ProofText()
        parser.feed(page.read_text())
        offenders += [f"{page.stem}: {claim}" for claim, text in parser.text.items()
                      if "$" in text]
    assert not offenders, offenders


# --- the API reference -----------------------------------------------------------------------

XREF = re.compile(r'(<a\b[^>]*>)?<code class="xref py[^"]*"[^>]*>(.*?)</code>', re.S)


def test_python_cross_references_resolve(html):
    """Every {py:func}, {py:mod}, ... role in the book, the notebooks and the API reference's
    docstrings links to its documentation (Sphinx leaves an unresolved one as bare code)."""
    unresolved = []
    for page in sorted(html.rglob("*.html")):
        for m in XREF.finditer(page.read_text(errors="replace")):
            if m.group(1) is None:
                unresolved.append(f"{page.relative_to(html)}: {re.sub('<[^>]+>', '', m.group(2))}")
    assert not unresolved, unresolved


def test_api_reference_covers_every_toolkit_module():
    """Each public toolkit module (one that declares ``__all__`` in numeric/, symbolic/,
    problems/) has its ``automodule`` in book/api.md: add one there for a new module."""
    page = (ROOT / "book" / "api.md").read_text()
    documented = set(re.findall(r"\.\. automodule:: (boundbook\.[\w.]+)", page))
    lib = ROOT / "lib"
    missing = sorted(
        ".".join(path.relative_to(lib).with_suffix("").parts)
        for package in ("numeric", "symbolic", "problems")
        for path in (lib / "boundbook" / package).glob("[!_]*.py")
        if re.search(r"^__all__\s*=", path.read_text(), re.M))
    missing = [m for m in missing if m not in documented]
    assert not missing, f"add to book/api.md: {missing}"


def test_api_reference_documents_the_public_names(html):
    import boundbook

    page = (html / "book" / "api.html").read_text()
    missing = [name for name in boundbook.__all__
               if f'id="{getattr(boundbook, name).__module__}.{name}"' not in page]
    assert not missing, f"not in book/api.html: {missing}"


# --- Selenium: the book as a browser on 127.0.0.1 shows it ---------------------------------

#: one chapter per part, with the index and the ledger: what the screenshots show
CHAPTER_PAGES = {
    "ghosts_of_softmax": "notebooks/ghosts_of_softmax.html",  # Taylor radius
    "gd_quadratic": "notebooks/gd_quadratic.html",  # Part I
    "gd_contraction": "notebooks/gd_contraction.html",  # Part II
    "drift_tracking": "notebooks/drift_tracking.html",  # Part III
}
PAGES = {"index": "index.html", **CHAPTER_PAGES, "ledger": "book/ledger.html"}
SEARCH_CLAIM = ("gdq-critical-step", "notebooks/gd_quadratic.html")
PAGE_TIMEOUT = 60  # seconds for one page, its scripts and its images


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(html) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(QuietHandler, directory=str(html)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[object]:
    exe, driver_exe = chromium(), chromedriver()
    if exe is None:
        skip_or_fail("chromium is not installed")
    if driver_exe is None:
        skip_or_fail("chromedriver (Debian's chromium-driver) is not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        skip_or_fail("selenium is not installed (it is in requirements.txt)")
    options = webdriver.ChromeOptions()
    options.binary_location = exe
    for flag in ("--headless", "--no-sandbox", "--disable-background-networking",
                 "--disable-component-update", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-sync", "--disable-extensions", "--no-first-run",
                 "--window-size=1366,1000", "--hide-scrollbars",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                 # a request to any other host fails at once (and is still logged, so the
                 # test below catches it) instead of waiting on the network
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # an explicit driver path: Selenium Manager (which would go online) never runs
    from selenium.common.exceptions import WebDriverException

    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_exe))
    except WebDriverException as err:  # e.g. a chromedriver that does not match chromium
        skip_or_fail(f"chromium did not start under chromedriver: {err.msg}")
    driver.set_page_load_timeout(PAGE_TIMEOUT)
    driver.set_script_timeout(PAGE_TIMEOUT)
    driver.get("about:blank")
    drain_logs(driver)  # what the browser did on its own before the first page
    try:
        yield driver
    finally:
        driver.quit()


WAIT_FOR_MATH = """
const done = arguments[arguments.length - 1];
const startup = window.MathJax && window.MathJax.startup;
if (startup && startup.promise) startup.promise.then(() => done(true), () => done(false));
else done(true);
"""

WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach(img => { img.loading = "eager"; });
Promise.all(images.map(img => img.complete ? null : new Promise(ok => {
  img.addEventListener("load", ok, {once: true});
  img.addEventListener("error", ok, {once: true});
}))).then(() => done(images.map(img => [img.currentSrc || img.src, img.naturalWidth])));
"""

BROKEN_FRAGMENTS = """
return Array.from(document.querySelectorAll('a[href^="#"]'))
  .map(a => decodeURIComponent(a.getAttribute("href").slice(1)))
  .filter(id => id && !document.getElementById(id));
"""


def visit(driver, url: str) -> dict:
    """Load ``url`` and wait until it is complete (scripts run, MathJax typeset, every image
    loaded or failed); return its images and what the browser logged meanwhile."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, PAGE_TIMEOUT).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    driver.execute_async_script(WAIT_FOR_MATH)
    images = driver.execute_async_script(WAIT_FOR_IMAGES)
    return {"images": images, **drain_logs(driver)}


def console_error(entry: dict) -> bool:
    """A SEVERE console entry, except the browser's own probe for /favicon.ico (the book
    declares no icon, so Chromium asks the server root for one: no page or script of the
    book requested it)."""
    message = entry.get("message", "")
    probe = entry.get("source") == "network" and re.match(r"\S+/favicon\.ico - ", message)
    return entry.get("level") == "SEVERE" and not probe


def drain_logs(driver) -> dict:
    console = [e for e in driver.get_log("browser") if console_error(e)]
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
        elif message.get("method") == "Network.webSocketCreated":
            requests.append(message["params"]["url"])
    return {"console": console, "requests": requests}


def foreign(urls: list[str]) -> list[str]:
    """The network requests that went (or tried to go) anywhere but 127.0.0.1 (data:, blob:
    and the browser's own chrome:// pages are not network requests)."""
    return [u for u in urls if urlsplit(u).scheme in {"http", "https", "ws", "wss", "ftp"}
            and urlsplit(u).hostname != "127.0.0.1"]


def screenshot(driver, name: str) -> Path:
    """The top of the page, as a reader first sees it, in _build/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    return path


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", list(PAGES))
def test_page_in_browser(browser, server, html, name):
    """No console error, no request leaving 127.0.0.1, every image loaded, every in-page
    link's anchor present; the screenshot is saved before anything is asserted."""
    seen = visit(browser, f"{server}/{PAGES[name]}")
    shot = screenshot(browser, name)
    if name in CHAPTER_PAGES:  # and the chapter's first figure
        browser.execute_script("const img = document.querySelector('.cell_output img');"
                               "if (img) img.scrollIntoView({block: 'center'});")
        browser.save_screenshot(str(SCREENSHOTS / f"{name}-figure.png"))
    assert shot.stat().st_size > 10_000, f"{shot}: blank screenshot?"
    assert not seen["console"], [e["message"] for e in seen["console"]]
    assert not foreign(seen["requests"]), foreign(seen["requests"])
    assert any(urlsplit(u).path.endswith(".js") for u in seen["requests"]), \
        "no script was loaded: did the page render at all?"
    unloaded = [src for src, width in seen["images"] if not width]
    assert not unloaded, f"{name}: images that did not load: {unloaded}"
    if name in CHAPTER_PAGES:
        assert len(seen["images"]) >= 1, f"{name}: a chapter without a figure"
    broken = browser.execute_script(BROKEN_FRAGMENTS)
    assert not broken, f"{name}: links to missing anchors {broken}"


@pytest.mark.timeout(300)
def test_search_finds_a_claim_id_offline(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    claim, page = SEARCH_CLAIM
    seen = visit(browser, f"{server}/search.html?q={claim}")
    WebDriverWait(browser, PAGE_TIMEOUT).until(lambda d: d.execute_script(
        "const s = document.querySelector('#search-results .search-summary, "
        "#search-results p'); return s && s.textContent.trim().length > 0"))
    time.sleep(0.5)  # results are appended one by one
    hits = browser.execute_script(
        "return Array.from(document.querySelectorAll('#search-results ul.search li a'))"
        ".map(a => a.getAttribute('href'))")
    seen_after = drain_logs(browser)
    screenshot(browser, "search")
    assert any(page in (h or "") for h in hits), f"search for {claim}: {hits}"
    requests = seen["requests"] + seen_after["requests"]
    assert any("searchindex.js" in u for u in requests), "the search index was not loaded"
    assert not foreign(requests), foreign(requests)
    assert not seen["console"] + seen_after["console"]


def ledger_records() -> list[dict]:
    from boundbook.core.ledger import load_records

    return load_records(ROOT / "ledger" / "records")


@pytest.mark.timeout(300)
def test_ledger_has_one_row_per_claim(browser, server):
    visit(browser, f"{server}/book/ledger.html")
    rows = browser.execute_script("""
      return Array.from(document.querySelectorAll('table tbody tr'))
        .map(tr => tr.querySelector('td a[href^="#ledger-"]'))
        .filter(a => a !== null)
        .map(a => [a.getAttribute('href').slice('#ledger-'.length),
                   document.getElementById(a.getAttribute('href').slice(1)) !== null]);
    """)
    ids = [r[0] for r in rows]
    expected = [r["id"] for r in ledger_records()]
    assert sorted(ids) == sorted(expected), (
        f"rows without a record: {sorted(set(ids) - set(expected))}; "
        f"records without a row: {sorted(set(expected) - set(ids))}; "
        f"repeated rows: {sorted({i for i in ids if ids.count(i) > 1})}")
    assert all(r[1] for r in rows), [r[0] for r in rows if not r[1]]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("slug", list(CHAPTER_PAGES))
def test_statement_anchors_resolve(browser, server, slug):
    """#<claim id> on the chapter page lands on that claim's formal statement."""
    ids = [r["id"] for r in ledger_records() if r["chapter"] == slug]
    assert ids, f"no records for {slug}"
    url = f"{server}/{CHAPTER_PAGES[slug]}"
    visit(browser, url)
    missing = []
    for claim in ids:
        browser.get(f"{url}#{claim}")  # same document: the browser scrolls, no reload
        where = browser.execute_script("""
          const el = document.getElementById(arguments[0]);
          if (!el) return null;
          const top = el.getBoundingClientRect().top;
          return [el.className, top >= -2 && top < window.innerHeight];
        """, claim)
        if where is None or "proof" not in where[0] or not where[1]:
            missing.append((claim, where))
    assert not missing, f"{slug}: statement anchors that do not resolve: {missing}"


def test_cross_page_anchors_resolve(html):
    """Links from the screenshot pages to another page's anchor (a {prf:ref}, a citation, a
    cross-reference) name an id that exists in that page."""
    broken = []
    for rel in PAGES.values():
        page = html / rel
        for href in re.findall(r'<a\b[^>]*\bhref="([^"#:]+\.html)#([^"]+)"', page.read_text()):
            target = (page.parent / href[0]).resolve()
            frag = unquote(href[1])
            if not target.exists() or f'id="{frag}"' not in target.read_text():
                broken.append(f"{rel} -> {href[0]}#{frag}")
    assert not broken, broken[:20]
