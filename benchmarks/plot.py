"""Render benchmark reports (``python -m benchmarks.run --json ...``) as an SVG bar chart of
median wall time per engine and case, log scale, no plotting library needed.

    python -m benchmarks.plot benchmarks/results/peers.json benchmarks/results/ai.json -o docs/benchmarks.svg
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

COLOURS = {"numpy": "#7f7f7f", "vectorbt": "#1f77b4", "backtesting.py": "#ff7f0e", "backtrader": "#9467bd"}
AI_COLOUR = "#2ca02c"


def collect(paths: list[Path]) -> dict[str, dict[str, float]]:
    """case -> engine -> median wall time (s), later files overriding earlier ones."""
    out: dict[str, dict[str, float]] = {}
    for path in paths:
        report: dict[str, Any] = json.loads(path.read_text())
        for case, body in report["cases"].items():
            for r in body["results"]:
                if r.get("status") == "ok":
                    out.setdefault(case, {})[r["engine"]] = float(r["wall_time_s"])
    return out


def svg(data: dict[str, dict[str, float]]) -> str:
    bar_h, gap, label_w, plot_w, top = 18, 6, 170, 420, 30
    rows = sum(len(v) for v in data.values()) + len(data)
    height = top + rows * (bar_h + gap) + 40
    lo = min(min(v.values()) for v in data.values())
    hi = max(max(v.values()) for v in data.values())
    lmin, lmax = math.floor(math.log10(lo)), math.ceil(math.log10(hi))

    def x(t: float) -> float:
        return label_w + plot_w * (math.log10(t) - lmin) / (lmax - lmin)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 90}" height="{height}" '
             'font-family="sans-serif" font-size="12">',
             f'<text x="{label_w}" y="18" font-weight="bold">median wall time, seconds (log scale)</text>']
    y = top
    for case, engines in data.items():
        parts.append(f'<text x="4" y="{y + 13}" font-weight="bold">{case}</text>')
        y += bar_h + gap
        for engine, t in sorted(engines.items(), key=lambda kv: kv[1]):
            colour = AI_COLOUR if engine.startswith("ai-trading") else COLOURS.get(engine, "#444")
            parts.append(f'<text x="12" y="{y + 13}">{engine}</text>')
            parts.append(f'<rect x="{label_w}" y="{y}" width="{x(t) - label_w:.1f}" height="{bar_h}" fill="{colour}"/>')
            parts.append(f'<text x="{x(t) + 4:.1f}" y="{y + 13}">{t:.3g}</text>')
            y += bar_h + gap
    for e in range(lmin, lmax + 1):
        parts.append(f'<line x1="{x(10**e):.1f}" y1="{top - 4}" x2="{x(10**e):.1f}" y2="{y}" stroke="#ddd"/>')
        parts.append(f'<text x="{x(10**e) - 8:.1f}" y="{y + 16}">1e{e}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_text(svg(collect(args.reports)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
