"""``report.html``: the report as one self-contained page (inline CSS, inline SVG charts, a few
lines of inline JavaScript to sort the table; no external asset, opens offline).

Everything shown comes from crawled pages or the registry (template names, field names, values,
parser sources, reasons) and is escaped; nothing of it reaches a ``<script>``.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["render_html"]

_ORDER = {"broken": 0, "drifting": 1, "healed": 2, "healthy": 3}
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header,main{max-width:1180px;margin:0 auto;padding:12px 20px}
header{background:#fff;border-bottom:1px solid #d8dde3}
h1{font-size:20px;margin:6px 0}h2{font-size:16px;margin:0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:8px 12px;min-width:150px}
.card b{display:block;font-size:20px}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;color:#fff}
.b-healthy{background:#2e7d32}.b-healed{background:#1565c0}.b-drifting{background:#ef6c00}
.b-broken{background:#c62828}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left;vertical-align:top}
th{cursor:pointer;user-select:none;background:#eef1f4;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.n{text-align:right;font-variant-numeric:tabular-nums}
section.t{background:#fff;border:1px solid #d8dde3;border-radius:6px;margin:14px 0;padding:0}
section.t>details>summary{padding:8px 12px;cursor:pointer}
.body{padding:0 12px 12px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.charts figure{margin:0}.charts figcaption{font-size:12px;color:#555}
pre.diff{background:#fbfbfc;border:1px solid #e3e6ea;padding:6px;overflow:auto;max-height:420px;font-size:12px}
.add{color:#116329;background:#e6ffec}.del{color:#82071e;background:#ffebe9}.hunk{color:#6639ba}
ul.ev{margin:6px 0 6px 18px;padding:0}.err{color:#b00020}
.legend span{display:inline-block;margin-right:10px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
"""

_JS = """
document.addEventListener('DOMContentLoaded', function () {
  var table = document.getElementById('templates');
  if (!table) { return; }
  var heads = table.querySelectorAll('th');
  heads.forEach(function (th, col) {
    th.addEventListener('click', function () {
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
        var nx = parseFloat(x), ny = parseFloat(y), r;
        if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; } else { r = String(x).localeCompare(String(y)); }
        return asc ? r : -r;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _badge(status: str) -> str:
    return f'<span class="badge b-{_e(status)}">{_e(status)}</span>'


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value):.0%}"


def _chart(
    series: dict[str, list[float | None]], labels: list[str], title: str, line: float | None = None
) -> str:
    """A small line chart (0..1 on the y axis) as inline SVG, one line per series."""
    width, height, left, right, top, bottom = 460, 150, 34, 8, 8, 22
    inner_w, inner_h = width - left - right, height - top - bottom
    count = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (inner_w * i / (count - 1) if count > 1 else inner_w / 2)

    def y(v: float) -> float:
        return top + inner_h * (1 - max(0.0, min(1.0, v)))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(title)}" viewBox="0 0 {width} {height}">',
        f'<rect x="{left}" y="{top}" width="{inner_w}" height="{inner_h}" fill="#fafbfc" '
        'stroke="#d8dde3"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#666">{tick:.0%}</text>'
        )
    if line is not None:
        parts.append(
            f'<line x1="{left}" x2="{left + inner_w}" y1="{y(line):.1f}" y2="{y(line):.1f}" '
            'stroke="#c62828" stroke-dasharray="4 3"/>'
        )
    if labels:
        parts.append(
            f'<text x="{left}" y="{height - 6}" font-size="10" fill="#666">{_e(labels[0][:10])}</text>'
        )
        if len(labels) > 1:
            parts.append(
                f'<text x="{left + inner_w}" y="{height - 6}" font-size="10" fill="#666" '
                f'text-anchor="end">{_e(labels[-1][:10])}</text>'
            )
    for n, (name, values) in enumerate(series.items()):
        color = _COLORS[n % len(_COLORS)]
        points = [(i, x(i), y(v), v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            text = " ".join(f"{px:.1f},{py:.1f}" for _i, px, py, _v in points)
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{text}"/>'
            )
        for i, px, py, v in points:  # each value on hover
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{color}">'
                f"<title>{_e(name)} {v:.0%} ({_e(labels[i])})</title></circle>"
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{_COLORS[n % len(_COLORS)]}"></i>{_e(name)}</span>'
        for n, name in enumerate(series)
    )
    return (
        f"<figure>{''.join(parts)}<figcaption>{_e(title)}</figcaption>"
        f'<div class="legend">{legend}</div></figure>'
    )


def _fill_chart(t: dict[str, Any]) -> str:
    points = list(t["history"]["fill_series"])
    if t["samples"]["fill"]:
        points.append({"time": "samples now", "fill": t["samples"]["fill"]})
    if not points:
        return '<p class="muted">No fill-rate history yet (no crawl recorded a run).</p>'
    names: list[str] = []
    for p in points:
        for name in p["fill"]:
            if name not in names:
                names.append(name)
    names = names[: len(_COLORS)]
    series = {n: [p["fill"].get(n) for p in points] for n in names}
    return _chart(series, [str(p["time"]) for p in points], "fill rate per field, per run")


def _layout_chart(t: dict[str, Any]) -> str:
    points = t["history"]["layout_series"]
    if not points:
        return '<p class="muted">No layout similarity measured yet (no sample pages).</p>'
    band = t["samples"].get("layout_band")
    return _chart(
        {"layout similarity": [p["value"] for p in points]},
        [str(p["time"]) for p in points],
        "layout similarity of the sample pages, per report",
        line=band["low"] if band else None,
    )


def _diff(t: dict[str, Any]) -> str:
    diff = t.get("diff")
    if not diff:
        return "<p>One version only: no diff.</p>"
    out = []
    for line in diff["lines"]:
        cls = ""
        if line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+") and not line.startswith("+++"):
            cls = "add"
        elif line.startswith("-") and not line.startswith("---"):
            cls = "del"
        out.append(f'<span class="{cls}">{_e(line)}</span>' if cls else _e(line))
    more = "\n… (truncated)" if diff.get("truncated") else ""
    return (
        f"<h3>Parser diff v{_e(diff['from'])} → v{_e(diff['to'])}</h3>"
        f'<pre class="diff">{chr(10).join(out)}{more}</pre>'
    )


def _section(n: int, t: dict[str, Any]) -> str:
    status = t["status"]
    opened = " open" if status in ("broken", "drifting") else ""
    evidence = "".join(f"<li>{_e(line)}</li>" for line in t["evidence"]) or "<li>—</li>"
    errors = "".join(f'<li class="err">{_e(line)}</li>' for line in t["errors"])
    fx = t.get("fixtures")
    if fx is None:
        fixtures = "<p>No fixtures for this template.</p>"
    else:
        fails = "".join(f"<li>{_e(line)}</li>" for line in fx["failures"])
        fixtures = (
            f"<p>Fixtures: <b>{fx['passed']}/{fx['total']}</b> pass ({_e(fx['note'])})</p>"
            + (f'<ul class="ev">{fails}</ul>' if fails else "")
        )
    sample_fails = "".join(f"<li>{_e(line)}</li>" for line in t["samples"]["failures"])
    versions = "".join(
        f"<tr><td>v{_e(v['version'])}</td><td>{_e(v['generator'])}</td><td>{_e(v['created'])}</td>"
        f"<td>{_e(v['reason'])}</td><td class=n>${v['llm']['cost']:.4f}</td></tr>"
        for v in t["versions"]
    )
    regen = t.get("regeneration")
    regen_html = ""
    if regen:
        regen_html = (
            f"<p>Regeneration by this report: {_e(regen.get('note', ''))}"
            f" (tier {_e(regen.get('tier') or '—')}, ${float(regen.get('cost') or 0):.4f})</p>"
        )
    return f"""<section class="t" id="t-{n}"><details{opened}>
<summary><h2 style="display:inline">{_e(t["template"])}</h2> {_badge(status)}
 v{_e(t["active"] if t["active"] is not None else "?")}</summary>
<div class="body">
<ul class="ev">{evidence}{errors}</ul>
<div class="charts">{_fill_chart(t)}{_layout_chart(t)}</div>
{fixtures}
<p>Sample pages: {t["samples"]["checked"]} checked, {t["samples"]["valid"]} valid;
held {t["held"]}, quarantined {t["quarantined"]}; LLM {t["llm"]["calls"]} calls, ${t["llm"]["cost"]:.4f}</p>
{f'<ul class="ev">{sample_fails}</ul>' if sample_fails else ""}
{regen_html}
{_diff(t)}
<h3>Versions</h3><table><thead><tr><th>version</th><th>generator</th><th>created</th><th>reason</th><th>LLM cost</th></tr></thead>
<tbody>{versions}</tbody></table>
</div></details></section>"""


def _row(n: int, t: dict[str, Any]) -> str:
    fx = t.get("fixtures")
    fx_v = -1.0 if fx is None else (fx["passed"] / fx["total"] if fx["total"] else 0.0)
    fx_text = "—" if fx is None else f"{fx['passed']}/{fx['total']}"
    s = t["samples"]
    valid_v = -1.0 if not s["checked"] else s["valid"] / s["checked"]
    valid_text = "—" if not s["checked"] else f"{s['valid']}/{s['checked']}"
    layout = s["layout"]
    last = t["versions"][-1] if t["versions"] else {}
    first = (t["evidence"] or [""])[0]
    return (
        f'<tr data-status="{_e(t["status"])}">'
        f'<td data-v="{_e(t["template"])}"><a href="#t-{n}">{_e(t["template"])}</a></td>'
        f'<td data-v="{_ORDER.get(t["status"], 9)}">{_badge(t["status"])}</td>'
        f'<td class=n data-v="{_e(t["active"] or 0)}">v{_e(t["active"] or "?")}</td>'
        f'<td class=n data-v="{fx_v:.4f}">{fx_text}</td>'
        f'<td class=n data-v="{valid_v:.4f}">{valid_text}</td>'
        f'<td class=n data-v="{-1 if layout is None else layout}">{_pct(layout) if layout is not None else "—"}</td>'
        f'<td class=n data-v="{t["held"]}">{t["held"]}</td>'
        f'<td class=n data-v="{t["quarantined"]}">{t["quarantined"]}</td>'
        f'<td class=n data-v="{t["llm"]["cost"]}">${t["llm"]["cost"]:.4f}</td>'
        f'<td data-v="{_e(last.get("created") or "")}">{_e(last.get("created") or "")} '
        f"{_e(last.get('generator') or '')}</td>"
        f'<td data-v="{_e(first)}">{_e(first[:140])}</td></tr>'
    )


def render_html(report: dict[str, Any]) -> str:
    s = report["summary"]
    templates = sorted(
        report["templates"], key=lambda t: (_ORDER.get(t["status"], 9), t["template"])
    )
    cards = "".join(
        f'<div class="card">{_badge(k)}<b>{n}</b>templates</div>' for k, n in s["by_status"].items()
    )
    tiers = ", ".join(f"{_e(k)}: {v}" for k, v in s["regenerations_by_tier"].items()) or "none"
    cards += (
        f'<div class="card">regenerations by tier<b>{sum(s["regenerations_by_tier"].values())}</b>{tiers}</div>'
        f'<div class="card">LLM calls / cost<b>{s["llm"]["calls"]}</b>${s["llm"]["cost"]:.4f}</div>'
        f'<div class="card">pages checked<b>{s["pages_checked"]}</b>{s["runs_in_window"]} runs in the window</div>'
    )
    changes = "".join(f"<li>{_e(c)}</li>" for c in s["changes"])
    errors = "".join(f'<li class="err">{_e(e)}</li>' for e in report["errors"])
    verdict = "ALERT: templates need attention" if report["exit_code"] else "all healthy or healed"
    rows = "".join(_row(n, t) for n, t in enumerate(templates))
    sections = "".join(_section(n, t) for n, t in enumerate(templates))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>scrapec report {_e(report["generated"])}</title>
<style>{_CSS}</style></head>
<body><header>
<h1>scrapec report — {_e(verdict)}</h1>
<div>{_e(report["generated"])} · registry <code>{_e(report["registry"])}</code> · since {_e(report["since"])}</div>
<div class="cards" id="summary">{cards}</div>
<div><b>Since the last report</b>{f" ({_e(s['last_report'])})" if s.get("last_report") else ""}:<ul class="ev" id="changes">{changes}</ul></div>
{f'<ul class="ev">{errors}</ul>' if errors else ""}
</header><main>
<table id="templates"><thead><tr><th>template</th><th>status</th><th>active</th><th>fixtures</th>
<th>samples valid</th><th>layout</th><th>held</th><th>quarantined</th><th>LLM cost</th><th>last version</th><th>evidence</th></tr></thead>
<tbody>{rows}</tbody></table>
{sections}
</main><script>{_JS}</script></body></html>
"""
