"""Write demo pages as fixtures: ``OUT/<site>/<template>/case-NN/{page.html, meta.json, expected.json}``.

    python -m crawler.demo.export fixtures                  # 3 cases per template, seed 7
    python -m crawler.demo.export /tmp/v2 --redesign        # the redesigned shop pages only

Pages are written as served (for the JavaScript-built job pages: the static HTML, unless
``rendered=True``, which writes the document as the page's script leaves it). URLs use
``http://127.0.0.1:8765``, the demo server's default address.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crawler.demo.site import DEFAULT_BASE_URL, REDESIGNED, TEMPLATES, DemoSite

__all__ = ["export_fixtures", "main"]


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def export_fixtures(
    out_dir: str | Path,
    per_template: int = 3,
    seed: int = 7,
    redesign: bool = False,
    templates: Iterable[str] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    rendered: bool = False,
) -> list[Path]:
    """Write the first ``per_template`` detail pages of each template as fixtures; return the
    case folders written.

    ``templates`` defaults to every template, or with ``redesign=True`` to the templates the
    redesign changes (``shop.demo/product``), so their new-layout fixtures can go to their own
    folder. Existing files of the same cases are overwritten; nothing else is touched.
    """
    if per_template < 1:
        raise ValueError(f"per_template must be at least 1, got {per_template!r}")
    site = DemoSite(seed=seed, redesign=redesign, base_url=base_url)
    chosen = list(templates) if templates is not None else None
    if chosen is None:
        chosen = [t for t in TEMPLATES if not redesign or t in REDESIGNED]
    unknown = [t for t in chosen if t not in TEMPLATES]
    if unknown:
        raise ValueError(f"unknown demo templates {unknown!r}; known: {sorted(TEMPLATES)}")
    root = Path(out_dir)
    written = []
    for template in chosen:
        for n, path in enumerate(site.detail_paths(template)[:per_template], start=1):
            truth = site.truth(path)
            assert truth is not None
            status, _, body = site.render_dom(path) if rendered else site.render(path)
            assert status == 200, path
            case = root / template / f"case-{n:02d}"
            case.mkdir(parents=True, exist_ok=True)
            meta = {"url": site.url(path), "template": template, "schema": TEMPLATES[template]}
            _write(case / "page.html", body)
            _write(case / "meta.json", _json(meta))
            _write(case / "expected.json", _json(truth[1]))
            written.append(case)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.demo.export", description="Write demo pages as scrapec fixtures."
    )
    parser.add_argument("out_dir", help="fixtures folder, e.g. fixtures")
    parser.add_argument("--per-template", type=int, default=3, help="cases per template")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--redesign", action="store_true", help="the redesigned shop pages (only those templates)"
    )
    parser.add_argument(
        "--template",
        action="append",
        help="only this template (repeatable), e.g. news.demo/article",
    )
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL)
    parser.add_argument(
        "--rendered", action="store_true", help="write JavaScript pages as rendered"
    )
    args = parser.parse_args(argv)
    try:
        cases = export_fixtures(
            args.out_dir,
            per_template=args.per_template,
            seed=args.seed,
            redesign=args.redesign,
            templates=args.template,
            base_url=args.base_url,
            rendered=args.rendered,
        )
    except ValueError as exc:
        parser.error(str(exc))
    for case in cases:
        print(case)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
