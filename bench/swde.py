"""Accuracy on SWDE-format data through the product's own path: `python bench/swde.py [ROOT] [--seeds 3] [--examples]`.

For every site folder of every vertical under ROOT (default ../shared/data/swde-dev): write pages
0000..(seeds-1) with their labels as fixtures, run ``scrapec compile`` (``compile_template``:
induce, the gate, publish; no LLM) with the schema given by path, then extract every remaining page
with an ``Extractor`` that reads the schema from the registry (schema, grounding: an item that
fails a check counts as no values), and score with the published SWDE metric (values unescaped,
all whitespace deleted, compared as sets per page; TP/FP/FN summed per case = site x attribute).

Prints per-case P/R/F1 with the compiler's leave-one-out estimate beside it, per vertical mean F1,
the overall mean F1 and share of Correct cases (F1 = 1), compile seconds per template and
extraction pages/s. ``--leave-site-out`` is not needed: nothing is learnt across sites.

``--examples``: the first page's labels are given as example values to the single-URL path
(``crawler.api.Session``, as ``extract(url, schema, examples=…)`` does): the page fits no
template, so one is taught from the examples, gated and published; the other pages are scored.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.compiler import compile_template  # noqa: E402
from crawler.extract import Extractor, read_html_file  # noqa: E402
from crawler.registry import Registry  # noqa: E402
from crawler.schemas import SCHEMA_DIR  # noqa: E402

DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "swde-dev"


def read_labels(path: Path) -> dict[str, list[str]]:
    """pageID -> values (entities kept as in the file) from one SWDE ground-truth file."""
    lines = path.read_text("utf-8-sig").splitlines()
    out: dict[str, list[str]] = {}
    for line in lines[2:]:
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        out[parts[0]] = [v for v in parts[2:] if v and v != "<NULL>"]
    return out


def is_multi(path: Path) -> bool:
    """Whether the attribute has more values than pages with a value (line 2 of the file)."""
    stats = path.read_text("utf-8-sig").splitlines()[1].split("\t")
    return int(stats[2]) > int(stats[1])


def norm(value: str) -> str:
    return re.sub(r"\s+", "", html.unescape(value))


def schema_file(vertical: str, multi: dict[str, bool], folder: Path) -> Path:
    """The shipped schema of the vertical when it has every attribute, else one written for it
    (a list where the attribute can have several values on a page): given by path either way."""
    shipped = SCHEMA_DIR / f"{vertical}.json"
    if shipped.is_file():
        doc = json.loads(shipped.read_text())
        if set(multi) <= set(doc.get("properties", {})):
            return shipped
    props = {
        name: ({"type": "array", "items": {"type": "string"}} if many else {"type": "string"})
        | {"description": name.replace("_", " ")}
        for name, many in multi.items()
    }
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": props,
    }
    path = folder / f"{vertical}.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def site_cases(
    root: Path,
) -> list[tuple[str, str, Path, dict[str, dict[str, list[str]]], dict[str, bool]]]:
    cases = []
    for vertical_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "groundtruth"):
        vertical = vertical_dir.name
        for site_dir in sorted(p for p in vertical_dir.iterdir() if p.is_dir()):
            labels, multi = {}, {}
            for gt in sorted((root / "groundtruth" / vertical).glob(f"{site_dir.name}-*.txt")):
                attribute = gt.stem[len(site_dir.name) + 1 :]
                labels[attribute] = read_labels(gt)
                multi[attribute] = is_multi(gt)
            cases.append((vertical, site_dir.name, site_dir, labels, multi))
    return cases


def item_of(
    labels: dict[str, dict[str, list[str]]], page_id: str, multi: dict[str, bool]
) -> dict[str, Any]:
    """The expected item of a page as a user would write it: values as the page shows them."""
    item: dict[str, Any] = {}
    for attribute, per_page in labels.items():
        values = [html.unescape(v) for v in per_page.get(page_id, [])]
        if multi.get(attribute):
            item[attribute] = values or None
        else:
            item[attribute] = values[0] if values else None
    return item


def write_fixtures(
    folder: Path, template: str, seeds: list[Path], labels: dict[str, Any], multi: dict[str, bool]
) -> None:
    for f in seeds:
        html_text, url = read_html_file(f)
        case = folder / template / f.stem
        case.mkdir(parents=True)
        (case / "page.html").write_text(html_text, "utf-8")
        (case / "meta.json").write_text(json.dumps({"url": url, "template": template}))
        (case / "expected.json").write_text(
            json.dumps(item_of(labels, f.stem, multi), ensure_ascii=False)
        )


def teach_by_examples(
    page_file: Path, schema_path: Path, registry: Registry, work: Path, examples: dict[str, Any]
) -> tuple[str, Any, list[str]]:
    """One page's labels given as example values to the product's path (``Session``: the page
    routes to no template, so its template is taught from the examples, gated, published).
    Examples the page does not show are left out as a user would, and reported."""
    from crawler.api import Session
    from crawler.exceptions import ExampleNotFound
    from crawler.fetch import Fetched
    from crawler.schemas import load_schema

    html_text, url = read_html_file(page_file)
    page = Fetched.saved(html_text, url)
    session = Session(registry, load_schema(str(schema_path)), fixtures=work / "taught", llm=None)
    given = {k: v for k, v in examples.items() if v not in (None, [], "")}
    dropped: list[str] = []
    while True:
        try:
            outcome = session.extract_fetched(page, examples=given)
            break
        except ExampleNotFound as exc:
            dropped += sorted(exc.fields)
            given = {k: v for k, v in given.items() if k not in exc.fields}
    template = outcome.template or "-"
    from crawler.compiler.tiers import CompileResult

    info = registry.info(template, fresh=True) if outcome.template else None
    result = CompileResult(template, info.active if info else None, None, 1, 1 if info else 0)
    return template, result, dropped


def score(pred_values: Any, truth_values: list[str]) -> tuple[int, int, int]:
    truth = {norm(v) for v in truth_values}
    got = pred_values if isinstance(pred_values, list) else [pred_values]
    pred = {norm(str(v)) for v in got if v not in (None, "")} - {""}
    return len(pred & truth), len(pred - truth), len(truth - pred)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("root", nargs="?", default=str(DEFAULT_ROOT))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--site", help="only sites whose name contains this")
    ap.add_argument(
        "--examples",
        action="store_true",
        help="teach each template from the labels of its first page given as example values",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="print every parser")
    args = ap.parse_args()
    root = Path(args.root)
    if not root.is_dir():
        print(f"no SWDE data at {root}: nothing to measure")
        return 0
    work = Path(tempfile.mkdtemp(prefix="scrapec-swde-"))
    registry = Registry(work / "registry")
    rows: list[tuple[str, str, str, float, float, float, Any]] = []
    compile_times: list[float] = []
    pages_done, invalid, extract_seconds = 0, 0, 0.0
    unpublished: list[str] = []
    for vertical, site, site_dir, labels, multi in site_cases(root):
        if args.site and args.site not in site:
            continue
        files = sorted(site_dir.glob("*.htm"))
        n = 1 if args.examples else args.seeds
        seeds, rest = files[:n], files[n:]
        template = f"{site}/{vertical}"
        fixtures = work / "fixtures" / site
        schema_path = schema_file(vertical, multi, work)
        t0 = time.perf_counter()
        if args.examples:
            template, result, dropped = teach_by_examples(
                seeds[0], schema_path, registry, work, item_of(labels, seeds[0].stem, multi)
            )
            if dropped:
                print(f"{site}: example values not on the page, left out: {dropped}")
        else:
            write_fixtures(fixtures, template, seeds, labels, multi)
            [result] = compile_template(
                fixtures, str(schema_path), registry, template, generator="induce", progress=None
            )
        compile_times.append(time.perf_counter() - t0)
        print(f"{template}: compiled in {compile_times[-1]:.2f} s, published={result.published}")
        held_out: dict[str, Any] = {}
        if result.published:
            info = registry.info(template, fresh=True)
            held_out = info.version(info.active or 0).get("fields", {})
            if args.verbose:
                for line in registry.source(template).splitlines():
                    if line.startswith("        "):
                        print("   ", line.strip())
        else:
            unpublished.append(f"{template}: " + "; ".join(result.notes + result.report)[:400])
        extractor = Extractor(registry)  # the schema comes from the registry
        totals = {a: [0, 0, 0] for a in labels}
        t1 = time.perf_counter()
        for f in rest:
            html_text, url = read_html_file(f)
            item: dict[str, Any] = {}
            if result.published:
                outcome = extractor.extract_html(html_text, url, template)
                if outcome.valid:
                    item = outcome.item or {}
                else:
                    invalid += 1
            for attribute, per_page in labels.items():
                tp, fp, fn = score(item.get(attribute), per_page.get(f.stem, []))
                totals[attribute][0] += tp
                totals[attribute][1] += fp
                totals[attribute][2] += fn
        extract_seconds += time.perf_counter() - t1
        pages_done += len(rest) if result.published else 0
        for attribute, (tp, fp, fn) in totals.items():
            p = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
            r = tp / (tp + fn) if tp + fn else 1.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            loo = held_out.get(attribute, {}).get("held_out")
            rows.append((vertical, site, attribute, p, r, f1, loo))
    if not rows:
        print("no sites matched")
        return 1
    print(
        f"\nseeds {1 if args.examples else args.seeds}{' (examples)' if args.examples else ''}\n{'site':26} {'attribute':17} {'P':>6} {'R':>6} {'F1':>6} {'LOO':>6}"
    )
    for _vertical, site, attribute, p, r, f1, loo in rows:
        est = f"{loo:6.2f}" if isinstance(loo, int | float) else "     -"
        print(f"{site:26} {attribute:17} {p:6.3f} {r:6.3f} {f1:6.3f} {est}")
    print(f"\n{'vertical':12} {'cases':>5} {'mean F1':>8} {'Correct':>8}")
    for vertical in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == vertical]
        f1s = [r[5] for r in mine]
        print(
            f"{vertical:12} {len(mine):5} {sum(f1s) / len(f1s):8.3f} {sum(f == 1.0 for f in f1s) / len(f1s):8.1%}"
        )
    mean_f1 = sum(r[5] for r in rows) / len(rows)
    correct = sum(r[5] == 1.0 for r in rows) / len(rows)
    print(f"\ncases {len(rows)}  mean F1 {mean_f1:.4f}  Correct {correct:.1%}")
    for line in unpublished:
        print("NOT PUBLISHED", line)
    print(
        f"compile seconds per template (compile_template: induce, gate, publish): "
        f"mean {sum(compile_times) / len(compile_times):.2f}, max {max(compile_times):.2f}"
    )
    if extract_seconds and pages_done:
        print(
            f"extraction (route-free, schema + grounding): {pages_done} pages in {extract_seconds:.2f} s "
            f"= {pages_done / extract_seconds:.0f} pages/s; {invalid} items failed a check"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
