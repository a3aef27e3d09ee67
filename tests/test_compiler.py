from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import run_cli, write_fixtures

from crawler.compiler import compile_template
from crawler.compiler.induce import induce
from crawler.extract import read_html_file
from crawler.fixtures import load_fixtures
from crawler.gate import run_gate
from crawler.parsing import Page
from crawler.registry import Registry
from crawler.schemas import load_schema

T = "shop.test/product"


def test_induce_publishes_a_readable_parser(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    results = compile_template(
        fixtures, "product", tmp_path / "reg", generator="induce", progress=None
    )
    assert [r.published for r in results] == [True]
    source = Registry(tmp_path / "reg").source(T)
    assert source.startswith(f'"""{T}, schema product.')
    assert "import" in source and "import os" not in source
    body = source.split("return {", 1)[1]
    assert len([line for line in body.splitlines() if line.strip().startswith("'")]) == len(
        load_schema("product").properties
    )
    info = json.loads((tmp_path / "reg" / T / "parser.json").read_text())
    assert info["versions"]["1"]["generator"] == "induce"
    assert len(info["versions"]["1"]["fixtures_passed"]) == 3
    assert info["url_pattern"] and re.match(info["url_pattern"], "shop.test/p/99.html")


def test_induced_parser_generalises_to_unseen_pages(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    write_fixtures(tmp_path / "unseen", T, range(10, 30))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    reg = Registry(tmp_path / "reg")
    report = run_gate(reg.source(T), load_fixtures(tmp_path / "unseen"), load_schema("product"), T)
    assert report.passed, str(report)


def _compile_with_label(tmp_path: Path, field: str, value: str) -> tuple[Path, Any]:
    """Three fixtures, one of them labelled ``field = value``, compiled by the CLI (induce)."""
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    expected = fixtures / T / "case-02" / "expected.json"
    item = json.loads(expected.read_text())
    item[field] = value
    expected.write_text(json.dumps(item))
    reg = str(tmp_path / "reg")
    return fixtures, run_cli(
        "compile", str(fixtures), "--schema", "product", "--registry", reg, "--generator", "induce"
    )


def test_an_optional_field_no_rule_fits_is_left_out_and_named(tmp_path: Path) -> None:
    fixtures, proc = _compile_with_label(tmp_path, "brand", "A brand that is not on the page")
    assert proc.returncode == 0, proc.stderr
    assert "published v1" in proc.stdout
    assert "field brand: LEFT OUT" in proc.stdout
    assert "field name: " in proc.stdout and "leave-one-out 100%" in proc.stdout
    info = json.loads((tmp_path / "reg" / T / "parser.json").read_text())
    version = info["versions"]["1"]
    assert list(version["missing_fields"]) == ["brand"]
    assert "brand" not in version["fields"] or "missing" in version["fields"]["brand"]
    assert version["fields"]["price"]["held_out"] == 1.0
    source = Registry(tmp_path / "reg").source(T)
    assert "'brand':" not in source and "- brand: " in source  # named in the docstring
    # the gate compares every other field, and `scrapec test` says what was left out
    proc = run_cli("test", "--registry", str(tmp_path / "reg"), "--fixtures", str(fixtures))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "left out: brand" in proc.stdout


def test_a_required_field_no_rule_fits_fails_with_the_nearest_text(tmp_path: Path) -> None:
    _, proc = _compile_with_label(tmp_path, "name", "Widget Two Deluxe Edition")
    assert proc.returncode == 1, proc.stderr
    assert "NOT PUBLISHED" in proc.stdout
    assert "name: required field" in proc.stdout
    # per sample: the labelled value and the nearest text the page writes
    assert "labelled 'Widget Two Deluxe Edition', nearest text 'Widget 2 Deluxe'" in proc.stdout
    assert not (tmp_path / "reg" / T / "parser.json").exists()


def test_compile_cli_json_and_bad_input(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    proc = run_cli(
        "compile",
        str(fixtures),
        "--schema",
        "product",
        "--registry",
        str(tmp_path / "reg"),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[0])
    assert (
        out["published"]
        and out["generator"] == "induce"
        and out["cases_passed"] == 3
        and out["llm_calls"] == 0
    )
    proc = run_cli(
        "compile",
        str(tmp_path / "missing"),
        "--schema",
        "product",
        "--registry",
        str(tmp_path / "reg"),
    )
    assert (
        proc.returncode == 2
        and "fixtures folder not found" in proc.stderr
        and "Traceback" not in proc.stderr
    )
    proc = run_cli(
        "compile", str(fixtures), "--schema", "nosuch", "--registry", str(tmp_path / "reg")
    )
    assert proc.returncode == 2 and "unknown schema 'nosuch'" in proc.stderr


def test_auto_without_llm_says_so_once(tmp_path: Path, monkeypatch: object) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    expected = fixtures / T / "case-01" / "expected.json"
    item = json.loads(expected.read_text())
    item["sku"] = "NOT-ON-PAGE"
    expected.write_text(json.dumps(item))
    proc = run_cli(
        "compile", str(fixtures), "--schema", "product", "--registry", str(tmp_path / "reg")
    )
    assert proc.returncode == 0  # sku is left out; the LLM would be asked for it alone
    assert "field sku: LEFT OUT" in proc.stdout
    assert proc.stdout.count("no LLM configured") == 1


def test_induce_on_swde_seeds_is_exact_on_unseen_pages(swde: Path) -> None:
    from bench.swde import item_of, norm, read_labels

    def swde_norm(value: object) -> set[str]:
        values = value if isinstance(value, list) else [] if value is None else [value]
        return {norm(str(v)) for v in values}

    schema = load_schema("book")
    for site_dir in sorted(p for p in (swde / "book").iterdir() if p.is_dir()):
        labels = {
            gt.stem[len(site_dir.name) + 1 :]: read_labels(gt)
            for gt in (swde / "groundtruth" / "book").glob(f"{site_dir.name}-*.txt")
        }
        files = sorted(site_dir.glob("*.htm"))
        multi = {name: schema.is_list(name) for name in labels}
        samples = [(Page(*read_html_file(f)), item_of(labels, f.stem, multi)) for f in files[:3]]
        result = induce(f"{site_dir.name}/book", schema, samples)
        assert result.ok, result.problems()
        fields = {f.name: f for f in result.fields}
        wrong = 0
        for f in files[3:40]:
            page = Page(*read_html_file(f))
            truth = item_of(labels, f.stem, multi)
            for name, made in fields.items():
                got = made.apply(page, multi[name]) if made.parts else None
                want = truth.get(name)
                wrong += swde_norm(got) != swde_norm(want)
        assert wrong == 0, site_dir.name


def _ld_page(stock_text: str) -> Page:
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Juniper Stand Mixer",
        "image": "/img/7.png",
        "sku": "JU-7",
        "offers": {
            "@type": "Offer",
            "price": "129.00",
            "priceCurrency": "GBP",
            "availability": "https://schema.org/InStock",
        },
    }
    html = (
        '<html><head><script type="application/ld+json">'
        + json.dumps(data)
        + "</script></head><body><h1>Juniper Stand Mixer</h1><p>£129.00</p>"
        + f'<p class="stock">{stock_text}</p><img src="/img/7.png"><span>JU-7</span></body></html>'
    )
    return Page(html, "http://shop.test/p/7.html")


def test_structured_labels_map_json_ld_as_the_page_writes_it() -> None:
    from crawler.compiler.labels import structured_labels

    schema = load_schema("product")
    labels = structured_labels(_ld_page("In stock"), schema)
    assert labels["name"] == "Juniper Stand Mixer" and labels["sku"] == "JU-7"
    assert labels["price"] == 129.0 and labels["currency"] == "GBP"
    assert labels["image"] == "http://shop.test/img/7.png"
    assert labels["availability"] == "In stock", "the enumeration as the page writes it"
    # the page writes its stock its own way: the schema.org code is not a label of that text
    assert "availability" not in structured_labels(_ld_page("Only 4 left in stock"), schema)


def test_partial_labels_on_a_redesign_generalise_to_every_page() -> None:
    """Labels from a redesign are partial (here: the currency is known on one page only). The
    currency is read with the price, and the name of a product that recurs in a 'customers also
    viewed' carousel is never taken for a label: the parser is right on pages it never saw."""
    from crawler.demo.site import DemoSite

    site = DemoSite(redesign=True)
    schema = load_schema("product")
    paths = site.detail_paths("shop.demo/product")
    samples = []
    for n, path in enumerate(paths[:3]):
        truth = site.truth(path)
        assert truth is not None
        item = dict(truth[1])
        if n:
            item.pop("currency")
        samples.append((Page(site.render(path)[2], site.url(path)), item))
    result = induce("shop.demo/product", schema, samples, partial=True)
    rules = {f.name: f.rule for f in result.fields}
    currency_rule, price_rule = rules["currency"], rules["price"]
    assert currency_rule is not None and price_rule is not None
    assert currency_rule.query == price_rule.query
    for path in paths[3:40]:
        page = Page(site.render(path)[2], site.url(path))
        truth = site.truth(path)
        assert truth is not None
        for name, rule in rules.items():
            assert rule is not None
            assert rule.apply(page) == truth[1].get(name), (path, name)


def test_a_schema_given_by_path_stays_with_the_template(tmp_path: Path) -> None:
    """compile --schema path/to/schema.json, then extract and test with no --schema: the schema
    is kept in the registry (by hash), even when the original file is gone."""
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    for case in (fixtures / T).iterdir():  # the fixtures do not name a schema either
        meta = json.loads((case / "meta.json").read_text())
        meta.pop("schema")
        (case / "meta.json").write_text(json.dumps(meta))
    custom = json.loads((Path(__file__).parent.parent / "schemas" / "product.json").read_text())
    custom["properties"]["price"]["maximum"] = 15  # this schema's own rule
    schema_file = tmp_path / "my-schemas" / "gadget.json"
    schema_file.parent.mkdir()
    schema_file.write_text(json.dumps(custom))
    reg = tmp_path / "reg"
    proc = run_cli("compile", str(fixtures), "--schema", str(schema_file), "--registry", str(reg))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    schema_file.unlink()  # the registry keeps its own copy
    info = json.loads((reg / T / "parser.json").read_text())
    assert info["schema"] == "gadget" and (reg / T / info["schema_file"]).is_file()
    page = tmp_path / "p.html"
    from conftest import product_page

    page.write_text(product_page(2), "utf-8")
    url = "http://shop.test/p/2.html"
    proc = run_cli(
        "extract", str(page), "--registry", str(reg), "--template", T, "--json", "--url", url
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["valid"] and out["item"]["name"] == "Widget 2 Deluxe"
    page.write_text(product_page(9), "utf-8")  # £19.99: over this schema's maximum
    url = "http://shop.test/p/2.html"
    proc = run_cli(
        "extract", str(page), "--registry", str(reg), "--template", T, "--json", "--url", url
    )
    out = json.loads(proc.stdout)
    assert not out["valid"] and any("price" in e and "15" in e for e in out["errors"]), out
    proc = run_cli("test", "--registry", str(reg), "--fixtures", str(fixtures))
    assert proc.returncode == 0, proc.stdout + proc.stderr
