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
const view = document.getElementById('view');
const svg = view.querySelector('svg');
const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
svg.setAttribute('width', W); svg.setAttribute('height', H);
let scale = 1, x = 0, y = 0, drag = null;
function apply() { svg.style.transform = `translate(${x}px, ${y}px) scale(${scale})`; }
function fit() {
  const r = view.getBoundingClientRect();
  scale = Math.min(r.width / W, r.height / H, 2);
  x = (r.width - W * scale) / 2; y = (r.height - H * scale) / 2; apply(); }
view.addEventListener('wheel', e => { e.preventDefault();
  const r = view.getBoundingClientRect(), cx = e.clientX - r.left, cy = e.clientY - r.top;
  const f = e.deltaY < 0 ? 1.15 : 1 / 1.15, next = Math.min(40, Math.max(0.02, scale * f));
  x = cx - (cx - x) * next / scale; y = cy - (cy - y) * next / scale; scale = next;
  apply(); }, {passive: false});
view.addEventListener('mousedown', e => { drag = [e.clientX - x, e.clientY - y]; });
window.addEventListener('mouseup', () => { drag = null; });
window.addEventListener('mousemove', e => { if (drag) { x = e.clientX - drag[0];
  y = e.clientY - drag[1]; apply(); } });
window.addEventListener('resize', fit);
document.getElementById('find').addEventListener('input', e => {
  const q = e.target.value.trim().toLowerCase();
  for (const g of svg.querySelectorAll('g.node')) {
    const hit = q && g.textContent.toLowerCase().includes(q);
    g.style.opacity = (!q || hit) ? 1 : 0.25; }
});
document.getElementById('fit').addEventListener('click', fit);
fit();
"""


def write_html(drawing: Drawing, svg: str) -> str:
    """The page: the drawing fitted to the window (its title is in the drawing itself), a
    search box, and hover tooltips (name, definition, value, gradient) from the SVG."""
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
header {{ padding: 6px 12px; border-bottom: 1px solid #ccc; display: flex; gap: 12px;
  align-items: center; font-size: 14px; }}
#view {{ overflow: hidden; height: calc(100vh - 40px); cursor: grab; position: relative; }}
#view svg {{ transform-origin: 0 0; position: absolute; left: 0; top: 0; }}
</style>
</head>
<body>
<header><input id="find" type="search" placeholder="find a node"> <button id="fit">fit</button>
<span>{len(drawing.boxes)} boxes · wheel: zoom at the pointer · drag: pan ·
hover a box or an arrow for its numbers</span></header>
<div id="view">{body}</div>
<script>{_SCRIPT}</script>
</body>
</html>
"""
