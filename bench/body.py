"""Article bodies: the compiled parser against trafilatura, `python bench/body.py [--pages 30]`.

For each of three article layouts generated from the demo news articles (``herald``: the demo
news site as served, microdata and JSON-LD without the body; ``blog``: a WordPress-like post with
a captioned figure, share buttons and related posts inside the content, comments and widgets
around it; ``portal``: table-and-div markup, paragraphs split by ``<br><br>``, an advert and an
"Also read" link inside the text, tools, more news and comments below), as a never-seen template:

1. label the first ``--labelled`` pages (1-3) with ``main_text_labels`` (the body, trafilatura
   snapped to its container) and ``structured_labels`` (the headline: the schema requires it);
2. compile through the product's path (``crawler.compiler.compile_fixtures``: induce, the gate,
   publish to a temporary registry);
3. extract every other page with ``crawler.extract.Extractor`` (worker processes, schema and
   grounding checks) and score the body against the generator's truth: token precision, recall
   and F1 (words, lower case, as multisets; summed over pages), beside trafilatura run directly
   on the same pages; the share of pages whose body is exactly the truth (whitespace folded);
   and the time per page: the parser in process (parse only), the extractor (a worker: parse,
   schema, grounding, IPC) and trafilatura.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.compiler import compile_fixtures  # noqa: E402
from crawler.compiler.body import main_text_labels, tokens  # noqa: E402
from crawler.compiler.labels import merge_labels, structured_labels  # noqa: E402
from crawler.demo.common import esc, long_date  # noqa: E402
from crawler.demo.news import Article, Block, NewsSite, body_text  # noqa: E402
from crawler.extract import Extractor  # noqa: E402
from crawler.fixtures import Fixture, normalise  # noqa: E402
from crawler.parsing import Page  # noqa: E402
from crawler.registry import Registry  # noqa: E402
from crawler.schemas import load_schema  # noqa: E402

BASE = "http://127.0.0.1:8765"


def _block(b: Block) -> str:
    if b.kind == "ul":
        return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>\n"
    inner = esc(b.text)
    if b.link:
        inner = inner.replace(esc(b.link), f'<a href="/tag/{len(b.link)}/">{esc(b.link)}</a>', 1)
    return f"<{b.kind}>{inner}</{b.kind}>\n"


def blog_page(site: NewsSite, a: Article) -> str:
    """A WordPress-like post: the body in ``div.entry-content`` with a captioned figure, share
    buttons and related posts inside it; comments, post navigation and widgets around it."""
    others = [o for o in site.articles if o.id != a.id][a.id % 3 : a.id % 3 + 3]
    blocks = [_block(b) for b in a.body]
    blocks.insert(
        1,
        f'<figure class="wp-block-image"><img src="/wp-content/{a.id}.jpg" alt="">'
        f"<figcaption>{esc(a.caption)}</figcaption></figure>\n",
    )
    related = "".join(
        f'<div class="jp-relatedposts-post"><h4><a href="/{o.slug}/">{esc(o.headline)}</a></h4>'
        f'<p class="jp-relatedposts-post-excerpt">{esc(o.summary)}</p></div>'
        for o in others[:2]
    )
    comments = "".join(
        f'<li class="comment"><article class="comment-body"><footer class="comment-meta">'
        f'<b class="fn">{esc(who)}</b> says:</footer><div class="comment-content"><p>{esc(said)}'
        "</p></div></article></li>"
        for who, said in a.comments
    )
    recent = "".join(f'<li><a href="/{o.slug}/">{esc(o.headline)}</a></li>' for o in others)
    return (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{esc(a.headline)} – Fenland Notes</title>"
        f'<meta property="og:title" content="{esc(a.headline)}">'
        '<meta property="og:type" content="article"></head>\n<body class="single-post">'
        '<div id="page"><header id="masthead"><p class="site-title"><a href="/">Fenland Notes'
        '</a></p><nav id="site-navigation"><ul class="menu"><li><a href="/">Home</a></li>'
        '<li><a href="/about/">About</a></li><li><a href="/contact/">Contact</a></li></ul></nav>'
        '</header>\n<div id="content" class="site-content"><div id="primary" class="content-area">'
        f'<main id="main"><article id="post-{a.id}" class="post-{a.id} post type-post">'
        f'<header class="entry-header"><h1 class="entry-title">{esc(a.headline)}</h1>'
        f'<div class="entry-meta">Posted on <time>{long_date(a.published)}</time> by '
        f'<span class="author vcard">{esc(a.authors[0])}</span></div></header>\n'
        f'<div class="entry-content">\n{"".join(blocks)}'
        '<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share this:</h3><ul>'
        '<li><a class="share-twitter" href="/share/t">Twitter</a></li><li>'
        '<a class="share-facebook" href="/share/f">Facebook</a></li></ul></div>'
        '<div id="jp-relatedposts" class="jp-relatedposts"><h3 class="jp-relatedposts-headline">'
        f'<em>Related</em></h3><div class="jp-relatedposts-items">{related}</div></div>\n</div>'
        f'<footer class="entry-footer"><span class="cat-links">Posted in <a href="/c/">'
        f"{esc(a.section)}</a></span></footer></article>\n"
        f'<nav class="post-navigation"><div class="nav-previous"><a href="/{others[0].slug}/">'
        f"{esc(others[0].headline)}</a></div></nav>\n"
        f'<div id="comments" class="comments-area"><h2 class="comments-title">'
        f"{len(a.comments)} thoughts on “{esc(a.headline)}”</h2>"
        f'<ol class="comment-list">{comments}</ol><div id="respond"><h3>Leave a Reply</h3>'
        '<form action="/wp-comments-post.php" method="post"><textarea name="comment"></textarea>'
        '<input type="submit" value="Post Comment"></form></div></div>\n</main></div>'
        '<aside id="secondary" class="widget-area"><section class="widget"><h2 class="widget-title">'
        f'Recent Posts</h2><ul>{recent}</ul></section><section class="widget widget_text">'
        '<h2 class="widget-title">About</h2><div class="textwidget"><p>Fenland Notes is written by '
        "volunteers who have lived in the area for many years and care about its future.</p>"
        '</div></section></aside></div>\n<footer id="colophon"><div class="site-info">Fenland '
        "Notes, a made-up blog.</div></footer></div></body></html>\n"
    )


def portal_page(site: NewsSite, a: Article) -> str:
    """Table-and-div markup: paragraphs written in one ``div.txt`` split by ``<br><br>``, a
    subheading in bold, an advert and an "Also read" link inside the text."""
    others = [o for o in site.articles if o.id != a.id][a.id % 3 : a.id % 3 + 4]
    parts = []
    for n, b in enumerate(a.body):
        if b.kind == "h2":
            parts.append(f"<b>{esc(b.text)}</b><br><br>")
        elif b.kind == "ul":
            parts.append(_block(b))
        else:
            parts.append(_block(b)[3:-5] + "<br><br>\n")  # the paragraph without its <p>
        if n == 1:
            parts.append('<div class="ad">ADVERTISEMENT</div>\n')
        if n == 3:
            parts.append(
                f'<div class="inline-rel">Also read: <a href="/n/{others[0].id}">'
                f"{esc(others[0].headline)}</a></div>\n"
            )
    more = "<br>".join(f'<a href="/n/{o.id}">{esc(o.headline)}</a>' for o in others)
    comments = "".join(
        f'<div class="cmt"><span class="cu">{esc(who)}</span>: {esc(said)}</div>'
        for who, said in a.comments
    )
    return (
        f"<html><head><title>{esc(a.headline)} | Daily Wire Service</title>"
        f'<meta property="og:title" content="{esc(a.headline)}"></head><body>\n'
        '<table width="100%" class="top"><tr><td><a href="/">DWS</a></td><td class="nav">'
        '<a href="/news">News</a> | <a href="/sport">Sport</a> | <a href="/weather">Weather</a>'
        '</td></tr></table>\n<div class="wrap"><div class="left">'
        f'<div class="ttl">{esc(a.headline)}</div><div class="info">{long_date(a.published)}'
        f" &middot; {esc(a.authors[0])}</div>\n"
        f'<div class="txt">\n{"".join(parts)}</div>\n'
        '<div class="tools"><a href="/print">Print</a> <a href="/mail">Email</a> '
        '<a href="/share">Share</a></div>\n'
        f'<div class="more"><div class="more-h">More news</div>{more}</div>\n'
        f'<div class="cmts"><div class="cmts-h">Readers say</div>{comments}</div>\n'
        '</div><div class="right"><div class="box"><div class="box-h">Most popular</div>'
        f"{more}</div></div></div>\n"
        '<div class="foot">&copy; Daily Wire Service. All rights reserved.</div></body></html>\n'
    )


def herald_page(site: NewsSite, a: Article) -> str:
    return site.page(a)


LAYOUTS: dict[str, Callable[[NewsSite, Article], str]] = {
    "herald": herald_page,
    "blog": blog_page,
    "portal": portal_page,
}


def _url(layout: str, site: NewsSite, a: Article) -> str:
    if layout == "herald":
        return site.url(site.path(a))
    return f"{BASE}/{layout}/{a.published.year}/{a.slug}.html"


def _trafilatura(html: str, url: str) -> str | None:
    import trafilatura

    return trafilatura.extract(
        html, url=url, favor_precision=True, include_comments=False, include_tables=False
    )


class Score:
    """Token counts summed over pages: precision, recall and F1 of one extractor."""

    def __init__(self) -> None:
        self.common = self.got = self.want = self.exact = self.pages = 0

    def add(self, got: str | None, want: str) -> None:
        from collections import Counter

        have, need = Counter(tokens(got)), Counter(tokens(want))
        self.common += sum((have & need).values())
        self.got += sum(have.values())
        self.want += sum(need.values())
        self.exact += normalise(got) == normalise(want)
        self.pages += 1

    def prf(self) -> tuple[float, float, float]:
        p = self.common / self.got if self.got else 0.0
        r = self.common / self.want if self.want else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def run_layout(
    layout: str, site: NewsSite, pages: int, labelled: int, registry: Registry
) -> dict[str, Any]:
    schema = load_schema("article")
    render = LAYOUTS[layout]
    articles = site.articles[:pages]
    template = f"{layout}.bench/article"
    fixtures = []
    for a in articles[:labelled]:
        html, url = render(site, a), _url(layout, site, a)
        page = Page(html, url)
        labels = merge_labels(main_text_labels(page, schema), structured_labels(page, schema))
        if "headline" not in labels:  # the schema requires it: read from the structured data
            labels["headline"] = a.headline
        fixture_dir = Path(registry.root) / ".fixtures" / layout / str(a.id)
        fixtures.append(
            Fixture(fixture_dir, template, url, "article", labels, partial=True, source=html)
        )
    start = time.perf_counter()
    result = compile_fixtures(
        fixtures, schema, registry, template, generator="induce", partial=True, progress=None
    )
    compile_s = time.perf_counter() - start
    out: dict[str, Any] = {
        "layout": layout,
        "labelled": labelled,
        "published": result.published,
        "compile_s": compile_s,
        "body_rule": result.fields.get("body", {}).get("how", "none"),
        "missing": result.missing.get("body", ""),
        "label_exact": sum(
            normalise(f.expected.get("body")) == normalise(body_text(a.body))
            for f, a in zip(fixtures, articles, strict=False)
        ),
    }
    unseen = articles[labelled:]
    htmls = [(render(site, a), _url(layout, site, a), body_text(a.body)) for a in unseen]
    parser_score, traf_score = Score(), Score()
    parse_s = extract_s = traf_s = 0.0
    valid = 0
    if result.published:
        parser = registry.active(template)
        extractor = Extractor(registry, schema)
        for html, url, _ in htmls[:3]:  # warm the worker and the parser
            extractor.extract_page(Page(html, url), template)
        for html, url, truth in htmls:
            page = Page(html, url)
            t0 = time.perf_counter()
            parser.run(Page(html, url))
            t1 = time.perf_counter()
            got = extractor.extract_page(page, template)
            t2 = time.perf_counter()
            parse_s += t1 - t0
            extract_s += t2 - t1
            valid += got.valid
            body = got.item.get("body") if got.valid and got.item else None
            parser_score.add(body, truth)
    _trafilatura(htmls[0][0], htmls[0][1])  # imported before timing
    for html, url, truth in htmls:
        t0 = time.perf_counter()
        found = _trafilatura(html, url)
        traf_s += time.perf_counter() - t0
        traf_score.add(found, truth)
    n = max(1, len(htmls))
    out.update(
        unseen=len(htmls),
        valid=valid,
        parser=parser_score,
        trafilatura=traf_score,
        parse_ms=1000 * parse_s / n,
        extract_ms=1000 * extract_s / n,
        traf_ms=1000 * traf_s / n,
    )
    return out


def _prf(score: Score) -> str:
    return "/".join(f"{x:.3f}" for x in score.prf())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=30, help="article pages per layout")
    ap.add_argument("--labelled", type=int, default=2, help="pages labelled per layout (1-3)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--layout", action="append", choices=sorted(LAYOUTS))
    args = ap.parse_args(argv)
    if not 1 <= args.labelled <= 3 or args.pages <= args.labelled:
        ap.error("--labelled must be 1-3 and --pages more than --labelled")
    site = NewsSite(args.seed, args.pages, lambda path: BASE + path)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(Path(tmp) / "registry")
        for layout in args.layout or list(LAYOUTS):
            rows.append(run_layout(layout, site, args.pages, args.labelled, registry))
    print(
        f"article bodies: {args.pages} pages per layout, {args.labelled} labelled by "
        "main_text_labels, the rest extracted; token P/R/F1 against the truth, summed over pages"
    )
    head = (
        f"{'layout':8} {'labels=truth':>12} {'rule':>10} {'valid':>7} "
        f"{'parser P/R/F1':>20} {'exact':>7} {'trafilatura P/R/F1':>20} {'exact':>7} "
        f"{'parse ms':>9} {'extract ms':>10} {'traf ms':>8} {'compile s':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        pp, tp = r["parser"], r["trafilatura"]
        print(
            f"{r['layout']:8} {r['label_exact']:>5}/{r['labelled']:<6} {r['body_rule']:>10} "
            f"{r['valid']:>3}/{r['unseen']:<3} "
            f"{_prf(pp):>20} {pp.exact:>3}/{pp.pages:<3} "
            f"{_prf(tp):>20} {tp.exact:>3}/{tp.pages:<3} "
            f"{r['parse_ms']:>9.2f} {r['extract_ms']:>10.2f} {r['traf_ms']:>8.2f} "
            f"{r['compile_s']:>9.1f}"
        )
        if r["missing"]:
            print(f"  {r['layout']}: body left out: {r['missing']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
