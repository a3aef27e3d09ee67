"""Main text: the body of an article, labelled with a main-content extractor and found again as
the paragraphs of one container of the page.

A schema marks a block-text field with ``"x-main-text": true`` (the ``article`` schema's
``body``). Such a value is read by a parser with :func:`crawler.parsing.paragraphs`: the
paragraphs of a container element, some elements under it skipped (an aside of related links,
share buttons). This module

* labels a page's main-text fields with trafilatura (:func:`main_text_labels`; imported on first
  use, no network, ``favor_precision``, comments and tables left out), snapped to the page: the
  label is the text :func:`~crawler.parsing.paragraphs` reads from the container whose
  paragraphs best match trafilatura's text (:func:`readings`). So the expected body of a page is
  defined as what the induced selector reads on it, and a fixture saved from the label is
  consistent with the parser: trafilatura may drop a caption or a list, keep a standfirst, or
  run inline text together differently; the label is the page's own paragraphs;
* finds, for induction, the containers whose paragraphs make a labelled text, with the
  elements under them to skip (:func:`readings`), whatever the label came from;
* scores a text against another by tokens (:func:`token_scores`), for the bench.

Precision first: a page whose main text is short (under :data:`MIN_CHARS`), mostly links, or
no container of which matches trafilatura's text well (:data:`MIN_SCORE`) gets no label.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from parsel import Selector, SelectorList

from crawler.checks import PageText
from crawler.parsing import Page, clean, paragraphs
from crawler.schemas import Schema

__all__ = [
    "MAIN_TEXT",
    "MIN_CHARS",
    "MIN_SCORE",
    "Reading",
    "main_text_fields",
    "main_text_labels",
    "readings",
    "token_scores",
    "tokens",
]

MAIN_TEXT = "x-main-text"  # the schema marker of a block-text field
MIN_CHARS = 200  # characters of prose (lines of PROSE_WORDS words or more) in a main text
PROSE_WORDS = 8  # a line of this many words is prose, not a name, a price or a heading
MIN_SCORE = 0.8  # token F0.5 of the snapped container's text against trafilatura's
CLEAN = 0.98  # token precision of a reading that holds nothing but wanted text
MOST = 0.75  # token recall of a reading that holds most of it
MAX_LINK_SHARE = 0.5  # a text more than half of which is link text is a list of links
MIN_EVIDENCE = 20  # characters (whitespace removed) of a paragraph found in a text as a whole
_SKIPPED = frozenset(("script", "style", "template", "noscript", "head", "title"))
_TOKEN = re.compile(r"\w+")
# tags that say what they hold: a skip by tag alone is safe for these (not for div, span, p)
_SEMANTIC = frozenset("aside nav footer header form figure figcaption button menu dialog".split())
_GENERATED = re.compile(r"\d{4,}|[0-9a-f]{10,}|^\d+$")
_INLINE = frozenset("a abbr b cite code em i mark q s small span strong sub sup time u".split())
# words of a class or id that name boilerplate (as readability's negative class weights do)
_BOILERPLATE = frozenset(
    "ad ads adv advert adverts advertisement banner promo related rel share sharing social "
    "newsletter subscribe signup sponsor sponsored comment comments widget outbrain taboola "
    "recommended popular toolbar tools print tags".split()
)


def main_text_fields(schema: Schema) -> list[str]:
    """The string fields of ``schema`` marked ``"x-main-text": true``."""
    return [
        name
        for name, prop in schema.properties.items()
        if isinstance(prop, dict) and prop.get(MAIN_TEXT) and schema.field_type(name) == "string"
    ]


def tokens(text: str | None) -> list[str]:
    """The words of a text, lower case: what :func:`token_scores` compares."""
    return _TOKEN.findall(text.lower()) if text else []


def token_scores(got: str | None, want: str | None) -> tuple[float, float, float]:
    """(precision, recall, F1) of the words of ``got`` against those of ``want`` (as multisets).

    >>> token_scores("the rain fell", "rain fell today")
    (0.6666666666666666, 0.6666666666666666, 0.6666666666666666)
    """
    have, need = Counter(tokens(got)), Counter(tokens(want))
    if not have or not need:
        return (1.0, 1.0, 1.0) if not have and not need else (0.0, 0.0, 0.0)
    common = sum((have & need).values())
    precision, recall = common / sum(have.values()), common / sum(need.values())
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return precision, recall, f1


def _precise(got: str, want: str) -> float:
    """The token F-score of ``got`` against ``want`` with precision weighted (F0.5)."""
    p, r, _ = token_scores(got, want)
    return 1.25 * p * r / (0.25 * p + r) if p and r else 0.0


def _dense(text: str) -> str:
    return "".join(text.split())


@dataclass(frozen=True)
class Reading:
    """A container element and the elements under it to skip (``skip``, an XPath relative to
    it, or None), the text :func:`~crawler.parsing.paragraphs` reads from them, and that text's
    token F0.5 (precision weighted) against the wanted text."""

    element: Any  # lxml element
    skip: str | None
    text: str
    score: float
    clean: bool = False  # nothing but wanted text (precision CLEAN), most of it (recall MOST)


def _read(element: Any, skip: str | None = None) -> str:
    selection = SelectorList([Selector(root=element, type="html")])
    return paragraphs(selection, skip) or ""


class _Match:
    """Which elements of a page hold a wanted text: each element is ``in`` (its paragraphs are
    in the text), ``out`` (none of them), ``mixed`` or ``empty`` (no text)."""

    def __init__(self, root: Any, want: str) -> None:
        self.want_dense = _dense(want)
        self.want_lines = {clean(line) for line in want.splitlines()} - {None}
        self.state: dict[Any, str] = {}
        self.covered: dict[Any, int] = {}  # characters of the wanted text an element holds
        self._walk(root)

    def _holds(self, text: str, inline: bool = False) -> bool:
        """Whether every line of ``text`` is in the wanted text: a whole line of it, or a long
        enough stretch of it (any stretch for an inline element: a link inside a sentence)."""
        lines = [line for line in text.split("\n") if line.strip()]
        if not lines:
            return False
        for line in lines:
            dense = _dense(line)
            if line in self.want_lines:
                continue
            if (len(dense) < MIN_EVIDENCE and not inline) or dense not in self.want_dense:
                return False
        return True

    def _own(self, el: Any) -> int:
        """Characters of the wanted text in an element's own text and its children's tails."""
        parts = [el.text, *(c.tail for c in el)]
        dense = [_dense(p) for p in parts if p]
        return sum(len(d) for d in dense if len(d) >= MIN_EVIDENCE and d in self.want_dense)

    def _walk(self, el: Any) -> str:
        text = _read(el)
        children = [c for c in el if isinstance(c.tag, str) and c.tag.lower() not in _SKIPPED]
        if not text:
            state, covered = "empty", 0
        elif self._holds(text, str(el.tag).lower() in _INLINE):
            state, covered = "in", len(_dense(text))
        else:
            states = [self._walk(c) for c in children]
            own = self._own(el)  # text written between the children: "A<br><br>B"
            covered = sum(self.covered[c] for c in children) + own
            state = "mixed" if own or any(s in ("in", "mixed") for s in states) else "out"
        self.state[el] = state
        self.covered[el] = covered
        return state

    def containers(self, root: Any) -> list[Any]:
        """The deepest element holding nearly all (90 %) of the wanted text the page holds, its
        parent, and the elements inside it that still hold most (half) of it: the wanted text
        may hold some boilerplate around the main text (comments a labeller kept)."""
        total = self.covered.get(root, 0)
        if not total:
            return []
        chain = [root]
        el = root
        while self.state.get(el) == "mixed":
            inner = [c for c in el if isinstance(c.tag, str)]
            best = max(inner, key=lambda c: self.covered.get(c, 0), default=None)
            if best is None or self.covered.get(best, 0) < 0.5 * total:
                break
            el = best
            chain.append(el)
        nearly = [c for c in chain if self.covered.get(c, 0) >= 0.9 * total]
        start = chain.index(nearly[-1])
        return chain[max(0, start - 1) :]

    def of(self, el: Any) -> str:
        """The state of any element: one inside an ``in`` element is ``in`` too."""
        for node in (el, *el.iterancestors()):
            state = self.state.get(node)
            if state is not None:
                return "in" if state == "in" else (state if node is el else "empty")
        return "empty"

    def dropped(self, el: Any) -> list[Any]:
        """The largest elements under ``el`` none of whose text is in the wanted text."""
        out: list[Any] = []
        stack = [c for c in reversed(el) if isinstance(c.tag, str)]
        while stack:
            node = stack.pop()
            state = self.state.get(node)
            if state == "out":
                out.append(node)
            elif state == "mixed":
                stack.extend(c for c in reversed(node) if isinstance(c.tag, str))
        return out


def _class_test(name: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


def _descriptors(el: Any) -> Iterable[str]:
    """XPaths (relative to a container) that may select ``el``: by a semantic tag, by a class,
    by an id, by its tag."""
    tag = str(el.tag).lower()
    if tag in _SEMANTIC:
        yield f".//{tag}"
    for name in (el.get("class") or "").split():
        if not _GENERATED.search(name) and len(name) < 50 and '"' not in name:
            yield f".//{tag}[{_class_test(name)}]"
    ident = el.get("id")
    if ident and not _GENERATED.search(ident) and '"' not in ident:
        yield f'.//{tag}[@id="{ident}"]'
    yield f".//{tag}"


def _path(container: Any, el: Any) -> str:
    """The positional path of ``el`` from ``container``: ``./div[3]/a[2]``."""
    steps = []
    node = el
    while node is not None and node is not container:
        parent = node.getparent()
        same = [c for c in parent if c.tag == node.tag] if parent is not None else [node]
        steps.append(f"{str(node.tag).lower()}[{same.index(node) + 1}]")
        node = parent
    return "./" + "/".join(reversed(steps))


def _skip_query(container: Any, dropped: list[Any], match: _Match) -> str | None:
    """One XPath relative to ``container`` that selects the ``dropped`` elements and nothing
    that holds wanted text."""
    if not dropped:
        return None
    parts: list[str] = []
    for el in dropped:
        if any(el in found for found in (set(container.xpath(p)) for p in parts)):
            continue
        for query in _descriptors(el):
            found = container.xpath(query)
            if all(match.of(f) in ("out", "empty") for f in found):
                parts.append(query)
                break
        else:  # every name it has is shared with wanted text: where it stands
            parts.append(_path(container, el))
    return " | ".join(parts) or None


def readings(page: Page, want: str) -> list[Reading]:
    """The containers of ``page`` whose paragraphs make (nearly) the text ``want``: the deepest
    element holding nearly all of the text the page holds, its parent, and the elements inside
    it holding most of it (:class:`_Match`), each read with the elements under it that hold
    none of the text skipped, and whole. Best first, precision first: the deepest reading that
    holds nothing but wanted text and most of it (``clean``: a labeller's text may carry some
    boilerplate from elsewhere, comments, a standfirst), then by token F0.5."""
    root = page.selector.root
    if root is None or not clean(want):
        return []
    bodies = root.xpath("//body")
    top = bodies[0] if bodies else root
    match = _Match(top, want)
    out: dict[tuple[Any, str | None], Reading] = {}
    for el in match.containers(top):
        skip = _skip_query(el, match.dropped(el), match)
        for query in dict.fromkeys((skip, None)):
            if (el, query) in out:
                continue
            text = _read(el, query)
            precision, recall, _ = token_scores(text, want)
            out[(el, query)] = Reading(
                el, query, text, _precise(text, want), precision >= CLEAN and recall >= MOST
            )
    depth = {el: len(list(el.iterancestors())) for el, _ in out}
    return sorted(
        out.values(),
        key=lambda r: (
            not r.clean,
            -depth[r.element] if r.clean else 0,
            -round(r.score, 6),
            r.skip is not None,
        ),
    )


def _entries(reading: Reading) -> bool:
    """Whether a reading is a list of entries (a listing's teasers): most of the container's
    children that hold read text also hold a link of three words or more that is skipped (a
    headline), and there are three of them or more."""
    skipped = set(reading.element.xpath(reading.skip)) if reading.skip else set()
    holding = entries = 0
    for child in reading.element:
        if not isinstance(child.tag, str) or child in skipped or not _read(child, reading.skip):
            continue
        holding += 1
        entries += any(
            len(" ".join(a.itertext()).split()) >= 3
            and skipped.intersection((a, *a.iterancestors()))
            for a in child.iter("a")
        )
    return entries >= 3 and 2 * entries >= holding


def _prose(text: str) -> int:
    """Characters of ``text`` in lines of :data:`PROSE_WORDS` words or more."""
    lines = (clean(line) or "" for line in text.splitlines())
    return sum(len(line) for line in lines if len(line.split()) >= PROSE_WORDS)


def _link_share(reading: Reading) -> float:
    """The share of a reading's text that is link text."""
    skipped = set(reading.element.xpath(reading.skip)) if reading.skip else set()
    linked = sum(
        len(_dense(" ".join(a.itertext())))
        for a in reading.element.iter("a")
        if not skipped.intersection((a, *a.iterancestors()))
    )
    return linked / max(1, len(_dense(reading.text)))


def _extract(page: Page) -> str | None:
    import trafilatura  # slow to import: only when a page is labelled

    return trafilatura.extract(
        page.source,
        url=page.url or None,
        favor_precision=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        deduplicate=False,
        with_metadata=False,
        output_format="txt",
    )


def _boilerplate(reading: Reading) -> set[str]:
    """The lines of a reading that stand in boilerplate inside its container: an element whose
    class or id names boilerplate (``ad``, ``related``, ``share`` …) and that holds no prose or
    mostly link text (an advert, an "Also read" link), small beside the reading."""
    skipped = set(reading.element.xpath(reading.skip)) if reading.skip else set()
    total = len(_dense(reading.text))
    lines: set[str] = set()
    for el in reading.element.iterdescendants():
        if not isinstance(el.tag, str) or skipped.intersection((el, *el.iterancestors())):
            continue
        words = set(re.split(r"[^a-z0-9]+", f"{el.get('class', '')} {el.get('id', '')}".lower()))
        if not words & _BOILERPLATE:
            continue
        text = _read(el)
        if not text or len(_dense(text)) > 0.2 * total:
            continue
        inner = Reading(el, None, text, 0.0)
        if _prose(text) == 0 or _link_share(inner) >= MAX_LINK_SHARE:
            lines.update(clean(line) or "" for line in text.splitlines())
    return lines - {""}


def main_text_labels(page: Page, schema: Schema) -> dict[str, str]:
    """``{field: text}`` for each main-text field of ``schema`` (``"x-main-text": true``): the
    page's main text as trafilatura finds it, snapped to the container whose paragraphs match it
    best (the text :func:`crawler.parsing.paragraphs` reads there, paragraphs separated by blank
    lines), adverts and link boxes inside the container skipped (:func:`_boilerplate`). Empty when the schema has no such field or the page has no main text: trafilatura
    finds none, it holds less than :data:`MIN_CHARS` of prose (a product's name, price and
    two-line description are no main text), it is mostly link text or a list of entries (a
    listing's teasers under their headlines), no container matches it
    with a token F0.5 of :data:`MIN_SCORE` or more, or the page does not show it (grounding)."""
    names = main_text_fields(schema)
    if not names:
        return {}
    found = _extract(page)
    if not found or len(clean(found) or "") < MIN_CHARS:
        return {}
    best = next(iter(readings(page, found)), None)
    if best is None or best.score < MIN_SCORE or _prose(best.text) < MIN_CHARS:
        return {}
    boilerplate = _boilerplate(best)
    if boilerplate:  # an advert or a link box inside the text, which trafilatura kept
        kept = "\n".join(
            line for line in best.text.splitlines() if (clean(line) or "") not in boilerplate
        )
        trimmed = next(iter(readings(page, kept)), None)
        if trimmed is not None and trimmed.score >= MIN_SCORE:
            best = trimmed
    if _link_share(best) > MAX_LINK_SHARE or _entries(best):
        return {}
    if not PageText(page).contains_prose(best.text):
        return {}
    return dict.fromkeys(names, best.text)
