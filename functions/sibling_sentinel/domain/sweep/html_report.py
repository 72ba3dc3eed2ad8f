"""The sweep's HTML page: one self-contained file a person reads, rendered from the JSON report alone.

It depends on nothing but the report's JSON dict (DESIGN.md's contract, plus `calendar`) and the run
history, so it renders the same from a sweep in memory, a report file, or one read back from S3. Every
part is bounded (hosts, findings, bytes), so the page of a million-tarball sweep stays readable, and
stays under `MAX_PAGE_BYTES`. No JavaScript is needed to read it; a little script sorts the tables.
"""

from __future__ import annotations

import heapq
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

MAX_FINDINGS = 500  # rows of the findings table; the rest are counted, and are in the JSON
MAX_FINDINGS_BYTES = 1_200_000  # and the table stops sooner when keys are long (up to 1,024 bytes)
MAX_CALENDAR_HOSTS = 300  # calendar rows; hosts with problems, overdue or vanished come first
MAX_CALENDAR_BYTES = 1_200_000  # and fewer when host names are long
MAX_NAMED_HOSTS = 50  # overdue or vanished hosts named in the summary
WORST_HOSTS = 10
TREND_RUNS = 90
MAX_LABEL = 100  # characters of a key or host shown; the link carries the whole of it
MAX_PAGE_BYTES = 3_000_000  # what the bounds above add up to, with room; a test holds the page to it

# Okabe-Ito colours (told apart with any common colour-vision deficiency), each with a letter and a name.
VERDICT_STYLE: dict[str, tuple[str, str, str]] = {
    "ok": ("#009E73", "#ffffff", "\u2713"),
    "pending": ("#56B4E9", "#000000", "P"),
    "missing": ("#D55E00", "#ffffff", "M"),
    "undersized": ("#E69F00", "#000000", "U"),
    "stale": ("#CC79A7", "#000000", "S"),
    "invalid": ("#0072B2", "#ffffff", "I"),
    "orphan": ("#F0E442", "#000000", "O"),
}
NO_BACKUP = ("#ffffff", "#777777", "\u00b7")
_PROBLEMS = ("missing", "undersized", "stale", "invalid")
_FINDING_ORDER = {
    v: n for n, v in enumerate(("missing", "undersized", "stale", "invalid", "orphan", "pending"))
}
CONSOLE = "https://s3.console.aws.amazon.com/s3"


def console_object_url(bucket: str, key: str, region: str = "") -> str:
    """The S3 console's page for one object (it finds the bucket's region itself when none is given)."""
    where = f"region={quote(region, safe='')}&" if region else ""
    return f"{CONSOLE}/object/{quote(bucket, safe='')}?{where}prefix={quote(key, safe='')}"


def console_folder_url(bucket: str, prefix: str, region: str = "") -> str:
    where = f"region={quote(region, safe='')}&" if region else ""
    return f"{CONSOLE}/buckets/{quote(bucket, safe='')}?{where}prefix={quote(prefix, safe='')}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _label(text: str) -> str:
    return _e(text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "\u2026")


def _link(href: str, text: str) -> str:
    return f'<a href="{_e(href)}" title="{_label(text)}">{_label(text)}</a>'


def _badge(verdict: str) -> str:
    bg, fg, letter = VERDICT_STYLE.get(verdict, NO_BACKUP)
    return f'<span class="badge" style="background:{bg};color:{fg}">{_e(letter)} {_e(verdict)}</span>'


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


class _Page:
    def __init__(self, report: Mapping[str, Any], region: str) -> None:
        self.report = report
        self.bucket = str(report.get("bucket", ""))
        self.prefix = str(report.get("prefix", ""))
        self.region = region
        self.groups: Mapping[str, Mapping[str, Any]] = report.get("groups") or {}
        self.overdue = set(report.get("hosts_overdue") or ()) | {
            name for name, g in self.groups.items() if g.get("overdue")
        }
        self.vanished = list(report.get("hosts_vanished") or ())

    def key_link(self, key: str) -> str:
        return _link(console_object_url(self.bucket, key, self.region), key)

    def host_link(self, host: str) -> str:
        folder = self.prefix if host == "." else f"{self.prefix}{host}/"
        return _link(console_folder_url(self.bucket, folder, self.region), host)

    def host_of(self, key: str) -> str:
        parts = key[len(self.prefix) :].split("/")
        for depth in range(len(parts) - 1, 0, -1):
            candidate = "/".join(parts[:depth])
            if candidate in self.groups:
                return candidate
        return "."

    def standing(self, host: str) -> str:
        if host in self.vanished:
            return '<span class="flag">VANISHED</span>'
        if host in self.overdue:
            return '<span class="flag">OVERDUE</span>'
        return ""


def _named(hosts: Sequence[str]) -> str:
    shown = ", ".join(_label(h) for h in hosts[:MAX_NAMED_HOSTS])
    return shown + (f" and {len(hosts) - MAX_NAMED_HOSTS} more" if len(hosts) > MAX_NAMED_HOSTS else "")


def _summary(page: _Page) -> str:
    r = page.report
    counts: Mapping[str, int] = r.get("counts") or {}
    complete = r.get("complete", True)
    breach = bool(r.get("breach"))
    state = "INCOMPLETE: NOT A PASS" if not complete else "BREACH" if breach else "WITHIN THRESHOLD"
    state_class = "bad" if breach or not complete else "good"
    rows = "".join(
        f"<tr><td>{_badge(v)}</td><td class=num>{counts.get(v, 0)}</td>"
        f"<td>{'counts toward the threshold' if v in _PROBLEMS else 'not a problem'}</td></tr>"
        for v in VERDICT_STYLE
    )
    warnings = "".join(f'<p class="warn">warning: {_e(w)}</p>' for w in r.get("warnings") or ())
    hosts = ""
    if page.overdue:
        hosts += (
            f'<p class="warn"><span class="flag">OVERDUE</span> {_e(", ".join(sorted(page.overdue)))}</p>'
        )
    if page.vanished:
        hosts += f'<p class="warn"><span class="flag">VANISHED</span> {_e(", ".join(page.vanished))}</p>'
    return (
        f'<section id="summary"><h2>Summary</h2>'
        f'<p class="state {state_class}" id="state">{state}: {r.get("problems", 0)} problems, '
        f"threshold {r.get('threshold', 0)}</p>"
        f"<p>Coverage <b id=coverage>{_pct(float(r.get('coverage', 1.0)))}</b> "
        f"(ok over the tarballs that are not pending) &middot; {counts.get('tarballs', 0)} tarballs &middot; "
        f"{r.get('objects_listed', 0)} objects listed in {float(r.get('duration_s', 0)):.1f} s &middot; "
        f"started {_e(r.get('started_at', ''))}</p>{warnings}{hosts}"
        f"<table><tr><th>verdict</th><th>count</th><th></th></tr>{rows}</table></section>"
    )


def _calendar(page: _Page, nights: int, max_hosts: int) -> str:
    calendar = page.report.get("calendar")
    if not calendar:
        return (
            '<section id="calendar"><h2>Backup calendar</h2><p>This report has no calendar (written '
            "by an older version).</p></section>"
        )
    dates: list[str] = list(calendar["nights"])[-nights:]
    cells: dict[str, list[str | None]] = {h: list(c)[-nights:] for h, c in calendar["hosts"].items()}
    for host in page.vanished:
        cells.setdefault(host, [None] * len(dates))

    def urgency(host: str) -> tuple[int, int, str]:
        problems = int(page.groups.get(host, {}).get("problems", 0))
        flagged = host in page.overdue or host in page.vanished
        return (0 if flagged else 1, -problems, host)

    shown = sorted(heapq.nsmallest(max_hosts, cells, key=urgency))
    head = "".join(f'<th class="night" title="{_e(d)}">{_e(d[8:10])}</th>' for d in dates)
    rows, size = [], 0
    for host in shown:
        tds = []
        for night, verdict in zip(dates, cells[host], strict=False):
            bg, fg, letter = VERDICT_STYLE.get(verdict or "", NO_BACKUP)
            what = verdict or "no backup"
            tds.append(
                f'<td class="cell" data-night="{night}" data-verdict="{what}" title="{night}: {what}" '
                f'style="background:{bg};color:{fg}">{letter}</td>'
            )
        flagged = host in page.overdue or host in page.vanished
        row = (
            f'<tr class="host{" flagged" if flagged else ""}" data-host="{_e(host)}">'
            f"<th>{page.host_link(host)} {page.standing(host)}</th>{''.join(tds)}</tr>"
        )
        size += len(row)
        if size > MAX_CALENDAR_BYTES:
            break
        rows.append(row)
    more = len(cells) - len(rows)
    rest = f"<p>and {more} more hosts (healthy ones are left out first); see the JSON.</p>" if more else ""
    legend = " ".join(_badge(v) for v in VERDICT_STYLE if v != "orphan") + (
        f' <span class="badge" style="background:#fff;color:#777;border:1px solid #999">'
        f"{NO_BACKUP[2]} no backup</span>"
    )
    span = f"{_e(dates[0])} to {_e(dates[-1])}" if dates else "no nights"
    return (
        f'<section id="calendar"><h2>Backup calendar</h2><p>Each host\'s nights ({span}, UTC dates of the '
        f"tarballs), coloured by that night's worst verdict. {legend}</p>"
        f'<div class="scroll"><table class="calendar"><thead><tr><th>host</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{rest}</section>"
    )


def _trend(history: Sequence[Mapping[str, Any]]) -> str:
    runs = list(history)[-TREND_RUNS:]
    if len(runs) < 2:
        note = "one run so far" if runs else "no run history"
        return (
            f'<section id="trend"><h2>Coverage trend</h2><p>{note}: the trend grows with each nightly '
            "FullSweep run (the CLI keeps no history).</p></section>"
        )
    w, h, pad = 720, 180, 36
    values = [float(run.get("coverage", 1.0)) * 100 for run in runs]
    low = min(90.0, (min(values) // 5) * 5)

    def y(v: float) -> float:
        return pad / 2 + (100 - v) / (100 - low) * (h - pad)

    def x(i: int) -> float:
        return pad + i * (w - 2 * pad) / (len(runs) - 1)

    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" '
        f'fill="{"#D55E00" if run.get("breach") else "#009E73"}">'
        f"<title>{_e(run.get('started_at', ''))}: coverage {v:.2f}%, {run.get('problems', 0)} problems"
        f"{' (BREACH)' if run.get('breach') else ''}</title></circle>"
        for i, (v, run) in enumerate(zip(values, runs, strict=True))
    )
    axis = "".join(
        f'<text x="2" y="{y(v) + 4:.1f}" font-size="11">{v:g}%</text>'
        f'<line x1="{pad}" x2="{w - pad}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
        for v in (low, (low + 100) / 2, 100)
    )
    svg = (
        f'<svg role="img" aria-label="coverage per run" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        f'{axis}<polyline fill="none" stroke="#0072B2" stroke-width="2" points="{line}"/>{dots}</svg>'
    )
    rows = "".join(
        f"<tr><td>{_e(run.get('started_at', ''))}</td><td class=num>{v:.2f}%</td>"
        f"<td class=num>{run.get('problems', 0)}</td><td>{'BREACH' if run.get('breach') else 'ok'}</td></tr>"
        for v, run in list(zip(values, runs, strict=True))[-10:][::-1]
    )
    return (
        f'<section id="trend"><h2>Coverage trend</h2><p>The last {len(runs)} runs; a vermillion dot is a '
        f"breach, a green one within the threshold.</p>{svg}"
        f"<table><tr><th>run</th><th>coverage</th><th>problems</th><th></th></tr>{rows}</table></section>"
    )


def _worst_hosts(page: _Page) -> str:
    ranked = sorted(
        (name for name, g in page.groups.items() if g.get("problems") or name in page.overdue),
        key=lambda n: (n not in page.overdue, -int(page.groups[n].get("problems", 0)), n),
    )[:WORST_HOSTS]
    if not ranked and not page.vanished:
        return '<section id="worst"><h2>Worst hosts</h2><p>No host has a problem.</p></section>'
    rows = []
    for name in ranked:
        g = page.groups[name]
        counts = g.get("counts") or {}
        complete = (g.get("newest_complete") or {}).get("last_modified", "NONE")
        newest = (g.get("newest_tarball") or {}).get("last_modified", "-")
        verdicts = ", ".join(f"{v} {counts[v]}" for v in _PROBLEMS if counts.get(v))
        rows.append(
            f"<tr><td>{page.host_link(name)} {page.standing(name)}</td><td class=num>{g.get('problems', 0)}"
            f"</td><td>{_e(verdicts)}</td><td>{_e(newest)}</td><td>{_e(complete)}</td></tr>"
        )
    rows.extend(
        f"<tr><td>{page.host_link(name)} {page.standing(name)}</td><td class=num>-</td>"
        "<td>no tarball in this sweep; it was in the previous one</td><td>-</td><td>-</td></tr>"
        for name in page.vanished
    )
    return (
        '<section id="worst"><h2>Worst hosts</h2><table class="sortable"><thead><tr><th>host</th>'
        "<th>problems</th><th>by verdict</th><th>newest tarball</th><th>newest complete backup</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _finding_order(f: Mapping[str, Any]) -> tuple[int, str, str]:
    return (_FINDING_ORDER.get(str(f.get("verdict")), 9), str(f.get("key")), str(f.get("rule")))


def _findings(
    page: _Page, findings: Iterable[Mapping[str, Any]], limit: int, json_href: str | None, json_uri: str
) -> str:
    counted = 0

    def counting() -> Iterable[Mapping[str, Any]]:
        nonlocal counted
        for f in findings:
            counted += 1
            yield f

    first = heapq.nsmallest(limit, counting(), key=_finding_order)
    rows, size = [], 0
    for f in first:
        key, sibling = str(f.get("key", "")), str(f.get("sibling", ""))
        row = (
            f'<tr data-verdict="{_e(f.get("verdict"))}"><td>{_badge(str(f.get("verdict")))}</td>'
            f"<td>{_label(page.host_of(key))}</td><td>{page.key_link(key)}</td>"
            f"<td>{page.key_link(sibling)}</td><td>{_e(f.get('reason', ''))}</td>"
            f"<td>{_e(f.get('last_modified', ''))}</td></tr>"
        )
        size += len(row)
        if size > MAX_FINDINGS_BYTES:
            break
        rows.append(row)
    more = counted - len(rows)
    json_link = f'<a href="{_e(json_href)}">the JSON report</a>' if json_href else "the JSON report"
    if json_uri:
        json_link += f" (<code>{_e(json_uri)}</code>)"
    rest = f"<p id=more-findings>and {more} more; see {json_link}.</p>" if more else ""
    return (
        f'<section id="findings"><h2>Findings ({counted})</h2><p>Problems first, then orphans and pending, '
        f"each in key order. Every key links to its page in the S3 console. All of them: {json_link}.</p>"
        '<div class="scroll"><table class="sortable"><thead><tr><th>verdict</th><th>host</th><th>key</th>'
        f"<th>sibling</th><th>reason</th><th>tarball written</th></tr></thead><tbody>{''.join(rows)}"
        f"</tbody></table></div>{rest}</section>"
    )


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#111}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse}td,th{padding:2px 6px;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere}#findings td{max-width:30em}
tr:nth-child(even) td{background-color:#f6f6f6}.num{text-align:right}
.badge{display:inline-block;padding:0 5px;border-radius:3px;font-weight:600;white-space:nowrap}
.state{font-size:1.2em;font-weight:700;padding:6px 10px;display:inline-block;border-radius:4px}
.bad{background:#D55E00;color:#fff}.good{background:#009E73;color:#fff}
.warn{font-weight:600}.flag{background:#000;color:#fff;padding:0 4px;font-size:.8em;font-weight:700}
.scroll{overflow-x:auto}table.calendar td.cell{width:18px;text-align:center;font-size:11px;
border:1px solid #fff;font-weight:700}table.calendar th.night{font-size:10px;font-weight:400}
table.calendar tr.flagged th{border-left:6px solid #000}
th.sort{cursor:pointer;text-decoration:underline dotted}
"""

# Optional: click a column header to sort that table. The page reads the same without it.
_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('thead th').forEach(function (th, col) {
    th.classList.add('sort');
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var down = th.dataset.down !== '1'; th.dataset.down = down ? '1' : '0';
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        var n = parseFloat(x) - parseFloat(y);
        var c = isNaN(n) ? x.localeCompare(y) : n;
        return down ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def render_html(
    report: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]] = (),
    *,
    json_href: str | None = None,
    json_uri: str = "",
    region: str = "",
    nights: int = 30,
    max_findings: int = MAX_FINDINGS,
    max_hosts: int = MAX_CALENDAR_HOSTS,
) -> str:
    """The page for one report. `findings` may be any iterable of finding dicts (it is read once);
    `history` is the run history, oldest first, this run included; `json_href` links the JSON,
    `json_uri` names it."""
    page = _Page(report, region)
    title = f"sibling-sentinel: s3://{page.bucket}/{page.prefix}"
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Backup siblings: {_link(console_folder_url(page.bucket, page.prefix, region), title[18:])}</h1>"
        + _summary(page)
        + _calendar(page, nights, max_hosts)
        + _trend(history)
        + _worst_hosts(page)
        + _findings(page, report.get("findings") or (), max_findings, json_href, json_uri)
        + f"<script>{_SCRIPT}</script></body></html>\n"
    )
