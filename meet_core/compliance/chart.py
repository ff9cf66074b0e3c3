"""An inline SVG line chart of the daily compliance rate (no scripts, no external files)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 48


def rate_chart(
    points: Sequence[tuple[str, float | None]], *, title: str = "Compliance rate per day"
) -> str:
    """``points``: (YYYY-MM-DD, rate in 0..1 or None when the day had nothing to rate),
    oldest first. Days without a rate leave a gap in the line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(points)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(rate: float) -> float:
        return TOP + plot_h * (1 - max(0.0, min(1.0, rate)))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="#fafafa" stroke="#ccc"/>',
    ]
    for level in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            f'stroke="#ddd" stroke-dasharray="3 3"/>'
        )
        parts.append(
            f'<text x="{LEFT - 8}" y="{y(level) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#555">{int(level * 100)}%</text>'
        )
    step = max(1, n // 8)
    for i, (day, _) in enumerate(points):
        if i % step == 0 or i == n - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 18}" font-size="11" '
                'text-anchor="middle" '
                f'fill="#555">{escape(day[5:])}</text>'
            )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, rate) in enumerate(points):
        if rate is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(rate):.1f}")
    if segment:
        segments.append(segment)
    for line in segments:
        parts.append(
            f'<polyline points="{" ".join(line)}" fill="none" stroke="#1f6feb" stroke-width="2.5"/>'
        )
    for i, (day, rate) in enumerate(points):
        if rate is not None:
            colour = "#1a7f37" if rate >= 0.999 else "#cf222e"
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(rate):.1f}" r="4" fill="{colour}">'
                f"<title>{escape(day)}: {rate * 100:.1f}%</title></circle>"
            )
    if not segments:
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" '
            'fill="#777">'
            "no rated meetings in this period</text>"
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" font-size="12" text-anchor="middle" '
        f'fill="#333">day (UTC)</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
