"""Small, dependency-free SVG plots for self-contained HTML reports.

Each function returns an ``<svg>`` element as a string (inline in the page, no external
assets): a confusion-matrix heat map, grouped bars (e.g. predicted vs gold distribution) and
bars with a reference line (e.g. strategy preferences against the unbiased value 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#3b6fb6", "#e0803a", "#4c9a5b", "#b54a64", "#7a5cb0", "#8c6d46")
FONT = 'font-family="system-ui, sans-serif"'


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "middle", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {FONT} {extra}>'
            f"{escape(text)}</text>")


def _short(label: str, limit: int = 18) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def confusion_svg(matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str,
                  normalise: bool = True) -> str:
    """Rows gold, columns predicted; cells shaded by row share (recall), annotated with counts."""
    n = len(labels)
    cell = max(26, min(48, 420 // max(n, 1)))
    left, top = 150, 60
    width, height = left + n * cell + 20, top + n * cell + 130
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'),
             _text(width / 2, 18, title, 13, extra='font-weight="600"'),
             _text(left + n * cell / 2, 40, "predicted", 11),
             _text(16, top + n * cell / 2, "gold", 11, extra=f'transform="rotate(-90 16 {top + n * cell / 2:.1f})"')]
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        for j, count in enumerate(row):
            share = count / total if normalise else count / max(max(max(r) for r in matrix), 1)
            shade = int(255 - 200 * share)
            fill = f"rgb({shade},{shade + int(30 * share)},255)" if share else "#f7f7f7"
            x, y = left + j * cell, top + i * cell
            parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" stroke="#fff">'
                         f"<title>{escape(labels[i])} → {escape(labels[j])}: {count} ({100 * count / total:.1f}% of gold)</title></rect>")
            colour = "#fff" if share > 0.55 else "#222"
            parts.append(_text(x + cell / 2, y + cell / 2 + 4, str(count), 10, extra=f'fill="{colour}"'))
        parts.append(_text(left - 6, top + i * cell + cell / 2 + 4, _short(labels[i]), 10, "end"))
    for j, label in enumerate(labels):
        x, y = left + j * cell + cell / 2, top + n * cell + 8
        parts.append(_text(x, y, _short(label), 10, "end", extra=f'transform="rotate(-50 {x:.1f} {y:.1f})"'))
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(series: Mapping[str, Sequence[float]], labels: Sequence[str], title: str,
             value_format: str = "{:.1%}", reference: float | None = None,
             reference_label: str = "") -> str:
    """Grouped vertical bars: one group per label, one bar per series; optional reference line."""
    names = list(series)
    n, k = len(labels), max(len(names), 1)
    group = max(36, 14 * k + 14)
    left, top, plot_h = 72, 44, 220
    legend = len(names) * 150 + (150 if reference is not None and reference_label else 0)
    width = max(left + n * group + 30, left + legend)
    height = top + plot_h + 120
    values = [v for vs in series.values() for v in vs if not math.isnan(v)]
    peak = max([*values, reference or 0.0, 1e-9]) * 1.12
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'),
             _text(width / 2, 18, title, 13, extra='font-weight="600"')]
    base = top + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - 20}" y2="{base}" stroke="#888"/>')
    for tick in range(5):
        value = peak * tick / 4
        y = base - plot_h * tick / 4
        parts.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(_text(left - 6, y + 4, value_format.format(value), 9, "end"))
    bar = (group - 14) / k
    for i, label in enumerate(labels):
        for s, name in enumerate(names):
            value = series[name][i]
            if math.isnan(value):  # undefined: no bar
                continue
            h = plot_h * value / peak
            x = left + i * group + 7 + s * bar
            parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(name)} · {escape(label)}: '
                         f"{escape(value_format.format(value))}</title></rect>")
        x, y = left + i * group + group / 2, base + 10
        parts.append(_text(x, y, _short(label), 10, "end", extra=f'transform="rotate(-45 {x:.1f} {y:.1f})"'))
    if reference is not None:
        y = base - plot_h * reference / peak
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}" stroke="#c33" '
                     'stroke-dasharray="5,4"/>')
    for s, name in enumerate(names):
        x = left + s * 150
        parts.append(f'<rect x="{x}" y="{height - 18}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append(_text(x + 14, height - 9, name, 10, "start"))
    if reference is not None and reference_label:  # in the legend, so that it never covers a bar
        x = left + len(names) * 150
        parts.append(f'<line x1="{x}" y1="{height - 13}" x2="{x + 12}" y2="{height - 13}" stroke="#c33" '
                     'stroke-dasharray="4,3"/>')
        parts.append(_text(x + 16, height - 9, reference_label, 10, "start"))
    parts.append("</svg>")
    return "".join(parts)
