"""The demo site: three made-up sites generated from a seed, with the true item of every page.

One :class:`DemoSite` serves every page of ``shop.demo`` (a shop, class-based markup, JSON-LD on
about half the products), ``jobs.demo`` (a job board whose detail pages are built by JavaScript)
and ``news.demo`` (semantic HTML5, microdata and JSON-LD) under the path prefixes ``/shop/``,
``/jobs/`` and ``/news/``. Nothing is random at serve time: the same seed gives the same bytes.

>>> site = DemoSite(seed=7)
>>> status, ctype, body = site.render("/shop/product/1.html")
>>> template, item = site.truth("/shop/product/1.html")
>>> template, item["currency"]
('shop.demo/product', 'GBP')
>>> site.redesign = True          # same data and URLs, different markup for shop.demo
"""

from __future__ import annotations

import base64
import html
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_BASE_URL",
    "JS_RENDERED",
    "REDESIGNED",
    "TEMPLATES",
    "DemoSite",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8765"
#: template id -> schema name
TEMPLATES: dict[str, str] = {
    "shop.demo/product": "product",
    "jobs.demo/job": "job_posting",
    "news.demo/article": "article",
}
#: templates whose detail pages are built by JavaScript in the browser
JS_RENDERED = frozenset({"jobs.demo/job"})
#: templates whose markup changes when ``DemoSite.redesign`` is on
REDESIGNED = frozenset({"shop.demo/product"})

HTML_TYPE = "text/html; charset=utf-8"
PNG_TYPE = "image/png"
# a valid 1x1 PNG, served for every product and article image
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

SHOP_PER_PAGE = 12
JOBS_PER_PAGE = 15
NEWS_PER_PAGE = 10

_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _long_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _money(value: float) -> str:
    return f"£{value:,.2f}"


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower().replace("'", "")).strip("-")


def _script_json(data: Any) -> str:
    """JSON safe to put inside a ``<script>`` element."""
    return json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


# --------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    series: str
    kind: str
    category: str
    colour: str
    brand: str
    sku: str
    price: float
    description: str
    availability: str
    rating: float | None
    reviews: int
    weight: str
    jsonld: bool


@dataclass(frozen=True)
class Job:
    id: int
    title: str
    company: str
    location: str
    employment_type: str
    salary_min: float | None
    salary_max: float | None
    salary_text: str
    posted: date
    closes: date
    reference: str
    paragraphs: tuple[str, ...]

    @property
    def description(self) -> str:
        return " ".join(self.paragraphs)


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
    body: tuple[str, ...]


_FIRST = (
    "Amelia Oliver Isla George Ava Arthur Freya Noah Priya Ravi Chloe Tomasz Aisha Callum Niamh "
    "Hannah Ewan Sofia Mateo Grace Kwame Eleanor Rhys Zara Daniel Imogen Yusuf Harriet Owen Mei"
).split()
_LAST = (
    "Smith Patel Jones O'Connor Williams Brown Nowak Taylor Davies Evans Thomas Khan Roberts "
    "Walker Wright Robinson Thompson McKenzie Hughes Edwards Green Hall Lewis Clarke Okafor "
    "Campbell Ahmed Byrne Morgan Fitzgerald"
).split()
_CITIES = (
    "London",
    "Leeds",
    "Manchester",
    "Bristol",
    "Edinburgh",
    "Glasgow",
    "Cardiff",
    "Birmingham",
    "Newcastle upon Tyne",
    "Nottingham",
    "Belfast",
    "Sheffield",
    "Brighton",
    "York",
)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


# shop -----------------------------------------------------------------------------------------

_BRANDS = {
    "Halden": "HAL",
    "Norrvik": "NRV",
    "Brightwell": "BRW",
    "Oakmere": "OAK",
    "Kessler & Finch": "KSF",
    "Lumo": "LMO",
    "Tideway": "TDW",
    "Ashgrove": "ASG",
    "Penrose": "PNR",
    "Vantor": "VNT",
}
_KINDS: dict[str, list[tuple[str, int, int]]] = {
    "Kitchen": [
        ("Cordless Kettle", 24, 89),
        ("Cast Iron Casserole Dish", 39, 179),
        ("Chef's Knife", 19, 129),
        ("Burr Coffee Grinder", 35, 249),
        ("Stand Mixer", 149, 549),
        ("Two-Slice Toaster", 25, 119),
        ("Espresso Machine", 199, 1299),
        ("Glass Storage Jar Set", 12, 45),
    ],
    "Home": [
        ("Linen Duvet Cover", 45, 180),
        ("Merino Wool Throw", 49, 159),
        ("Ceramic Table Lamp", 39, 149),
        ("Stoneware Vase", 15, 69),
        ("Oak Wall Clock", 29, 99),
        ("Cotton Bath Towel Set", 18, 79),
    ],
    "Outdoor": [
        ("Folding Camping Chair", 24, 99),
        ("Insulated Water Bottle", 12, 39),
        ("Solar Garden Lantern", 9, 49),
        ("Two-Person Tent", 79, 399),
        ("Walking Rucksack", 39, 149),
    ],
    "Electronics": [
        ("Bluetooth Speaker", 29, 249),
        ("Wireless Earbuds", 39, 229),
        ("USB-C Charger", 12, 59),
        ("Smart Plug", 9, 29),
        ("Noise-Cancelling Headphones", 89, 379),
        ("27-inch 4K Monitor", 229, 1099),
    ],
}
_SERIES = "Aster Fjord Harbour Linden Orla Marlow Sable Juniper Cove Ridge Wren Alder".split()
_COLOURS = [
    "Slate Grey",
    "Sage Green",
    "Oatmeal",
    "Midnight Blue",
    "Terracotta",
    "Chalk White",
    "Charcoal",
    "Mustard",
]
_OPENERS = [
    "is designed to last for years of everyday use",
    "combines a clean, understated look with practical details",
    "brings reliable performance to busy households",
    "was developed with feedback from hundreds of customers",
    "is the best-selling model in its range",
    "pairs thoughtful design with honest materials",
]
_FEATURES = {
    "Kitchen": [
        "Dishwasher-safe parts make cleaning up quick.",
        "The brushed finish resists fingerprints and water marks.",
        "A wide base keeps it steady on any worktop.",
        "Heat-resistant handles stay cool to the touch.",
    ],
    "Home": [
        "Made from responsibly sourced materials.",
        "It is machine washable at 40 °C.",
        "The soft, textured finish works in any room.",
        "Each piece is finished by hand, so no two are quite the same.",
    ],
    "Outdoor": [
        "It packs down small and weighs less than you would expect.",
        "Weatherproof seams keep the elements out.",
        "Reinforced stitching copes with years of rough use.",
        "Reflective details help you stay visible after dark.",
    ],
    "Electronics": [
        "Battery life of up to 30 hours on a single charge.",
        "Set-up takes less than two minutes with the free app.",
        "Firmware updates arrive automatically over Wi-Fi.",
        "The recycled-plastic casing feels solid and well made.",
    ],
}
_CLOSERS = [
    "Comes with a two-year guarantee.",
    "Supplied in plastic-free packaging.",
    "Free UK delivery on orders over £40.",
    "Backed by our 30-day no-quibble returns policy.",
    "Spare parts are available for at least five years.",
]


def _products(seed: int, count: int) -> list[Product]:
    rng = random.Random(f"{seed}/shop.demo")
    names: set[str] = set()
    skus: set[str] = set()
    out: list[Product] = []
    pid = 1
    while len(out) < count:
        category = rng.choice(sorted(_KINDS))
        kind, low, high = rng.choice(_KINDS[category])
        series, colour = rng.choice(_SERIES), rng.choice(_COLOURS)
        name = f"{series} {kind}, {colour}"
        if name in names:
            continue
        names.add(name)
        brand = rng.choice(sorted(_BRANDS))
        sku = f"{_BRANDS[brand]}-{rng.randint(10000, 99999)}"
        while sku in skus:
            sku = f"{_BRANDS[brand]}-{rng.randint(10000, 99999)}"
        skus.add(sku)
        pence = rng.choice([99, 99, 99, 49, 95, 0])
        price = round(rng.randint(low, high) + pence / 100, 2)
        features = rng.sample(_FEATURES[category], rng.randint(1, 2))
        description = " ".join(
            [
                f"The {series} {kind} from {brand} {rng.choice(_OPENERS)}.",
                *features,
                rng.choice(_CLOSERS),
            ]
        )
        stock = _pick(rng, [("In stock", 60), ("few", 15), ("Out of stock", 15), ("Pre-order", 10)])
        if stock == "few":
            stock = f"Only {rng.randint(2, 5)} left in stock"
        rating: float | None = None
        reviews = 0
        if rng.random() < 0.85:
            rating = round(rng.uniform(2.8, 5.0), 1)
            reviews = rng.randint(3, 480)
        weight = f"{rng.uniform(0.1, 9.5):.1f} kg"
        out.append(
            Product(
                id=pid,
                name=name,
                series=series,
                kind=kind,
                category=category,
                colour=colour,
                brand=brand,
                sku=sku,
                price=price,
                description=description,
                availability=stock,
                rating=rating,
                reviews=reviews,
                weight=weight,
                jsonld=rng.random() < 0.5,
            )
        )
        pid += 1
    return out


# jobs -----------------------------------------------------------------------------------------

_COMPANIES = [
    "Northwind Analytics",
    "Bramble & Hart LLP",
    "Cobalt Ridge Software",
    "Fenwick Logistics",
    "Harrow Vale Council",
    "Lumen Bio",
    "Pemberton Foods",
    "Saltmarsh Energy",
    "Tarn Studio",
    "Wexford Insurance Group",
    "Orchard Lane Schools Trust",
    "Greyfriars Consulting",
    "St Aidan's Hospital Trust",
]
_TITLES = [
    ("Senior Data Engineer", 55000, 85000),
    ("Junior Frontend Developer", 26000, 36000),
    ("Site Reliability Engineer", 50000, 80000),
    ("UX Researcher", 38000, 60000),
    ("Payroll Administrator", 24000, 31000),
    ("Finance Business Partner", 45000, 65000),
    ("Marketing Manager", 38000, 58000),
    ("Registered Nurse", 28000, 42000),
    ("Customer Service Advisor", 21000, 25000),
    ("Warehouse Operative", 21000, 26000),
    ("Electrician", 32000, 45000),
    ("Teaching Assistant", 19000, 24000),
    ("Project Manager", 42000, 65000),
    ("HGV Class 1 Driver", 34000, 45000),
    ("Sous Chef", 26000, 33000),
    ("Employment Solicitor", 48000, 85000),
    ("Data Analyst", 30000, 48000),
    ("Office Manager", 27000, 36000),
]
_DUTIES = [
    "work closely with colleagues across the business",
    "take ownership of day-to-day priorities",
    "help us improve the way we work",
    "support and mentor new starters",
    "keep accurate records and reports",
    "report progress to the team lead each week",
    "build strong relationships with customers",
    "solve problems calmly under pressure",
]
_BENEFITS = [
    "a generous pension scheme",
    "flexible working hours",
    "private medical insurance",
    "a cycle-to-work scheme",
    "paid volunteering days",
    "an annual training budget",
    "free on-site parking",
]


def _jobs(seed: int, count: int) -> list[Job]:
    rng = random.Random(f"{seed}/jobs.demo")
    out: list[Job] = []
    start = date(2026, 1, 5)
    for n in range(count):
        title, low, high = rng.choice(_TITLES)
        company = rng.choice(_COMPANIES)
        city = rng.choice(_CITIES)
        where = _pick(rng, [("office", 50), ("hybrid", 35), ("remote", 15)])
        location = {"office": city, "hybrid": f"{city} (Hybrid)", "remote": "Remote (UK)"}[where]
        kind = _pick(
            rng,
            [("Full-time", 55), ("Part-time", 15), ("Contract", 15), ("Temporary", 10), ("x", 5)],
        )
        if kind == "x":
            kind = "Permanent"
        base = rng.randint(low // 500, high // 500) * 500
        top = base + rng.randint(4, 24) * 500
        salary_min: float | None
        salary_max: float | None
        if rng.random() < 0.15:
            salary_min = salary_max = None
            salary_text = rng.choice(
                ["Competitive", "Salary negotiable", "Depending on experience"]
            )
        elif kind == "Contract":
            salary_min = round(base / 220 * 1.6 / 25) * 25
            salary_max = salary_min + rng.randint(2, 8) * 25
            salary_text = f"£{salary_min:,} – £{salary_max:,} a day"
        elif kind == "Temporary":
            salary_min = round(base / 1650 * 4) / 4
            salary_max = salary_min + rng.randint(1, 8) * 0.25
            salary_text = f"{_money(salary_min)} – {_money(salary_max)} an hour"
        else:
            salary_min, salary_max = base, top
            salary_text = f"£{base:,} – £{top:,} a year"
            if kind == "Part-time":
                salary_text += ", pro rata"
        posted = start + timedelta(days=rng.randint(0, 300))
        closes = posted + timedelta(days=rng.choice([14, 21, 28, 30]))
        jid = 3001 + n
        initials = "".join(w[0] for w in company.split() if w[0].isalpha())[:3].upper()
        city_phrase = "our remote team" if where == "remote" else f"our team in {city}"
        article = "an" if title.startswith(("A", "E", "I", "O", "HGV")) else "a"
        duties = rng.sample(_DUTIES, 3)
        perks = rng.sample(_BENEFITS, 2)
        paragraphs = (
            f"{company} is looking for {article} {title} to join {city_phrase}. "
            f"This is a {kind.lower()} role starting as soon as possible.",
            f"In this role you will {duties[0]}, {duties[1]} and {duties[2]}. "
            f"Experience in a similar position is helpful but not essential.",
            f"We offer {perks[0]}, {perks[1]} and {rng.choice([25, 26, 28, 30])} days of annual "
            "leave plus bank holidays.",
        )
        out.append(
            Job(
                id=jid,
                title=title,
                company=company,
                location=location,
                employment_type=kind,
                salary_min=salary_min,
                salary_max=salary_max,
                salary_text=salary_text,
                posted=posted,
                closes=closes,
                reference=f"{initials}-{jid}",
                paragraphs=paragraphs,
            )
        )
    return out


# news -----------------------------------------------------------------------------------------

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


def _articles(seed: int, count: int) -> list[Article]:
    rng = random.Random(f"{seed}/news.demo")
    out: list[Article] = []
    headlines: set[str] = set()
    slugs: set[str] = set()
    start = date(2026, 1, 2)
    while len(out) < count:
        section = rng.choice(sorted(_HEADLINES))
        fill = {
            "city": rng.choice(_CITIES),
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
        slug = _slug(headline)
        if slug in slugs:
            slug = f"{slug}-{len(out) + 1}"
        slugs.add(slug)
        sentences = rng.sample(_BODY, 2 * rng.randint(3, 5))
        body = tuple(" ".join(sentences[k : k + 2]) for k in range(0, len(sentences), 2))
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
            )
        )
    return out


# ---------------------------------------------------------------------------------- the site


class DemoSite:
    """Every page of the three demo sites, and the true item of every detail page.

    ``base_url`` is where the site is served (the server sets it); absolute URLs in true items and
    in JSON-LD use it. ``redesign`` switches ``shop.demo`` to its second layout and may be flipped
    at any time: the data and the URLs stay the same.
    """

    def __init__(
        self,
        seed: int = 7,
        redesign: bool = False,
        base_url: str = DEFAULT_BASE_URL,
        products: int = 120,
        jobs: int = 90,
        articles: int = 90,
    ) -> None:
        self.seed = seed
        self.redesign = redesign
        self.base_url = base_url.rstrip("/")
        self.products = _products(seed, products)
        self.jobs = _jobs(seed, jobs)
        self.articles = _articles(seed, articles)
        self._jobs_newest = sorted(self.jobs, key=lambda j: (j.posted, j.id), reverse=True)
        self._news_newest = sorted(self.articles, key=lambda a: (a.published, a.id), reverse=True)
        self._details: dict[str, tuple[str, Product | Job | Article]] = {}
        for p in self.products:
            self._details[self._product_path(p)] = ("shop.demo/product", p)
        for j in self.jobs:
            self._details[self._job_path(j)] = ("jobs.demo/job", j)
        for a in self.articles:
            self._details[self._article_path(a)] = ("news.demo/article", a)
        self._listings: dict[str, Callable[[], str]] = {"/": self._home}
        for n in range(1, self._pages(len(self.products), SHOP_PER_PAGE) + 1):
            self._listings[f"/shop/page/{n}.html"] = partial(self._shop_listing, n)
        for n in range(1, self._pages(len(self.jobs), JOBS_PER_PAGE) + 1):
            self._listings[f"/jobs/page/{n}.html"] = partial(self._jobs_listing, n)
        for n in range(1, self._pages(len(self.articles), NEWS_PER_PAGE) + 1):
            self._listings[f"/news/page/{n}.html"] = partial(self._news_listing, n)

    # ---- public API

    def templates(self) -> dict[str, str]:
        """Template id -> schema name."""
        return dict(TEMPLATES)

    def detail_paths(self, template: str) -> list[str]:
        """The paths of the detail pages of one template, in id order."""
        if template not in TEMPLATES:
            raise ValueError(f"unknown demo template {template!r}; known: {sorted(TEMPLATES)}")
        return [path for path, (t, _) in self._details.items() if t == template]

    def listing_paths(self) -> list[str]:
        """The home page and every listing page."""
        return list(self._listings)

    def all_paths(self) -> list[str]:
        """Every HTML page: the home page, the listings and the detail pages."""
        return [*self._listings, *self._details]

    def url(self, path: str) -> str:
        """The absolute URL of a path on this site."""
        return self.base_url + path

    def truth(self, url_or_path: str) -> tuple[str, dict[str, Any]] | None:
        """(template id, true item) of a detail page, or None when it is not one."""
        found = self._details.get(urlsplit(url_or_path).path or "/")
        if found is None:
            return None
        template, obj = found
        if isinstance(obj, Product):
            return template, self._product_item(obj)
        if isinstance(obj, Job):
            return template, self._job_item(obj)
        return template, self._article_item(obj)

    def render(self, path: str) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) of a path as the server sends it."""
        path = urlsplit(path).path or "/"
        found = self._details.get(path)
        if found is not None:
            obj = found[1]
            if isinstance(obj, Product):
                page = self._product_v2(obj) if self.redesign else self._product_v1(obj)
            elif isinstance(obj, Job):
                page = self._job_page(obj, rendered=False)
            else:
                page = self._article_page(obj)
            return 200, HTML_TYPE, page.encode("utf-8")
        listing = self._listings.get(path)
        if listing is not None:
            return 200, HTML_TYPE, listing().encode("utf-8")
        if re.fullmatch(r"/(shop|news)/img/\d+\.png", path):
            return 200, PNG_TYPE, _PNG
        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n"
        return 404, HTML_TYPE, self._not_found(path).encode("utf-8")

    def render_dom(self, path: str) -> tuple[int, str, bytes]:
        """Like :meth:`render`, but the document as a browser has it after the page's scripts ran.

        Only ``jobs.demo/job`` pages differ: this mirrors what their inline script builds.
        """
        found = self._details.get(urlsplit(path).path or "/")
        if found is not None and isinstance(found[1], Job):
            return 200, HTML_TYPE, self._job_page(found[1], rendered=True).encode("utf-8")
        return self.render(path)

    # ---- paths and items

    @staticmethod
    def _pages(count: int, per_page: int) -> int:
        return max(1, -(-count // per_page))

    @staticmethod
    def _product_path(p: Product) -> str:
        return f"/shop/product/{p.id}.html"

    @staticmethod
    def _job_path(j: Job) -> str:
        return f"/jobs/job/{j.id}-{_slug(j.title)}.html"

    @staticmethod
    def _article_path(a: Article) -> str:
        return f"/news/{a.published.year}/{a.published.month:02d}/{a.slug}.html"

    def _product_item(self, p: Product) -> dict[str, Any]:
        item: dict[str, Any] = {
            "name": p.name,
            "price": p.price,
            "currency": "GBP",
            "sku": p.sku,
            "brand": p.brand,
            "description": p.description,
            "image": self.url(f"/shop/img/{p.id}.png"),
            "availability": p.availability,
        }
        if p.rating is not None:
            item["rating"] = p.rating
        return item

    def _job_item(self, j: Job) -> dict[str, Any]:
        item: dict[str, Any] = {
            "title": j.title,
            "company": j.company,
            "location": j.location,
            "employment_type": j.employment_type,
            "date_posted": j.posted.isoformat(),
            "description": j.description,
        }
        if j.salary_min is not None and j.salary_max is not None:
            item["salary_min"] = j.salary_min
            item["salary_max"] = j.salary_max
        return item

    def _article_item(self, a: Article) -> dict[str, Any]:
        return {
            "headline": a.headline,
            "author": list(a.authors),
            "date_published": a.published.isoformat(),
            "section": a.section,
            "summary": a.summary,
            "image": self.url(f"/news/img/{a.id}.png"),
        }

    # ---- shared page parts

    @staticmethod
    def _doc(title: str, body: str, head: str = "", lang: str = "en-GB", style: str = "") -> str:
        return (
            f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)}</title>\n{head}"
            f"<style>{style}</style>\n</head>\n{body}\n</html>\n"
        )

    @staticmethod
    def _jsonld(data: dict[str, Any]) -> str:
        return f'<script type="application/ld+json">\n{_script_json(data)}\n</script>\n'

    def _home(self) -> str:
        body = (
            "<body>\n<h1>scrapec demo sites</h1>\n<p>Three made-up sites, generated from seed "
            f"{self.seed}. Every page is fictional.</p>\n<ul>\n"
            '<li><a href="/shop/page/1.html">Halden Home Store</a> (shop.demo)</li>\n'
            '<li><a href="/jobs/page/1.html">Workwise jobs</a> (jobs.demo)</li>\n'
            '<li><a href="/news/page/1.html">The Harbour Herald</a> (news.demo)</li>\n'
            "</ul>\n</body>"
        )
        return self._doc("scrapec demo sites", body, style="body{font-family:sans-serif}")

    def _not_found(self, path: str) -> str:
        body = (
            f"<body>\n<h1>Page not found</h1>\n<p>Nothing lives at <code>{_e(path)}</code>.</p>\n"
            '<p><a href="/">Back to the demo sites</a></p>\n</body>'
        )
        return self._doc("Not found", body)

    # ---- shop.demo

    @staticmethod
    def _stars(rating: float) -> str:
        full = int(rating + 0.5)
        return "★" * full + "☆" * (5 - full)

    def _related(self, p: Product) -> list[Product]:
        n = len(self.products)
        return [self.products[(p.id - 1 + k * 7) % n] for k in (1, 2, 3, 4)]

    def _product_jsonld(self, p: Product) -> str:
        if not p.jsonld:
            return ""
        stock = {"Out of stock": "OutOfStock", "Pre-order": "PreOrder"}.get(
            p.availability, "InStock"
        )
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": p.name,
            "sku": p.sku,
            "brand": {"@type": "Brand", "name": p.brand},
            "description": p.description,
            "image": self.url(f"/shop/img/{p.id}.png"),
            "offers": {
                "@type": "Offer",
                "price": f"{p.price:.2f}",
                "priceCurrency": "GBP",
                "availability": f"https://schema.org/{stock}",
                "url": self.url(self._product_path(p)),
            },
        }
        if p.rating is not None:
            data["aggregateRating"] = {
                "@type": "AggregateRating",
                "ratingValue": p.rating,
                "reviewCount": p.reviews,
            }
        return self._jsonld(data)

    def _specs(self, p: Product) -> list[tuple[str, str]]:
        return [
            ("SKU", p.sku),
            ("Brand", p.brand),
            ("Category", p.category),
            ("Colour", p.colour),
            ("Weight", p.weight),
        ]

    _V1_STYLE = (
        "body{font-family:Georgia,serif;margin:0}#header{background:#2d3b36;color:#fff;padding:1em}"
        "#header a{color:#fff}.product-page{display:grid;grid-template-columns:1fr 1fr;gap:2em;"
        "padding:1em}.price{font-size:1.6em;color:#2d6a4f}table.specs th{text-align:left}"
    )
    _V2_STYLE = (
        "body.theme-2026{font-family:system-ui,sans-serif;margin:0;background:#fafafa}"
        ".site-header{background:#111;color:#eee;padding:.5rem 1rem}.site-header a{color:#eee}"
        ".pdp{display:flex;flex-wrap:wrap;gap:2rem}.pdp-amount{font-weight:700;font-size:2rem}"
    )

    def _v1_chrome(self, title: str, content: str, head: str = "") -> str:
        body = (
            '<body>\n<div id="header">\n<a class="logo" href="/shop/page/1.html">Halden Home Store'
            '</a>\n<ul class="nav"><li><a href="/shop/page/1.html">Catalogue</a></li>'
            '<li><a href="/">All demo sites</a></li></ul>\n</div>\n'
            f'<div id="content">\n{content}</div>\n'
            '<div id="footer"><p>&copy; 2026 Halden Home Store. Prices include VAT.</p></div>\n'
            "</body>"
        )
        return self._doc(title, body, head, style=self._V1_STYLE)

    def _v2_chrome(self, title: str, content: str, head: str = "") -> str:
        body = (
            '<body class="theme-2026">\n<header class="site-header" id="top">'
            '<div class="site-header__inner"><a class="site-header__logo" href="/shop/page/1.html">'
            'Halden Home</a>\n<nav class="site-nav" aria-label="Main"><a href="/shop/page/1.html">'
            'Shop all</a> <a href="/">All demo sites</a></nav></div></header>\n'
            f'<main id="main-content">\n<div class="container">\n{content}</div>\n</main>\n'
            '<footer class="site-footer"><small>Halden Home Store &middot; all prices include VAT'
            "</small></footer>\n</body>"
        )
        return self._doc(title, body, head, style=self._V2_STYLE)

    def _product_v1(self, p: Product) -> str:
        img = f"/shop/img/{p.id}.png"
        if p.rating is not None:
            rating = (
                f'<div class="rating"><span class="stars">{self._stars(p.rating)}</span> '
                f'<span class="rating-value">{p.rating}</span> out of 5 '
                f'<span class="review-count">({p.reviews} reviews)</span></div>'
            )
        else:
            rating = '<div class="rating no-reviews">No reviews yet</div>'
        stock_class = "out-of-stock" if p.availability == "Out of stock" else "in-stock"
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in self._specs(p))
        related = "".join(
            f'<li><a href="{self._product_path(r)}">{_e(r.name)}</a> '
            f'<span class="related-price">{_money(r.price)}</span></li>'
            for r in self._related(p)
        )
        content = (
            '<ul class="breadcrumb"><li><a href="/shop/page/1.html">Catalogue</a></li>'
            f'<li class="active">{_e(p.category)}</li></ul>\n'
            f'<div class="product-page">\n<div class="product-gallery"><img class="product-image" '
            f'src="{img}" alt="{_e(p.name)}" width="400" height="400"></div>\n'
            f'<div class="product-main">\n<h1>{_e(p.name)}</h1>\n'
            f'<p class="price">{_money(p.price)}</p>\n'
            f'<p class="availability {stock_class}">{_e(p.availability)}</p>\n{rating}\n'
            '<form class="add-to-basket" action="/shop/page/1.html" method="get">'
            '<button type="submit">Add to basket</button></form>\n</div>\n'
            f'<div class="product-description">\n<h2>Description</h2>\n<p>{_e(p.description)}</p>\n'
            f'</div>\n<h2>Specifications</h2>\n<table class="specs">{rows}</table>\n</div>\n'
            f'<div class="related"><h2>You may also like</h2><ul>{related}</ul></div>\n'
        )
        return self._v1_chrome(f"{p.name} | Halden Home Store", content, self._product_jsonld(p))

    def _product_v2(self, p: Product) -> str:
        img = f"/shop/img/{p.id}.png"
        if p.rating is not None:
            reviews = (
                f'<div class="pdp-reviews" aria-label="{self._stars(p.rating)}">Rated '
                f"<strong>{p.rating}</strong>/5 &middot; {p.reviews} reviews</div>"
            )
        else:
            reviews = '<div class="pdp-reviews pdp-reviews--empty">Be the first to review</div>'
        facts = "".join(
            f'<li><span class="pdp-fact-label">{_e(k)}:</span> {_e(v)}</li>'
            for k, v in self._specs(p)
        )
        carousel = "".join(
            f'<a class="carousel-item" href="{self._product_path(r)}"><span>{_e(r.name)}</span> '
            f"<b>{_money(r.price)}</b></a>"
            for r in self._related(p)
        )
        content = (
            '<nav class="crumbs" aria-label="Breadcrumb"><ol><li><a href="/shop/page/1.html">Shop'
            f'</a></li><li aria-current="page">{_e(p.category)}</li></ol></nav>\n'
            f'<div class="pdp-layout">\n<section class="pdp" data-product-id="{p.id}">\n'
            f'<div class="pdp-media"><figure class="pdp-figure"><img class="pdp-photo" src="{img}" '
            f'alt="{_e(p.name)}" loading="lazy"></figure></div>\n<div class="pdp-details">\n'
            f'<div class="pdp-heading"><h1 class="pdp-name">{_e(p.name)}</h1></div>\n{reviews}\n'
            f'<div class="pdp-copy"><p>{_e(p.description)}</p></div>\n'
            '<div class="pdp-buybox">\n'
            f'<div class="pdp-price-row"><span class="pdp-amount">{_money(p.price)}</span> '
            "<small>inc. VAT</small></div>\n"
            f'<div class="pdp-stock">{_e(p.availability)}</div>\n'
            '<button type="button" class="btn btn-primary">Add to basket</button>\n</div>\n'
            f'<ul class="pdp-facts">{facts}</ul>\n</div>\n</section>\n'
            '<section class="carousel"><h2>Customers also viewed</h2>'
            f'<div class="carousel-track">{carousel}</div></section>\n</div>\n'
        )
        return self._v2_chrome(f"{p.name} – Halden Home", content, self._product_jsonld(p))

    def _shop_listing(self, n: int) -> str:
        total = self._pages(len(self.products), SHOP_PER_PAGE)
        chunk = self.products[(n - 1) * SHOP_PER_PAGE : n * SHOP_PER_PAGE]
        first = (n - 1) * SHOP_PER_PAGE + 1
        last = first + len(chunk) - 1
        prev_href = f"/shop/page/{n - 1}.html" if n > 1 else None
        next_href = f"/shop/page/{n + 1}.html" if n < total else None
        head = f'<link rel="next" href="{next_href}">\n' if next_href else ""
        if not self.redesign:
            cards = "".join(
                f'<li class="product-card"><a href="{self._product_path(p)}"><img '
                f'src="/shop/img/{p.id}.png" alt="{_e(p.name)}"></a>'
                f'<h3><a href="{self._product_path(p)}" title="{_e(p.name)}">{_e(p.name)}</a></h3>'
                f'<p class="card-price">{_money(p.price)}</p>'
                f'<p class="card-stock">{_e(p.availability)}</p></li>\n'
                for p in chunk
            )
            pager = '<ul class="pager">'
            if prev_href:
                pager += f'<li class="previous"><a href="{prev_href}">&larr; Previous</a></li>'
            pager += f'<li class="current">Page {n} of {total}</li>'
            if next_href:
                pager += f'<li class="next"><a href="{next_href}">Next &rarr;</a></li>'
            pager += "</ul>\n"
            content = (
                f'<h1>Catalogue</h1>\n<p class="result-count">Showing {first}&ndash;{last} of '
                f'{len(self.products)} products</p>\n<ol class="product-grid">\n{cards}</ol>\n'
                f"{pager}"
            )
            return self._v1_chrome(f"Catalogue, page {n} | Halden Home Store", content, head)
        tiles = "".join(
            f'<article class="tile"><a class="tile-link" href="{self._product_path(p)}">'
            f'<img class="tile-img" src="/shop/img/{p.id}.png" alt="" loading="lazy">'
            f'<span class="tile-name">{_e(p.name)}</span></a>'
            f'<span class="tile-price">{_money(p.price)}</span></article>\n'
            for p in chunk
        )
        nav = '<nav class="pagination" aria-label="Pages">'
        if prev_href:
            nav += f'<a class="pagination-prev" rel="prev" href="{prev_href}">Back</a> '
        nav += f"<span>{n} / {total}</span>"
        if next_href:
            nav += f' <a class="pagination-next" rel="next" href="{next_href}">Load more</a>'
        nav += "</nav>\n"
        content = (
            f'<div class="plp">\n<h1 class="plp-title">Shop all</h1>\n'
            f'<div class="plp-grid">\n{tiles}</div>\n{nav}</div>\n'
        )
        return self._v2_chrome(f"Shop all ({n}/{total}) – Halden Home", content, head)

    # ---- jobs.demo

    _JOBS_STYLE = (
        "body{font-family:Verdana,sans-serif;margin:0 auto;max-width:60em}.job-row{padding:.5em 0;"
        "border-bottom:1px solid #ddd}dl.job-facts dt{font-weight:bold}"
    )
    _JOB_SCRIPT = """(function () {
  "use strict";
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function build() {
    var job = window.__JOB__;
    var root = document.getElementById("job-root");
    var article = el("article", "job-posting");
    article.appendChild(el("h1", "job-title", job.title));
    article.appendChild(el("p", "job-company", job.company));
    var facts = el("dl", "job-facts");
    job.facts.forEach(function (pair) {
      facts.appendChild(el("dt", null, pair[0]));
      facts.appendChild(el("dd", null, pair[1]));
    });
    article.appendChild(facts);
    article.appendChild(el("p", "job-posted", job.posted));
    article.appendChild(el("h2", null, "About the role"));
    var description = el("div", "job-description");
    job.description.forEach(function (text) { description.appendChild(el("p", null, text)); });
    article.appendChild(description);
    article.appendChild(el("button", "apply-button", "Apply now"));
    root.innerHTML = "";
    root.appendChild(article);
    root.setAttribute("data-state", "ready");
    document.title = job.title + " | Workwise";
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", build);
  } else {
    build();
  }
})();"""

    def _jobs_chrome(self, title: str, content: str, head: str = "") -> str:
        body = (
            '<body>\n<header class="topbar"><a class="brand" href="/jobs/page/1.html">Workwise</a> '
            '<span class="tagline">Jobs across the UK</span> <a href="/">All demo sites</a></header>'
            f"\n{content}\n"
            '<footer class="foot"><p>Workwise is a fictional job board.</p></footer>\n</body>'
        )
        return self._doc(title, body, head, style=self._JOBS_STYLE)

    def _job_facts(self, j: Job) -> list[tuple[str, str]]:
        return [
            ("Location:", j.location),
            ("Job type:", j.employment_type),
            ("Salary:", j.salary_text),
            ("Closing date:", _long_date(j.closes)),
            ("Reference:", j.reference),
        ]

    def _job_dom(self, j: Job) -> str:
        """The HTML the inline script of a job page builds (kept in step with ``_JOB_SCRIPT``)."""
        facts = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in self._job_facts(j))
        paras = "".join(f"<p>{_e(p)}</p>" for p in j.paragraphs)
        return (
            f'<article class="job-posting"><h1 class="job-title">{_e(j.title)}</h1>'
            f'<p class="job-company">{_e(j.company)}</p><dl class="job-facts">{facts}</dl>'
            f'<p class="job-posted">Posted {_long_date(j.posted)}</p><h2>About the role</h2>'
            f'<div class="job-description">{paras}</div>'
            '<button class="apply-button">Apply now</button></article>'
        )

    def _job_page(self, j: Job, rendered: bool) -> str:
        data = {
            "id": j.id,
            "title": j.title,
            "company": j.company,
            "datePosted": j.posted.isoformat(),
            "posted": f"Posted {_long_date(j.posted)}",
            "facts": [list(pair) for pair in self._job_facts(j)],
            "description": list(j.paragraphs),
        }
        if rendered:
            title = f"{j.title} | Workwise"
            root = (
                f'<div id="job-root" class="job-root" data-state="ready">{self._job_dom(j)}</div>'
            )
        else:
            title = "Loading job… | Workwise"
            root = (
                '<div id="job-root" class="job-root" data-state="loading">'
                "<noscript>Please turn on JavaScript to see this job.</noscript></div>"
            )
        content = (
            '<nav class="crumbs"><a href="/jobs/page/1.html">All jobs</a></nav>\n'
            f"<main>\n{root}\n</main>\n"
            f"<script>\nwindow.__JOB__ = {_script_json(data)};\n</script>\n"
            f"<script>\n{self._JOB_SCRIPT}\n</script>"
        )
        return self._jobs_chrome(title, content)

    def _jobs_listing(self, n: int) -> str:
        total = self._pages(len(self.jobs), JOBS_PER_PAGE)
        chunk = self._jobs_newest[(n - 1) * JOBS_PER_PAGE : n * JOBS_PER_PAGE]
        rows = "".join(
            f'<div class="job-row"><a class="job-link" href="{self._job_path(j)}">{_e(j.title)}</a>'
            f'<br><span class="job-row-company">{_e(j.company)}</span> &mdash; '
            f'<span class="job-row-location">{_e(j.location)}</span> '
            f'<span class="job-row-date">Posted {_long_date(j.posted)}</span></div>\n'
            for j in chunk
        )
        links = []
        if n > 1:
            links.append(f'<a class="prev-page" href="/jobs/page/{n - 1}.html">Newer jobs</a>')
        if n < total:
            links.append(f'<a class="next-page" href="/jobs/page/{n + 1}.html">Older jobs</a>')
        content = (
            f'<main>\n<h1>Latest jobs</h1>\n<p class="summary">{len(self.jobs)} jobs, page {n} of '
            f'{total}</p>\n<div class="job-list">\n{rows}</div>\n'
            f'<p class="paging">{" | ".join(links)}</p>\n</main>'
        )
        head = f'<link rel="next" href="/jobs/page/{n + 1}.html">\n' if n < total else ""
        return self._jobs_chrome(f"Latest jobs – page {n} | Workwise", content, head)

    # ---- news.demo

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
        return self._doc(title, body, head, style=self._NEWS_STYLE)

    def _byline(self, a: Article) -> str:
        names = [f'<span class="author" itemprop="author">{_e(n)}</span>' for n in a.authors]
        return "By " + " and ".join(names)

    def _article_page(self, a: Article) -> str:
        url = self.url(self._article_path(a))
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
            f'<meta name="description" content="{_e(a.summary)}">\n'
            f'<meta property="og:type" content="article">\n'
            f'<meta property="og:title" content="{_e(a.headline)}">\n'
            f'<meta property="og:image" content="{_e(image)}">\n'
            f'<link rel="canonical" href="{_e(url)}">\n{self._jsonld(ld)}'
        )
        weekday = _WEEKDAYS[a.published.weekday()]
        body = "".join(f"<p>{_e(p)}</p>\n" for p in a.body)
        others = [o for o in self._news_newest if o.id != a.id][a.id % 7 : a.id % 7 + 4]
        most_read = "".join(
            f'<li><a href="{self._article_path(o)}">{_e(o.headline)}</a></li>' for o in others
        )
        content = (
            '<main class="layout">\n'
            '<article class="story" itemscope itemtype="https://schema.org/NewsArticle">\n'
            '<header class="story-header">\n'
            f'<p class="kicker"><span itemprop="articleSection">{_e(a.section)}</span></p>\n'
            f'<h1 itemprop="headline">{_e(a.headline)}</h1>\n'
            f'<p class="standfirst">{_e(a.summary)}</p>\n'
            f'<p class="byline">{self._byline(a)}</p>\n'
            f'<p class="dateline"><time datetime="{a.published.isoformat()}" '
            f'itemprop="datePublished">{weekday} {_long_date(a.published)}</time></p>\n'
            "</header>\n"
            f'<figure class="lead-image"><img src="/news/img/{a.id}.png" alt="{_e(a.caption)}" '
            f'itemprop="image"><figcaption>{_e(a.caption)}</figcaption></figure>\n'
            f'<div class="story-body" itemprop="articleBody">\n{body}</div>\n'
            "</article>\n"
            f'<aside class="most-read"><h2>Most read</h2><ol>{most_read}</ol></aside>\n</main>'
        )
        return self._news_chrome(f"{a.headline} | The Harbour Herald", content, head)

    def _news_listing(self, n: int) -> str:
        total = self._pages(len(self.articles), NEWS_PER_PAGE)
        chunk = self._news_newest[(n - 1) * NEWS_PER_PAGE : n * NEWS_PER_PAGE]
        items = "".join(
            f'<li class="story-item"><article><h2><a href="{self._article_path(a)}">'
            f"{_e(a.headline)}</a></h2>"
            f'<p class="teaser">{_e(a.summary)}</p>'
            f'<time datetime="{a.published.isoformat()}">{_long_date(a.published)}</time>'
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
