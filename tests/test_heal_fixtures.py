"""Fixtures follow a heal: the old layout's fixtures are retired (kept, marked with their
version), the held pages a regeneration labelled wait in the review queue (``review:
unreviewed``), ``scrapec fixture list|accept|retire`` manage them, ``parser.json`` names the
cases a version passed, and ``scrapec test`` is green after a heal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import product_page, run_cli, write_fixtures

from crawler.compiler import compile_template
from crawler.exceptions import BadInput
from crawler.fixtures import (
    RETIRED,
    REVIEWED,
    UNREVIEWED,
    Fixture,
    find_case,
    held_case,
    load_fixtures,
    retire,
    review_status,
    set_review,
)
from crawler.pages import PageStatus
from crawler.registry import Registry
from crawler.runtime import Runtime, RuntimeSettings
from crawler.testing import publish_checked, run_fixture_tests

T = "shop.test/product"


def url(i: int) -> str:
    return f"http://shop.test/p/{i}.html"


def meta_of(case: Path) -> dict[str, Any]:
    return dict(json.loads((case / "meta.json").read_text()))


def healed(tmp_path: Path) -> tuple[Path, list[str]]:
    """v1 compiled from fixtures of layout "a" (cases 01-03); the site is redesigned (layout
    "b") and three known URLs are repaired from their history: v2. Returns the fixtures folder
    and what the runtime said."""
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    [result] = compile_template(
        fixtures, "product", tmp_path / "reg", generator="induce", progress=None
    )
    assert result.published and result.version == 1
    said: list[str] = []
    rt = Runtime(
        tmp_path / "reg",
        fixtures_dir=fixtures,
        llm=None,
        settings=RuntimeSettings(regen_samples=3),
        log=said.append,
    )
    try:
        for i in (40, 41, 42):
            assert rt.process(product_page(i), url(i), template=T).status is PageStatus.OK
        outcomes = [rt.process(product_page(i, "b"), url(i), template=T) for i in (40, 41, 42)]
    finally:
        rt.close()
    released = outcomes[-1].released
    assert [o.status for o in released] == [PageStatus.OK] * 3
    assert {o.parser_version for o in released} == {2}
    return fixtures, said


def test_review_status_is_one_field_of_meta_json() -> None:
    assert review_status({}) == REVIEWED  # a fixture a person wrote says nothing
    assert review_status({"review": "reviewed"}) == REVIEWED
    assert review_status({"review": "unreviewed"}) == UNREVIEWED
    assert review_status({"review": "retired"}) == RETIRED
    # the free-text note `fixture save` used to write waits for review like any other
    assert review_status({"review": "saved from the current parser: check expected.json"}) == (
        UNREVIEWED
    )


def test_a_review_status_of_the_wrong_type_is_refused_naming_the_file(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 2))
    case = fixtures / T / "case-01"
    (case / "meta.json").write_text(json.dumps({"url": url(1), "review": True}))
    with pytest.raises(BadInput, match=r"case-01/meta.json: 'review' must be str, got True"):
        load_fixtures(fixtures)
    (case / "meta.json").write_text(json.dumps({"url": url(1), "version": "one"}))
    with pytest.raises(BadInput, match=r"'version' must be int or null, got 'one'"):
        load_fixtures(fixtures)


def test_set_review_retire_and_find_case(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    case = find_case(fixtures, f"{T}/case-02")
    assert case == fixtures / T / "case-02" and find_case(fixtures, str(case)) == case
    with pytest.raises(BadInput, match=r"'shop.test/product/case-09': no fixture of that name"):
        find_case(fixtures, f"{T}/case-09")
    with pytest.raises(BadInput, match="outside the fixtures folder"):
        find_case(fixtures / T / "case-01", str(case))

    [old] = retire(load_fixtures(fixtures, T)[:1], 1, 2, "the layout changed")
    assert old.review == RETIRED and old.name == f"{T}/case-01"
    meta = meta_of(fixtures / T / "case-01")
    assert (meta["review"], meta["version"], meta["retired_by"]) == ("retired", 1, 2)
    assert meta["retired_reason"] == "the layout changed" and meta["retired_at"].endswith("Z")
    assert meta["url"] == url(1) and meta["schema"] == "product", "the rest of meta.json kept"
    # retired fixtures are kept, and loaded only when asked for
    assert [f.name for f in load_fixtures(fixtures)] == [f"{T}/case-02", f"{T}/case-03"]
    assert len(load_fixtures(fixtures, retired=True)) == 3
    # accepting it again drops the marks of the retirement
    back = set_review(fixtures / T / "case-01", REVIEWED)
    assert back.review == REVIEWED and "retired_by" not in back.meta and "version" not in back.meta
    with pytest.raises(BadInput, match="review status 'maybe'"):
        set_review(fixtures / T / "case-01", "maybe")


def test_a_heal_retires_the_old_layout_and_queues_the_new_cases_for_review(
    tmp_path: Path,
) -> None:
    fixtures, said = healed(tmp_path)
    cases = {p.name: meta_of(p) for p in (fixtures / T).iterdir()}
    regen = sorted(held_case(url(i)) for i in (40, 41, 42))
    assert sorted(cases) == ["case-01", "case-02", "case-03", *regen]
    for name in ("case-01", "case-02", "case-03"):  # the old layout's: kept, marked, retired
        assert cases[name]["review"] == "retired"
        assert (cases[name]["version"], cases[name]["retired_by"]) == (1, 2)
        assert (fixtures / T / name / "page.html").read_text() == product_page(int(name[-2:]))
    for name in regen:  # the held pages the repair labelled: in the review queue
        assert cases[name]["review"] == "unreviewed" and cases[name]["source"] == "regeneration"
        assert cases[name]["partial"] is True
    assert [line for line in said if "published v2" in line] == [f"[{T}] published v2 (repair)"], (
        "one line for one publish, with its tier"
    )
    assert any("3 fixtures of the old layout retired with v1" in line for line in said)

    info = json.loads((tmp_path / "reg" / T / "parser.json").read_text())
    v1, v2 = info["versions"]["1"], info["versions"]["2"]
    assert v1["fixtures_passed"] == [f"{T}/case-01", f"{T}/case-02", f"{T}/case-03"]
    assert v1["fixtures_unreviewed"] == []
    # v2 names the cases it passed: the held pages, by the case each is saved as
    assert sorted(v2["fixtures_passed"]) == [f"{T}/{name}" for name in regen]
    assert sorted(v2["fixtures_unreviewed"]) == sorted(v2["fixtures_passed"])
    assert all((fixtures / name / "expected.json").is_file() for name in v2["fixtures_passed"])

    # the gate of the active version: green, on its own cases, which wait for review
    [outcome] = run_fixture_tests(tmp_path / "reg", fixtures).values()
    assert outcome.ok and (outcome.total, outcome.passed, outcome.unreviewed) == (3, 3, 3)
    assert outcome.retired == {1: 3}
    proc = run_cli("test", "--registry", str(tmp_path / "reg"), "--fixtures", str(fixtures))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"ok   {T}: 3/3 cases (v2; 0 reviewed, 3 unreviewed")
    assert "3 retired with v1" in proc.stdout


def test_fixture_list_accept_and_retire(tmp_path: Path) -> None:
    fixtures, _ = healed(tmp_path)
    regen = sorted(held_case(url(i)) for i in (40, 41, 42))

    def cli(*args: str) -> Any:
        return run_cli("fixture", *args, "--fixtures", str(fixtures))

    listing = cli("list")
    assert listing.returncode == 0, listing.stderr
    rows = [line.split("\t") for line in listing.stdout.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [
        ("retired", f"{T}/case-01"),
        ("retired", f"{T}/case-02"),
        ("retired", f"{T}/case-03"),
        *(("unreviewed", f"{T}/{name}") for name in regen),
    ]
    assert rows[0][2] == url(1) and rows[0][3].startswith("v1, replaced by v2")
    assert f"scrapec fixture accept {T}/{regen[0]}" in rows[3][3]
    assert "6 fixtures shown: 0 reviewed, 3 unreviewed, 3 retired" in listing.stderr
    queue = cli("list", "--status", "unreviewed")
    assert len(queue.stdout.splitlines()) == 3

    accepted = cli("accept", f"{T}/{regen[0]}")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.split() == ["reviewed", f"{T}/{regen[0]}"]
    assert meta_of(fixtures / T / regen[0])["review"] == "reviewed"
    everything = cli("accept", "--template", T)  # the rest of the template's review queue
    assert everything.returncode == 0 and len(everything.stdout.splitlines()) == 2
    assert {f.review for f in load_fixtures(fixtures, T)} == {REVIEWED}

    retired = cli("retire", f"{T}/{regen[1]}", "--version", "2", "--reason", "wrong price")
    assert retired.returncode == 0, retired.stderr
    meta = meta_of(fixtures / T / regen[1])
    assert (meta["review"], meta["version"], meta["retired_reason"]) == (
        "retired",
        2,
        "wrong price",
    )

    missing = cli("accept", f"{T}/nope")
    assert missing.returncode == 2
    assert "'shop.test/product/nope': no fixture of that name" in missing.stderr
    nothing = cli("accept")
    assert nothing.returncode == 2 and "no fixtures named" in nothing.stderr


def test_publish_by_hand_wants_a_reviewed_fixture(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 3))
    [result] = compile_template(
        fixtures, "product", tmp_path / "reg", generator="induce", progress=None
    )
    source = Registry(tmp_path / "reg").source(T)
    for case in (fixtures / T).iterdir():
        set_review(case, UNREVIEWED)
    with pytest.raises(BadInput, match=r"no reviewed fixtures for 'shop.test/product'.*accept"):
        publish_checked(tmp_path / "reg", T, source, "product", fixtures, "by hand")
    set_review(fixtures / T / "case-01", REVIEWED)
    version, lines = publish_checked(tmp_path / "reg", T, source, "product", fixtures, "by hand")
    assert version == 2 and lines[0] == f"{T}: 2/2 cases passed"
    entry = json.loads((tmp_path / "reg" / T / "parser.json").read_text())["versions"]["2"]
    assert entry["fixtures_passed"] == [f"{T}/case-01", f"{T}/case-02"]
    assert entry["fixtures_unreviewed"] == [f"{T}/case-02"], "named as no person checked it"


def test_a_template_whose_fixtures_are_all_retired_is_said_not_failed(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 3))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    retire(load_fixtures(fixtures), 1, None, "by hand")
    proc = run_cli("test", "--registry", str(tmp_path / "reg"), "--fixtures", str(fixtures))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0/0 cases (v1; 0 reviewed, 2 retired with v1: no case of this layout yet" in (
        proc.stdout
    )


def test_the_held_page_of_a_regeneration_is_named_by_its_case() -> None:
    sample = Fixture(Path("/state/held/shop.test__product"), T, url(7), "product", {})
    assert sample.name == f"{T}/shop.test__product"  # what parser.json said, three times
    sample.case = held_case(url(7))
    assert sample.name == f"{T}/{held_case(url(7))}" and held_case(url(7)).startswith("regen-")
