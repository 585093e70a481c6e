"""An arena run as one self-contained HTML page: the board, a quality-cost scatter with its
Pareto frontier (inline SVG, so no plotting library and nothing fetched), pairwise win rates,
and every answer."""

from __future__ import annotations

import time
from html import escape
from typing import Any

_STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;margin:0;
color:#1b1f24;background:#fff}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.front{font-weight:600}.muted{color:#57606a}.wrap{overflow-x:auto}
svg text{font:12px system-ui,sans-serif;fill:#1b1f24}details{margin:.3rem 0}summary{cursor:pointer}
.ok{color:#116329}.bad{color:#a40e26}
"""
_COLOURS = ["#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#0550ae", "#6e7781"]


def _money(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if v else "0"


def scatter(board: list[dict[str, Any]], front: list[str], width: int = 640, height: int = 360) -> str:
    """Quality (y) against cost per task (x), frontier joined by a line."""
    pad_l, pad_r, pad_t, pad_b = 56, 24, 16, 44
    costs = [b["cost_per_task"] for b in board]
    hi = max(costs) or 1.0
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def x(c: float) -> float:
        return pad_l + w * (c / hi) * 0.92 + w * 0.04

    def y(q: float) -> float:
        return pad_t + h * (1 - q)

    parts = [f'<svg role="img" aria-labelledby="scatter-title scatter-desc" viewBox="0 0 {width} {height}" '
             f'width="100%" style="max-width:{width}px">',
             '<title id="scatter-title">Quality against cost per task</title>',
             '<desc id="scatter-desc">' + escape("; ".join(
                 f"{b['name']}: quality {b['quality']:.3f}, cost per task {_money(b['cost_per_task'])}"
                 for b in board)) + "</desc>",
             f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#f6f8fa" stroke="#d0d7de"/>']
    for q in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y(q):.1f}" y2="{y(q):.1f}" stroke="#d0d7de"/>'
                     f'<text x="{pad_l - 8}" y="{y(q) + 4:.1f}" text-anchor="end">{q:.2f}</text>')
    for c in (0, hi / 2, hi):
        parts.append(f'<text x="{x(c):.1f}" y="{pad_t + h + 18}" text-anchor="middle">{_money(c)}</text>')
    parts.append(f'<text x="{pad_l + w / 2}" y="{height - 6}" text-anchor="middle">cost per task</text>'
                 f'<text transform="rotate(-90)" x="{-(pad_t + h / 2)}" y="14" text-anchor="middle">quality</text>')
    by_name = {b["name"]: b for b in board}
    line = " ".join(f"{x(by_name[n]['cost_per_task']):.1f},{y(by_name[n]['quality']):.1f}" for n in front)
    if len(front) > 1:
        parts.append(f'<polyline points="{line}" fill="none" stroke="#1a7f37" stroke-width="2" stroke-dasharray="6 4"/>')
    placed: list[tuple[float, float]] = []
    for i, b in enumerate(board):
        cx, cy = x(b["cost_per_task"]), y(b["quality"])
        colour = _COLOURS[i % len(_COLOURS)]
        anchor, dx = ("end", -10) if cx > pad_l + w * 0.7 else ("start", 10)
        ly = cy - 8
        while any(abs(ly - py) < 14 and abs(cx - px) < 120 for px, py in placed):  # labels must not overlap
            ly += 15
        placed.append((cx, ly))
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="{colour}" stroke="#fff" stroke-width="2"/>'
                     f'<text x="{cx + dx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">{escape(b["name"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _board(result: dict[str, Any]) -> str:
    front = set(result["pareto"])
    rows = []
    for b in sorted(result["contestants"], key=lambda b: -b["quality"]):
        mark = ' class="front"' if b["name"] in front else ""
        rows.append(
            f"<tr{mark}><td>{escape(b['name'])}{' ★' if b['name'] in front else ''}</td>"
            f"<td>{escape(b['model'])}</td><td class=num>{b['quality']:.3f}</td>"
            f"<td class=num>{_money(b['cost'])}</td><td class=num>{b['latency_ms_p50']:.0f}</td>"
            f"<td class=num>{b['latency_ms_p95']:.0f}</td><td class=num>{b['tokens_in']}/{b['tokens_out']}</td>"
            f"<td class=num>{b['errors']}</td></tr>")
    return ("<div class=wrap><table><caption class=muted>★ on the quality-cost frontier</caption><thead><tr>"
            "<th scope=col>Contestant</th><th scope=col>Model</th><th scope=col class=num>Quality</th>"
            "<th scope=col class=num>Cost</th><th scope=col class=num>p50 ms</th><th scope=col class=num>p95 ms</th>"
            "<th scope=col class=num>Tokens in/out</th><th scope=col class=num>Errors</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


def _pairwise(result: dict[str, Any]) -> str:
    names = [b["name"] for b in result["contestants"]]
    head = "".join(f"<th scope=col class=num>{escape(n)}</th>" for n in names)
    rows = []
    for a in names:
        cells = "".join("<td class=num>–</td>" if a == b else f"<td class=num>{result['pairwise'][a][b]:.0%}</td>"
                        for b in names)
        rows.append(f"<tr><th scope=row>{escape(a)}</th>{cells}</tr>")
    return ("<div class=wrap><table><caption class=muted>How often the row beats the column (a tie counts half)"
            f"</caption><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _items(result: dict[str, Any]) -> str:
    out = []
    for it in result["items"]:
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td class='num {'ok' if r['score'] >= 1 else 'bad' if r['score'] <= 0 else ''}'>"
            f"{r['score']:.2f}</td><td>{escape(r['error'] or r['answer'])[:600]}</td></tr>"
            for name, r in it["results"].items())
        out.append(f"<details><summary>#{escape(str(it['id']))} {escape(it['prompt'][:120])}</summary>"
                   f"<p class=muted>reference: {escape(str(it['reference']))} · metric: {escape(it['metric'])}</p>"
                   f"<div class=wrap><table><tbody>{rows}</tbody></table></div></details>")
    return "".join(out)


def _judge_cost(result: dict[str, Any]) -> str:
    spent = sum(b.get("judge_cost", 0.0) for b in result["contestants"])
    if not result.get("judge"):
        return ""
    return (f"<p class=muted>The judge ({escape(result['judge'])}) cost {_money(spent)} in all, "
            "not counted in the contestants' cost.</p>")


def render(result: dict[str, Any]) -> str:
    """The whole report page."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(result["ts"]))
    judge = f" · judge: {escape(result['judge'])}" if result.get("judge") else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>Arena: {escape(result['suite'])}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>Arena: {escape(result['suite'])}</h1>"
        f"<p class=muted>{escape(result.get('description') or '')} {result['tasks']} tasks · metric: "
        f"{escape(result['metric'])}{judge} · {when} · run {escape(result['id'])}</p>"
        f"<h2>Board</h2>{_board(result)}{_judge_cost(result)}"
        f"<h2>Quality against cost</h2><figure>{scatter(result['contestants'], result['pareto'])}</figure>"
        f"<h2>Pairwise win rate</h2>{_pairwise(result)}"
        f"<h2>Answers</h2>{_items(result)}"
        "</main></body></html>"
    )
