"""The ledger's two figures, written as plain SVG by the library (deterministic, offline, no
plotting library): verdicts per bound family, and the claims' dependency graph coloured by
verdict (in the manner of a formalisation blueprint: an arrow from a claim to the claims that
build on it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

VERDICT_ORDER = ("tight", "holds", "inconclusive", "erratum", "violated")
COLOURS: Mapping[str, str] = {"tight": "#1a7f37", "holds": "#2f6fde", "inconclusive": "#8c959f",
                              "erratum": "#bf8700", "violated": "#cf222e"}
FONT = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""


def _legend(x: float, y: float) -> list[str]:
    out = []
    for i, v in enumerate(VERDICT_ORDER):
        xx = x + i * 110
        out.append(f'<rect x="{xx}" y="{y}" width="12" height="12" rx="2" '
                   f'fill="{COLOURS[v]}"/>')
        out.append(f'<text x="{xx + 17}" y="{y + 10.5}" font-size="12" {FONT}>{v}</text>')
    return out


def verdicts_by_family_svg(records: Sequence[Mapping[str, Any]],
                           families: Sequence[str]) -> str:
    """Horizontal stacked bars: per family, how many claims got each verdict."""
    rows = [f for f in families if any(r["family"] == f for r in records)]
    most = max((sum(r["family"] == f for r in records) for f in rows), default=1)
    unit, left, bar_h, gap = 460 / most, 120, 22, 10
    height = 40 + len(rows) * (bar_h + gap) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{height}" '
           f'viewBox="0 0 640 {height}" role="img" aria-label="verdicts per family">']
    out += _legend(left, 8)
    for i, fam in enumerate(rows):
        y = 36 + i * (bar_h + gap)
        out.append(f'<text x="{left - 8}" y="{y + 15}" font-size="13" text-anchor="end" '
                   f'{FONT}>{escape(fam)}</text>')
        x = float(left)
        for v in VERDICT_ORDER:
            n = sum(r["family"] == fam and r["verdict"] == v for r in records)
            if not n:
                continue
            w = n * unit
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                       f'fill="{COLOURS[v]}"><title>{escape(fam)}: {n} {v}</title></rect>')
            if w >= 16:
                out.append(f'<text x="{x + w / 2:.1f}" y="{y + 15}" font-size="12" '
                           f'fill="white" text-anchor="middle" {FONT}>{n}</text>')
            x += w
    out.append("</svg>")
    return "\n".join(out) + "\n"


def levels(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering: a claim sits one level below the deepest claim it builds on."""
    parents: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        parents[b].append(a)
    memo: dict[str, int] = {}

    def depth(n: str, seen: frozenset[str] = frozenset()) -> int:
        if n in seen:
            raise ValueError(f"dependency cycle through {n}")
        if n not in memo:
            memo[n] = 1 + max((depth(p, seen | {n}) for p in parents[n]), default=-1)
        return memo[n]

    return {n: depth(n) for n in nodes}


def components(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """The connected groups of claims (edges taken both ways), each in the nodes' order,
    ordered by their first claim."""
    link: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in edges:
        link[a].add(b)
        link[b].add(a)
    seen: set[str] = set()
    out = []
    for n in nodes:
        if n in seen:
            continue
        group, todo = set(), [n]
        while todo:
            m = todo.pop()
            if m not in group:
                group.add(m)
                todo += link[m] - group
        seen |= group
        out.append([m for m in nodes if m in group])
    return out


def dependency_svg(records: Sequence[Mapping[str, Any]]) -> str:
    """The claims that build on others, and those they build on, layered top-down."""
    verdict = {r["id"]: r["verdict"] for r in records}
    edges = [(a, r["id"]) for r in records for a in r.get("builds_on", ()) if a in verdict]
    nodes = [r["id"] for r in records if any(r["id"] in e for e in edges)]
    if not nodes:
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>\n')
    lv = levels(nodes, edges)
    w, h, hgap, vgap, group_gap = 250, 24, 46, 8, 22
    depth = max(lv.values()) + 1
    width = depth * (w + hgap) - hgap + 28
    pos: dict[str, tuple[float, float]] = {}
    top = 36.0
    for group in components(nodes, edges):  # each connected group in its own band
        by_level: dict[int, list[str]] = {}
        for n in group:  # book order within a level
            by_level.setdefault(lv[n], []).append(n)
        tallest = max(len(v) for v in by_level.values())
        for level, names in by_level.items():
            y0 = top + (tallest - len(names)) * (h + vgap) / 2
            for i, n in enumerate(names):
                pos[n] = (14 + level * (w + hgap), y0 + i * (h + vgap))
        top += tallest * (h + vgap) + group_gap
    height = int(top)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
           f'viewBox="0 0 {width:.0f} {height}" role="img" aria-label="claim dependencies">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/>'
           '</marker></defs>']
    out += _legend(14, 8)
    for a, b in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        x1, y1, x2, y2 = xa + w, ya + h / 2, xb - 2, yb + h / 2
        mid = (x1 + x2) / 2
        out.append(f'<path d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} '
                   f'{x2:.1f},{y2:.1f}" fill="none" stroke="#57606a" stroke-width="1.1" '
                   'marker-end="url(#arrow)"/>')
    for n in nodes:
        x, y = pos[n]
        colour = COLOURS.get(verdict[n], "#8c959f")
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w}" height="{h}" rx="5" '
                   f'fill="{colour}"><title>{escape(n)}: {verdict[n]}</title></rect>')
        out.append(f'<text x="{x + w / 2:.1f}" y="{y + 16:.1f}" font-size="11.5" fill="white" '
                   f'text-anchor="middle" {FONT}>{escape(n)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def timing_svg(rows: Sequence[tuple[str, float]], limit: float = 60.0) -> str:
    """Horizontal bars: each chapter's quick-mode wall time, with the one-minute target."""
    most = max([t for _, t in rows] + [limit]) * 1.08
    left, bar_h, gap, span = 190, 18, 8, 400
    height = 30 + len(rows) * (bar_h + gap) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="660" height="{height}" '
           f'viewBox="0 0 660 {height}" role="img" aria-label="quick-mode time per chapter">']
    for i, (name, t) in enumerate(rows):
        y = 20 + i * (bar_h + gap)
        colour = "#2f6fde" if t <= limit else "#cf222e"
        out.append(f'<text x="{left - 8}" y="{y + 13}" font-size="12" text-anchor="end" '
                   f'{FONT}>{escape(name)}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{span * t / most:.1f}" height="{bar_h}" '
                   f'fill="{colour}"><title>{escape(name)}: {t:.1f} s</title></rect>')
        out.append(f'<text x="{left + span * t / most + 5:.1f}" y="{y + 13}" font-size="11" '
                   f'{FONT}>{t:.1f} s</text>')
    x = left + span * limit / most
    bottom = 20 + len(rows) * (bar_h + gap)
    out.append(f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{bottom}" stroke="#57606a" '
               'stroke-dasharray="4,3"/>')
    out.append(f'<text x="{x:.1f}" y="{bottom + 14}" font-size="11" text-anchor="middle" '
               f'{FONT}>{limit:.0f} s target</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
