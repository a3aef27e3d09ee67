"""A fleet on a real redis-server (127.0.0.1, a free port, a temp folder): the Redis registry
(compare-and-swap publish, fenced lease), the Redis page store (heartbeats, adoption) and crawl
processes of ``scrapy crawl fleet`` against the demo shop served from its own process, with a
redesign mid-crawl: one regeneration, nothing lost, nothing crawled twice; SIGKILL of the
process that holds the regeneration lease, and the takeover after it expired."""

from __future__ import annotations

import calendar
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import Delay, ScriptedLLM

from crawler.exceptions import BadInput, RegistryError
from crawler.fleet import Fleet, open_registry, open_store
from crawler.fleet.server import RedisServer, redis_server_binary
from crawler.pages import HELD, QUARANTINE, RELEASED, PageStore
from crawler.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scale import (  # noqa: E402
    TEMPLATE,
    ServerProcess,
    compile_into_fleet,
    start_crawl,
)
from bench.scale import launch as launch_crawl  # noqa: E402

T = "shop.test/product"
# the demo data of this seed has no run of more than 4 equal values of a field in product order:
# the drift monitor (constant_after=8) takes no field for stuck (seed 7 has 10 "In stock" in a row)
SEED = 32
LEASE = 60  # seconds: the regeneration lease in the crawl tests (the others join within it)
pytestmark = pytest.mark.skipif(
    redis_server_binary() is None, reason="redis-server is not installed (make test installs it)"
)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


_LAUNCHED: list[subprocess.Popen[bytes]] = []


def launch(*args: Any, **kwargs: Any) -> Any:
    """A crawl process of the fleet (bench/scale.py), killed at the end of the test if alive."""
    found = launch_crawl(*args, **kwargs)
    _LAUNCHED.append(found[0])
    return found


@pytest.fixture(autouse=True)
def _no_crawl_left() -> Iterator[None]:
    yield
    while _LAUNCHED:
        proc = _LAUNCHED.pop()
        if proc.poll() is None:  # a test that failed half-way: its crawls stop with it
            proc.kill()
            proc.wait()


@pytest.fixture
def fleet(redis_server: RedisServer) -> Iterator[Fleet]:
    one = Fleet(redis_server.url, heartbeat=1.0)
    one.redis.flushall()
    yield one
    one.redis.close()


def parser_source(tag: str) -> str:
    return f'''"""test parser {tag}"""
from crawler.parsing import Page, text


def parse(page: Page) -> dict:
    return {{"name": text(page.css("h1")), "tag": {tag!r}}}
'''


def publish(reg: Registry, tag: str) -> int:
    return reg.publish(
        T, parser_source(tag), schema="product", generator="manual", reason=f"test {tag}"
    )


def machine(fleet: Fleet, root: Path) -> Registry:
    """A registry of the fleet as one more machine sees it (its own connection and caches)."""
    return open_registry(root, Fleet(fleet.url, fleet.heartbeat))


# -- the registry ------------------------------------------------------------------------------


def test_without_a_redis_url_everything_is_the_folder_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCRAPEC_REDIS_URL", raising=False)
    registry = open_registry(tmp_path / "reg")
    assert type(registry) is Registry
    assert type(open_store(registry, tmp_path / "state", "me")) is PageStore
    monkeypatch.setenv("SCRAPEC_REDIS_URL", "http://127.0.0.1:1/")
    with pytest.raises(BadInput, match=r"SCRAPEC_REDIS_URL='http://127.0.0.1:1/': not a Redis URL"):
        open_registry(tmp_path / "reg")
    monkeypatch.setenv("SCRAPEC_REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(RegistryError, match=r"redis://127.0.0.1:1/0: cannot reach the fleet"):
        open_registry(tmp_path / "reg")


def test_publish_load_rollback_and_a_new_version_seen_by_another_machine(
    fleet: Fleet, tmp_path: Path
) -> None:
    a, b = machine(fleet, tmp_path / "a"), machine(fleet, tmp_path / "b")
    assert publish(a, "one") == 1
    assert b.templates() == [T] and b.active_source(T) == (1, parser_source("one"))
    assert b.active(T).version == 1
    assert publish(b, "two") == 2
    a.refresh()  # what a machine does after waiting on another (else within RECHECK_SECONDS)
    assert a.active_source(T) == (2, parser_source("two"))
    assert a.info(T).version(2)["generator"] == "manual"
    assert a.rollback(T) == 1
    time.sleep(0.6)  # no refresh: the revision counter is read again after RECHECK_SECONDS
    assert b.info(T).active == 1 and b.source(T, 2) == parser_source("two")
    b.update(T, render=True)
    a.refresh()
    assert a.info(T).data["render"] is True and a.info(T).active == 1
    with pytest.raises(RegistryError, match="no version 7"):
        a.rollback(T, 7)


def test_concurrent_publishes_are_compare_and_swap(fleet: Fleet, tmp_path: Path) -> None:
    """Eight machines publish at once: every version is kept, numbered once, none overwritten."""
    publish(machine(fleet, tmp_path / "first"), "zero")
    numbers: list[int] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            reg = machine(fleet, tmp_path / f"m{i}")
            for k in range(5):
                numbers.append(publish(reg, f"m{i}-{k}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == list(range(2, 42))
    reader = machine(fleet, tmp_path / "reader")
    info = reader.info(T)
    assert sorted(int(v) for v in info.data["versions"]) == list(range(1, 42))
    assert info.active == 41
    tags = {reader.source(T, n).split("test parser ")[1].split('"')[0] for n in range(2, 42)}
    assert len(tags) == 40  # each version holds the source its publisher gave
    assert int(fleet.redis.get(fleet.template_key(T, "rev")) or 0) == 41


def test_versions_are_immutable(fleet: Fleet, tmp_path: Path) -> None:
    reg = machine(fleet, tmp_path / "a")
    publish(reg, "one")
    fleet.redis.set(fleet.template_key(T, "v", "2"), "written by something else")
    with pytest.raises(RegistryError, match="version 2 exists already: versions are immutable"):
        publish(reg, "two")
    assert reg.info(T, fresh=True).active == 1
    assert fleet.redis.get(fleet.template_key(T, "v", "2")) == b"written by something else"
    fleet.redis.set(fleet.template_key(T, "v", "1"), "edited")
    other = machine(fleet, tmp_path / "b")
    with pytest.raises(RegistryError, match="does not match the hash"):
        other.active_source(T)


def test_the_lease_is_single_flight_expires_and_fences_a_late_publisher(
    fleet: Fleet, tmp_path: Path
) -> None:
    a, b = machine(fleet, tmp_path / "a"), machine(fleet, tmp_path / "b")
    publish(a, "one")
    with a.lease(T, ttl=0.6) as first:
        assert first is not None and first.token == 1 and first.current()
        with b.lease(T, ttl=0.6) as none:
            assert none is None  # single flight: a holds it
        held = b.lease_holder(T)
        assert held is not None and held["token"] == 1 and 0 < held["left"] <= 0.6
        assert first.renew()
        time.sleep(0.8)  # a hangs past its lease: nothing renewed it
        assert b.lease_holder(T) is None and not first.current()
        with b.lease(T, ttl=5) as second:
            assert second is not None and second.token == 2
            with pytest.raises(RegistryError, match=r"not published: .*lease \(token 1\) expired"):
                publish(a, "late")  # the fence: a's lease is not the live one
            assert not first.renew()
            assert publish(b, "two") == 2
        # b let go; a's release (when its with-block ends) must not free anyone else's lease
        with b.lease(T, ttl=5) as third:
            assert third is not None and third.token == 3
            first.release()
            assert third.current()
    b.refresh()
    info = b.info(T)
    assert info.active == 2 and sorted(info.data["versions"]) == ["1", "2"]


def test_a_publish_between_the_read_and_the_write_is_retried(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compare-and-swap fails when another publish lands in between: read and write again."""
    a, b = machine(fleet, tmp_path / "a"), machine(fleet, tmp_path / "b")
    publish(a, "one")
    from crawler.fleet import registry as fleet_registry

    real = fleet_registry.with_version
    raced = []

    def racing(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if not raced:
            raced.append(0)
            raced[0] = publish(b, "in between")  # lands after a read the template
        return real(*args, **kwargs)

    monkeypatch.setattr(fleet_registry, "with_version", racing)
    assert publish(a, "two") == 3  # not 2: that number went to b's version, kept
    monkeypatch.undo()
    assert raced == [2]
    assert a.source(T, 2) == parser_source("in between")
    assert a.source(T, 3) == parser_source("two")


# -- held pages --------------------------------------------------------------------------------


def test_pages_in_redis_belong_to_their_crawl_and_are_adopted_when_it_dies(
    fleet: Fleet, tmp_path: Path
) -> None:
    reg = machine(fleet, tmp_path / "a")
    one = open_store(reg, tmp_path / "s1", "crawl-1")
    two = open_store(reg, tmp_path / "s2", "crawl-2")
    three = open_store(reg, tmp_path / "s3", "crawl-3")
    for store in (one, two, three):
        store.claim()
    with pytest.raises(BadInput, match="another crawl of this job is running in the fleet"):
        open_store(machine(fleet, tmp_path / "b"), tmp_path / "s4", "crawl-1").claim()
    for i in range(4):
        one.put(HELD, T, f"http://shop.test/p/{i}.html", f"<p>{i}</p>", "drift")
    one.put(RELEASED, T, "http://shop.test/p/9.html", "<p>9</p>", "released")
    two.put(QUARANTINE, T, "http://shop.test/p/8.html", "<p>8</p>", "nothing parses it")
    assert one.has(HELD, T, "http://shop.test/p/1.html")
    assert not two.has(HELD, T, "http://shop.test/p/1.html")  # crawl 1's, not crawl 2's
    assert [p.html() for p in one.pages(HELD, T)] == [f"<p>{i}</p>" for i in range(4)]
    assert two.pages(HELD, T) == [] and len(two.pages(HELD, T, everyone=True)) == 4
    assert [p.url for p in one.pages(QUARANTINE)] == ["http://shop.test/p/8.html"]  # shared
    one.remove(HELD, T, "http://shop.test/p/3.html")
    assert not one.has(HELD, T, "http://shop.test/p/3.html")
    # crawl 1 dies without a word (its heartbeat stops): after the heartbeat, the next crawl
    # that lists its held pages of T adopts them; two crawls at once adopt each page once
    one._beating.set()  # type: ignore[attr-defined]
    time.sleep(1.3)
    assert not two.alive("crawl-1") and two.alive("crawl-3")
    found: dict[str, list[str]] = {}
    threads = [
        threading.Thread(
            target=lambda s=s: found.__setitem__(str(s.owner), [p.url for p in s.pages(HELD, T)])
        )
        for s in (two, three)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    adopted = sorted(found["crawl-2"] + found["crawl-3"])
    assert adopted == [f"http://shop.test/p/{i}.html" for i in range(3)]
    assert three.adopt() + two.adopt() == 1  # the released page, held again by one of them
    everyone = two.pages(HELD, T, everyone=True)
    assert sorted(p.url for p in everyone) == [f"http://shop.test/p/{i}.html" for i in (0, 1, 2, 9)]
    assert {p.owner for p in everyone} <= {"crawl-2", "crawl-3"}
    two.close()
    three.close()
    assert not one.alive("crawl-2")


# -- crawl processes ---------------------------------------------------------------------------


def _stats(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _items(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def redesign_versions(info: Any) -> list[int]:
    """Versions made for another layout than v1's: for the redesign. (A version with v1's layout
    is a regeneration after *value* drift: the demo's availability is "In stock" on 10 product
    pages in a row, which the drift monitor may take for a stuck field, in any crawl.)"""
    from crawler.routing import similarity
    from crawler.settings import LAYOUT_THRESHOLD

    first = frozenset(info.version(1)["layout"])
    return [
        int(n)
        for n in sorted(info.data["versions"], key=int)
        if int(n) > 1
        and similarity(frozenset(info.version(int(n))["layout"]), first) < LAYOUT_THRESHOLD
    ]


def _logged(folder: Path, text: str) -> bool:
    log = folder / "crawl.log"
    return log.exists() and text in log.read_text("utf-8", "replace")


def _shop_pages(products: int) -> int:
    from crawler.demo.site import DemoSite

    site = DemoSite(products=products)
    return 1 + sum(1 for p in site.all_paths() if p.startswith("/shop/"))


@pytest.mark.slow
def test_three_crawls_one_regeneration_nothing_lost_nothing_twice(
    fleet: Fleet, tmp_path: Path
) -> None:
    products = 90
    with ServerProcess(products=products, flip_after=30, seed=SEED) as server:
        fixtures = compile_into_fleet(fleet.url, server.base_url, tmp_path, SEED)
        settings = {
            "MAX_IDLE_TIME_BEFORE_CLOSE": 10,
            "SCRAPEC_RENDER_PROBE": False,
            "CONCURRENT_REQUESTS": 4,
        }
        crawls = [launch(fleet.url, tmp_path, f"p{i}", fixtures, settings) for i in range(3)]
        deadline = time.monotonic() + 120
        while not all(_logged(i.parent, "fleet: start URLs from") for _p, _s, i in crawls):
            assert all(p.poll() is None for p, _s, _i in crawls) and time.monotonic() < deadline
            time.sleep(0.1)
        start_crawl(fleet.url, [f"{server.base_url}/"])  # all three wait for it
        for proc, _s, items in crawls:
            assert proc.wait(timeout=300) == 0, (items.parent / "crawl.log").read_text()[-3000:]
    stats = [_stats(s) for _p, s, _i in crawls]
    items = [item for _p, _s, i in crawls for item in _items(i)]
    urls = [i["_url"] for i in items]
    assert len(urls) == len(set(urls)), "an item twice"
    assert len(set(urls)) == products, "a page lost"
    pages = sum(int(s.get("scrapec/pages", 0)) for s in stats)
    assert pages == _shop_pages(products), "every page of the shop processed once by the fleet"
    assert all(s.get("scrapec/pages", 0) > 0 for s in stats), "every process took part"
    info = machine(fleet, tmp_path / "reader").info(TEMPLATE)
    assert redesign_versions(info) == [info.active], "exactly one regeneration for the redesign"
    regenerations = sum(
        v
        for s in stats
        for k, v in s.items()
        if k.startswith("scrapec/regenerated/") and k.count("/") == 2  # per tier
    )
    assert regenerations == len(info.data["versions"]) - 1, "each version published by one process"
    # the run history of each process counts the regenerations it made, not the fleet's
    recorded = sum(
        v for s in stats for k, v in s.items() if k.startswith(f"scrapec/regenerated/{TEMPLATE}/")
    )
    assert recorded == regenerations
    from crawler.fleet.counters import drift_counts, figures

    drift = drift_counts(fleet)[TEMPLATE]  # from every process's pages
    assert drift["layout"] == sum(int(s.get("scrapec/drift/layout", 0)) for s in stats) >= 1
    fleet_figures = figures(fleet)
    assert fleet_figures["pages"] == pages and fleet_figures["items"] >= products
    assert sum(v for k, v in fleet_figures.items() if k.startswith("regenerated/")) == regenerations
    assert fleet.redis.hlen(fleet.key("pages", HELD, TEMPLATE)) == 0, "nothing left held"


@pytest.mark.slow
def test_sigkill_of_the_lease_holder_the_others_take_over_and_release_its_pages(
    fleet: Fleet, tmp_path: Path
) -> None:
    products = 60
    lease_key = fleet.template_key(TEMPLATE, "lease", "regenerate")
    with (
        ServerProcess(products=products, flip_after=20, seed=SEED) as server,
        ScriptedLLM([Delay(600, "too late")]) as llm,
    ):
        fixtures = compile_into_fleet(fleet.url, server.base_url, tmp_path, SEED)
        start_crawl(fleet.url, [f"{server.base_url}/"])
        common = {
            "MAX_IDLE_TIME_BEFORE_CLOSE": 4,
            "SCRAPEC_RENDER_PROBE": False,
            "SCRAPEC_REGEN_LEASE": LEASE,
            "SCRAPEC_WAIT_FOR_OTHER": 120,
        }
        # the first process regenerates with an LLM that never answers in time: it holds the
        # lease, in the middle of its regeneration, when it is killed
        slow = {
            **common,
            "SCRAPEC_GENERATOR": "llm",
            "CONCURRENT_REQUESTS": 1,
            "DOWNLOAD_DELAY": 1.0,  # it is still crawling when the others join
        }
        llm_env = {
            "SCRAPEC_LLM_MODEL": "openai/scripted",
            "SCRAPEC_LLM_API_BASE": llm.url + "/v1",
            "SCRAPEC_LLM_API_KEY": "test",
            "SCRAPEC_LLM_TIMEOUT": "900",
            "SCRAPEC_LLM_RETRIES": "0",
            "SCRAPEC_LLM_CACHE": "off",
            "SCRAPEC_FLEET_HEARTBEAT": "2",
        }
        holder, _holder_stats, _holder_items = launch(
            fleet.url, tmp_path, "holder", fixtures, slow, env=llm_env
        )
        log = tmp_path / "holder" / "crawl.log"
        deadline = time.monotonic() + 240
        while True:  # until it holds the lease and is inside the LLM tier (the LLM never answers)
            lease = fleet.redis.get(lease_key)
            mine = lease is not None and f":{holder.pid}:" in lease.decode()
            if mine and llm.calls:  # its request (labels or code) waits on the LLM
                break
            assert holder.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the first process never started regenerating"
            time.sleep(0.1)
        expires_at = time.time() + fleet.redis.pttl(lease_key) / 1000
        beat = {"SCRAPEC_FLEET_HEARTBEAT": "2"}
        others = [launch(fleet.url, tmp_path, f"p{i}", fixtures, common, beat) for i in range(2)]
        while not any(_logged(i.parent, "drift [") for _p, _s, i in others):  # they hold pages too
            assert holder.poll() is None and time.time() < expires_at, "the others never joined"
            time.sleep(0.1)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        held_by_holder = [  # what the dead process held: in Redis, not lost with it
            json.loads(raw)["url"]
            for raw in fleet.redis.hvals(fleet.key("pages", HELD, TEMPLATE))
            if str(json.loads(raw).get("owner", "")).startswith(f"run:{holder.pid}:")
        ]
        assert held_by_holder, "the lease holder held pages"
        for proc, _s, items in others:
            assert proc.wait(timeout=300) == 0, (items.parent / "crawl.log").read_text()[-3000:]
    stats = [_stats(s) for _p, s, _i in others]
    items = [item for _p, _s, i in others for item in _items(i)]
    by_url = {i["_url"]: i for i in items}
    assert len(by_url) == len(items), "an item twice"
    # the request the killed process was downloading is put back on the queue (its in-flight
    # hash): no page of the shop is lost, counting the items the killed process wrote
    every = {i["_url"] for i in _items(tmp_path / "holder" / "items.jsonl")} | set(by_url)
    assert len(every) == products, f"{products - len(every)} pages lost"
    missing = [u for u in held_by_holder if u not in by_url]
    assert not missing, f"pages the killed process held were not released: {missing}"
    info = machine(fleet, tmp_path / "reader").info(TEMPLATE)
    assert all(by_url[u]["_parser_version"] == info.active for u in held_by_holder)
    regenerations = sum(
        v
        for s in stats
        for k, v in s.items()
        if k.startswith("scrapec/regenerated/") and k.count("/") == 2  # per tier
    )
    assert redesign_versions(info) == [info.active], "one regeneration for the redesign"
    assert regenerations == len(info.data["versions"]) - 1
    assert int(fleet.redis.get(fleet.template_key(TEMPLATE, "fence", "regenerate")) or 0) >= 2
    created = calendar.timegm(
        time.strptime(info.version(info.active)["created"], "%Y-%m-%dT%H:%M:%SZ")
    )
    assert created >= int(expires_at) - 1, "taken over only once the killed holder's lease expired"
    assert fleet.redis.hlen(fleet.key("pages", HELD, TEMPLATE)) == 0, "nothing left held"


# -- the add-on and the command --------------------------------------------------------------


def test_the_addon_switches_to_scrapy_redis_only_with_a_fleet(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    addons = {"ADDONS": {"crawler.crawl.Addon": 100}}
    monkeypatch.delenv("SCRAPEC_REDIS_URL", raising=False)
    plain = get_crawler(Spider, addons).settings
    assert plain["SCHEDULER"] == "scrapy.core.scheduler.Scheduler" and not plain.get("REDIS_URL")
    monkeypatch.setenv("SCRAPEC_REDIS_URL", fleet.url)
    settings = get_crawler(Spider, addons).settings
    assert settings["SCHEDULER"] == "crawler.fleet.scheduler.FleetScheduler"
    assert settings["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert settings.getbool("SCHEDULER_PERSIST") and settings["REDIS_URL"] == fleet.url
    mine = get_crawler(Spider, {**addons, "SCHEDULER": "my.Scheduler"}).settings
    assert mine["SCHEDULER"] == "my.Scheduler"  # what the project says wins
    with pytest.raises(BadInput, match="export SCRAPEC_REDIS_URL instead of -s"):
        get_crawler(Spider, {**addons, "SCRAPEC_REDIS_URL": "redis://127.0.0.1:1/0"})


def test_the_fleet_command_starts_a_crawl_and_shows_the_fleet(fleet: Fleet) -> None:
    env = {**os.environ, "SCRAPEC_REDIS_URL": fleet.url, "PYTHONPATH": str(ROOT)}
    fleet.redis.sadd("fleet:dupefilter", "an old fingerprint")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crawler.fleet", *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )

    started = run("start", "http://shop.test/", "http://news.test/")
    assert started.returncode == 0 and "2 start URLs pushed to fleet:start_urls" in started.stdout
    assert fleet.redis.lrange("fleet:start_urls", 0, -1) == [
        b'{"url": "http://shop.test/"}',
        b'{"url": "http://news.test/"}',
    ]
    assert not fleet.redis.exists("fleet:dupefilter"), "a new crawl forgets the last one's URLs"
    bad = run("add", "ftp://shop.test/")
    assert bad.returncode == 2 and "'ftp://shop.test/': not an http(s) URL" in bad.stderr
    shown = json.loads(run("status").stdout)
    assert shown["start urls waiting"] == 2 and shown["pages"]["held"] == 0


def test_a_fleet_whose_redis_is_gone_fails_loudly_naming_it(tmp_path: Path) -> None:
    from crawler.history import StorageError

    with RedisServer() as gone:
        fleet = Fleet(gone.url, heartbeat=1.0)
        reg = open_registry(tmp_path / "a", fleet)
        store = open_store(reg, tmp_path / "s", None)
        publish(reg, "one")
    with pytest.raises(RegistryError, match=rf"{gone.url}: the fleet's registry cannot be reached"):
        reg.info(T, fresh=True)
    with pytest.raises(RegistryError, match=rf"{gone.url}: the fleet's registry cannot be reached"):
        publish(reg, "two")
    with pytest.raises(StorageError, match=gone.url):
        store.put(HELD, T, "http://shop.test/p/1.html", "<p>1</p>", "drift")
    with pytest.raises(StorageError, match=gone.url):
        store.pages(HELD, T)


def test_the_run_history_is_the_fleets_and_every_report_reads_it(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two machines record their runs; a third reads both from the fleet's Redis (each machine
    keeps its own copy in runs.sqlite); without a fleet, a machine reads its file only."""
    import time

    from crawler.fleet.runs import FleetRunHistory, open_history
    from crawler.runs import RunHistory, TemplateRun, record_run, runs_path

    monkeypatch.setenv("SCRAPEC_REDIS_URL", fleet.url)
    started = time.time()
    for machine, items in (("a", 3), ("b", 5)):
        run = TemplateRun(T, pages=items, items=items, filled={"name": items})
        record_run(tmp_path / machine, "crawl", started=started, extra={T: run})
    history = open_history(tmp_path / "c")
    assert isinstance(history, FleetRunHistory)
    runs = history.runs(kinds=["crawl"])
    history.close()
    assert sorted(r.templates[T].items for r in runs) == [3, 5]
    assert len({r.id for r in runs}) == 2  # ids unique across the fleet
    local = RunHistory(runs_path(tmp_path / "a"))
    assert [r.templates[T].items for r in local.runs()] == [3]
    local.close()
    monkeypatch.delenv("SCRAPEC_REDIS_URL")
    alone = open_history(tmp_path / "b")
    assert isinstance(alone, RunHistory)
    assert [r.templates[T].items for r in alone.runs()] == [5]
    alone.close()
