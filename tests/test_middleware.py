"""The render probe's judgement: did the browser bring data the static page lacked?"""

from __future__ import annotations

from crawler.crawl.middleware import ScrapecSpiderMiddleware
from crawler.runtime import PageOutcome

ITEM = {"title": "Senior Data Engineer", "company": "Acme", "location": "London"}
SHELL = (
    b"<html><body><header>Acme Careers</header><nav><a>London</a> <a>Leeds</a> "
    b"<a>Full-time</a></nav><div id='app'>Loading\xe2\x80\xa6</div>"
    b"<script>render({title: 'Senior Data Engineer'})</script></body></html>"
)
OLD_LAYOUT = (
    b"<html><body><div class='job'><h1>Senior Data Engineer</h1><p>Acme</p><p>London</p>"
    b"</div></body></html>"
)


def outcome() -> PageOutcome:
    return PageOutcome("http://jobs.test/1", "jobs.test/job", "ok", dict(ITEM), 1)


def test_a_javascript_shell_whose_menu_names_a_city_still_needs_the_browser() -> None:
    static = (SHELL, "utf-8", None)
    assert not ScrapecSpiderMiddleware._static_shows(static, outcome())


def test_a_static_page_that_shows_the_data_does_not_need_the_browser() -> None:
    # parsed with a parser for another layout (the site changed between the two fetches)
    static = (OLD_LAYOUT, "utf-8", {"title": None, "company": None})
    assert ScrapecSpiderMiddleware._static_shows(static, outcome())
    # the static parse already had everything: the browser added nothing
    assert ScrapecSpiderMiddleware._static_shows((SHELL, "utf-8", dict(ITEM)), outcome())
