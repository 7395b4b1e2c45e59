"""A standalone HTML page: the SVG inline, with zoom, pan and a search box for big graphs.

The SVG comes from the SVG writer (already escaped); ``html_escape`` escapes the page's own text.
The script only reads the SVG's elements; it never inserts label text as markup."""

from __future__ import annotations

from ..model import Drawing


def html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


_SCRIPT = """
const box = document.getElementById('view');
const svg = box.querySelector('svg');
let scale = 1, x = 0, y = 0, drag = null;
function apply() { svg.style.transform = `translate(${x}px, ${y}px) scale(${scale})`; }
box.addEventListener('wheel', e => { e.preventDefault();
  const f = e.deltaY < 0 ? 1.15 : 1 / 1.15; scale = Math.min(20, Math.max(0.05, scale * f));
  apply(); }, {passive: false});
box.addEventListener('mousedown', e => { drag = [e.clientX - x, e.clientY - y]; });
window.addEventListener('mouseup', () => { drag = null; });
window.addEventListener('mousemove', e => { if (drag) { x = e.clientX - drag[0];
  y = e.clientY - drag[1]; apply(); } });
document.getElementById('find').addEventListener('input', e => {
  const q = e.target.value.trim().toLowerCase();
  for (const g of svg.querySelectorAll('g.node')) {
    const hit = q && g.textContent.toLowerCase().includes(q);
    g.style.opacity = (!q || hit) ? 1 : 0.25; }
});
document.getElementById('fit').addEventListener('click', () => { scale = 1; x = 0; y = 0;
  apply(); });
"""


def write_html(drawing: Drawing, svg: str) -> str:
    body = svg.split("?>", 1)[1] if svg.startswith("<?xml") else svg
    title = html_escape(drawing.title or "chainrule drawing")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 0; font-family: 'DejaVu Sans', Verdana, sans-serif; }}
header {{ padding: 6px 12px; border-bottom: 1px solid #ccc; display: flex; gap: 12px; }}
#view {{ overflow: hidden; height: calc(100vh - 48px); cursor: grab; }}
#view svg {{ transform-origin: 0 0; }}
</style>
</head>
<body>
<header><strong>{title}</strong>
<input id="find" type="search" placeholder="find a node"> <button id="fit">reset view</button>
<span>{len(drawing.boxes)} boxes · wheel: zoom · drag: pan</span></header>
<div id="view">{body}</div>
<script>{_SCRIPT}</script>
</body>
</html>
"""
