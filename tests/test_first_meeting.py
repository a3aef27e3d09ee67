"""The first meeting: ``extract(url, schema=…)`` on a site the registry has never seen, with no
configuration, against the project's own never-seen shop (crawler.demo.first) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT
from llm_server import ScriptedLLM

from crawler import extract, extract_many
from crawler.api import Session, aextract
from crawler.demo.first import FirstSite
from crawler.demo.server import DemoServer
from crawler.exceptions import (
    BadInput,
    ExampleNotFound,
    HTTPStatusError,
    NotHTML,
    PageTooLarge,
    TooManyRedirects,
)
from crawler.fetch import Fetcher
from crawler.problems import ProblemKind
from crawler.registry import Registry

SITE = FirstSite(hang_seconds=15)


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with DemoServer(SITE) as server:
        yield server.base_url


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's data folder and an empty current folder, with no scrapec variable set."""
    for name in list(os.environ):
        if name.startswith("SCRAPEC_") and name not in ("SCRAPEC_TEST_DATA_HOME", "SCRAPEC_SWDE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


def _same(item: dict | None, i: int) -> bool:
    return item is not None and all(item.get(k) == v for k, v in SITE.item(i).items())


def test_a_never_seen_json_ld_page_gives_a_valid_item_with_no_configuration(
    shop: str, home: Path
) -> None:
    first = extract(f"{shop}/jsonld/p/1.html", schema="product")
    assert first.valid and _same(first.item, 1), first
    assert first.template == "127.0.0.1/product" and first.parser_version == 1
    assert first.learned and "JSON-LD" in first.learned and "one labelled page" in first.learned
    assert first.llm_calls == 0 and first.cost_usd == 0 and first.problems == []
    # the next page of the template costs one parse: no new version, nothing learned
    second = extract(f"{shop}/jsonld/p/2.html", schema="product")
    assert second.valid and _same(second.item, 2) and second.learned is None
    assert second.parser_version == 1
    # the registry and the first fixture live in the user's data folder, nothing in the cwd
    data = home / "data" / "scrapec"
    assert (data / "registry" / "127.0.0.1" / "product" / "parser.json").is_file()
    case = data / "fixtures" / "127.0.0.1" / "product" / "case-01"
    meta = json.loads((case / "meta.json").read_text())
    assert meta["review"] == "unreviewed" and meta["url"].endswith("/jsonld/p/1.html")
    assert json.loads((case / "expected.json").read_text())["name"] == SITE.item(1)["name"]
    assert os.listdir(home / "work") == []


@pytest.mark.parametrize("kind", ["micro", "rdfa"])
def test_microdata_and_rdfa_pages_teach_their_template(shop: str, home: Path, kind: str) -> None:
    registry = home / kind
    for i in (1, 2, 3):
        result = extract(f"{shop}/{kind}/p/{i}.html", schema="product", registry=registry)
        # the brand's itemprop="name" comes first in the page: it is not the product's name
        assert result.valid and _same(result.item, i), result
    assert Registry(registry).templates() == ["127.0.0.1/product"]


def test_example_values_teach_a_page_without_structured_data(shop: str, home: Path) -> None:
    registry = home / "reg"
    bare = extract(f"{shop}/plain/p/1.html", schema="product", registry=registry)
    assert not bare.valid and bare.template is None
    assert any(p.kind == ProblemKind.NO_TEMPLATE and "--example name=" in p for p in bare.problems)
    item = SITE.item(1)
    examples = {"name": item["name"], "price": f"£{item['price']:.2f}", "sku": item["sku"]}
    taught = extract(f"{shop}/plain/p/1.html", "product", examples=examples, registry=registry)
    assert taught.valid and taught.learned and "examples" in taught.learned, taught
    assert {k: taught.item[k] for k in ("name", "price", "sku")} == {
        k: item[k] for k in ("name", "price", "sku")
    }
    later = extract(f"{shop}/plain/p/7.html", schema="product", registry=registry)
    assert later.valid and later.learned is None
    assert {k: later.item[k] for k in ("name", "price", "sku")} == {
        k: SITE.item(7)[k] for k in ("name", "price", "sku")
    }
    with pytest.raises(ExampleNotFound, match="name='Not On The Page'") as caught:
        extract(
            f"{shop}/plain/p/3.html",
            "product",
            examples={"name": "Not On The Page"},
            registry=home / "other",
        )
    assert caught.value.fields == {"name": "Not On The Page"}
    with pytest.raises(BadInput, match="'colour': not a field of schema 'product'"):
        extract(f"{shop}/plain/p/3.html", "product", examples={"colour": "Red"}, registry=registry)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/broken/404", HTTPStatusError),
        ("/broken/500", HTTPStatusError),
        ("/broken/pdf", NotHTML),
        ("/broken/png", NotHTML),
        ("/broken/json", NotHTML),
        ("/broken/huge", PageTooLarge),
        ("/broken/loop", TooManyRedirects),
    ],
)
def test_a_url_that_gives_no_html_page_raises_a_typed_exception_naming_it(
    shop: str, home: Path, path: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        extract(shop + path, schema="product", registry=home / "reg")
    assert shop + path in str(caught.value)


def test_bad_arguments_raise_bad_input(home: Path) -> None:
    with pytest.raises(BadInput, match="not an http"):
        extract("file:///etc/passwd", schema="product")
    with pytest.raises(BadInput, match="unknown schema 'nonsense'"):
        extract("http://127.0.0.1:9/", schema="nonsense")


def test_extract_many_goes_on_past_failures_in_order(shop: str, home: Path) -> None:
    urls = [f"{shop}/jsonld/p/{i}.html" for i in range(1, 13)]
    urls[5] = f"{shop}/broken/404"
    urls[9] = f"{shop}/broken/pdf"
    seen: list[int] = []
    results = extract_many(
        urls,
        "product",
        concurrency=4,
        registry=home / "reg",
        progress=lambda done, total, _r: seen.append(done),
    )
    assert [r.url for r in results] == urls and sorted(seen) == list(range(1, 13))
    assert sum(r.valid for r in results) == 10
    failed = {i: r for i, r in enumerate(results) if not r.valid}
    assert set(failed) == {5, 9}
    assert isinstance(failed[5].exception, HTTPStatusError) and failed[5].exception.status == 404
    assert failed[9].problems[0].kind == ProblemKind.FETCH
    # one template taught once, even with four pages of it in flight at the start
    assert Registry(home / "reg").templates() == ["127.0.0.1/product"]
    assert Registry(home / "reg").info("127.0.0.1/product").active == 1


def test_aextract_serves_an_event_loop(shop: str, home: Path) -> None:
    import asyncio

    async def main() -> list[bool]:
        results = await asyncio.gather(
            *(
                aextract(f"{shop}/jsonld/p/{i}.html", "product", registry=home / "reg")
                for i in (1, 2, 3)
            )
        )
        return [r.valid for r in results]

    assert asyncio.run(main()) == [True, True, True]


@pytest.mark.browser
def test_a_page_written_by_script_is_rendered_and_its_template_remembers_it(
    shop: str, home: Path
) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("chromium not installed")
    fetcher = Fetcher()
    session = Session(home / "reg", "product", fixtures=home / "fx", fetcher=fetcher)
    try:
        for i in (1, 2, 3):
            result = session.extract(f"{shop}/js/p/{i}.html")
            assert result.valid and _same(result.item, i), result
        assert Registry(home / "reg").info("127.0.0.1/product").data.get("render") is True
        assert fetcher.browser.browser_launches == 1  # one browser for every call
    finally:
        fetcher.close()


def test_with_an_llm_configured_the_model_labels_what_structured_data_lacks(
    shop: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = SITE.item(4)
    answer = {"name": item["name"], "price": f"£{item['price']:.2f}", "sku": item["sku"]}
    with ScriptedLLM(["```json\n" + json.dumps(answer) + "\n```"]) as server:
        monkeypatch.setenv("SCRAPEC_LLM_MODEL", "openai/scripted")
        monkeypatch.setenv("SCRAPEC_LLM_API_BASE", server.url + "/v1")
        monkeypatch.setenv("SCRAPEC_LLM_API_KEY", "test")
        monkeypatch.setenv("SCRAPEC_LLM_CACHE", "off")
        monkeypatch.setenv("SCRAPEC_LLM_INPUT_COST", "0.000001")
        monkeypatch.setenv("SCRAPEC_LLM_OUTPUT_COST", "0.000002")
        result = extract(f"{shop}/plain/p/4.html", schema="product", registry=home / "reg")
        assert result.valid and result.learned and "llm" in result.learned, result
        assert result.llm_calls == 1 and result.cost_usd > 0
        assert {k: result.item[k] for k in answer} == {k: item[k] for k in answer}
        later = extract(f"{shop}/plain/p/5.html", schema="product", registry=home / "reg")
        assert later.valid and later.llm_calls == 0 and server.calls == 1


# -- the command line ----------------------------------------------------------------------------


def _scrapec(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_scrapec_new_teaches_a_template_from_examples_and_saves_its_first_fixture(
    shop: str, home: Path
) -> None:
    item = SITE.item(2)
    done = _scrapec(
        "new",
        f"{shop}/plain/p/2.html",
        "--schema",
        "product",
        "--example",
        f"name={item['name']}",
        "--example",
        f"price=£{item['price']:.2f}",
        "--delay",
        "0",
        cwd=home / "work",
    )
    assert done.returncode == 0, done.stderr
    assert "127.0.0.1/product: published v1" in done.stdout
    assert "verified on one labelled page only" in done.stdout
    case = home / "data" / "scrapec" / "fixtures" / "127.0.0.1" / "product" / "case-01"
    assert json.loads((case / "meta.json").read_text())["review"] == "reviewed"
    out = _scrapec(
        "extract",
        f"{shop}/plain/p/8.html",
        f"{shop}/plain/p/9.html",
        f"{shop}/broken/404",
        "--json",
        "--delay",
        "0",
        cwd=home / "work",
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["valid"] for line in lines] == [True, True, False]
    assert lines[0]["item"]["name"] == SITE.item(8)["name"]
    assert "HTTP 404" in out.stderr and "3/3 done: 2 ok, 0 invalid, 1 failed" in out.stderr
    assert out.returncode == 2  # a URL that gave no page is unusable input
    assert os.listdir(home / "work") == []


def test_fixture_save_works_on_a_template_that_does_not_exist_yet(shop: str, home: Path) -> None:
    done = _scrapec(
        "fixture",
        "save",
        f"{shop}/jsonld/p/3.html",
        "--schema",
        "product",
        "--delay",
        "0",
        cwd=home / "work",
    )
    assert done.returncode == 0, done.stderr
    case = home / "data" / "scrapec" / "fixtures" / "127.0.0.1" / "product" / "case-01"
    assert json.loads((case / "expected.json").read_text())["sku"] == SITE.item(3)["sku"]
    assert "labelled from JSON-LD" in done.stdout
    refused = _scrapec("fixture", "save", f"{shop}/jsonld/p/3.html", cwd=home / "work")
    assert refused.returncode == 2 and "pass --schema" in refused.stderr


def test_the_cold_cli_path_imports_neither_litellm_nor_playwright(shop: str, home: Path) -> None:
    extract(f"{shop}/jsonld/p/1.html", schema="product")  # the template exists now
    code = (
        "import sys; from crawler.cli import main; "
        f"rc = main(['extract', '{shop}/jsonld/p/6.html', '--delay', '0']); "
        "print('LOADED', 'litellm' in sys.modules, 'playwright' in sys.modules, rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=home / "work",
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "LOADED False False 0" in done.stdout, done.stdout + done.stderr


def test_the_readme_first_meeting_example_runs(home: Path) -> None:
    """The README's runnable example, as written, in a fresh interpreter."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- runnable: first-meeting -->\n```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", block],
        cwd=home / "work",
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("True 127.0.0.1/product ")
    assert "taught 127.0.0.1/product v1 from JSON-LD" in lines[1]
    assert lines[2].endswith(" None") and lines[2].startswith("True ")
    assert lines[3].startswith("True {'name': 'Black Kettle 103', 'price': 30.99")
    assert lines[4] == "6 of 6"
    assert os.listdir(home / "work") == []


@pytest.mark.slow
def test_scrapy_crawl_site_in_another_project_meets_a_never_seen_site(
    shop: str, home: Path
) -> None:
    """An outside Scrapy project with the add-on and the generic spider's module crawls the
    never-seen shop with no fixtures and no registry: templates come from the pages' own data."""
    project = home / "outside"
    (project / "outside").mkdir(parents=True)
    (project / "scrapy.cfg").write_text("[settings]\ndefault = outside.settings\n")
    (project / "outside" / "__init__.py").write_text("")
    (project / "outside" / "settings.py").write_text(
        'BOT_NAME = "outside"\nSPIDER_MODULES = ["crawler.crawl.spiders"]\n'
        'ADDONS = {"crawler.crawl.Addon": 100}\nLOG_LEVEL = "INFO"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPY_", "SCRAPEC_"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home), XDG_DATA_HOME=str(home / "data"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "site",
            "-a",
            f"start_url={shop}/",
            "-a",
            "schema=product",
            "-a",
            "follow=/jsonld/",
            "-O",
            str(home / "items.jsonl"),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    items = [json.loads(line) for line in (home / "items.jsonl").read_text().splitlines()]
    assert {i["name"] for i in items} == {SITE.item(i)["name"] for i in range(1, 21)}
    assert all(i["_template"] == "127.0.0.1/product" for i in items)
    assert (home / "data" / "scrapec" / "registry" / "127.0.0.1" / "product").is_dir()


def test_extract_heal_takes_urls(shop: str, home: Path) -> None:
    extract(f"{shop}/jsonld/p/1.html", schema="product")  # the template exists now
    done = _scrapec(
        "extract",
        "--heal",
        f"{shop}/jsonld/p/11.html",
        f"{shop}/broken/404",
        "--json",
        "--delay",
        "0",
        cwd=home / "work",
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["status"], line["item"]["name"]) for line in lines] == [
        ("ok", SITE.item(11)["name"])
    ]
    assert "broken/404: HTTP 404" in done.stderr and done.returncode == 2
    from crawler.runs import RunHistory, runs_path

    history = RunHistory(runs_path(home / "data" / "scrapec" / "registry"))
    (run,) = history.runs(kinds=["extract"])  # the report compares against it
    assert run.templates["127.0.0.1/product"].items == 1
    history.close()


def test_a_body_given_as_an_example_is_snapped_to_its_container(tmp_path: Path) -> None:
    """A person pastes an article's body as one line (the paragraph breaks lost): the example is
    found on the page, snapped to the container that reads it, and the compiled parser reads
    the bodies of unseen pages with their paragraphs."""
    from crawler.demo.news import NewsSite, body_text
    from crawler.fixtures import normalise
    from crawler.parsing import Page
    from crawler.schemas import load_schema
    from crawler.teach import teach

    site = NewsSite(5, 3, lambda path: "http://herald.test" + path)
    page_of = [Page(site.page(a), site.url(site.path(a))) for a in site.articles[:3]]
    first = site.articles[0]
    pasted = " ".join(body_text(first.body).split())
    registry = Registry(tmp_path / "reg")
    schema = load_schema("article")
    lesson = teach(
        page_of[0],
        schema,
        registry,
        examples={"headline": first.headline, "body": pasted},
        llm=None,
    )
    assert lesson.published, lesson.problems
    assert normalise(lesson.labels["body"]) == normalise(body_text(first.body))
    assert "\n\n" in lesson.labels["body"]  # the paragraphs, as the container reads them
    from crawler.extract import Extractor

    extractor = Extractor(registry, schema)
    for n in (1, 2):
        got = extractor.extract_page(page_of[n], lesson.template)
        assert got.valid and got.item is not None, got.errors
        truth = body_text(site.articles[n].body)
        assert normalise(got.item["body"]) == normalise(truth)
        assert got.item["body"].count("\n\n") == truth.count("\n\n")
