"""news.demo, The Harbour Herald: semantic HTML5 with microdata, OpenGraph and JSON-LD.

An article's body is several paragraphs (a quote, a link inside a paragraph, sometimes a
subheading or a list) with boilerplate around it: share buttons before and after it, a "Read
more" box of links, tags, related stories and readers' comments. (Every value of the truth
stands in the page's visible text as one run, as the demo's tests and the crawl's render
check expect; ``bench/body.py`` adds layouts with boilerplate inside the body.) The body is
in the truth (``body``: its paragraphs, subheadings and list items, separated by blank lines),
not in the structured data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from crawler.demo.common import (
    CITIES,
    document,
    esc,
    jsonld_script,
    listing_pages,
    long_date,
    page_count,
    slugify,
)

__all__ = ["PER_PAGE", "TEMPLATE", "Article", "Block", "NewsSite", "body_text"]

TEMPLATE = "news.demo/article"
PER_PAGE = 10

_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


@dataclass(frozen=True)
class Block:
    """One block of an article body: a paragraph (``p``, with ``link`` a phrase of it that is a
    link), a subheading (``h2``) or a list (``ul``, its ``items``)."""

    kind: str
    text: str = ""
    link: str = ""
    items: tuple[str, ...] = ()

    def paragraphs(self) -> list[str]:
        """The paragraphs a reader sees: a list's items each on its own."""
        return list(self.items) if self.kind == "ul" else [self.text]


def body_text(blocks: tuple[Block, ...]) -> str:
    """The body as the truth holds it: its paragraphs separated by blank lines."""
    return "\n\n".join(p for b in blocks for p in b.paragraphs())


@dataclass(frozen=True)
class Article:
    id: int
    headline: str
    slug: str
    authors: tuple[str, ...]
    published: date
    section: str
    summary: str
    caption: str
    body: tuple[Block, ...]
    comments: tuple[tuple[str, str], ...]  # (reader, comment)


_FIRST = (
    "Amelia Oliver Isla George Ava Arthur Freya Noah Priya Ravi Chloe Tomasz Aisha Callum Niamh "
    "Hannah Ewan Sofia Mateo Grace Kwame Eleanor Rhys Zara Daniel Imogen Yusuf Harriet Owen Mei"
).split()
_LAST = (
    "Smith Patel Jones O'Connor Williams Brown Nowak Taylor Davies Evans Thomas Khan Roberts "
    "Walker Wright Robinson Thompson McKenzie Hughes Edwards Green Hall Lewis Clarke Okafor "
    "Campbell Ahmed Byrne Morgan Fitzgerald"
).split()


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


_ORGS = [
    "Saltmarsh Energy",
    "the Harbour Trust",
    "Fenwick Logistics",
    "Cobalt Ridge Software",
    "the Northern Rail Partnership",
    "Pemberton Foods",
    "the Royal Society of Tidewater",
    "Lumen Bio",
]
_HEADLINES: dict[str, list[str]] = {
    "Politics": [
        "Council in {city} approves {pct}% rise in parking charges",
        "MPs clash over plans for a new bypass near {city}",
        "{city} mayor promises {homes} new homes by 2030",
        "Voters in {city} go to the polls in tight by-election",
        "Ministers delay decision on {city} tram extension",
    ],
    "Business": [
        "{org} shares rise {pct}% after strong half-year results",
        "{city} start-up raises £{m}m to expand overseas",
        "{org} to create {n} jobs at new {city} site",
        "High street footfall in {city} falls for third month",
        "{org} agrees £{m}m takeover of regional rival",
    ],
    "Science": [
        "Researchers in {city} map {few} new species of deep-sea worm",
        "Telescope team spots comet that last passed {n} years ago",
        "Study finds bees in {city} gardens travel {pct}% further than thought",
        "{org} trial shows promise for faster wound healing",
    ],
    "Technology": [
        "{org} unveils battery that charges in {mins} minutes",
        "Broadband upgrade brings gigabit speeds to {homes} homes in {city}",
        "{city} hospital tests AI tool to cut waiting lists",
        "Cyber attack disrupts {org} services for {few} days",
    ],
    "Environment": [
        "River clean-up in {city} removes {n} tonnes of rubbish",
        "{org} pledges to plant {homes} trees by next spring",
        "Record rainfall floods roads across {city}",
        "Otters return to {city} canal after {yrs} years",
    ],
    "Health": [
        "GP surgeries in {city} to open at weekends",
        "{n} volunteers sign up for {city} blood drive",
        "New walk-in clinic cuts A&E waits in {city} by {pct}%",
    ],
    "Culture": [
        "{city} festival sells out in record {mins} minutes",
        "Lost painting found in {city} attic could fetch £{few}m",
        "Library in {city} celebrates {yrs} years since it opened",
        "Theatre company from {city} wins national award",
    ],
    "Sport": [
        "{city} United sign striker on {few}-year deal",
        "Late goal sends {city} into cup semi-final",
        "{n} runners brave the rain at {city} half marathon",
        "Swimmer from {city} breaks {yrs}-year-old club record",
    ],
}
_SUMMARIES = [
    "{who} said the change would take effect within weeks, though critics warned it had been "
    "rushed.",
    "The announcement was welcomed by local groups, who have campaigned on the issue for years.",
    "Officials said more details would follow after a public consultation in the spring.",
    "{who} described the news as a turning point, but some residents remain unconvinced.",
    "It is the latest in a series of changes that have divided opinion in the area.",
    "Supporters say the move is long overdue; opponents question how it will be paid for.",
]
_QUOTES = [
    "We have listened carefully and we think this is the right approach for {city}",
    "It is a big moment for everyone who has worked on this over the past year",
    "People deserve clear answers, and we will keep asking until we get them",
    "There is still a lot of work to do, but the direction is the right one",
    "Nobody wants to see the same mistakes made twice",
]
_MORE = [
    "In {city}, the reaction on the high street was cautious but broadly positive.",
    "{org} said it would share its figures with the council every six months.",
    "The last comparable scheme in the region took almost three years to complete.",
    "A public meeting is planned at the town hall in {city} next month.",
    "Campaigners have asked for an independent review before any money is spent.",
    "The proposals will be discussed again at the next full council meeting.",
    "Some residents said they had only learned about the plans from social media.",
    "Independent analysts expect the costs to be shared between several partners.",
]
_SUBHEADS = ["What happens next", "The background", "How people reacted", "The numbers"]
_POINTS = [
    "a consultation open to every resident",
    "quarterly progress reports",
    "a named contact at {org}",
    "an independent review after one year",
    "free advice sessions in {city} libraries",
]
_COMMENTS = [
    "About time too. I have been waiting for this for years.",
    "I will believe it when I see it, to be honest.",
    "Does anyone know whether this affects the bus routes?",
    "Great news for the area, well done to everyone involved.",
    "The consultation was badly advertised, again.",
]
_BODY = [
    "The decision follows months of discussion between local leaders and community groups.",
    "A spokesperson said the plans had been shaped by feedback from residents.",
    "Figures published last year showed the problem had grown steadily since 2019.",
    "Not everyone is convinced, and a petition against the proposals has gathered support.",
    "Experts say it is too early to judge what difference the changes will make.",
    "Further updates are expected when the full report is published later this year.",
    "Local businesses said they hoped the news would bring more visitors to the area.",
    "The group behind the plans said it would publish its progress every quarter.",
    "Similar schemes elsewhere in the country have had mixed results.",
    "Residents will be able to comment on the proposals online until the end of the month.",
    "Opposition members said they would continue to press for answers.",
    "A full breakdown of the costs has not yet been made public.",
]


def _body(rng: random.Random, sentences: list[str], fill: dict[str, Any]) -> tuple[Block, ...]:
    """An article body: two-sentence paragraphs (one with a link), a quote, a sentence or two
    about the place, sometimes a subheading and a list."""
    paras = [" ".join(sentences[k : k + 2]) for k in range(0, len(sentences), 2)]
    paras.insert(1, f"\u201c{rng.choice(_QUOTES).format(**fill)},\u201d said {_person(rng)}.")
    paras += [m.format(**fill) for m in rng.sample(_MORE, rng.randint(1, 2))]
    blocks = [Block("p", t) for t in paras]
    linked = blocks[0].text.split()
    blocks[0] = Block("p", blocks[0].text, link=" ".join(linked[1:3]).rstrip(".,"))
    if rng.random() < 0.5:
        blocks.insert(len(blocks) - 2, Block("h2", rng.choice(_SUBHEADS)))
    if rng.random() < 0.4:
        points = tuple(p.format(**fill) for p in rng.sample(_POINTS, 3))
        blocks += [Block("p", "The plans include:"), Block("ul", items=points)]
    return tuple(blocks)


def _articles(seed: int, count: int) -> list[Article]:
    rng = random.Random(f"{seed}/news.demo")
    out: list[Article] = []
    headlines: set[str] = set()
    slugs: set[str] = set()
    start = date(2026, 1, 2)
    while len(out) < count:
        section = rng.choice(sorted(_HEADLINES))
        fill = {
            "city": rng.choice(CITIES),
            "org": rng.choice(_ORGS),
            "pct": rng.randint(3, 40),
            "n": rng.choice([40, 75, 120, 250, 600, 1200]),
            "few": rng.randint(2, 5),
            "m": rng.choice([2, 4, 5, 12, 18, 40, 75]),
            "mins": rng.randint(10, 45),
            "yrs": rng.choice([12, 20, 35, 50, 100]),
            "homes": rng.choice([400, 1200, 2500, 5000]),
        }
        headline = rng.choice(_HEADLINES[section]).format(**fill)
        headline = headline[0].upper() + headline[1:]
        if headline in headlines:
            continue
        headlines.add(headline)
        authors = tuple(_person(rng) for _ in range(1 if rng.random() < 0.75 else 2))
        who = rng.choice(
            [f"{_person(rng)}, a local councillor,", f"A spokesperson for {fill['org']}"]
        )
        summary = rng.choice(_SUMMARIES).format(who=who)
        summary = summary[0].upper() + summary[1:]
        published = start + timedelta(days=rng.randint(0, 320))
        slug = slugify(headline)
        if slug in slugs:
            slug = f"{slug}-{len(out) + 1}"
        slugs.add(slug)
        sentences = rng.sample(_BODY, 2 * rng.randint(3, 5))
        body = _body(random.Random(f"{seed}/news.demo/body/{len(out) + 1}"), sentences, fill)
        extra = random.Random(f"{seed}/news.demo/comments/{len(out) + 1}")
        comments = tuple(
            (_person(extra), extra.choice(_COMMENTS)) for _ in range(extra.randint(0, 3))
        )
        out.append(
            Article(
                id=len(out) + 1,
                headline=headline,
                slug=slug,
                authors=authors,
                published=published,
                section=section,
                summary=summary,
                caption=f"{fill['city']}, photographed earlier this year.",
                body=body,
                comments=comments,
            )
        )
    return out


class NewsSite:
    """The articles of news.demo (from ``seed``), their true items and their pages; listings show
    the newest first. ``url`` makes a path absolute on the server the site is served from."""

    def __init__(self, seed: int, count: int, url: Callable[[str], str]) -> None:
        self.articles = _articles(seed, count)
        self.url = url
        self.newest = sorted(self.articles, key=lambda a: (a.published, a.id), reverse=True)
        self.details = {self.path(a): a for a in self.articles}
        self.listings = listing_pages("news", len(self.articles), PER_PAGE)

    @staticmethod
    def path(a: Article) -> str:
        return f"/news/{a.published.year}/{a.published.month:02d}/{a.slug}.html"

    def item(self, a: Article) -> dict[str, Any]:
        return {
            "headline": a.headline,
            "author": list(a.authors),
            "date_published": a.published.isoformat(),
            "section": a.section,
            "summary": a.summary,
            "body": body_text(a.body),
            "image": self.url(f"/news/img/{a.id}.png"),
        }

    _NEWS_STYLE = (
        "body{font-family:'Times New Roman',serif;margin:0 auto;max-width:50em}"
        ".standfirst{font-size:1.2em;font-weight:bold}.kicker{color:#b00;text-transform:uppercase}"
    )

    def _news_chrome(self, title: str, content: str, head: str = "") -> str:
        body = (
            '<body>\n<header class="masthead"><a class="brand" href="/news/page/1.html">The Harbour '
            'Herald</a> <nav class="sections"><a href="/news/page/1.html">Latest</a> '
            '<a href="/">All demo sites</a></nav></header>\n'
            f"{content}\n"
            '<footer class="site-footer"><p>The Harbour Herald is fictional; so is every story.</p>'
            "</footer>\n</body>"
        )
        return document(title, body, head, style=self._NEWS_STYLE)

    def _byline(self, a: Article) -> str:
        names = [f'<span class="author" itemprop="author">{esc(n)}</span>' for n in a.authors]
        return "By " + " and ".join(names)

    def page(self, a: Article) -> str:
        url = self.url(self.path(a))
        image = self.url(f"/news/img/{a.id}.png")
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": a.headline,
            "description": a.summary,
            "articleSection": a.section,
            "datePublished": a.published.isoformat(),
            "author": [{"@type": "Person", "name": n} for n in a.authors],
            "image": [image],
            "mainEntityOfPage": url,
            "publisher": {"@type": "Organization", "name": "The Harbour Herald"},
        }
        head = (
            f'<meta name="description" content="{esc(a.summary)}">\n'
            f'<meta property="og:type" content="article">\n'
            f'<meta property="og:title" content="{esc(a.headline)}">\n'
            f'<meta property="og:image" content="{esc(image)}">\n'
            f'<link rel="canonical" href="{esc(url)}">\n{jsonld_script(ld)}'
        )
        weekday = _WEEKDAYS[a.published.weekday()]
        others = [o for o in self.newest if o.id != a.id][a.id % 7 : a.id % 7 + 4]
        most_read = "".join(
            f'<li><a href="{self.path(o)}">{esc(o.headline)}</a></li>' for o in others
        )
        body = "".join(self._block(b) for b in a.body)
        read_more = "".join(
            f'<li><a href="{self.path(o)}">{esc(o.headline)}</a></li>' for o in others[:2]
        )
        share = (
            '<div class="share-tools"><span class="share-label">Share this story</span> '
            f'<a class="share" href="https://facebook.example/share?u={esc(url)}">Facebook</a> '
            f'<a class="share" href="https://x.example/intent?u={esc(url)}">X</a> '
            '<a class="share" href="mailto:?subject=The%20Harbour%20Herald">Email</a> '
            '<button type="button" class="copy-link">Copy link</button></div>\n'
        )
        related = "".join(
            f'<li><a href="{self.path(o)}">{esc(o.headline)}</a> '
            f'<time datetime="{o.published.isoformat()}">{long_date(o.published)}</time></li>'
            for o in others[2:]
        )
        comments = "".join(
            f'<li class="comment"><p class="comment-author">{esc(who)}</p>'
            f'<p class="comment-text">{esc(said)}</p></li>'
            for who, said in a.comments
        )
        talk = (
            f'<section class="comments" id="comments"><h2>Comments ({len(a.comments)})</h2>'
            f'<ol class="comment-list">{comments}</ol>'
            '<form class="comment-form" action="/news/comment" method="post">'
            '<label>Your comment <textarea name="comment"></textarea></label> '
            '<button type="submit">Post comment</button></form></section>\n'
        )
        content = (
            '<main class="layout">\n'
            '<article class="story" itemscope itemtype="https://schema.org/NewsArticle">\n'
            '<header class="story-header">\n'
            f'<p class="kicker"><span itemprop="articleSection">{esc(a.section)}</span></p>\n'
            f'<h1 itemprop="headline">{esc(a.headline)}</h1>\n'
            f'<p class="standfirst">{esc(a.summary)}</p>\n'
            f'<p class="byline">{self._byline(a)}</p>\n'
            f'<p class="dateline"><time datetime="{a.published.isoformat()}" '
            f'itemprop="datePublished">{weekday} {long_date(a.published)}</time></p>\n'
            "</header>\n"
            f'<figure class="lead-image"><img src="/news/img/{a.id}.png" alt="{esc(a.caption)}" '
            f'itemprop="image"><figcaption>{esc(a.caption)}</figcaption></figure>\n'
            f"{share}"
            f'<div class="story-body" itemprop="articleBody">\n{body}</div>\n'
            f'<aside class="read-more"><h3>Read more</h3><ul>{read_more}</ul></aside>\n'
            f'<ul class="tags"><li><a href="/news/page/1.html">{esc(a.section)}</a></li>'
            '<li><a href="/news/page/1.html">Local news</a></li></ul>\n'
            f"{share}"
            "</article>\n"
            f'<section class="related"><h2>Related stories</h2><ul>{related}</ul></section>\n'
            f"{talk}"
            f'<aside class="most-read"><h2>Most read</h2><ol>{most_read}</ol></aside>\n</main>'
        )
        return self._news_chrome(f"{a.headline} | The Harbour Herald", content, head)

    @staticmethod
    def _block(b: Block) -> str:
        if b.kind == "ul":
            return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>\n"
        inner = esc(b.text)
        if b.link:
            inner = inner.replace(esc(b.link), f'<a href="/news/page/1.html">{esc(b.link)}</a>', 1)
        return f"<{b.kind}>{inner}</{b.kind}>\n"

    def listing(self, n: int) -> str:
        total = page_count(len(self.articles), PER_PAGE)
        chunk = self.newest[(n - 1) * PER_PAGE : n * PER_PAGE]
        items = "".join(
            f'<li class="story-item"><article><h2><a href="{self.path(a)}">'
            f"{esc(a.headline)}</a></h2>"
            f'<p class="teaser">{esc(a.summary)}</p>'
            f'<time datetime="{a.published.isoformat()}">{long_date(a.published)}</time>'
            "</article></li>\n"
            for a in chunk
        )
        nav = '<nav class="pagination">'
        if n > 1:
            nav += f'<a rel="prev" href="/news/page/{n - 1}.html">Newer stories</a> '
        if n < total:
            nav += f'<a rel="next" href="/news/page/{n + 1}.html">Older stories</a>'
        nav += "</nav>"
        content = (
            f'<main class="layout">\n<h1>Latest news</h1>\n<ul class="story-list">\n{items}</ul>\n'
            f"{nav}\n</main>"
        )
        return self._news_chrome(f"Latest news, page {n} | The Harbour Herald", content)
