"""A new user's first meeting, from the built wheel in a fresh virtualenv outside the checkout:
``extract(url)`` with no configuration on the project's own never-seen shop, examples, the
typed errors, the LLM labelling path against a scripted local server, and ``scrapec crawl`` with
no Scrapy project. Nothing is written in the current folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

TRIAL = r"""
import json, os, sys
import crawler
assert "site-packages" in crawler.__file__, crawler.__file__  # the wheel, not the checkout
from crawler import extract, extract_many, load_schema
from crawler.demo.first import FirstSite
from crawler.demo.server import DemoServer
from crawler.exceptions import ExampleNotFound, HTTPStatusError, NotHTML, TooManyRedirects
from llm_server import ScriptedLLM

out = {}
site = FirstSite(hang_seconds=5)
out["schema_fields"] = sorted(load_schema("product").properties)
with DemoServer(site) as server:
    base = server.base_url
    r = extract(base + "/jsonld/p/1.html", schema="product")
    out["jsonld"] = [r.valid, r.item, r.learned]
    r = extract(base + "/jsonld/p/2.html", schema="product")
    out["jsonld_next"] = [r.valid, r.item, r.learned]
    r = extract(base + "/micro/p/3.html", schema="product", registry=os.environ["TRIAL_HOME"] + "/micro")
    out["micro"] = [r.valid, r.item]
    plain = base + "/plain/p/4.html"
    item = site.item(4)
    r = extract(plain, schema="product", registry=os.environ["TRIAL_HOME"] + "/plain")
    out["plain_bare"] = [r.valid, [str(p) for p in r.problems]]
    r = extract(plain, schema="product", registry=os.environ["TRIAL_HOME"] + "/plain",
                examples={"name": item["name"], "price": "£%.2f" % item["price"], "sku": item["sku"]})
    out["plain_examples"] = [r.valid, r.item]
    r = extract(base + "/plain/p/5.html", schema="product", registry=os.environ["TRIAL_HOME"] + "/plain")
    out["plain_next"] = [r.valid, r.item]
    errors = {}
    for path in ("/broken/404", "/broken/pdf", "/broken/loop"):
        try:
            extract(base + path, schema="product")
        except (HTTPStatusError, NotHTML, TooManyRedirects) as exc:
            errors[path] = type(exc).__name__
    try:
        extract(plain, schema="product", registry=os.environ["TRIAL_HOME"] + "/x", examples={"name": "Absent"})
    except ExampleNotFound as exc:
        errors["examples"] = type(exc).__name__
    out["errors"] = errors
    results = extract_many([base + "/jsonld/p/%d.html" % i for i in range(3, 9)] + [base + "/broken/500"], "product")
    out["many"] = [r.valid for r in results]
    if os.path.exists("/usr/bin/chromium"):
        r = extract(base + "/js/p/6.html", schema="product", registry=os.environ["TRIAL_HOME"] + "/js")
        out["js"] = [r.valid, r.item]
    llm_item = site.item(7)
    answer = {"name": llm_item["name"], "price": "£%.2f" % llm_item["price"], "sku": llm_item["sku"]}
    with ScriptedLLM(["```json\n" + json.dumps(answer) + "\n```"]) as llm:
        os.environ.update(SCRAPEC_LLM_MODEL="openai/scripted", SCRAPEC_LLM_API_BASE=llm.url + "/v1",
                          SCRAPEC_LLM_API_KEY="test", SCRAPEC_LLM_CACHE="off")
        r = extract(base + "/plain/p/7.html", schema="product", registry=os.environ["TRIAL_HOME"] + "/llm")
        out["llm"] = [r.valid, r.item, r.llm_calls]
print("RESULT " + json.dumps(out))
"""


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    for python in ("python3", sys.executable):
        exe = shutil.which(python) or python
        if subprocess.run([exe, "-m", "uv", "--version"], capture_output=True).returncode == 0:
            return [exe, "-m", "uv"]
    pytest.skip("uv is not installed (make setup installs it)")


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, installed in a fresh virtualenv outside it."""
    base = tmp_path_factory.mktemp("fresh")
    uv = _uv()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    _run([*uv, "build", "--wheel", "--out-dir", str(base / "dist"), str(ROOT)], env=env)
    wheels = list((base / "dist").glob("scrapec-*.whl"))
    assert len(wheels) == 1
    _run([*uv, "venv", "--python", sys.executable, str(base / "venv")], env=env)
    python = base / "venv" / "bin" / "python"
    _run([*uv, "pip", "install", "--python", str(python), str(wheels[0])], env=env)
    return base / "venv"


def _env(home: Path, borrowed: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPEC_", "PYTHON"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        TRIAL_HOME=str(home / "trial"),
        PYTHONPATH=str(borrowed or home),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    return env


def test_a_new_user_meets_a_never_seen_site_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir(parents=True)
    # only the scripted LLM server is borrowed from the tests (not the package under test)
    borrowed = tmp_path / "borrowed"
    borrowed.mkdir()
    shutil.copy(ROOT / "tests" / "llm_server.py", borrowed / "llm_server.py")
    script = tmp_path / "trial.py"
    script.write_text(textwrap.dedent(TRIAL))
    done = _run([str(venv / "bin" / "python"), str(script)], cwd=work, env=_env(home, borrowed))
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT "))
    out = json.loads(line[len("RESULT ") :])
    from crawler.demo.first import FirstSite

    site = FirstSite()

    def same(item: dict | None, i: int, keys: tuple[str, ...] = ("name", "price", "sku")) -> bool:
        return item is not None and all(item.get(k) == site.item(i)[k] for k in keys)

    assert "price" in out["schema_fields"]  # the wheel carries the schemas
    valid, item, learned = out["jsonld"]
    assert valid and same(item, 1, ("name", "price", "currency", "sku", "brand")), out
    assert "JSON-LD" in learned
    assert (
        out["jsonld_next"][0] and same(out["jsonld_next"][1], 2) and out["jsonld_next"][2] is None
    )
    assert out["micro"][0] and same(out["micro"][1], 3, ("name", "brand", "sku")), out["micro"]
    assert not out["plain_bare"][0] and "example" in out["plain_bare"][1][-1]
    assert out["plain_examples"][0] and same(out["plain_examples"][1], 4)
    assert out["plain_next"][0] and same(out["plain_next"][1], 5)
    assert out["errors"] == {
        "/broken/404": "HTTPStatusError",
        "/broken/pdf": "NotHTML",
        "/broken/loop": "TooManyRedirects",
        "examples": "ExampleNotFound",
    }
    assert out["many"] == [True] * 6 + [False]
    if "js" in out:
        assert out["js"][0] and same(out["js"][1], 6)
    assert out["llm"][0] and same(out["llm"][1], 7) and out["llm"][2] == 1
    assert os.listdir(work) == []  # nothing written in the current folder
    assert (home / "data" / "scrapec" / "registry" / "127.0.0.1" / "product").is_dir()


def test_scrapec_crawl_runs_with_no_scrapy_project(venv: Path, tmp_path: Path) -> None:
    from crawler.demo.first import FirstSite
    from crawler.demo.server import DemoServer

    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir(parents=True)
    site = FirstSite(products=12)
    with DemoServer(site) as server:
        done = subprocess.run(
            [
                str(venv / "bin" / "scrapec"),
                "crawl",
                server.base_url + "/",
                "--schema",
                "product",
                "--follow",
                "/jsonld/",
                "--items",
                "/jsonld/p/",
                "-o",
                str(tmp_path / "items.jsonl"),
                "--log-level",
                "WARNING",
            ],
            cwd=work,
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    names = {i["name"] for i in items}
    assert names == {site.item(i)["name"] for i in range(1, 13)}, done.stderr[-2000:]
    assert os.listdir(work) == []
