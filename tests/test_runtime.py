"""The runtime in-process, no crawl: hold → regenerate → release → quarantine; the held-page
store; the tier policy the regeneration runs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import product_item, product_page, write_fixtures

from crawler.compiler import compile_fixtures, compile_template
from crawler.compiler.tiers import TIERS, run_tiers, tiers_for
from crawler.exceptions import BadInput
from crawler.fixtures import load_fixtures
from crawler.pages import HeldPage, PageStatus
from crawler.registry import Registry
from crawler.runtime import PageOutcome, PageStore, Runtime, RuntimeSettings
from crawler.schemas import load_schema

T = "shop.test/product"
GONE = "<html><body><main><p>This product is no longer sold.</p></main></body></html>"


def url(i: int) -> str:
    return f"http://shop.test/p/{i}.html"


def compiled(tmp_path: Path) -> Path:
    """Fixtures of layout "a" (pages 1-3), compiled by induction into ``tmp_path/reg``: v1."""
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    [result] = compile_template(
        fixtures, "product", tmp_path / "reg", generator="induce", progress=None
    )
    assert result.published and result.version == 1
    return fixtures


def runtime(
    tmp_path: Path,
    fixtures: Path,
    settings: RuntimeSettings | None = None,
    log: Callable[[str], None] | None = None,
    background: bool = False,
) -> Runtime:
    """A runtime on that registry without an LLM, regenerating once 3 pages are held."""
    return Runtime(
        tmp_path / "reg",
        fixtures_dir=fixtures,
        llm=None,
        settings=settings or RuntimeSettings(regen_samples=3),
        log=log,
        background=background,
    )


def parsed_once(rt: Runtime, pages: range | tuple[int, ...]) -> None:
    """Pages of layout "a" parsed fine: their items are the history repair labels from."""
    for i in pages:
        outcome = rt.process(product_page(i), url(i), template=T)
        assert outcome.status is PageStatus.OK and outcome.item == product_item(i)


def generator_of(tmp_path: Path, version: int) -> str:
    info = json.loads((tmp_path / "reg" / T / "parser.json").read_text())
    return str(info["versions"][str(version)]["generator"])


def test_redesign_is_held_repaired_from_history_and_released(tmp_path: Path) -> None:
    fixtures = compiled(tmp_path)
    said: list[str] = []
    rt = runtime(tmp_path, fixtures, log=said.append)
    try:
        parsed_once(rt, (40, 41, 42))
        first = rt.process(product_page(40, "b"), url(40), template=T)
        second = rt.process(product_page(41, "b"), url(41), template=T)
        assert first.status is PageStatus.HELD and second.status is PageStatus.HELD
        assert first.released == [] and second.released == []
        assert [p.url for p in rt.store.pages("held", T)] == [url(40), url(41)]
        third = rt.process(product_page(42, "b"), url(42), template=T)  # the trigger
    finally:
        rt.close()
    assert third.status is PageStatus.HELD
    assert sorted(o.url for o in third.released) == [url(i) for i in (40, 41, 42)]
    for outcome in third.released:
        assert outcome.status is PageStatus.OK and outcome.parser_version == 2
        assert outcome.item == product_item(int(outcome.url.rsplit("/", 1)[1][:-5]))
    assert [o.url for o in third.all()] == [o.url for o in third.released], "held: not an item"
    assert rt.store.pages("held") == [] and rt.store.pages("quarantine") == []
    # published by the repair tier, labelled so when published (nothing rewrites parser.json)
    assert generator_of(tmp_path, 2) == "repair"
    assert rt.stats["regenerated/repair"] == 1 and rt.stats["released"] == 3
    assert rt.stats["llm_calls"] == 0
    # one line for the one publish, naming its tier
    assert [line for line in said if "published v2" in line] == [f"[{T}] published v2 (repair)"]


def test_a_page_no_version_parses_ends_in_quarantine_with_its_reason(tmp_path: Path) -> None:
    fixtures = compiled(tmp_path)
    rt = runtime(tmp_path, fixtures)
    try:
        parsed_once(rt, (40, 41))
        gone = rt.process(GONE, url(50), template=T)
        assert gone.status is PageStatus.HELD
        [held] = rt.store.pages("held", T)
        held_reason = held.reason
        assert held_reason and held_reason == gone.errors[0]
        rt.process(product_page(40, "b"), url(40), template=T)
        last = rt.process(product_page(41, "b"), url(41), template=T)
    finally:
        rt.close()
    by_url = {o.url: o for o in last.released}
    assert set(by_url) == {url(40), url(41), url(50)}
    assert by_url[url(40)].status is PageStatus.OK and by_url[url(41)].status is PageStatus.OK
    lost = by_url[url(50)]
    assert lost.status is PageStatus.QUARANTINED and lost.template == T
    assert lost.errors[0].startswith(held_reason + " | after regeneration: ")
    [kept] = rt.store.pages("quarantine", T)
    assert isinstance(kept, HeldPage) and kept.kind == "quarantine"
    assert (kept.url, kept.reason, kept.html()) == (url(50), lost.errors[0], GONE)
    assert rt.store.pages("held") == []
    assert generator_of(tmp_path, 2) == "repair"


def test_without_labels_or_an_llm_pages_are_held_then_quarantined_at_flush(
    tmp_path: Path,
) -> None:
    """A redesign on URLs never seen: no labeller can label them and no LLM is configured, so
    the regeneration publishes nothing; the pages stay held (more may bring labels) until the
    end of the crawl, when they go to quarantine with the reason."""
    fixtures = compiled(tmp_path)
    said: list[str] = []
    rt = runtime(tmp_path, fixtures, log=said.append)
    try:
        outcomes = [rt.process(product_page(i, "b"), url(i), template=T) for i in (60, 61, 62)]
        assert [o.status for o in outcomes] == [PageStatus.HELD] * 3
        assert outcomes[-1].released == [], "not published: the pages wait"
        assert any("not enough labels" in line for line in said)
        assert len(rt.store.pages("held", T)) == 3
        flushed = rt.flush()
    finally:
        rt.close()
    assert sorted(o.url for o in flushed) == [url(i) for i in (60, 61, 62)]
    assert {o.status for o in flushed} == {PageStatus.QUARANTINED}
    assert all("after regeneration" in o.errors[0] for o in flushed)
    assert sorted(p.url for p in rt.store.pages("quarantine")) == [url(i) for i in (60, 61, 62)]
    assert rt.store.pages("held") == []
    assert Registry(tmp_path / "reg").info(T).active == 1, "nothing published"


def test_background_regeneration_releases_through_take_released(tmp_path: Path) -> None:
    fixtures = compiled(tmp_path)
    rt = runtime(tmp_path, fixtures, background=True)
    try:
        parsed_once(rt, (40, 41, 42))
        for i in (40, 41, 42):
            outcome = rt.process(product_page(i, "b"), url(i), template=T)
            assert outcome.status is PageStatus.HELD and outcome.released == []
        assert rt.wait(60)
        assert rt.regenerating() == []
        released = rt.take_released()
        assert rt.take_released() == [], "taken once"
        # the next page of the new layout is parsed by the new version at once
        after = rt.process(product_page(43, "b"), url(43), template=T)
    finally:
        rt.close()
    assert sorted(o.url for o in released) == [url(i) for i in (40, 41, 42)]
    assert all(o.status is PageStatus.OK and o.parser_version == 2 for o in released)
    assert (
        after.status is PageStatus.OK
        and after.item == product_item(43)
        and after.parser_version == 2
    )
    assert rt.store.pages("held") == []
    assert generator_of(tmp_path, 2) == "repair"


def test_a_lost_lease_stops_the_regeneration_before_its_first_tier(tmp_path: Path) -> None:
    """The lease is renewed before each tier: a runtime whose lease expired and was taken over
    meanwhile runs no tier and publishes nothing; its pages stay held."""
    fixtures = compiled(tmp_path)
    other = Registry(tmp_path / "reg")
    taken: list[tuple[Any, Any]] = []

    def log(line: str) -> None:
        if "regenerating from" in line:  # the lease is ours; let it run out, another takes it
            time.sleep(0.3)
            lease = other.lease(T, ttl=60)
            taken.append((lease, lease.__enter__()))

    settings = RuntimeSettings(regen_samples=99, lease_ttl=0.1)
    rt = runtime(tmp_path, fixtures, settings=settings, log=log)
    try:
        parsed_once(rt, (40, 41, 42))
        for i in (40, 41, 42):
            rt.process(product_page(i, "b"), url(i), template=T)
        assert rt.regenerate(T) == []
    finally:
        rt.close()
        for lease, _held in taken:
            lease.__exit__(None, None, None)
    assert taken and taken[0][1] is not None, "the other registry took the expired lease"
    assert rt.stats["regeneration_lease_lost"] == 1
    assert rt.stats["regenerated/repair"] == 0 and rt.stats["regeneration_failed"] == 0
    assert sorted(p.url for p in rt.store.pages("held")) == [url(i) for i in (40, 41, 42)]
    assert Registry(tmp_path / "reg").info(T).active == 1


def test_navigation_is_skipped_and_statuses_are_page_status(tmp_path: Path) -> None:
    rt = Runtime(tmp_path / "reg", schema="product", llm=None)
    try:
        nav = rt.process("<html><body><a href='/p/1.html'>one</a></body></html>", url(1))
        lost = rt.process(product_page(2), url(2), item_page=True)
    finally:
        rt.close()
    assert nav.status is PageStatus.SKIPPED and nav.template is None
    assert lost.status is PageStatus.QUARANTINED and lost.template == "new/shop.test"
    # a StrEnum: the words that JSON lines, stats and other modules compare with
    assert [s.value for s in PageStatus] == ["ok", "held", "quarantined", "skipped", "failed"]
    assert nav.status == "skipped" and json.dumps(lost.status) == '"quarantined"'
    assert f"{PageStatus.OK}" == "ok"
    assert isinstance(PageOutcome("u", None, PageStatus.OK).status, str)


# -- the held-page store ---------------------------------------------------------------------


def test_page_store_keeps_held_pages_as_held_page(tmp_path: Path) -> None:
    store = PageStore(tmp_path / "state", owner="job:a")
    store.put("held", T, url(1), product_page(1), "price: missing")
    store.put("held", T, url(2), product_page(2), "layout drift")
    first, second = store.pages("held", T)
    assert isinstance(first, HeldPage)
    assert (first.url, first.template, first.reason, first.kind, first.owner) == (
        url(1),
        T,
        "price: missing",
        "held",
        "job:a",
    )
    assert first.path.suffix == ".html" and store.html(first) == first.html() == product_page(1)
    assert first.time <= second.time and store.templates("held") == [T]
    fixture = first.fixture(load_schema("product"), {"name": "Widget 1 Deluxe"})
    assert fixture.partial and fixture.url == url(1) and fixture.source == product_page(1)
    assert PageStore(tmp_path / "state", owner="job:b").pages("held") == [], "not b's pages"
    assert PageStore(tmp_path / "state").pages("held") == [first, second], "no owner: all"


def test_page_store_claims_adopts_and_recovers(tmp_path: Path) -> None:
    state = tmp_path / "state"
    a = PageStore(state, owner="job:a")
    a.claim()
    with pytest.raises(BadInput, match="another crawl of this job is running"):
        PageStore(state, owner="job:a").claim()
    a.put("held", T, url(1), product_page(1), "price: missing")
    a.put("released", T, url(2), product_page(2), "released")
    b = PageStore(state, owner="job:b")
    b.claim()
    assert b.alive("job:a") and b.adopt() == 0, "a is alive: its pages are its own"
    a.close()
    assert not b.alive("job:a")
    assert b.adopt() == 2 and PageStore(state, owner="job:c").adopt() == 0
    pages = {p.url: p for p in b.pages("held")}
    assert pages[url(1)].reason == "price: missing" and pages[url(1)].owner == "job:b"
    assert pages[url(2)].reason == "adopted after a crash"
    assert PageStore(state).pages("released") == []
    b.put("released", T, url(3), product_page(3), "released")
    assert b.recover() == 1
    assert {p.url: p.reason for p in b.pages("held")}[url(3)] == "recovered after a restart"
    assert b.pages("released") == []
    b.close()


# -- the tier policy ---------------------------------------------------------------------------


def test_tiers_run_cheapest_first_and_stop_when_told(tmp_path: Path) -> None:
    assert TIERS == ("repair", "induce", "llm")
    assert tiers_for("auto") == ("induce", "llm") and tiers_for("auto", True) == ("repair", "llm")
    assert tiers_for("induce", True) == ("repair",) and tiers_for("llm") == ("llm",)
    with pytest.raises(BadInput, match="unknown generator"):
        tiers_for("magic")
    schema = load_schema("product")
    fixtures = load_fixtures(write_fixtures(tmp_path / "fx", T, range(1, 4)))
    registry = Registry(tmp_path / "reg")
    with pytest.raises(BadInput, match="unknown generator 'repair'"):
        compile_fixtures(fixtures, schema, registry, T, "repair")
    asked: list[str] = []
    stopped = run_tiers(
        fixtures,
        schema,
        registry,
        T,
        ("induce",),
        "test",
        before_tier=lambda t: bool(asked.append(t)),
    )
    assert asked == ["induce"] and stopped.stopped == "induce" and not stopped.published
    assert registry.templates() == []
    asked.clear()
    result = run_tiers(
        fixtures,
        schema,
        registry,
        T,
        ("repair",),
        "test",
        before_tier=lambda t: asked.append(t) is None,
    )
    assert asked == ["repair"] and result.published and result.generator == "repair"
    assert registry.info(T).data["versions"]["1"]["generator"] == "repair"
