from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SWDE = Path(os.environ.get("SCRAPEC_SWDE", ROOT.parent / "shared" / "data" / "swde-dev"))

# the default registry and fixtures are per-user folders (platformdirs): tests never touch the
# real user's, and a test that relies on a default sees an empty one of its own session
if "SCRAPEC_TEST_DATA_HOME" not in os.environ:
    import tempfile

    os.environ["SCRAPEC_TEST_DATA_HOME"] = tempfile.mkdtemp(prefix="scrapec-data-")
    os.environ["XDG_DATA_HOME"] = os.environ["SCRAPEC_TEST_DATA_HOME"]


@pytest.fixture
def swde() -> Path:
    if not (SWDE / "book").is_dir():
        pytest.skip(f"SWDE dev data not found at {SWDE} (see ../shared/data/swde-dev/README.md)")
    return SWDE


def product_page(i: int, layout: str = "a") -> str:
    """A small product page of a made-up shop, in one of two layouts."""
    name = f"Widget {i} Deluxe"
    price = f"£{10 + i}.99"
    if layout == "a":
        return f"""<html><head><title>{name}</title></head><body>
<div id="main"><div class="product"><h1 class="title">{name}</h1>
<p class="price">{price}</p>
<table class="specs"><tr><th>SKU</th><td>SKU-{1000 + i}</td></tr><tr><th>Brand</th><td>Acme</td></tr></table>
<img class="photo" src="/img/{i}.jpg"></div></div></body></html>"""
    return f"""<html><body><main><section class="item-v2"><header><h2 itemprop="name">{name}</h2></header>
<ul class="facts"><li><b>Code:</b> SKU-{1000 + i}</li><li><b>Maker:</b> Acme</li></ul>
<div class="cost"><span>{price}</span></div><img itemprop="image" src="/img/{i}.jpg"></section></main></body></html>"""


def product_item(i: int) -> dict[str, Any]:
    return {
        "name": f"Widget {i} Deluxe",
        "price": 10 + i + 0.99,
        "currency": "GBP",
        "sku": f"SKU-{1000 + i}",
        "brand": "Acme",
        "image": f"http://shop.test/img/{i}.jpg",
    }


def write_fixtures(root: Path, template: str, indexes: range, layout: str = "a") -> Path:
    for i in indexes:
        case = root / template / f"case-{i:02d}"
        case.mkdir(parents=True, exist_ok=True)
        (case / "page.html").write_text(product_page(i, layout), "utf-8")
        (case / "meta.json").write_text(
            json.dumps(
                {"url": f"http://shop.test/p/{i}.html", "template": template, "schema": "product"}
            )
        )
        (case / "expected.json").write_text(json.dumps(product_item(i), indent=2))
    return root


def run_cli(*args: str, cwd: Path | None = None) -> Any:
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
    )


def setup_registry(tmp_path: Path, base_url: str) -> tuple[Path, Path]:
    """Fixtures of the test shop served at ``base_url``, compiled into ``tmp_path/reg``."""
    from crawler.compiler import compile_template

    template = "shop.test/product"
    fixtures = write_fixtures(tmp_path / "fx", template, range(1, 4))
    for case in (fixtures / template).iterdir():
        for name in ("meta.json", "expected.json"):
            path = case / name
            path.write_text(path.read_text().replace("http://shop.test", base_url))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    return fixtures, tmp_path / "reg"
