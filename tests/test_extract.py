from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import product_page, run_cli, write_fixtures

from crawler import extract_html
from crawler.compiler import compile_template

T = "shop.test/product"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    return tmp_path / "reg"


def test_extract_html_routes_parses_and_checks(registry: Path) -> None:
    result = extract_html(product_page(42), "http://shop.test/p/42.html", registry=registry)
    assert result.valid, result.errors
    assert result.template == T and result.parser_version == 1
    assert (
        result.item is not None
        and result.item["name"] == "Widget 42 Deluxe"
        and result.item["price"] == 52.99
    )
    # a page whose layout moved: the parser finds nothing, the schema's required name is missing
    moved = extract_html(product_page(42, "b"), "http://shop.test/p/42.html", registry=registry)
    assert not moved.valid and any(e.startswith("name:") for e in moved.errors)


def test_extract_cli_many_targets_one_json_line_each(registry: Path, tmp_path: Path) -> None:
    files = []
    for i in range(20, 30):
        page = tmp_path / "pages" / f"{i}" / "page.html"
        page.parent.mkdir(parents=True)
        page.write_text(product_page(i))
        (page.parent / "meta.json").write_text(json.dumps({"url": f"http://shop.test/p/{i}.html"}))
        files.append(str(page))
    base = tmp_path / "base.html"
    base.write_text('<base href="http://shop.test/p/77.html"/>' + product_page(77))
    proc = run_cli("extract", *files, str(base), "--registry", str(registry), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 11
    for line in lines:
        assert list(line)[:7] == [
            "target",
            "url",
            "template",
            "parser_version",
            "item",
            "valid",
            "errors",
        ]
        assert line["valid"] and line["template"] == T
    assert (
        lines[-1]["url"] == "http://shop.test/p/77.html"
        and lines[-1]["item"]["name"] == "Widget 77 Deluxe"
    )
    # every item that passed all checks is its URL's last good item; a failing page never overwrites it
    from crawler.history import History

    with History(registry / "history.sqlite") as history:
        assert history.count(T) == 11
        assert history.get("http://shop.test/p/77.html")["name"] == "Widget 77 Deluxe"
    moved = tmp_path / "moved.html"
    moved.write_text(product_page(77, "b"))
    proc = run_cli(
        "extract",
        str(moved),
        "--url",
        "http://shop.test/p/77.html",
        "--registry",
        str(registry),
        "--json",
    )
    assert proc.returncode == 1 and not json.loads(proc.stdout)["valid"]
    with History(registry / "history.sqlite") as history:
        assert history.get("http://shop.test/p/77.html")["name"] == "Widget 77 Deluxe"


BAD = {
    "empty.html": (b"", "empty page"),
    "binary.html": (bytes(range(256)) * 64, "not HTML"),
    "huge.html": (
        b"<html><body>" + b"<p>x</p>" * (33 * 1024 * 1024 // 8) + b"</body></html>",
        "larger than",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_pages_give_one_line_and_exit_2(registry: Path, tmp_path: Path, name: str) -> None:
    body, message = BAD[name]
    path = tmp_path / name
    path.write_bytes(body)
    proc = run_cli(
        "extract",
        str(path),
        "--registry",
        str(registry),
        "--url",
        "http://shop.test/p/1.html",
        "--json",
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and str(path) in proc.stderr and message in proc.stderr
    assert json.loads(proc.stdout)["valid"] is False


def test_odd_but_readable_pages(registry: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.html"
    truncated.write_bytes(product_page(5).encode()[:300])
    latin = tmp_path / "latin.html"
    latin.write_bytes(
        b'<meta charset="latin-1">' + product_page(6).replace("Acme", "Acm\xe9").encode("latin-1")
    )
    wrong = tmp_path / "wrong.html"
    wrong.write_bytes(b'<meta charset="utf-8">' + product_page(7).encode("latin-1"))
    big = tmp_path / "big.html"
    big.write_bytes(
        product_page(8).replace("</body>", "<p>filler</p>" * 1_500_000 + "</body>").encode()
    )
    proc = run_cli(
        "extract",
        str(truncated),
        str(latin),
        str(wrong),
        str(big),
        "--registry",
        str(registry),
        "--template",
        T,
        "--json",
    )
    assert "Traceback" not in proc.stderr
    rows = {Path(r["target"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert rows["truncated.html"]["item"]["name"] == "Widget 5 Deluxe"
    assert rows["latin.html"]["item"]["brand"] == "Acmé"
    assert rows["wrong.html"]["item"]["price"] == 17.99
    assert rows["big.html"]["valid"], rows["big.html"]["errors"]
    assert proc.returncode == 0  # the truncated page keeps its name, the one required field


def test_missing_or_corrupt_registry(registry: Path, tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text(product_page(3))
    proc = run_cli("extract", str(page), "--registry", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "registry folder not found" in proc.stderr
    (registry / T / "parser.json").write_text("{corrupt")
    proc = run_cli("extract", str(page), "--registry", str(registry), "--template", T, "--json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "parser.json: corrupt" in json.loads(proc.stdout)["errors"][0]
    proc = run_cli("extract", str(tmp_path / "absent.html"), "--registry", str(registry))
    assert proc.returncode == 2 and "absent.html: cannot read" in proc.stderr


def test_parser_returning_non_json_is_reported(tmp_path: Path) -> None:
    from crawler.registry import Registry

    reg = Registry(tmp_path / "reg")
    reg.publish(
        T,
        '"""x"""\ndef parse(page):\n    return {"name": {1, 2}}\n',
        schema="product",
        generator="manual",
        reason="t",
    )
    result = extract_html(product_page(1), "http://shop.test/p/1.html", registry=reg, template=T)
    assert not result.valid and "set is not a JSON value" in result.errors[0]


def test_scrapec_test_and_check(registry: Path, tmp_path: Path) -> None:
    fixtures = tmp_path / "fx"
    proc = run_cli("test", "--registry", str(registry), "--fixtures", str(fixtures))
    assert proc.returncode == 0 and "ok   shop.test/product: 3/3 cases" in proc.stdout
    expected = fixtures / T / "case-02" / "expected.json"
    item = json.loads(expected.read_text())
    item["price"] = 1.0
    expected.write_text(json.dumps(item))
    proc = run_cli("test", "--registry", str(registry), "--fixtures", str(fixtures))
    assert proc.returncode == 1
    assert "case-02: price: expected 1.0, got 12.99" in proc.stdout
    src = registry / T / "v1.py"
    proc = run_cli("check", str(src))
    assert proc.returncode == 0 and proc.stdout.startswith("ok")
    evil = tmp_path / "evil.py"
    evil.write_text("import os\ndef parse(page):\n    return {}\n")
    proc = run_cli("check", str(src), str(evil))
    assert proc.returncode == 1 and f"UNSAFE {evil}:1: import is not allowed" in proc.stdout
