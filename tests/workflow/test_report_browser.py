"""The HTML report of config/test.yaml, opened in headless Chromium and checked from the rendered DOM.

``snakemake --report`` embeds every result as a data URI that the page's React app turns into
menus, tables and views, so the file itself says little: a report whose app fails renders as an
empty shell around intact data. These tests therefore drive Debian's ``chromium`` (through
Playwright's protocol client, no browser download) and read only what it rendered: the front page
with the summary, and under every category and subcategory the list of results, each of which must
open (a figure as a decoded image, an HTML page with its tables) and carry its caption.
What is expected comes from the ``report()`` calls in ``rules/``, not from the report.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from workflow_helpers import REPO, load_config, run_snakemake

pytestmark = pytest.mark.workflow

CHROMIUM = shutil.which("chromium")
SCREENSHOTS = REPO / "results" / "report_screenshots"
# Debian's chromium as root, on a machine without internet: no sandbox, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPORT_CALL = re.compile(
    r'report\(\s*f"(?P<path>[^"]+)",\s*caption="[^"]+",\s*category="(?P<category>[^"]+)"'
    r'(?:,\s*subcategory="(?P<subcategory>[^"]+)")?'
)
PATH_CONSTANT = re.compile(r'^(?P<name>[A-Z_]+) = f?"(?P<value>[^"{]*(?:\{[A-Z_]+\}[^"{]*)*)"$', re.MULTILINE)
# Snakemake files a result registered without a subcategory under this one.
NO_SUBCATEGORY = "Other"
# The category of summary.md and summary.html (rules/summary.smk); the front page shows the summary.
SUMMARY_CATEGORY = "summary"


def _path_constants(texts: list[str]) -> dict[str, str]:
    """``RESULTS``, ``CBH``, ... as the .smk files define them (f-strings of earlier constants resolved)."""
    constants: dict[str, str] = {}
    for text in texts:
        for match in PATH_CONSTANT.finditer(text):
            constants[match["name"]] = match["value"].format(**constants)
    return constants


def expected_results(modules: list[str]) -> dict[tuple[str, str], set[str]]:
    """Every result the rules register with report(), by (category, subcategory), for ``modules``.

    A wildcard registration (the HTML page of each markdown table) expands over the markdown tables
    registered in the same category, the way ``report_table_page`` renders them.
    """
    common = REPO / "rules/common.smk"  # defines RESULTS, which the modules' constants build on
    files = [common, REPO / "Snakefile", *sorted(set((REPO / "rules").glob("*.smk")) - {common})]
    texts = [path.read_text() for path in files]
    constants = _path_constants(texts)
    expected: dict[tuple[str, str], set[str]] = {}
    patterns = []
    for text in texts:
        for call in REPORT_CALL.finditer(text):
            path = call["path"].replace("{{", "{").replace("}}", "}")
            path = re.sub(r"\{([A-Z_]+)\}", lambda m: constants[m[1]], path)
            key = (call["category"], call["subcategory"] or NO_SUBCATEGORY)
            if "{" in path:
                patterns.append((path, key))
            elif key[0] in modules or key[0] == SUMMARY_CATEGORY:
                expected.setdefault(key, set()).add(path)
    assert sum(map(len, expected.values())) > 20 and patterns, "report() calls not found in rules/"
    for pattern, (category, subcategory) in patterns:
        for module in modules:
            tables = [Path(p) for p in expected.get((module, subcategory), ()) if p.endswith(".md")]
            pages = {pattern.format(module=module, name=table.stem) for table in tables}
            expected.setdefault((category.format(module=module), subcategory), set()).update(pages)
    return expected


def launch_browser():
    """Playwright's Chromium driver on Debian's binary, or a skip that says what is missing."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does this as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency: make setup")
    return sync_api.sync_playwright()


@pytest.fixture(scope="module")
def report_file(test_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``snakemake --report`` of the shared test run (the run itself is only read)."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    run_snakemake(test_run, ["--configfile", "config/test.yaml", "--report", str(path)])
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Headless Debian chromium, shared by this module's tests."""
    with launch_browser() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser_page(browser, report_file: Path) -> Iterator:
    """A tab with the report loaded, collecting the page's JavaScript errors in ``page.errors``."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(5_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(report_file.as_uri())
    yield page
    page.close()


def side_menu(page):
    return page.locator("nav").first


def open_front_page(page, timeout_ms: float = 15_000) -> str:
    """Go to the front page; return its rendered text. Fails unless the summary rendered there."""
    page.goto(page.url.split("#")[0])
    heading = page.get_by_role("heading", name="Atmo: summary of this run")
    heading.wait_for(timeout=timeout_ms)
    return page.locator("body").inner_text()


def listed_results(page, category: str, subcategory: str, timeout_ms: float = 5_000) -> list[str]:
    """The result paths the side menu lists under ``category`` / ``subcategory``."""
    page.goto(page.url.split("#")[0])
    menu = side_menu(page)
    menu.get_by_role("link", name=category, exact=True).click(timeout=timeout_ms)
    subcategories = menu.get_by_role("link", name=subcategory, exact=True)
    if subcategories.count():
        subcategories.click(timeout=timeout_ms)
    rows = menu.locator("tbody tr")
    rows.first.wait_for(timeout=timeout_ms)
    return [rows.nth(i).locator("td").first.inner_text().strip() for i in range(rows.count())]


def back_to_list(page, category: str, subcategory: str) -> None:
    """From a result's info panel back to its list, through the breadcrumbs (no reload)."""
    crumbs = page.locator("nav").nth(1)
    crumb = crumbs.get_by_role("link", name=subcategory, exact=True)
    if crumb.count():
        crumb.click()
    else:
        crumbs.get_by_role("link", name=category, exact=True).click()
        subcategories = side_menu(page).get_by_role("link", name=subcategory, exact=True)
        if subcategories.count():  # a category with one subcategory shows its list at once
            subcategories.click()
    side_menu(page).locator("tbody tr").first.wait_for(timeout=5_000)


def check_result_opens(page, path: str) -> None:
    """Open the listed result ``path``: an image must decode, an HTML page must hold a table."""
    row = side_menu(page).locator("tbody tr").filter(has=page.locator("td", has_text=re.compile(f"^{path}$")))
    view, info = row.locator("a").nth(0), row.locator("a").nth(1)
    if path.endswith(".png"):
        view.click()
        image = page.locator("img[src^='data:image/png']").last
        image.wait_for(timeout=5_000)
        assert image.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0, f"{path}: image did not decode"
    elif path.endswith(".html"):
        view.click()
        frame = page.frame_locator("iframe").first
        frame.locator("table").first.wait_for(timeout=5_000)
        assert frame.locator("td").count() > 0, f"{path}: its HTML page shows an empty table"
    else:
        assert (view.get_attribute("download") or "") == Path(path).name, f"{path}: no download link"
    info.click()
    page.get_by_text("Description", exact=True).wait_for(timeout=15_000)
    # The result's info panel: path, then the caption under its "Description" heading, then "Size".
    panel = page.locator("body").inner_text()
    assert path in panel, f"{path}: the info panel shows another result"
    described = re.split(r"^description$", panel, flags=re.IGNORECASE | re.MULTILINE)[1]
    described = re.split(r"^size$", described, flags=re.IGNORECASE | re.MULTILINE)[0].strip()
    assert len(described) > 40, f"{path}: its caption is empty or a stub: {described!r}"


def test_the_front_page_renders_the_summary_with_every_experiment_and_the_provenance(
    browser_page, test_run: Path
) -> None:
    text = open_front_page(browser_page)
    provenance = json.loads((test_run / "results/summary.json").read_text())["provenance"]
    for module in ("nowcast", "cbh", "riskseg", "downscale"):
        assert re.search(rf"^{module}: .+\(write-up \d{{3}}\)$", text, re.MULTILINE), f"no {module} section"
    assert provenance["commit"] in text and provenance["config_sha256"] in text
    headline_tables = browser_page.locator("div.atmo-table table")
    assert headline_tables.count() >= 5, "the summary's headline and provenance tables did not render"
    assert browser_page.errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser_page.screenshot(path=str(SCREENSHOTS / "front_page.png"))


def test_the_report_opens_on_the_summary_top_down_in_the_configs_module_order(browser_page, test_run: Path) -> None:
    """The view a report opens on (no click) is its front page; the summary is there, not only in a
    category: Snakemake lists result categories alphabetically, so no category of a plain name comes first."""
    open_front_page(browser_page)
    front = browser_page.locator("div.prose").first  # the front page's text, beside the rule graph
    headings = front.get_by_role("heading").all()
    titles = [heading.inner_text() for heading in headings]
    assert titles[:2] == ["Atmo: summary of this run", "At a glance"] and titles[-1] == "Provenance", titles
    assert [title.split(":")[0] for title in titles[2:-1]] == load_config(test_run)["modules"], titles
    tops = [heading.bounding_box()["y"] for heading in headings]
    assert tops == sorted(tops), f"headings not drawn top to bottom: {list(zip(titles, tops, strict=True))}"
    assert 0 <= tops[0] < browser_page.viewport_size["height"], "the summary's title is off the opening screen"
    results = side_menu(browser_page).get_by_role("link").all_inner_texts()
    assert SUMMARY_CATEGORY in results, results  # its files are listed under Results as well


def test_every_registered_table_and_figure_is_listed_opens_and_has_its_caption(browser_page) -> None:
    modules = ["nowcast", "cbh", "riskseg", "downscale"]
    expected = expected_results(modules)
    for (category, subcategory), paths in sorted(expected.items()):
        listed = listed_results(browser_page, category, subcategory)
        assert sorted(listed) == sorted(paths), f"{category}/{subcategory}"
        for path in listed:
            check_result_opens(browser_page, path)
            back_to_list(browser_page, category, subcategory)
    browser_page.screenshot(path=str(SCREENSHOTS / "last_result.png"))
    assert browser_page.errors == []


def test_a_report_that_renders_as_an_empty_shell_fails_these_checks(browser, report_file: Path, tmp_path: Path) -> None:
    """Guard of the checks themselves: the same report with its app's scripts removed must fail them."""
    shell = tmp_path / "shell.html"
    html = report_file.read_text()
    shell.write_text(re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.DOTALL))
    page = browser.new_page()
    page.goto(shell.as_uri())
    with pytest.raises(Exception, match="Timeout"):
        open_front_page(page, timeout_ms=2_000)
    with pytest.raises(Exception, match="Timeout"):
        listed_results(page, "nowcast", "table", timeout_ms=2_000)
    page.close()
