"""Reliability: nothing lost when the LLM is down or the crawl is killed mid-regeneration."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, product_item, product_page, setup_registry, write_fixtures
from llm_server import ScriptedLLM, code_answer
from shop_server import ShopServer

from crawler.compiler import compile_template
from crawler.compiler.llm import LLMConfig, LLMGenerator
from crawler.demo.run import scrapy_command
from crawler.history import History, StorageError
from crawler.parsing import Page
from crawler.registry import Registry
from crawler.runtime import PageStore, Runtime

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
T = "shop.test/product"

# a parser for the redesigned product page (layout "b"), as a model would write it
LAYOUT_B = '''"""shop.test/product, schema product."""
from crawler.parsing import Page, absolute, currency, labelled, number, text


def parse(page: Page) -> dict:
    return {
        "name": text(page.css("h2[itemprop=name]")),
        "price": number(text(page.css("div.cost span"))),
        "currency": currency(text(page.css("div.cost span"))),
        "sku": labelled(page, "Code"),
        "brand": labelled(page, "Maker"),
        "image": absolute(page, page.css("img[itemprop=image]::attr(src)").get()),
    }
'''


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url(i: int) -> str:
    return f"http://shop.test/p/{i}.html"


def test_llm_down_pages_quarantined_then_replay_recovers(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    down = LLMGenerator(
        LLMConfig(
            model="openai/scripted",
            api_base=f"http://127.0.0.1:{closed_port()}/v1",
            api_key="test",
            retries=1,
            backoff=0.01,
            timeout=2,
            cache_dir=str(tmp_path / "cache"),
        )
    )
    runtime = Runtime(tmp_path / "reg", fixtures_dir=fixtures, llm=down)
    statuses = [runtime.process(product_page(i), url(i)).status for i in range(10, 20)]
    assert statuses == ["ok"] * 10
    # the site is redesigned; these URLs were never seen, and the new labels are unknown
    for i in range(40, 50):
        runtime.process(product_page(i, "b"), url(i))  # the crawl goes on: no exception
    runtime.flush()
    quarantined = sorted(m.url for m in runtime.store.pages("quarantine"))
    assert quarantined == sorted(url(i) for i in range(40, 50))
    assert runtime.store.pages("held") == []
    assert Registry(tmp_path / "reg").info(T).active == 1, (
        "nothing published while the LLM was down"
    )
    runtime.close()

    first, second = 40, 41  # the runtime labels the two oldest held pages, then asks for the parser
    script = [
        json.dumps(product_item(first)),
        json.dumps(product_item(second)),
        code_answer(LAYOUT_B),
    ]
    with ScriptedLLM(script) as llm:
        env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            SCRAPEC_LLM_MODEL="openai/scripted",
            SCRAPEC_LLM_API_BASE=llm.url + "/v1",
            SCRAPEC_LLM_API_KEY="test",
            SCRAPEC_LLM_CACHE=str(tmp_path / "cache2"),
            SCRAPEC_LLM_BACKOFF="0.01",
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "crawler.cli",
                "quarantine",
                "replay",
                "--registry",
                str(tmp_path / "reg"),
                "--fixtures",
                str(fixtures),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=300,
        )
        calls = llm.calls
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(r["url"] for r in rows) == sorted(url(i) for i in range(40, 50))
    for row in rows:
        assert row["valid"] and row["item"] == product_item(int(row["url"].rsplit("/", 1)[1][:-5]))
    assert calls == 3
    info = json.loads((tmp_path / "reg" / T / "parser.json").read_text())
    assert info["active"] == 2 and info["versions"]["2"]["generator"] == "llm:openai/scripted"
    assert Runtime(tmp_path / "reg").store.pages("quarantine") == []


# a parser for the product page of layout "a", as a model would write it
LAYOUT_A = '''"""shop.test/product, schema product."""
from crawler.parsing import Page, absolute, currency, labelled, number, text


def parse(page: Page) -> dict:
    return {
        "name": text(page.css("h1.title")),
        "price": number(text(page.css("p.price"))),
        "currency": currency(text(page.css("p.price"))),
        "sku": text(page.xpath('//th[.="SKU"]/following-sibling::td')),
        "brand": text(page.xpath('//th[.="Brand"]/following-sibling::td')),
        "image": absolute(page, page.css("img.photo::attr(src)").get()),
    }
'''


def test_new_template_without_fixtures_or_structured_data_is_labelled_by_the_llm(
    tmp_path: Path,
) -> None:
    """Item pages of a site nobody wrote fixtures for and that states nothing in JSON-LD: the
    runtime holds them, the LLM labels two (grounded), writes the parser, the gate passes it."""
    script = [
        json.dumps(product_item(1)),
        json.dumps({**product_item(2), "brand": "Made Up Brand"}),  # not in the page: dropped
        code_answer(LAYOUT_A),
    ]
    with ScriptedLLM(script) as llm:
        generator = LLMGenerator(
            LLMConfig(
                model="openai/scripted",
                api_base=llm.url + "/v1",
                api_key="test",
                backoff=0.01,
                cache_dir=str(tmp_path / "cache"),
            )
        )
        runtime = Runtime(tmp_path / "reg", schema="product", llm=generator)
        outcomes = [runtime.process(product_page(i), url(i), item_page=True) for i in (1, 2, 3)]
        calls = llm.calls
        labelled_prompts = [json.dumps(r) for r in llm.requests[:2]]
    assert [o.status for o in outcomes[:2]] == ["held", "held"]
    released = {o.url: o.item for o in outcomes[2].all()}
    assert released == {url(i): product_item(i) for i in (1, 2, 3)}
    assert calls == 3
    assert "Widget 1 Deluxe" in labelled_prompts[0]
    info = json.loads((tmp_path / "reg" / T / "parser.json").read_text())
    assert info["active"] == 1 and info["versions"]["1"]["generator"] == "llm:openai/scripted"
    assert runtime.process(product_page(4), url(4), item_page=True).item == product_item(4)
    runtime.close()


def test_new_item_page_without_any_labeller_is_quarantined_with_what_to_do(tmp_path: Path) -> None:
    runtime = Runtime(tmp_path / "reg", schema="product", llm=None)
    outcome = runtime.process(product_page(1), url(1), item_page=True)
    assert outcome.status == "quarantined"
    (meta,) = runtime.store.pages("quarantine")
    assert "scrapec new" in meta.reason and "SCRAPEC_LLM_MODEL" in meta.reason
    assert runtime.process(product_page(2), url(2)).status == "skipped", "navigation"
    runtime.close()


def _crawl(tmp_path: Path, base: str, feed: str) -> subprocess.Popen[str]:
    settings = {
        "SCRAPEC_REGISTRY": tmp_path / "reg",
        "SCRAPEC_FIXTURES": tmp_path / "fx",
        "JOBDIR": tmp_path / "job",
        "CONCURRENT_REQUESTS": 1,
        "LOG_LEVEL": "INFO",
        "FEED_EXPORT_BATCH_ITEM_COUNT": 1,
    }
    feed_file = tmp_path / "feed" / f"{feed}-%(batch_id)05d.jsonl"
    cmd = scrapy_command(f"{base}/", settings, "-o", str(feed_file), schema="product")
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp_path / "home"))
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _items(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for f in sorted(folder.glob("*.jsonl"))
        for line in f.read_text().splitlines()
        if line
    ]


def test_sigkill_during_regeneration_then_resume(tmp_path: Path) -> None:
    with ShopServer(30) as shop:
        fixtures, _ = setup_registry(tmp_path, shop.url)
        settings = {
            "SCRAPEC_REGISTRY": tmp_path / "reg",
            "SCRAPEC_FIXTURES": fixtures,
            "LOG_LEVEL": "WARNING",
        }
        first = subprocess.run(  # the first crawl records every URL's last good item
            scrapy_command(f"{shop.url}/", settings),
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert first.returncode == 0, first.stderr[-2000:]
        shop.redesign_after = 0
        proc = _crawl(tmp_path, shop.url, "a")
        assert proc.stderr is not None
        killed = False
        deadline = time.monotonic() + 120
        for line in proc.stderr:
            if "regenerating from" in line:
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            assert time.monotonic() < deadline
        proc.wait()
        proc.stderr.close()
        assert killed, "the crawl reached a regeneration"
        Registry(tmp_path / "reg").active(T)  # the registry is intact: the active version loads
        second = _crawl(tmp_path, shop.url, "b")
        _, err = second.communicate(timeout=300)
        assert second.returncode == 0, err[-2000:]
    items = _items(tmp_path / "feed")
    urls = [i["_url"] for i in items]
    assert len(urls) == len(set(urls)), "nothing parsed twice into the feed"
    assert sorted(urls) == sorted(f"{shop.url}/p/{i}.html" for i in range(1, 31)), "nothing lost"
    for item in items:
        truth = product_item(int(item["_url"].rsplit("/", 1)[1][:-5]))
        truth["image"] = truth["image"].replace("http://shop.test", shop.url)
        assert {k: v for k, v in item.items() if not k.startswith("_")} == truth


def test_a_slow_llm_does_not_stop_other_templates(tmp_path: Path) -> None:
    """The LLM answers after 5 s: meanwhile the pages of another template are parsed and come
    out, pages of the template being regenerated are held, and they are released after."""
    from llm_server import Delay

    other = "other.test/product"
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    write_fixtures(tmp_path / "fx", other, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    script: list[Any] = [
        json.dumps(product_item(40)),
        json.dumps(product_item(41)),
        Delay(5.0, code_answer(LAYOUT_B)),
    ]
    with ScriptedLLM(script) as llm:
        generator = LLMGenerator(
            LLMConfig(
                model="openai/scripted",
                api_base=llm.url + "/v1",
                api_key="test",
                timeout=30,
                backoff=0.01,
                cache_dir=str(tmp_path / "cache"),
            )
        )
        runtime = Runtime(tmp_path / "reg", fixtures_dir=fixtures, llm=generator, background=True)
        for i in (40, 41, 42):  # redesigned: no cheap labels, the LLM is needed
            assert runtime.process(product_page(i, "b"), url(i), template=T).status == "held"
        deadline = time.monotonic() + 10
        while llm.calls < 3 and time.monotonic() < deadline:  # the slow call has started
            time.sleep(0.05)
        assert runtime.regenerating() == [T]
        started = time.monotonic()
        seconds, statuses = [], []
        for i in range(10, 40):
            if time.monotonic() - started > 3.0:
                break
            t0 = time.monotonic()
            page_url = f"http://other.test/p/{i}.html"
            statuses.append(runtime.process(product_page(i), page_url, template=other).status)
            seconds.append(time.monotonic() - t0)
        held_meanwhile = runtime.process(product_page(43, "b"), url(43), template=T)
        assert runtime.regenerating() == [T], "the LLM has not answered yet"
        assert len(statuses) >= 5 and set(statuses) == {"ok"}, statuses
        assert max(seconds) < 1.0, f"a page took {max(seconds):.2f} s during the regeneration"
        assert held_meanwhile.status == "held"
        assert runtime.wait(60)
        released = runtime.take_released()
        calls = llm.calls
        runtime.close()
    assert calls == 3
    assert sorted(o.url for o in released) == [url(i) for i in (40, 41, 42, 43)]
    for outcome in released:
        assert outcome.status == "ok" and outcome.parser_version == 2
        assert outcome.item == product_item(int(outcome.url.rsplit("/", 1)[1][:-5]))
    assert runtime.store.pages("held") == [] and runtime.store.pages("quarantine") == []


def test_crawls_sharing_a_registry_never_touch_each_others_held_pages(tmp_path: Path) -> None:
    """The cause of "run 0 lost pages: 39 == 40": both crawls held pages in one shared folder,
    so one released (into its own feed) or deleted a page the other held. With owners, each
    crawl's held and released pages are its own; a dead crawl's are adopted by the next."""
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    a = Runtime(tmp_path / "reg", fixtures_dir=fixtures, confirm_items=True, owner="job:a")
    b = Runtime(tmp_path / "reg", fixtures_dir=fixtures, confirm_items=True, owner="job:b")
    a.regenerating = lambda: []  # type: ignore[method-assign]
    # A holds page 7 (its template is being regenerated); B parses the same URL fine
    a._hold(Page(product_page(7), url(7)), T, "template is being regenerated", [])
    assert b.process(product_page(7), url(7)).status == "ok"
    assert [m.url for m in a.store.pages("held")] == [url(7)], "B left A's page alone"
    assert b.store.pages("held") == [] and b.regenerate(T) == [], "B does not take A's pages"
    assert [m.url for m in a.store.pages("held")] == [url(7)]
    b.close()
    # A dies without confirming: a new crawl adopts its page, once
    a.store.close()
    c = Runtime(tmp_path / "reg", fixtures_dir=fixtures, confirm_items=True, owner="job:c")
    d = Runtime(tmp_path / "reg", fixtures_dir=fixtures, confirm_items=True, owner="job:d")
    assert [m.url for m in c.store.pages("held")] == [url(7)] and c.stats["adopted"] == 1
    assert d.store.pages("held") == [], "adopted once, not by every crawl"
    assert PageStore(tmp_path / "reg" / ".state").pages("held") == c.store.pages("held")
    c.close()
    d.close()
    a.history.close()


def test_a_full_disk_raises_storage_error_naming_the_file(tmp_path: Path) -> None:
    """A real full filesystem (a 64 KiB tmpfs): the held-page write and the history write raise
    StorageError naming the file, and nothing half-written is listed as held."""
    state = tmp_path / "state"
    state.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(state)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        store = PageStore(state, owner="job:x")
        with pytest.raises(StorageError, match="No space left on device") as caught:
            for i in range(100):
                store.put("held", "t", url(i), "x" * 8000, "why")
        assert str(state / "held" / "t") in str(caught.value)
        assert all(m.path.stat().st_size == 8000 for m in store.pages("held"))
        with pytest.raises(StorageError, match="history.sqlite"):
            history = History(state / "history.sqlite")
            for i in range(1000):
                history.record(url(i), "t", 1, {"name": "y" * 2000})
    finally:
        subprocess.run(["umount", "-l", str(state)], capture_output=True)


def test_a_hung_regeneration_elsewhere_is_waited_for_a_bounded_time(tmp_path: Path) -> None:
    """Another process holds the template's regeneration lease and its lease is live: this
    runtime waits ``wait_for_other`` seconds, says so, and keeps its pages held (none lost)."""
    from crawler.runtime import RuntimeSettings

    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    said: list[str] = []
    runtime = Runtime(
        tmp_path / "reg",
        fixtures_dir=fixtures,
        llm=None,
        settings=RuntimeSettings(regen_samples=99, wait_for_other=1.0),
        log=said.append,
    )
    for i in (40, 41, 42):
        assert runtime.process(product_page(i, "b"), url(i), template=T).status == "held"
    other = Registry(tmp_path / "reg")  # another holder
    with other.lease(T, ttl=60) as mine:
        assert mine is not None
        start = time.monotonic()
        assert runtime.regenerate(T) == []
        assert time.monotonic() - start < 5.0
    assert runtime.stats["regeneration_waits_expired"] == 1
    assert any("WARNING" in line and "regeneration lease" in line for line in said)
    assert sorted(m.url for m in runtime.store.pages("held")) == [url(i) for i in (40, 41, 42)]
    runtime.close()


HANGING_HOLDER = """
import sys, time
from crawler.registry import Registry
from crawler.exceptions import RegistryError
registry = Registry(sys.argv[1])
with registry.lease(sys.argv[2], ttl=float(sys.argv[3])) as lease:
    print("held", lease.token, flush=True)
    sys.stdin.readline()  # hangs here (as a stuck LLM call would) until told to go on
    try:
        registry.publish(sys.argv[2], open(sys.argv[4]).read(), schema="product",
                         generator="late", reason="a holder that woke up after its lease")
        print("published", flush=True)
    except RegistryError as exc:
        print("refused", exc, flush=True)
"""


def test_a_hung_regeneration_is_taken_over_after_its_lease_and_cannot_publish_late(
    tmp_path: Path,
) -> None:
    """A process takes the regeneration lease and hangs: once its lease expires (it is not
    renewed), this runtime takes the template over, regenerates and releases its held pages;
    when the hung process wakes and publishes, it is refused (fencing token): the version its
    successor published stays active."""
    from crawler.runtime import RuntimeSettings

    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    late = tmp_path / "late.py"
    late.write_text(Registry(tmp_path / "reg").active_source(T)[1])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    holder = subprocess.Popen(
        [sys.executable, "-c", HANGING_HOLDER, str(tmp_path / "reg"), T, "2.0", str(late)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().split() == ["held", "1"]
        said: list[str] = []
        runtime = Runtime(
            tmp_path / "reg",
            fixtures_dir=fixtures,
            llm=None,
            settings=RuntimeSettings(regen_samples=99, wait_for_other=30.0),
            log=said.append,
        )
        for i in (40, 41, 42):  # parsed once (history), then redesigned: repair can relabel
            assert runtime.process(product_page(i), url(i), template=T).status == "ok"
        for i in (40, 41, 42):
            assert runtime.process(product_page(i, "b"), url(i), template=T).status == "held"
        assert runtime.registry.lease_holder(T) is not None  # live: the holder is alive
        start = time.monotonic()
        released = runtime.regenerate(T)
        waited = time.monotonic() - start
        assert 1.0 < waited < 20.0, waited  # waited for the lease to run out, then took over
        assert sorted(o.url for o in released if o.status == "ok") == [url(i) for i in (40, 41, 42)]
        assert runtime.store.pages("held") == []
        active = runtime.registry.info(T, fresh=True).active
        assert runtime.registry.info(T).data["versions"][str(active)]["generator"] != "late"
        holder.stdin.write("go\n")
        holder.stdin.flush()
        answer = holder.stdout.readline()
        assert answer.startswith("refused"), answer
        assert "lease (token 1) expired" in answer
        assert runtime.registry.info(T, fresh=True).active == active
        runtime.close()
    finally:
        holder.kill()
        holder.communicate()  # reaps it and closes its pipes


def test_a_lease_is_single_flight_expires_and_dies_with_its_holder(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    one, two = Registry(tmp_path / "reg"), Registry(tmp_path / "reg")
    with one.lease(T, ttl=0.5) as first:
        assert first is not None and first.token == 1 and first.current()
        with two.lease(T, ttl=5) as blocked:
            assert blocked is None
        assert first.renew()
        time.sleep(0.7)
        assert not first.current()  # expired
        with two.lease(T, ttl=5) as second:
            assert second is not None and second.token == 2
            assert not first.renew()  # taken over: never extended again
    with two.lease(T, ttl=5) as third:  # released, not expired: free at once
        assert third is not None and third.token == 3
    # a holder that died (SIGKILL) frees the template at once, whatever its ttl
    dead = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from crawler.registry import Registry; "
            "r = Registry(sys.argv[1]); held = r.lease(sys.argv[2], ttl=600); held.__enter__(); "
            "print('held', flush=True); time.sleep(600)",
            str(tmp_path / "reg"),
            T,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert dead.stdout is not None and dead.stdout.readline().strip() == "held"
    assert one.lease_holder(T) is not None
    dead.send_signal(signal.SIGKILL)
    dead.communicate()
    assert one.lease_holder(T) is None
    with one.lease(T, ttl=5) as after:
        assert after is not None and after.token == 5
