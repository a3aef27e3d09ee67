"""Induction accuracy on SWDE-format data: `python bench/swde.py [DATA_ROOT] [--seeds 3]`.

For every site folder of every vertical under DATA_ROOT (default ../shared/data/swde-dev): take
pages 0000..(seeds-1) with their labels as fixtures, run `induce` only (no LLM), publish through
the gate into a temporary registry, extract every remaining page, and score with the published
SWDE metric (values unescaped, all whitespace deleted, compared as sets per page; TP/FP/FN summed
per case = site x attribute). Prints per-case P/R/F1, mean F1, share of Correct cases (F1 = 1),
compile seconds per template and extraction pages/s.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.compiler.induce import induce  # noqa: E402
from crawler.exceptions import SchemaError  # noqa: E402
from crawler.extract import Extractor, read_html_file  # noqa: E402
from crawler.parsing import Page  # noqa: E402
from crawler.registry import Registry  # noqa: E402
from crawler.routing import fingerprint, learn_url_pattern, reference_fingerprint  # noqa: E402
from crawler.schemas import Schema, load_schema  # noqa: E402

DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "swde-dev"


def read_labels(path: Path) -> dict[str, list[str]]:
    """pageID -> values (entities kept as in the file) from one SWDE ground-truth file."""
    lines = path.read_text("utf-8-sig").splitlines()
    out: dict[str, list[str]] = {}
    for line in lines[2:]:
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        values = [v for v in parts[2:] if v and v != "<NULL>"]
        out[parts[0]] = values
    return out


def norm(value: str) -> str:
    return re.sub(r"\s+", "", html.unescape(value))


def synthetic_schema(vertical: str, attributes: dict[str, bool]) -> Schema:
    import json

    props = {
        name: ({"type": "array", "items": {"type": "string"}} if many else {"type": "string"})
        | {"description": name}
        for name, many in attributes.items()
    }
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": props,
    }
    tmp = Path(tempfile.mkdtemp()) / f"{vertical}.json"
    tmp.write_text(json.dumps(doc))
    return load_schema(str(tmp))


def site_cases(root: Path) -> list[tuple[str, str, Path, dict[str, dict[str, list[str]]]]]:
    cases = []
    for vertical_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "groundtruth"):
        vertical = vertical_dir.name
        for site_dir in sorted(p for p in vertical_dir.iterdir() if p.is_dir()):
            labels = {}
            for gt in sorted((root / "groundtruth" / vertical).glob(f"{site_dir.name}-*.txt")):
                attribute = gt.stem[len(site_dir.name) + 1 :]
                labels[attribute] = read_labels(gt)
            cases.append((vertical, site_dir.name, site_dir, labels))
    return cases


def item_of(
    labels: dict[str, dict[str, list[str]]], page_id: str, schema: Schema
) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for attribute, per_page in labels.items():
        values = [html.unescape(v) for v in per_page.get(page_id, [])]
        if schema.is_list(attribute):
            item[attribute] = values or None
        else:
            item[attribute] = values[0] if values else None
    return item


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=str(DEFAULT_ROOT))
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    root = Path(args.root)
    if not root.is_dir():
        print(f"no SWDE data at {root}: nothing to measure")
        return 0
    rows = []
    compile_times = []
    pages_done = 0
    extract_seconds = 0.0
    registry = Registry(tempfile.mkdtemp(prefix="scrapec-swde-"))
    for vertical, site, site_dir, labels in site_cases(root):
        multi = {a: any(len(v) > 1 for v in per.values()) for a, per in labels.items()}
        try:
            schema = load_schema(vertical)
            if not set(labels) <= set(schema.properties):
                raise SchemaError("attributes differ")
        except SchemaError:
            schema = synthetic_schema(vertical, multi)
        files = sorted(site_dir.glob("*.htm"))
        seeds, rest = files[: args.seeds], files[args.seeds :]
        t0 = time.perf_counter()
        samples = []
        for f in seeds:
            html_text, url = read_html_file(f)
            samples.append((Page(html_text, url), item_of(labels, f.stem, schema)))
        template = f"{site}/{vertical}"
        result = induce(template, schema, samples)
        source = result.source(f"from {len(samples)} labelled pages")
        registry.publish(
            template,
            source,
            schema=schema.name,
            generator="induce",
            reason="swde benchmark",
            layout=reference_fingerprint(fingerprint(p) for p, _ in samples),
            url_pattern=learn_url_pattern([p.url for p, _ in samples]),
        )
        compile_times.append(time.perf_counter() - t0)
        extractor = Extractor(registry, schema, grounding=False)
        totals = {a: [0, 0, 0] for a in labels}
        t1 = time.perf_counter()
        for f in rest:
            html_text, url = read_html_file(f)
            outcome = extractor.extract_html(html_text, url, template)
            item = outcome.item or {}
            for attribute, per_page in labels.items():
                truth = {norm(v) for v in per_page.get(f.stem, [])}
                value = item.get(attribute)
                got = (
                    value
                    if isinstance(value, list)
                    else ([value] if value not in (None, "") else [])
                )
                pred = {norm(str(v)) for v in got} - {""}
                totals[attribute][0] += len(pred & truth)
                totals[attribute][1] += len(pred - truth)
                totals[attribute][2] += len(truth - pred)
        extract_seconds += time.perf_counter() - t1
        pages_done += len(rest)
        for attribute, (tp, fp, fn) in totals.items():
            p = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
            r = tp / (tp + fn) if tp + fn else 1.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            rows.append((site, attribute, p, r, f1))
        if "-v" in sys.argv[1:] or True:
            for line in source.splitlines():
                if line.startswith("        "):
                    print("   ", line.strip())
    print(f"\n{'site':28} {'attribute':18} {'P':>6} {'R':>6} {'F1':>6}")
    for site, attribute, p, r, f1 in rows:
        print(f"{site:28} {attribute:18} {p:6.3f} {r:6.3f} {f1:6.3f}")
    mean_f1 = sum(r[4] for r in rows) / len(rows)
    correct = sum(r[4] == 1.0 for r in rows) / len(rows)
    print(f"\ncases {len(rows)}  mean F1 {mean_f1:.4f}  Correct {correct:.1%}")
    print(
        f"compile seconds per template: mean {sum(compile_times) / len(compile_times):.2f}, max {max(compile_times):.2f}"
    )
    print(
        f"extraction: {pages_done} pages in {extract_seconds:.2f} s = {pages_done / extract_seconds:.0f} pages/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
