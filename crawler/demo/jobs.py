"""jobs.demo, the Workwise job board: its detail pages are built in the browser by an inline
script from a JSON object; ``JobBoard.page(job, rendered=True)`` is the document after it ran.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from crawler.demo.common import (
    CITIES,
    document,
    esc,
    listing_pages,
    long_date,
    money,
    page_count,
    pick,
    script_json,
    slugify,
)

__all__ = ["PER_PAGE", "TEMPLATE", "Job", "JobBoard"]

TEMPLATE = "jobs.demo/job"
PER_PAGE = 15


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
        city = rng.choice(CITIES)
        where = pick(rng, [("office", 50), ("hybrid", 35), ("remote", 15)])
        location = {"office": city, "hybrid": f"{city} (Hybrid)", "remote": "Remote (UK)"}[where]
        kind = pick(
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
            salary_text = f"{money(salary_min)} – {money(salary_max)} an hour"
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


class JobBoard:
    """The jobs of jobs.demo (from ``seed``), their true items and their pages; listings show the
    newest first."""

    def __init__(self, seed: int, count: int) -> None:
        self.jobs = _jobs(seed, count)
        self.newest = sorted(self.jobs, key=lambda j: (j.posted, j.id), reverse=True)
        self.details = {self.path(j): j for j in self.jobs}
        self.listings = listing_pages("jobs", len(self.jobs), PER_PAGE)

    @staticmethod
    def path(j: Job) -> str:
        return f"/jobs/job/{j.id}-{slugify(j.title)}.html"

    def item(self, j: Job) -> dict[str, Any]:
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
        return document(title, body, head, style=self._JOBS_STYLE)

    def _job_facts(self, j: Job) -> list[tuple[str, str]]:
        return [
            ("Location:", j.location),
            ("Job type:", j.employment_type),
            ("Salary:", j.salary_text),
            ("Closing date:", long_date(j.closes)),
            ("Reference:", j.reference),
        ]

    def _job_dom(self, j: Job) -> str:
        """The HTML the inline script of a job page builds (kept in step with ``_JOB_SCRIPT``)."""
        facts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in self._job_facts(j))
        paras = "".join(f"<p>{esc(p)}</p>" for p in j.paragraphs)
        return (
            f'<article class="job-posting"><h1 class="job-title">{esc(j.title)}</h1>'
            f'<p class="job-company">{esc(j.company)}</p><dl class="job-facts">{facts}</dl>'
            f'<p class="job-posted">Posted {long_date(j.posted)}</p><h2>About the role</h2>'
            f'<div class="job-description">{paras}</div>'
            '<button class="apply-button">Apply now</button></article>'
        )

    def page(self, j: Job, rendered: bool) -> str:
        data = {
            "id": j.id,
            "title": j.title,
            "company": j.company,
            "datePosted": j.posted.isoformat(),
            "posted": f"Posted {long_date(j.posted)}",
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
            f"<script>\nwindow.__JOB__ = {script_json(data)};\n</script>\n"
            f"<script>\n{self._JOB_SCRIPT}\n</script>"
        )
        return self._jobs_chrome(title, content)

    def listing(self, n: int) -> str:
        total = page_count(len(self.jobs), PER_PAGE)
        chunk = self.newest[(n - 1) * PER_PAGE : n * PER_PAGE]
        rows = "".join(
            f'<div class="job-row"><a class="job-link" href="{self.path(j)}">{esc(j.title)}</a>'
            f'<br><span class="job-row-company">{esc(j.company)}</span> &mdash; '
            f'<span class="job-row-location">{esc(j.location)}</span> '
            f'<span class="job-row-date">Posted {long_date(j.posted)}</span></div>\n'
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
