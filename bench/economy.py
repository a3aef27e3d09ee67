"""LLM economy: how many LLM calls a crawl of N pages over K templates with D redesigns costs.

`python bench/economy.py [--seed 7] [--verbose]`. No network, no browser: the demo site's pages
(``crawler.demo.site.DemoSite``) are fed to one ``crawler.runtime.Runtime`` directly, with an LLM
available the whole time — the project's scripted OpenAI-compatible server on 127.0.0.1
(``tests/llm_server.py``) behind a real ``LLMGenerator`` (litellm, fresh response cache, so every
answer is a billed call). The scenario, K = 3 templates and D = 2 redesigns:

1. pass 1: every detail page of shop.demo/product, jobs.demo/job (as rendered) and
   news.demo/article, from an EMPTY registry: each template is compiled from 3 fixtures the
   first time it is met (induce; no LLM expected);
2. redesign 1 (repairable): the shop's redesign is switched on (new markup, same data and URLs)
   and every product page is processed again: history repair, no LLM expected;
3. redesign 2 (needs the LLM): the news site moves to a harsher layout written here (other
   element names and classes, no JSON-LD, no microdata, no OpenGraph) on NEW URLs (no history),
   so no cheap labeller can label the pages: the runtime asks the LLM to label a few held pages
   and then to write the parser.

The server answers by what it is asked (its script is keyed by the request, not by its order, so
the figures do not depend on how many pages the runtime chooses to have labelled): a label
request gets the true item of the page it shows, a parser request about a page of the new news
layout gets a correct hand-written parser for it, anything else gets an answer with no code
(which fails the gate and shows up as a spent call).

Printed: pages per phase, LLM calls (the server's own request count and the runtime's
``stats["llm_calls"]``), calls per 1,000 pages, the one-call-per-page baseline (N calls) and the
ratio, field accuracy of the emitted items against the truth, and two checks (PASS/FAIL, not
asserted): calls <= (K + D) x 1.5, and the repairable redesign costs zero calls.
"""

from __future__ import annotations

import argparse
import html as htmllib
import itertools
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from llm_server import ScriptedLLM, code_answer  # noqa: E402

from crawler.compiler.llm import LLMConfig, LLMGenerator  # noqa: E402
from crawler.demo.export import export_fixtures  # noqa: E402
from crawler.demo.site import DemoSite  # noqa: E402
from crawler.fixtures import normalise  # noqa: E402
from crawler.runtime import PageOutcome, Runtime, RuntimeSettings  # noqa: E402

SHOP, JOBS, NEWS = "shop.demo/product", "jobs.demo/job", "news.demo/article"
K_TEMPLATES = 3
D_REDESIGNS = 2

_MONTHS = (
    "January February March April May June July August September October November December"
).split()

# the parser a good model would write for the news layout below (written by hand from its markup)
NEWS_V2_PARSER = """
from crawler.parsing import Page, absolute, date, text, texts


def parse(page: Page) -> dict:
    return {
        "headline": text(page.css("div.hh-story div.hh-title")),
        "author": texts(page.css("div.hh-credits span.hh-who")),
        "date_published": date(text(page.css("div.hh-when b"))),
        "section": text(page.css("div.hh-tags a.hh-tag")),
        "summary": text(page.css("div.hh-story div.hh-dek")),
        "image": absolute(page, page.css("div.hh-pic img::attr(src)").get()),
    }
"""


# ---------------------------------------------------------------------------------------------
# The harsher news redesign (redesign 2)


def news_v2_path(old_path: str) -> str:
    """The new URL of an article: same section of the site, another slug (no history)."""
    return re.sub(r"\.html$", "-live.html", old_path)


def news_v2_html(site: DemoSite, old_path: str) -> str:
    """An article page in a layout no labeller of scrapec can read: every element and class
    renamed, blocks moved, the byline and date reworded, and no structured data at all (no
    JSON-LD, no microdata, no OpenGraph, no meta description). The data stays the same."""
    truth = site.truth(old_path)
    assert truth is not None and truth[0] == NEWS, old_path
    item = truth[1]
    _, _, raw = site.render(old_path)
    source = raw.decode("utf-8")
    # body paragraphs and the caption, taken from the old page (not part of the item)
    body_match = re.search(r'<div class="story-body"[^>]*>(.*?)</div>', source, re.S)
    paragraphs = re.findall(r"<p>(.*?)</p>", body_match.group(1) if body_match else "", re.S)
    caption_match = re.search(r"<figcaption>(.*?)</figcaption>", source, re.S)
    caption = caption_match.group(1) if caption_match else ""
    year, month, day = (int(x) for x in item["date_published"].split("-"))
    when = f"{day} {_MONTHS[month - 1]} {year}"
    e = htmllib.escape
    image_path = "/" + item["image"].split("/", 3)[3]
    credits = "".join(f'<span class="hh-who">{e(name)}</span>' for name in item["author"])
    text_blocks = "".join(f'<div class="hh-para">{p}</div>' for p in paragraphs)
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(item['headline'])} - Herald</title>\n"
        "<style>.hh-grid{display:grid}.hh-title{font-size:2em}</style>\n</head>\n"
        '<body class="hh-2027">\n<div id="hh-top"><a href="/news/page/1.html">The Harbour '
        'Herald</a> <span class="hh-strap">Live edition</span></div>\n<div class="hh-grid">\n'
        '<div class="hh-story">\n'
        f'<div class="hh-pic"><img src="{e(image_path)}" alt="{caption}"></div>\n'
        f'<div class="hh-title">{e(item["headline"])}</div>\n'
        f'<div class="hh-credits">Words: {credits}</div>\n'
        f'<div class="hh-when">Filed <b>{when}</b></div>\n'
        f'<div class="hh-dek">{e(item["summary"])}</div>\n'
        f'<div class="hh-text">{text_blocks}</div>\n'
        f'<div class="hh-tags">More in <a class="hh-tag" href="/news/page/1.html">'
        f"{e(item['section'])}</a></div>\n"
        '</div>\n<div class="hh-side"><div class="hh-side-head">Latest</div></div>\n'
        '</div>\n<div class="hh-foot">The Harbour Herald is fictional.</div>\n</body>\n</html>\n'
    )


# ---------------------------------------------------------------------------------------------
# The LLM: the project's scripted server, its script keyed by the request


class KeyedScriptedLLM(ScriptedLLM):
    """:class:`ScriptedLLM` answering by what is asked: ``labels`` (URL -> true item) for label
    requests, ``parsers`` (URL -> parser source) for parser requests showing that URL; an answer
    without code otherwise. Requests are counted as by the base class (``calls``)."""

    def __init__(self, labels: dict[str, dict[str, Any]], parsers: dict[str, str]) -> None:
        super().__init__([])
        self.labels = labels
        self.parsers = parsers
        self.kinds: Counter[str] = Counter()

    def _next(self, body: dict[str, Any], path: str) -> str:
        with self._lock:
            self.requests.append(body)
            self.paths.append(path)
        messages = body.get("messages") or []
        system = str(messages[0].get("content", "")) if messages else ""
        user = next((str(m.get("content", "")) for m in messages if m.get("role") == "user"), "")
        urls = re.findall(r"URL (\S+?):?\n", user)
        if system.startswith("You extract one item"):
            item = next((self.labels[u] for u in urls if u in self.labels), None)
            self.kinds["label" if item is not None else "label (unknown page)"] += 1
            data = json.dumps(item or {}, ensure_ascii=False, indent=1)
            return f"```json\n{data}\n```\n"
        source = next((self.parsers[u] for u in urls if u in self.parsers), None)
        if source is None:
            self.kinds["parser (unknown page)"] += 1
            return "I cannot write a parser for these pages."
        self.kinds["parser"] += 1
        return code_answer(source)


# ---------------------------------------------------------------------------------------------
# Running and scoring


class Phase:
    """Pages fed, outcomes, LLM calls and runtime counters of one phase."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pages = 0
        self.urls: list[str] = []
        self.outcomes: list[PageOutcome] = []
        self.calls = 0
        self.stats: Counter[str] = Counter()
        self.seconds = 0.0


def run_phase(
    name: str,
    runtime: Runtime,
    server: ScriptedLLM,
    pages: list[tuple[str, bytes]],
) -> Phase:
    phase = Phase(name)
    before_calls, before_stats = server.calls, Counter(runtime.stats)
    start = time.perf_counter()
    for url, body in pages:
        phase.pages += 1
        phase.urls.append(url)
        phase.outcomes += runtime.process(body, url).all()
    for outcome in runtime.flush():
        phase.outcomes += outcome.all()
    phase.seconds = time.perf_counter() - start
    phase.calls = server.calls - before_calls
    phase.stats = Counter(runtime.stats)
    phase.stats.subtract(before_stats)
    return phase


def score(
    outcomes: list[PageOutcome], truth: dict[str, tuple[str, dict[str, Any]]]
) -> tuple[int, int, Counter[str]]:
    """(correct fields, true fields, statuses) of the outcomes against the truth."""
    correct = total = 0
    statuses: Counter[str] = Counter()
    for outcome in outcomes:
        statuses[outcome.status] += 1
        if outcome.status != "ok" or outcome.url not in truth:
            continue
        _, expected = truth[outcome.url]
        item = outcome.item or {}
        for field_name, value in expected.items():
            total += 1
            correct += normalise(item.get(field_name)) == normalise(value)
    return correct, total, statuses


def interleave(*lists: list[Any]) -> list[Any]:
    """Round-robin over the lists, as a crawl of several sites meets their pages."""
    out = []
    for group in itertools.zip_longest(*lists):
        out += [x for x in group if x is not None]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--verbose", action="store_true", help="print the runtime's log")
    args = ap.parse_args()
    started = time.perf_counter()

    site = DemoSite(seed=args.seed)
    truth: dict[str, tuple[str, dict[str, Any]]] = {}
    paths = {t: site.detail_paths(t) for t in (SHOP, JOBS, NEWS)}
    for template_paths in paths.values():
        for path in template_paths:
            found = site.truth(path)
            assert found is not None
            truth[site.url(path)] = found
    news_v2: list[tuple[str, bytes]] = []
    for path in paths[NEWS]:
        url = site.url(news_v2_path(path))
        truth[url] = truth[site.url(path)]
        news_v2.append((url, news_v2_html(site, path).encode("utf-8")))

    tmp = Path(tempfile.mkdtemp(prefix="scrapec-economy-"))
    fixtures = tmp / "fixtures"
    export_fixtures(fixtures, per_template=3, seed=args.seed, base_url=site.base_url, rendered=True)
    labels = {url: truth[url][1] for url, _ in news_v2}
    parsers = {url: NEWS_V2_PARSER for url, _ in news_v2}
    log = print if args.verbose else None

    with KeyedScriptedLLM(labels, parsers) as server:
        llm = LLMGenerator(
            LLMConfig(
                model="openai/scripted",
                api_base=server.url + "/v1",
                api_key="test",
                cache_dir=str(tmp / "llm-cache"),  # fresh: every answer is a billed call
                backoff=0.01,
                retries=1,
            )
        )
        runtime = Runtime(
            tmp / "registry",
            state_dir=tmp / "state",
            fixtures_dir=fixtures,
            settings=RuntimeSettings(),
            llm=llm,
            log=log,
        )
        try:

            def fetch(path: str) -> tuple[str, bytes]:
                status, _, body = site.render_dom(path)
                assert status == 200, path
                return site.url(path), body

            pass1 = interleave(*([fetch(p) for p in paths[t]] for t in (SHOP, JOBS, NEWS)))
            phases = [run_phase("pass 1 (3 new templates)", runtime, server, pass1)]
            site.redesign = True
            shop_v2 = [fetch(p) for p in paths[SHOP]]
            phases.append(run_phase("redesign 1: shop, same URLs", runtime, server, shop_v2))
            phases.append(run_phase("redesign 2: news, new URLs", runtime, server, news_v2))
            generators = {}
            for template in (SHOP, JOBS, NEWS):
                info = runtime.registry.info(template)
                versions = info.data.get("versions", {})
                generators[template] = [
                    f"v{v}:{versions[v].get('generator')}"
                    for v in sorted(versions, key=lambda x: int(x))
                ]
        finally:
            runtime.close()
        server_calls = server.calls
        kinds = dict(server.kinds)
        tokens = sum(u["total_tokens"] for u in server.usages)

    # ---- report
    n_pages = sum(p.pages for p in phases)
    stats_calls = sum(p.stats["llm_calls"] for p in phases)
    print(f"LLM economy: N={n_pages} pages, K={K_TEMPLATES} templates, D={D_REDESIGNS} redesigns")
    print(f"(work dir {tmp})\n")
    head = (
        f"{'phase':<30} {'pages':>5} {'ok':>5} {'held':>4} {'rel':>4} {'quar':>4} {'lost':>4} "
        f"{'accuracy':>9} "
        f"{'compiled':>8} {'repair':>6} {'induce':>6} {'llm':>4} {'calls':>5} {'secs':>6}"
    )
    print(head)
    print("-" * len(head))
    all_correct = all_total = all_lost = 0
    for p in phases:
        correct, total, statuses = score(p.outcomes, truth)
        all_correct += correct
        all_total += total
        accuracy = f"{100 * correct / total:.1f}%" if total else "-"
        emitted = {o.url for o in p.outcomes if o.status in ("ok", "quarantined")}
        lost = len(set(p.urls) - emitted)
        all_lost += lost
        print(
            f"{p.name:<30} {p.pages:>5} {statuses['ok']:>5} {p.stats['held']:>4} "
            f"{p.stats['released']:>4} {statuses['quarantined']:>4} {lost:>4} "
            f"{accuracy:>9} {p.stats['compiled']:>8} "
            f"{p.stats['regenerated/repair']:>6} {p.stats['regenerated/induce']:>6} "
            f"{p.stats['regenerated/llm']:>4} {p.calls:>5} {p.seconds:>6.1f}"
        )
    print("-" * len(head))
    overall = f"{100 * all_correct / all_total:.1f}%" if all_total else "-"
    print(f"{'total':<30} {n_pages:>5} {'':>5} {'':>4} {'':>4} {'':>4} {all_lost:>4} {overall:>9}")
    print()
    for template, versions in generators.items():
        print(f"  {template:<20} versions {', '.join(versions)}")
    print(f"  LLM requests by kind: {kinds or 'none'}; tokens {tokens}")
    print()

    target = (K_TEMPLATES + D_REDESIGNS) * 1.5
    per_1000 = 1000 * server_calls / n_pages if n_pages else 0.0
    ratio = n_pages / server_calls if server_calls else float("inf")
    print(f"LLM calls, total (server count)        {server_calls}")
    print(f"LLM calls, total (runtime llm_calls)   {stats_calls}")
    print(f"LLM calls per 1,000 pages              {per_1000:.2f}")
    print(f"baseline: one call per page            {n_pages}")
    print(
        "baseline / ours                        "
        + (f"{ratio:.0f}x fewer calls" if server_calls else "inf (no call at all)")
    )
    checks = [
        (
            f"calls <= (K + D) x 1.5 = {target:g}",
            server_calls <= target and stats_calls <= target,
            f"{server_calls} calls",
        ),
        (
            "repairable redesign costs 0 calls",
            phases[1].calls == 0 and phases[1].stats["regenerated/repair"] >= 1,
            f"{phases[1].calls} calls, {phases[1].stats['regenerated/repair']} repairs",
        ),
        (
            "server count == runtime llm_calls",
            server_calls == stats_calls,
            f"{server_calls} vs {stats_calls}",
        ),
        ("no page lost", all_lost == 0, f"{all_lost} lost"),
    ]
    print()
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name} ({detail})")
    print(f"\nwall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
