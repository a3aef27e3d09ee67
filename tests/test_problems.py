"""Problems are typed: producers give a kind and a field, consumers read them, never the words.

A problem is still its message (a ``str``): JSON, logs and comparisons see the same text."""

from __future__ import annotations

import copy
import doctest
import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import product_page, write_fixtures

import crawler.problems
from crawler import checks
from crawler.checks import PageText, grounded_fields, grounding_errors
from crawler.compiler import compile_template
from crawler.compiler.llm import ground_item
from crawler.drift import DriftMonitor
from crawler.exceptions import ParserFailed
from crawler.extract import Extractor
from crawler.fixtures import load_fixtures
from crawler.gate import CaseResult, GateReport, run_gate
from crawler.parsing import Page
from crawler.problems import Problem, ProblemKind, as_problem, parser_failure
from crawler.registry import Registry
from crawler.schemas import load_schema
from crawler.workers import WorkerPool

T = "shop.test/product"
PAGE = Page(
    '<html><body><h1>Walnut Desk</h1><p class="price">£1,299.50</p>'
    '<img src="/desk.jpg"></body></html>',
    "https://shop.test/desk",
)

GROUNDED = Problem.of(ProblemKind.GROUNDING, "name", "name: value 'x' does not occur in the page")


def test_a_problem_is_its_message() -> None:
    p = GROUNDED
    assert p == "name: value 'x' does not occur in the page"
    assert isinstance(p, str) and hash(p) == hash(str(p))
    assert json.dumps({"errors": [p]}) == json.dumps({"errors": [str(p)]})
    assert "; ".join([p, "b"]) == "name: value 'x' does not occur in the page; b"
    assert type(p.text) is str and p.text == p
    for copied in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p), copy.copy(p)):
        assert isinstance(copied, Problem) and copied == p
        assert (copied.kind, copied.field) == (ProblemKind.GROUNDING, "name")


def test_kind_and_field_travel_as_a_pair_next_to_the_text() -> None:
    pair = json.loads(json.dumps(GROUNDED.to_pair()))
    back = Problem.from_pair(json.loads(json.dumps(GROUNDED)), pair)
    assert (back, back.kind, back.field) == (GROUNDED, ProblemKind.GROUNDING, "name")
    # an unknown or broken pair (an untrusted worker) is read from the text, as a plain string
    for broken in (["no such kind", "x"], [1, 2], None, "grounding"):
        read = Problem.from_pair("price: value 9 does not occur in the page", broken)
        assert (read.kind, read.field) == (ProblemKind.GROUNDING, "price")


def test_a_plain_string_is_read_as_before() -> None:
    assert as_problem(GROUNDED) is GROUNDED
    grounding = as_problem("sku: value 'A' does not occur in the page")
    assert (grounding.kind, grounding.field) == (ProblemKind.GROUNDING, "sku")
    other = as_problem("name: 'name' is a required property ($)")
    assert (other.kind, other.field) == (ProblemKind.OTHER, "name")


def test_the_doctests_of_problems_run() -> None:
    failures, tried = doctest.testmod(crawler.problems, report=False)
    assert failures == 0 and tried >= 3


def test_schema_errors_say_kind_and_field() -> None:
    schema = load_schema("product")
    errors = schema.errors({"price": -1, "sku": 5})
    assert [(e.kind, e.field) for e in errors] == [
        (ProblemKind.MISSING, "name"),
        (ProblemKind.SCHEMA, "price"),
        (ProblemKind.SCHEMA, "sku"),
    ], errors
    (whole,) = schema.errors([])
    assert whole == "(item): [] is not of type 'object' ($)"
    assert (whole.kind, whole.field) == (ProblemKind.SCHEMA, None)
    (extra,) = schema.errors({"name": "a", "colour": "red"})
    assert (extra.kind, extra.field) == (ProblemKind.SCHEMA, "colour")


def test_grounding_errors_say_kind_and_field() -> None:
    schema = load_schema("product")
    item = {"name": "Oak Desk", "price": 99.0, "image": "file:///etc/passwd"}
    errors = grounding_errors(item, PAGE, schema)
    assert [(e.kind, e.field) for e in errors] == [
        (ProblemKind.GROUNDING, "name"),
        (ProblemKind.GROUNDING, "price"),
        (ProblemKind.URL, "image"),
    ], errors
    assert errors[0] == "name: value 'Oak Desk' does not occur in the page"


def test_one_decision_grounds_checks_labels_and_llm_values() -> None:
    text = PageText(PAGE)
    assert text.shows("Walnut Desk") and text.shows(1299.5) and text.shows(True)
    assert not text.shows("Oak Desk") and not text.shows(99)
    schema = load_schema("product")
    item = {"name": "Walnut Desk", "price": 1299.5, "brand": "Acme", "image": "ftp://x/y.jpg"}
    # the labellers keep the fields grounding_errors passes (values shown, URLs allowed)
    assert grounded_fields(item, text, schema) == {"name": "Walnut Desk", "price": 1299.5}
    # the LLM's labels: typed, shown by the page, valid (the image is derived: not looked for)
    labelled = ground_item({**item, "price": "1,299.50", "sku": 7}, PAGE, schema)
    assert labelled == {"name": "Walnut Desk", "price": 1299.5, "image": "ftp://x/y.jpg"}


def test_ground_item_drops_what_the_schema_refuses_by_field() -> None:
    schema = load_schema("product")
    page = Page("<h1>Desk</h1><p>rating -3</p>", "https://shop.test/")
    # -3 is on the page but the schema's minimum refuses it: the field of the problem is dropped
    assert ground_item({"name": "Desk", "rating": -3}, page, schema) == {"name": "Desk"}


def test_rewording_a_message_does_not_change_drift() -> None:
    reworded = Problem.of(ProblemKind.GROUNDING, "sku", "sku: not seen on this page")
    misleading = Problem.of(ProblemKind.SCHEMA, "name", "name: 'does not occur in the page'")
    events = DriftMonitor().observe(T, "u", {"sku": "A", "name": "B"}, [reworded, misleading])
    assert [(e.kind, e.field) for e in events] == [("grounding", "sku"), ("failure", "name")]
    # a plain string is still classified as it always was
    plain = DriftMonitor().observe(
        T, "u", {"sku": "A"}, ["sku: value 'A' does not occur in the page"]
    )
    assert [(e.kind, e.field) for e in plain] == [("grounding", "sku")]


def test_a_reworded_grounding_message_keeps_drift_classification(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The grounding message is reworded where it is made: drift still calls it grounding."""
    schema = load_schema("product")
    item = {"sku": "X-1", "image": "ftp://x/a.jpg"}
    before = DriftMonitor().observe(T, "u", item, grounding_errors(item, PAGE, schema))
    monkeypatch.setattr(checks, "NOT_SHOWN", "{field} is nowhere ({value!r})")
    monkeypatch.setattr(checks, "NOT_ALLOWED_URL", "{field} refused")
    errors = grounding_errors(item, PAGE, schema)
    assert errors == ["sku is nowhere ('X-1')", "image refused"]
    after = DriftMonitor().observe(T, "u", item, errors)
    assert [(e.kind, e.field) for e in after] == [(e.kind, e.field) for e in before]
    assert sorted((e.kind, e.field) for e in after) == [("failure", "image"), ("grounding", "sku")]


def test_parser_failures_have_their_kind() -> None:
    cases = {
        "time limit of 2 s reached": ProblemKind.TIME,
        "memory limit reached": ProblemKind.MEMORY,
        "recursion too deep": ProblemKind.CRASH,
        "IndexError: list index out of range": ProblemKind.EXCEPTION,
    }
    for reason, kind in cases.items():
        problem = parser_failure(ParserFailed(T, None, reason))
        assert (problem, problem.kind, problem.field) == (reason, kind, None)
    bad = parser_failure(ParserFailed(T, "price", "nan is not a JSON number"))
    assert (bad.kind, bad.field) == (ProblemKind.EXCEPTION, "price")


def test_a_field_named_policy_is_not_a_policy_refusal() -> None:
    """The gate tells a refused source by the problem's kind, not by a ``policy:`` prefix."""
    grounding = Problem.of(ProblemKind.GROUNDING, "policy", "policy: value 'x' does not occur")
    report = GateReport(T, cases=[CaseResult("test-1", {"policy": "x"}, errors=[grounding])])
    assert report.policy_error is None and not report.passed
    (line,) = report.lines()
    assert line == "test-1: policy: value 'x' does not occur"
    assert isinstance(line, Problem) and (line.kind, line.field) == (
        ProblemKind.GROUNDING,
        "policy",
    )


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(1)
    yield workers
    workers.close()


SOURCE = """from crawler.parsing import Page, text


def parse(page: Page) -> dict:
    return {BODY}
"""


def test_kinds_and_fields_cross_the_worker_pipe(pool: WorkerPool) -> None:
    schema = load_schema("product")
    source = SOURCE.replace("{BODY}", '{"name": "Oak Desk", "price": -1.0, "image": "ftp://x/a"}')
    work = pool.run(source, PAGE.source, PAGE.url, schema=schema)
    assert [(type(e), e.kind, e.field) for e in work.errors] == [
        (Problem, ProblemKind.SCHEMA, "price"),
        (Problem, ProblemKind.GROUNDING, "name"),
        (Problem, ProblemKind.GROUNDING, "price"),
        (Problem, ProblemKind.URL, "image"),
    ], work.errors
    assert work.errors[1] == "name: value 'Oak Desk' does not occur in the page"


def test_failures_cross_the_worker_pipe_with_their_kind(pool: WorkerPool) -> None:
    raised = pool.run(SOURCE.replace("{BODY}", "[][1]"), "<p/>", "u")
    assert raised.failure == "IndexError: list index out of range"
    assert raised.failure.kind is ProblemKind.EXCEPTION
    spin = "n = 0\n    for i in range(10000000):\n        for j in range(10000000):\n            n += 1"
    slow = SOURCE.replace("return {BODY}", spin + "\n    return {'n': n}")
    timed = pool.run(slow, "<p/>", "u", time_limit=0.3)
    assert timed.failure is not None and timed.failure.kind is ProblemKind.TIME, timed.failure
    refused = pool.run("import os\n\ndef parse(page):\n    return {}\n", "<p/>", "u")
    assert refused.policy is not None and refused.policy.kind is ProblemKind.POLICY


def test_the_gate_keeps_kinds_for_the_next_attempt(tmp_path: Path, pool: WorkerPool) -> None:
    fixtures = load_fixtures(write_fixtures(tmp_path / "fx", T, range(1, 2)), T)
    schema = load_schema("product")
    wrong = SOURCE.replace("{BODY}", '{"name": text(page.css("title"))[:3]}')
    report = run_gate(wrong, fixtures, schema, T, pool=pool)
    kinds = {(line.kind, line.field) for line in map(as_problem, report.lines())}
    assert (ProblemKind.MISMATCH, "name") in kinds, report.lines()
    raising = run_gate(SOURCE.replace("{BODY}", "[][1]"), fixtures, schema, T, pool=pool)
    (failed,) = raising.lines()
    assert failed.startswith(f"{fixtures[0].name}: parser failed: IndexError"), failed
    assert as_problem(failed).kind is ProblemKind.EXCEPTION
    refused = run_gate("import os\n\ndef parse(page):\n    return {}\n", fixtures, schema, T)
    assert refused.policy_error is not None and refused.lines()[0].startswith("policy: ")


def test_extraction_errors_are_problems_in_both_paths(tmp_path: Path, pool: WorkerPool) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    registry = Registry(tmp_path / "reg")
    moved = product_page(42, "b")  # the layout moved: the required name is not found
    for extractor in (Extractor(registry, pool=pool), Extractor(registry, in_process=True)):
        result = extractor.extract_html(moved, "http://shop.test/p/42.html")
        assert not result.valid and result.errors, result
        missing = [e for e in result.errors if isinstance(e, Problem) and e.field == "name"]
        assert [e.kind for e in missing] == [ProblemKind.MISSING], result.errors
        line = json.loads(result.to_json())
        assert line["errors"] == [str(e) for e in result.errors]
        unrouted = extractor.extract_html("<p>?</p>", "http://elsewhere.test/")
        (problem,) = unrouted.errors
        assert isinstance(problem, Problem) and problem.kind is ProblemKind.NO_TEMPLATE
