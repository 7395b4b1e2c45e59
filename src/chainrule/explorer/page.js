'use strict';
// The chainrule explorer. Data (steps, names, where every number lives) comes from the JSON
// element; the numbers come from crCompute, the op table's rules written as JavaScript by
// chainrule.explorer.program. Text is only ever inserted with textContent.
// One module for the offline page and the notebook widget: crExplorer(root, D, crCompute, opts)
// builds the explorer inside `root` (the document, or the widget's element) and returns the
// scripting surface (window.chainrule in the page).
function crExplorer(root, D, crCompute, opts) {
  opts = opts || {};
  const DIG = D.digits;
  const MINUS = '\u2212';
  const cr = {};  // the ops' own JavaScript functions (Op.js_function), defined by crCompute
  const S = new Float64Array(D.size);
  S.set(D.init);
  crCompute(S, cr);
  const ORIGINAL = Float64Array.from(S);  // the program's own numbers, as the page computes them
  let whatif = false;
  let current = 0;
  let timer = null;
  const $ = id => root.querySelector('#' + id);
  const doc = root.ownerDocument || root;
  const win = doc.defaultView || window;
  const reducedMotion = () => Boolean(win.matchMedia && win.matchMedia('(prefers-reduced-motion: reduce)').matches);
  const listeners = [];  // (what, value) callbacks: the widget hears the page's changes
  // work that can wait for the page to be idle (a timeout bounds the wait), else a short timer
  const idle = (f, timeout) => win.requestIdleCallback ? win.requestIdleCallback(f, {timeout}) : win.setTimeout(f, 60);

  // ------------------------------------------------------------ numbers as explain writes them
  function dec(x, digits) {  // chainrule.values.format_float
    const dig = digits || DIG;
    if (Number.isNaN(x)) return 'nan';
    if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
    if (x === 0) return '0';
    if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
    const e = x.toExponential(dig - 1);
    let [mant, ex] = e.split('e');
    const exp = parseInt(ex, 10);
    if (exp < -4 || exp >= dig) {
      if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
      return mant + 'e' + (exp < 0 ? '-' + String(-exp).padStart(2, '0') : '+' + String(exp).padStart(2, '0'));
    }
    let t = x.toFixed(Math.max(0, dig - 1 - exp));
    if (t.includes('.')) t = t.replace(/0+$/, '').replace(/\.$/, '');
    return t;
  }
  function decShort(x, digits) {  // format_float writes the exponent without padding: 1.5e-5
    const t = dec(x, digits);
    const m = /^(.*)e([+-])0*(\d+)$/.exec(t);
    return m ? m[1] + 'e' + (m[2] === '-' ? '-' : '') + m[3] : t;
  }
  function textMinus(s) {  // explain.formulas._text_minus
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const ch = s[i];
      if (ch === '-' && (i === 0 || ' ([,'.includes(s[i - 1])) && !(i > 0 && s[i - 1] === 'e')) out += MINUS;
      else out += ch;
    }
    return out;
  }
  function nested(vals, shape, off) {
    if (shape.length === 0) return decShort(vals[off]);
    const step = shape.slice(1).reduce((a, b) => a * b, 1);
    const parts = [];
    for (let i = 0; i < shape[0]; i++) parts.push(nested(vals, shape.slice(1), off + i * step));
    return '[' + parts.join(', ') + ']';
  }
  function read(s) { return s.at.map(k => S[k]); }
  // after a what-if change, a number computed from one the page cannot recompute is stale:
  // it is never shown (nor answered by window.chainrule) as if it were recomputed
  const STALE = new Set(D.stale);
  function stale(s) { return whatif && s.at.some(k => STALE.has(k)); }
  function num(s) { return stale(s) ? 'not recomputed' : textMinus(nested(read(s), s.shape, 0)); }
  function negative(s) { return s.shape.length === 0 && S[s.at[0]] < 0; }
  // ------------------------------------------------------------ long values: shape and summary
  const SHORT_TEXT = 12;  // a quantity with more elements is summarised in the step text
  function big(s) { return Boolean(s) && s.at.length > SHORT_TEXT; }
  function range(v) {
    let lo = Infinity, hi = -Infinity, nan = false, sum = 0;
    for (const x of v) { if (Number.isNaN(x)) nan = true; else { if (x < lo) lo = x; if (x > hi) hi = x; sum += x; } }
    return {lo, hi, nan, mean: sum / v.length};
  }
  function summary(s) {  // shape, the first entries, min and max: '3×1×3×3 [0.1, −0.2, 0.3, …] min −0.31, max 0.29'
    if (stale(s)) return 'not recomputed';
    return summaryOf(s.shape, read(s));
  }
  function summaryOf(shape, v) {
    const r = range(v);
    const first = v.slice(0, 4).map(x => decShort(x)).join(', ');
    return textMinus(shape.join('×') + ' [' + first + ', …] min ' + decShort(r.lo) + ', max ' + decShort(r.hi) + (r.nan ? ', some nan' : ''));
  }
  function drawNum(s) {  // chainrule.draw.labels.number: arrays past SHORT_ARRAY as shape and summary
    if (s.at.length <= D.short || stale(s)) return num(s);
    const r = range(read(s));
    const d3 = x => r.nan ? 'nan' : decShort(x, 3);
    return textMinus(s.shape.join('×') + ': mean ' + d3(r.mean) + ', range [' + d3(r.lo) + ', ' + d3(r.hi) + ']');
  }
  function slotsOf(q, of) {
    if (q === 'v') return D.values[of];
    if (q === 'g') return D.grads[of];
    const e = edgeOf(of[0], of[1]);
    return e && (q === 'l' ? e.local : q === 'c' ? e.c : e.r);
  }
  function slotName(q, of) {  // what a hidden quantity is called in the list of numbers behind a formula
    if (q === 'v') return D.nodes[of].name;
    if (q === 'g') return D.nodes[of].dname;
    const into = D.nodes[of[0]].name, from = D.nodes[(edgeOf(of[0], of[1]) || {source: of[0]}).source].name;
    return q === 'l' ? '∂' + into + '/∂' + from : q === 'c' ? 'passed back from ' + into + ' to ' + from : 'running sum at ' + from;
  }
  const EDGE = new Map(D.edges.map(e => [e.node + ':' + e.i, e]));
  function edgeOf(node, i) { return EDGE.get(node + ':' + i); }
  const EDGES_FROM = new Map();
  for (const e of D.edges) { if (!EDGES_FROM.has(e.source)) EDGES_FROM.set(e.source, []); EDGES_FROM.get(e.source).push(e); }
  function slotText(p) {
    const s = slotsOf(p.q, p.of);
    if (!s) return '?';
    const t = num(s);
    return (p.fmt !== 'num' && negative(s)) ? '(' + t + ')' : t;
  }
  function plus(terms) {  // explain.document._plus
    let out = '';
    terms.forEach((t, k) => {
      if (k === 0) out = t;
      else if (t.startsWith(MINUS) || t.startsWith('-')) out += ' ' + MINUS + ' ' + t.slice(1);
      else out += ' + ' + t;
    });
    return out;
  }
  function terms(list) {  // lang.notation.rounding_noise: a term zero up to rounding is ≈0
    const slots = list.map(p => slotsOf(p.q, p.of));
    const scalar = slots.map(s => s && s.shape.length === 0 ? Math.abs(S[s.at[0]]) : null);
    const scale = Math.max(0, ...scalar.filter(v => v !== null));
    return list.map((p, k) => {
      const a = scalar[k];
      return a !== null && a > 0 && a <= Math.pow(2, -50) * scale ? '≈0' : slotText(p);
    });
  }
  function pieces(list) {
    return list.map(p => typeof p === 'string' ? p : p.plus ? plus(terms(p.plus)) : slotText(p)).join('');
  }
  function bigSlots(list) {  // the long quantities a part of a formula would write out
    const out = [];
    for (const p of list) {
      if (typeof p === 'string') continue;
      for (const q of p.plus || [p]) if (big(slotsOf(q.q, q.of))) out.push(q);
    }
    return out;
  }
  function close(s, shown) {  // explain.document._close (a matrix element by element)
    const vals = read(s);
    const texts = s.shape.length ? shown.replace(/[\[\]]/g, '').split(',') : [shown];
    if (texts.length !== vals.length) return false;
    return vals.every((v, i) => {
      const x = Number(texts[i].trim().replace(MINUS, '-'));
      return Number.isFinite(x) && Math.abs(v - x) <= 1e-12 * Math.max(1, Math.abs(v));
    });
  }
  function shortLists(text) {  // chainrule.explorer.page.short_lists: a long written-out list as its shape
    let out = '', i = 0;
    while (i < text.length) {
      if (text[i] !== '[') { out += text[i]; i++; continue; }
      let depth = 0, j = i;
      const shape = [], counts = [];
      for (; j < text.length; j++) {
        const ch = text[j];
        if (ch === '[') { depth++; counts[depth - 1] = 1; }
        else if (ch === ',') counts[depth - 1]++;
        else if (ch === ']') { shape[depth - 1] = Math.max(shape[depth - 1] || 0, counts[depth - 1]); depth--; if (depth === 0) break; }
      }
      if (depth !== 0) { out += text.slice(i); break; }
      const size = shape.reduce((a, b) => a * b, 1);
      out += size > D.short ? (shape.length === 1 ? shape[0] + '-element vector' : shape.join('×') + ' array') : text.slice(i, j + 1);
      i = j + 1;
    }
    return out;
  }
  const LONG_PART = 240;  // a written-out part longer than this is kept behind the names
  function chain(b, short) {  // explain.document._chain; short: names stay, long numbers go behind them
    const kept = [];
    const more = [];
    b.chain.forEach((part, j) => {
      if (short && j > 0) {
        const hidden = bigSlots(part);
        if (hidden.length) { for (const q of hidden) more.push([slotName(q.q, q.of), num(slotsOf(q.q, q.of))]); return; }
      }
      let t = pieces(part);
      if (short && j > 1 && t.length > LONG_PART) { more.push(['written out', t]); return; }
      if (short) t = shortLists(t);
      if (!kept.length || kept[kept.length - 1] !== t) kept.push(t);
    });
    const fs = slotsOf(b.final.q, b.final.of);
    let text = kept[0];
    const rel = [];
    for (let i = 1; i < kept.length; i++) rel.push('=');
    if (fs) {
      if (short && big(fs)) {
        kept.push(summary(fs)); rel.push('=');
        more.push([slotName(b.final.q, b.final.of), num(fs)]);
      } else {
        const d = num(fs);
        if (d !== kept[kept.length - 1]) { kept.push(d); rel.push(close(fs, d) ? '=' : '≈'); }
      }
    }
    for (let i = 1; i < kept.length; i++) text += ' ' + rel[i - 1] + ' ' + kept[i];
    const seen = new Set();
    const uniq = more.filter(([n, t]) => { const key = n + '\u0000' + t; if (seen.has(key)) return false; seen.add(key); return true; });
    return uniq.length ? {eq: text, more: uniq} : {eq: text};
  }
  function render(blocks, short) {
    return blocks.map(b => b.chain ? chain(b, short) : b);
  }
  function hasBig(i) {  // does step i write out a long quantity?
    const st = STEPS[i];
    if (st.big === undefined) {
      st.big = full(i).live.some(b => b.chain && (b.chain.some(part => bigSlots(part).length > 0) || big(slotsOf(b.final.q, b.final.of))));
    }
    return st.big;
  }

  // ------------------------------------------------------------ recomputation
  function recompute() {
    crCompute(S, cr);
    whatif = D.inputs.some(k => D.values[k].at.some(s => !Object.is(S[s], ORIGINAL[s])));
    if (whatif) rewriteDrawings(); else restoreDrawings();
    lidTexts();
    show(current, {keepCamera: true});
  }

  // ------------------------------------------------------------ drawings
  // The drawings are draw's own. A closed group's boxes and arrows are not in the document: the
  // page starts with what is open (their markup waits in D.drawings[view].lateNodes/lateArrows),
  // and a closed group is drawn as one box (a lid) where its output's box is.
  const SVG = {forward: $('draw-forward'), gradients: $('draw-gradients')};
  const SVGNS = SVG.forward.querySelector('svg').namespaceURI;  // (the page names no address)
  const VIEWS = Object.keys(SVG);
  const GROUPS = D.groups || [];
  const GROUP_OF = new Int32Array(D.nodes.length).fill(-1);
  GROUPS.forEach((g, j) => { for (const k of g.members) GROUP_OF[k] = j; });
  const CLOSED = new Set(D.closed || []);
  const closedGroup = k => k >= 0 && GROUP_OF[k] >= 0 && CLOSED.has(GROUP_OF[k]) ? GROUP_OF[k] : -1;
  // A big graph's groups, open or closed, wait as markup: an open group's boxes are put in the
  // document when the camera comes near them (and for the current step), and taken out when it
  // leaves; zoomed out past reading, the open boxes are one sketch. A small graph's open groups
  // are always drawn.
  const LAZY = Boolean(D.lazy);
  const DRAWN = {};  // view → the groups whose boxes are in the document
  const ORIGINAL_TEXT = new WeakMap();  // text element → draw's text (what-if changes are undone)
  const LAYER = {};  // view → {frames, edges, links, labels, nodes, lids}
  const STORE = {};  // view → the elements of groups: nodes (group → boxes), arrows (arrow → [arrow, label])
  const ARROWS_OF = {};  // view → group → the arrows with an end in it
  function layer(svg, cls, before) {
    let g = svg.querySelector(':scope > g.' + cls);
    if (!g) {
      g = doc.createElementNS(SVGNS, 'g');
      g.setAttribute('class', cls);
      if (before) svg.insertBefore(g, before); else svg.appendChild(g);
    }
    return g;
  }
  // the offline page keeps that markup out of its JSON (opts.late: one text, pieces split by
  // U+0001, a character draw's SVG never holds): read only when a group is first opened
  let LATE = null;
  function piece(x) {
    if (typeof x !== 'number') return x;
    if (!LATE) LATE = opts.late().split('\u0001');
    return LATE[x];
  }
  // read (once) while the page is idle after loading, not at the first group or far step asked
  if (opts.late && win.requestIdleCallback) win.requestIdleCallback(() => { if (!LATE) LATE = opts.late().split('\u0001'); }, {timeout: 2000});
  function full(i) {  // step i with its text (a closed group's steps keep theirs in opts.late)
    const st = STEPS[i];
    if (st.late !== undefined) { const t = JSON.parse(piece(st.late)); st.blocks = t.blocks; st.live = t.live; delete st.late; }
    return st;
  }
  function parse(markup) {  // draw's markup → elements (inserted by the page, never user text)
    const tmp = doc.createElementNS(SVGNS, 'g');
    tmp.innerHTML = markup;
    return Array.from(tmp.children);
  }
  for (const v of VIEWS) {
    const svg = SVG[v].querySelector('svg');
    const edges = layer(svg, 'edges');
    const frames = layer(svg, 'frames', edges);
    const labels = layer(svg, 'edge-labels');
    const links = layer(svg, 'links', labels);
    const nodes = layer(svg, 'nodes');
    const lids = layer(svg, 'lids');
    LAYER[v] = {frames, edges, links, labels, nodes, lids};
    const store = {nodes: new Map(), arrows: new Map()};
    for (const g of nodes.querySelectorAll('g.node')) {
      const j = GROUP_OF[parseInt(g.id.slice(1), 10)];
      if (j >= 0) { if (!store.nodes.has(j)) store.nodes.set(j, []); store.nodes.get(j).push(g); }
    }
    const ends = D.drawings[v].ends || [];
    const of = new Map();
    ends.forEach(([s, t], a) => {
      for (const k of [s, t]) {
        const j = k >= 0 ? GROUP_OF[k] : -1;
        if (j < 0) continue;
        if (!of.has(j)) of.set(j, []);
        if (of.get(j)[of.get(j).length - 1] !== a) of.get(j).push(a);
      }
    });
    ARROWS_OF[v] = of;
    for (const g of svg.querySelectorAll('g.edge, g.edge-label')) {
      const a = parseInt(g.dataset.i, 10);
      if (!ends[a] || (GROUP_OF[ends[a][0]] < 0 && GROUP_OF[ends[a][1]] < 0)) continue;
      if (!store.arrows.has(a)) store.arrows.set(a, [null, null]);
      store.arrows.get(a)[g.classList.contains('edge') ? 0 : 1] = g;
    }
    STORE[v] = store;
  }
  function groupNodes(v, j) {  // a group's boxes, made from their markup the first time
    const st = STORE[v].nodes;
    if (!st.has(j)) {
      const late = piece(D.drawings[v].lateNodes[j]);
      st.set(j, late ? parse(late) : []);
    }
    return st.get(j);
  }
  function arrowEls(v, a) {
    const st = STORE[v].arrows;
    if (!st.has(a)) {
      const late = D.drawings[v].lateArrows[a];
      const one = x => { const m = piece(x); return m ? parse(m)[0] : null; };
      st.set(a, late ? [one(late[0]), one(late[1])] : [null, null]);
    }
    return st.get(a);
  }
  function place(el, parent, on) {
    if (!el) return;
    if (on) { if (el.parentNode !== parent) parent.appendChild(el); }
    else if (el.parentNode) el.remove();
  }
  // the scripting surface's view of the drawn elements, found again after a group opens or closes
  const NODE_ELS = {};  // view → node → its boxes (a leaf may be drawn more than once)
  const EDGE_ELS = {};  // view → 'consumer:input' → {edge, label}
  function index() {
    for (const v of VIEWS) {
      const nodes = new Map();
      for (const g of LAYER[v].nodes.querySelectorAll('g.node')) {
        const k = parseInt(g.id.slice(1), 10);
        if (!nodes.has(k)) nodes.set(k, []);
        nodes.get(k).push(g);
        decorateNode(v, k, g);
      }
      NODE_ELS[v] = nodes;
      const edges = new Map();
      const arrows = D.drawings[v].arrows;
      for (const g of SVG[v].querySelectorAll('g.edge, g.edge-label')) {
        const e = arrows[parseInt(g.dataset.i, 10)];
        if (!e) continue;
        const key = e[0] + ':' + e[1];
        if (!edges.has(key)) edges.set(key, {edge: null, label: null});
        edges.get(key)[g.classList.contains('edge') ? 'edge' : 'label'] = g;
        decorateEdge(v, e, g);
      }
      EDGE_ELS[v] = edges;
    }
    TEXTS = null;
    PENDING.list = null;
  }
  function recipeText(r) {
    if (r.sum !== undefined) {
      const terms = (EDGES_FROM.get(r.sum) || []).filter(e => e.c).map(e => drawNum(e.c));
      return r.prefix + (terms.length <= 4 ? plus(terms) : 'the sum of ' + terms.length + ' terms');
    }
    if (r.product) {
      const e = edgeOf(r.product[0], r.product[1]);
      const g = D.grads[e.node];
      const f = s => negative(s) ? '(' + num(s) + ')' : drawNum(s);
      let t = f(g) + ' ' + r.symbol + ' ' + f(e.local);
      if (r.summed) t = 'Σ(' + t + ')';
      return t + ' = ' + drawNum(e.c);
    }
    const s = slotsOf(r.q, r.of);
    return (r.prefix || '') + (s ? drawNum(s) : '?');
  }
  let TEXTS = null;  // view → the texts each recipe rewrites (of the elements in the document)
  function recipeTargets() {
    TEXTS = {};
    for (const v of VIEWS) {
      const byId = new Map(), byArrow = new Map();
      for (const g of LAYER[v].nodes.querySelectorAll('g.node')) byId.set(g.id, g);
      for (const g of LAYER[v].labels.querySelectorAll('g.edge-label')) byArrow.set(g.dataset.i, g);
      const out = [];
      const rec = D.drawings[v].recipes;
      const add = (g, list) => {
        if (!g) return;
        const texts = g.querySelectorAll('text');
        list.forEach((r, j) => {
          const t = texts[j];
          if (!r || !t) return;
          if (!ORIGINAL_TEXT.has(t)) ORIGINAL_TEXT.set(t, t.textContent);
          out.push([t, r]);
        });
      };
      for (const [id, g] of byId) { const list = rec.boxes[id]; if (list) add(g, list); }
      for (const [a, g] of byArrow) { const list = rec.edges[a]; if (list) add(g, list); }
      TEXTS[v] = out;
    }
  }
  function rewriteDrawings() {
    if (!TEXTS) recipeTargets();
    for (const v of VIEWS) {
      for (const [t, r] of TEXTS[v]) {
        const s = recipeText(r);
        if (t.textContent !== s) t.textContent = s;
      }
    }
    for (const k of D.inputs) {
      const changed = D.values[k].at.some(s => S[s] !== ORIGINAL[s]);
      for (const v of VIEWS) for (const g of NODE_ELS[v].get(k) || []) g.classList.toggle('changed', changed);
    }
  }
  function restoreDrawings() {
    if (!TEXTS) recipeTargets();
    for (const v of VIEWS) for (const [t] of TEXTS[v]) { const s = ORIGINAL_TEXT.get(t); if (t.textContent !== s) t.textContent = s; }
    for (const v of VIEWS) for (const g of SVG[v].querySelectorAll('g.node.changed')) g.classList.remove('changed');
  }

  // ------------------------------------------------------------ groups: lids, frames, links
  const LIDS = {};  // view → group → its collapsed box (made once)
  const FRAMES = {};  // view → group → the frame drawn round it when open
  for (const v of VIEWS) { LIDS[v] = new Map(); FRAMES[v] = new Map(); }
  const LID_FONT = [13, 12, 11];
  function lidLines(v, j) {
    const g = GROUPS[j];
    const outs = g.outputs;
    const k = outs[outs.length - 1];
    const more = outs.length > 1 ? ' (+' + (outs.length - 1) + ' more)' : '';
    let line;
    if (v === 'forward') line = D.nodes[k].name + ' = ' + drawNum(D.values[k]);
    else line = D.grads[k] ? D.nodes[k].dname + ' = ' + drawNum(D.grads[k]) : D.nodes[k].name;
    return ['⊞ ' + g.name, line + more, g.members.length + ' nodes · press to open'];
  }
  const LID_AT = {forward: new Map(), gradients: new Map()};
  function lidBase(v, j) {  // [x, y, w, h] in draw's layout: the output's box, grown to hold the lid's text (once)
    if (!LID_AT[v].has(j)) LID_AT[v].set(j, lidPlace(v, j));
    return LID_AT[v].get(j);
  }
  function lidGeom(v, j) {  // where the lid is drawn now (moved with the room the closed groups leave)
    const r = lidBase(v, j);
    if (!r) return null;
    const dy = ROOM[v].lid.get(j) || 0;
    return dy ? [r[0], r[1] + dy, r[2], r[3]] : r;
  }
  function lidPlace(v, j) {
    const r = D.drawings[v].lids[j];
    if (!r) return null;
    const lines = lidLines(v, j);
    let w = r[2];
    lines.forEach((t, i) => { w = Math.max(w, t.length * LID_FONT[i] * 0.6 + 20); });
    const h = Math.max(r[3], 3 * 16 + 12);
    return [Math.max(4, r[0] + r[2] / 2 - w / 2), r[1] + r[3] / 2 - h / 2, w, h];
  }
  function placeLid(el, geom) {  // a lid's rectangle and text where its geometry says
    const [x, y, w, h] = geom;
    const rect = el.querySelector('rect');
    for (const [a, val] of [['x', x], ['y', y], ['width', w], ['height', h]]) rect.setAttribute(a, String(val));
    el.querySelectorAll('text').forEach((tx, i) => { tx.setAttribute('x', String(x + w / 2)); tx.setAttribute('y', String(y + 6 + 16 * (i + 1) - 3)); });
  }
  function makeLid(v, j) {
    const geom = lidGeom(v, j);
    if (!geom) return null;
    const el = doc.createElementNS(SVGNS, 'g');
    el.setAttribute('class', 'lid');
    el.setAttribute('id', 'lid-' + v + '-' + j);
    el.dataset.group = String(j);
    el.setAttribute('tabindex', '0');
    el.setAttribute('role', 'button');
    el.setAttribute('aria-expanded', 'false');
    el.setAttribute('aria-label', GROUPS[j].name + ', ' + GROUPS[j].members.length + ' nodes collapsed: press Enter to open');
    const rect = doc.createElementNS(SVGNS, 'rect');
    for (const [a, val] of [['rx', 7], ['fill', '#eef3fb'], ['stroke', '#0b4f9c'], ['stroke-width', 2], ['stroke-dasharray', '7,3']]) rect.setAttribute(a, String(val));
    el.appendChild(rect);
    const lines = lidLines(v, j);
    lines.forEach((t, i) => {
      const tx = doc.createElementNS(SVGNS, 'text');
      tx.setAttribute('font-size', String(LID_FONT[i]));
      tx.setAttribute('fill', i === 2 ? '#333333' : '#111111');
      if (i === 0) tx.setAttribute('font-weight', 'bold');
      tx.textContent = t;
      el.appendChild(tx);
    });
    const open = () => setGroups([j], true);
    el.addEventListener('click', open);
    el.addEventListener('keydown', ev => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); ev.stopPropagation(); open(); } });
    placeLid(el, geom);
    return el;
  }
  function lid(v, j) {
    const m = LIDS[v];
    if (!m.has(j)) m.set(j, makeLid(v, j));
    return m.get(j);
  }
  function refreshLid(v, j, el) {  // a lid's numbers (after a what-if change) and its state
    const texts = el.querySelectorAll('text');
    lidLines(v, j).forEach((t, i) => { if (texts[i].textContent !== t) texts[i].textContent = t; });
    if (VIS.length) el.classList.toggle('pending', VIS[current].e < PENDING.lid(v, j));
  }
  function lidTexts() {
    for (const v of VIEWS) for (const [j, el] of LIDS[v]) if (el && el.parentNode) refreshLid(v, j, el);
  }
  // Only the lids and links near the view are in the document (a closed graph of 10,000 nodes
  // has thousands): they come and go as the camera moves, with the current step's always in.
  // What the view shows is put in at once; a margin of a view's size round it (so that a pan
  // or the next step finds it drawn) follows while the page is idle, a few groups at a time,
  // so that a far jump costs the boxes it shows, not the three views' worth round them.
  const LINKS = {forward: [], gradients: []};  // view → [x0, y0, x1, y1, markup]
  const SHOWN_LINKS = {forward: '', gradients: ''};
  const NOW_MARGIN = 0;  // drawn at once: the view and this much of its size round it
  const IDLE_GROUPS = 6, IDLE_LIDS = 40;  // drawn in one idle slice, at most
  const NOWHERE = [Infinity, Infinity, -Infinity, -Infinity];
  function region(P, m) {  // [x0, y0, x1, y1]: the view grown by m of its size on each side
    const [w, h] = paneSize(P);
    const {x, y, k} = P.cam;
    return [x - m * w / k, y - m * h / k, x + (1 + m) * w / k, y + (1 + m) * h / k];
  }
  const meets = (r, x0, y0, x1, y1) => x0 <= r[2] && x1 >= r[0] && y0 <= r[3] && y1 >= r[1];
  // the box, lid, arrow or tab that has the keyboard focus stays in the document when the
  // camera leaves it (steps taken with the arrow keys, a pan): focus is never dropped to the page
  function held(v) {  // {lid, group}: what holds the focused element of view v (-1: nothing)
    const out = {lid: -1, group: -1};
    const a = doc.activeElement;
    if (!a || !a.closest || !SVG[v].contains(a)) return out;
    const el = a.closest('g.lid, g.node, g.edge, g.edge-label, g.frame');
    if (!el) return out;
    if (el.classList.contains('lid')) out.lid = Number(el.dataset.group);
    else if (el.classList.contains('node')) out.group = GROUP_OF[parseInt(el.id.slice(1), 10)];
    else if (el.classList.contains('frame')) { for (const [j, f] of FRAMES[v]) if (f === el) out.group = j; }
    else {
      const e = D.drawings[v].ends[parseInt(el.dataset.i, 10)] || [-1, -1];
      out.group = e[0] >= 0 && GROUP_OF[e[0]] >= 0 ? GROUP_OF[e[0]] : e[1] >= 0 ? GROUP_OF[e[1]] : -1;
    }
    return out;
  }
  function cull(v, idle) {  // idle: a slice of the margin's drawing, else what the view needs now
    const P = PANES[v];
    if (!P || !P.cam) return;
    const hidden = SVG[v].classList.contains('hidden');  // a hidden pane keeps none (and is not measured)
    const outer = hidden ? NOWHERE : region(P, 1);  // what may stay in the document
    const inner = hidden ? NOWHERE : idle ? outer : region(P, NOW_MARGIN);  // what must be in it now
    const keep = hidden || !VIS.length ? -1 : VIS[current].group;
    const focus = held(v);
    const L = LAYER[v];
    let changed = false, later = false, budget = idle ? IDLE_LIDS : Infinity;
    for (const j of CLOSED) {
      const g = lidGeom(v, j);
      if (!g) continue;
      const el = LIDS[v].get(j);
      const drawn = Boolean(el && el.parentNode);
      const near = meets(outer, g[0], g[1], g[0] + g[2], g[1] + g[3]);
      if (drawn) { if (!near && j !== keep && j !== focus.lid) { el.remove(); changed = true; } continue; }
      if (j !== keep && !meets(inner, g[0], g[1], g[0] + g[2], g[1] + g[3])) { if (near) later = true; continue; }
      if (budget-- <= 0) { later = true; continue; }
      const made = lid(v, j);
      if (!made) continue;
      place(made, L.lids, true);
      refreshLid(v, j, made);
      changed = true;
    }
    let out = '', key = '';
    LINKS[v].forEach((l, i) => { if (meets(outer, l[0], l[1], l[2], l[3])) { out += l[4]; key += i + ','; } });
    if (key !== SHOWN_LINKS[v]) { L.links.innerHTML = out; SHOWN_LINKS[v] = key; }
    if (LAZY) {
      const got = cullGroups(v, inner, outer, hidden, idle ? IDLE_GROUPS : Infinity, focus.group);
      if (got.later) later = true;
      if (got.changed) redrawn(v); else if (changed) PENDING.list = null;
    } else if (changed) PENDING.list = null;
    if (later) fillLater(v);
  }
  const FILL = {forward: 0, gradients: 0};  // a pending idle slice of the margin, by view
  function fillLater(v) {
    if (FILL[v]) return;
    const run = () => {
      FILL[v] = 0;
      const P = PANES[v];
      if (P.moving) { fillLater(v); return; }  // not the margins of the frames of a camera move
      cull(v, true);
    };
    FILL[v] = idle(run, 1000);
  }
  function frame(v, j) {  // an open group: a light halo behind each of its boxes (a rectangle
    // round them all would also hold its neighbours' boxes), and a tab that closes it
    const m = FRAMES[v];
    if (m.has(j)) return m.get(j);
    const r = D.drawings[v].lids[j];
    let el = null;
    if (r) {
      el = doc.createElementNS(SVGNS, 'g');
      el.setAttribute('class', 'frame');
      const set = (node, attrs) => { for (const [a, val] of attrs) node.setAttribute(a, String(val)); return node; };
      for (const box of groupNodes(v, j)) {
        const b = boxOf(box, v), pad = 6;
        el.appendChild(set(doc.createElementNS(SVGNS, 'rect'), [['x', b.x0 - pad], ['y', b.y0 - pad], ['width', b.x1 - b.x0 + 2 * pad],
          ['height', b.y1 - b.y0 + 2 * pad], ['rx', 10], ['fill', '#e3ecf8'], ['stroke', '#0b4f9c'], ['stroke-width', 1], ['stroke-dasharray', '5,4']]));
      }
      const tab = doc.createElementNS(SVGNS, 'g');
      set(tab, [['class', 'frame-tab'], ['tabindex', 0], ['role', 'button'], ['aria-expanded', 'true'], ['aria-label', GROUPS[j].name + ', open: press Enter to close']]);
      const label = '⊟ ' + GROUPS[j].name;
      const [tx, ty0, tw] = tabBase(v, j);
      const ty = ty0 + (ROOM[v].tab.get(j) || 0);
      tab.append(set(doc.createElementNS(SVGNS, 'rect'), [['x', tx], ['y', ty], ['width', tw], ['height', 20], ['rx', 4], ['fill', '#eef3fb'], ['stroke', '#0b4f9c']]),
        set(doc.createElementNS(SVGNS, 'text'), [['x', tx + tw / 2], ['y', ty + 14], ['font-size', 12], ['fill', '#0b4f9c']]));
      tab.lastChild.textContent = label;
      el.append(tab);
      const close = () => setGroups([j], false);
      tab.addEventListener('click', close);
      tab.addEventListener('keydown', ev => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); ev.stopPropagation(); close(); } });
    }
    m.set(j, el);
    return el;
  }
  function tabBase(v, j) {  // [x, y, w, h] of an open group's ⊟ tab in draw's layout: above its
    // output's box, slid along the gap clear of the arrows there (explorer/tabs.py)
    return D.drawings[v].tabs[j] || null;
  }

  // ------------------------------------------------------------ room: what is shown, packed
  // draw lays out every box. A closed group's boxes are not shown and its lid is bigger than its
  // output's box, an open group has a tab: the page moves what is shown along the rank axis
  // (y: draw's explorer drawings run bottom to top), in one sweep in draw's order, so that a
  // gap wider than any gap of the open layout (where hidden boxes were) closes to that width
  // and no two shown things overlap. A box, a label, a lid or a tab moves whole; an arrow is
  // stretched between the moves of the two boxes it joins. Everything open: nothing moves.
  const GEOM = {};  // view → {boxes: Map id → [x, y, w, h], labels: Map arrow → rect, cap, below}
  const ROOM = {};  // view → the moves in y: box id, arrow (its label), lid, tab → dy; W, H
  for (const v of VIEWS) {
    const g = D.drawings[v].geom || {boxes: {}, labels: {}, joins: []};
    const boxes = new Map(Object.entries(g.boxes));
    const labels = new Map(Object.entries(g.labels).map(([a, r]) => [Number(a), r]));
    const mids = [];
    let bottom = 0;
    for (const r of [...boxes.values(), ...labels.values()]) { mids.push(r[1] + r[3] / 2); bottom = Math.max(bottom, r[1] + r[3]); }
    mids.sort((a, b) => a - b);
    let cap = 0;
    for (let i = 1; i < mids.length; i++) cap = Math.max(cap, mids[i] - mids[i - 1]);
    const svg = SVG[v].querySelector('svg');
    const vb = svg.viewBox.baseVal;
    GEOM[v] = {boxes, labels, joins: g.joins, cap, W: vb.width, H: vb.height, below: vb.height - bottom};
    ROOM[v] = {box: new Map(), label: new Map(), lid: new Map(), tab: new Map(), W: vb.width, H: vb.height};
  }
  const GAP = {box: 4, label: 4, lid: 12, tab: 6};  // room kept below a thing (and above a lid or tab)
  function skyline(n) {  // over x slots: raise a range to a height; the highest point of a range
    let size = 1;
    while (size < n) size <<= 1;
    const top = new Float64Array(2 * size).fill(-Infinity), all = new Float64Array(2 * size).fill(-Infinity);
    const raise = (node, lo, hi, l, r, y) => {
      if (r <= lo || hi <= l) return;
      if (l <= lo && hi <= r) { if (y > top[node]) top[node] = y; if (y > all[node]) all[node] = y; return; }
      const mid = (lo + hi) >> 1;
      raise(2 * node, lo, mid, l, r, y); raise(2 * node + 1, mid, hi, l, r, y);
      top[node] = Math.max(top[node], top[2 * node], top[2 * node + 1]);
    };
    const high = (node, lo, hi, l, r) => {
      if (r <= lo || hi <= l) return -Infinity;
      if (l <= lo && hi <= r) return top[node];
      const mid = (lo + hi) >> 1;
      return Math.max(all[node], high(2 * node, lo, mid, l, r), high(2 * node + 1, mid, hi, l, r));
    };
    return {raise: (l, r, y) => raise(1, 0, size, l, r, y), high: (l, r) => high(1, 0, size, l, r)};
  }
  function arrowShown(v, a) {
    const e = D.drawings[v].ends[a];
    return !e || (closedGroup(e[0]) < 0 && closedGroup(e[1]) < 0);
  }
  function roomItems(v) {  // everything shown: [kind, key, x, y, w, h] in draw's layout
    const G = GEOM[v];
    const out = [];
    for (const [id, r] of G.boxes) { if (closedGroup(parseInt(id.slice(1), 10)) < 0) out.push(['box', id, ...r]); }
    for (const [a, r] of G.labels) if (arrowShown(v, a)) out.push(['label', a, ...r]);
    GROUPS.forEach((g, j) => {
      const r = CLOSED.has(j) ? lidBase(v, j) : tabBase(v, j);
      if (r) out.push([CLOSED.has(j) ? 'lid' : 'tab', j, ...r]);
    });
    return out;
  }
  function pack(v) {  // the moves of everything shown (ROOM[v]); true when any changed
    const G = GEOM[v];
    const items = roomItems(v).map(([kind, key, x, y, w, h]) => ({kind, key, x0: x - 3, x1: x + w + 3, c: y + h / 2, h: h / 2}));
    // draw's order along the rank axis; a lid or tab after the boxes level with it, so that it
    // goes below one it would cover
    const late = it => it.kind === 'lid' || it.kind === 'tab' ? 1 : 0;
    items.sort((p, q) => p.c - q.c || late(p) - late(q) || p.x0 - q.x0);
    const xs = Array.from(new Set(items.flatMap(it => [it.x0, it.x1]))).sort((a, b) => a - b);
    const slot = new Map(xs.map((x, i) => [x, i]));
    const sky = skyline(Math.max(1, xs.length));
    const old = ROOM[v];
    const room = {box: new Map(), label: new Map(), lid: new Map(), tab: new Map(), W: G.W, H: G.H};
    let prevC = null, prevY = 0, bottom = 0, right = G.W;
    for (const it of items) {
      let y = prevC === null ? it.c : prevY + Math.min(it.c - prevC, G.cap);
      const l = slot.get(it.x0), r = slot.get(it.x1);
      const above = sky.high(l, r);
      const gap = it.kind === 'lid' || it.kind === 'tab' ? GAP[it.kind] : 0;
      if (above > -Infinity) y = Math.max(y, above + gap + it.h);
      sky.raise(l, r, y + it.h + GAP[it.kind]);
      prevC = it.c; prevY = y;
      const dy = Math.round((y - it.c) * 100) / 100;
      if (dy) room[it.kind].set(it.key, dy);
      bottom = Math.max(bottom, y + it.h);
      right = Math.max(right, it.x1 + 9);
    }
    room.H = Math.max(bottom + G.below, 1);
    room.W = right;
    ROOM[v] = room;
    GROUP_RECT[v] = new Map();
    delete SKETCH[v];
    const same = (a, b) => a.size === b.size && Array.from(a).every(([k, d]) => b.get(k) === d);
    return !(room.H === old.H && room.W === old.W && ['box', 'label', 'lid', 'tab'].every(k => same(room[k], old[k])));
  }
  const MOVED = new WeakMap();  // element → the move it is drawn with
  const ORIGINAL_SHAPE = new WeakMap();  // arrow's path → draw's d; arrow → [its two ends' box ids, which end the path starts at]
  function arrowMoves(v, a) {  // the moves of the boxes at an arrow's start and end (of its path)
    const [s, t] = GEOM[v].joins[a] || [null, null];
    const R = ROOM[v].box;
    return [R.get(s) || 0, R.get(t) || 0];
  }
  function moveEl(v, el) {  // draw one element where the room puts it
    const cls = el.classList;
    if (cls.contains('node')) {
      const dy = ROOM[v].box.get(el.id) || 0;
      if ((MOVED.get(el) || 0) !== dy) { if (dy) el.setAttribute('transform', 'translate(0,' + dy + ')'); else el.removeAttribute('transform'); MOVED.set(el, dy); }
    } else if (cls.contains('edge-label')) {
      const dy = ROOM[v].label.get(parseInt(el.dataset.i, 10)) || 0;
      if ((MOVED.get(el) || 0) !== dy) { if (dy) el.setAttribute('transform', 'translate(0,' + dy + ')'); else el.removeAttribute('transform'); MOVED.set(el, dy); }
    } else if (cls.contains('edge')) {
      const a = parseInt(el.dataset.i, 10);
      const [ds, dt] = arrowMoves(v, a);
      if (!ds && !dt && !MOVED.has(el)) return;  // never moved: draw's own shape
      const map = arrowMap(v, a, el);
      const key = map ? map.key : '0';
      if ((MOVED.get(el) || '0') === key) return;
      MOVED.set(el, key);
      const path = el.querySelector('path'), head = el.querySelector('polygon');
      const shape = ORIGINAL_SHAPE.get(el);
      if (path) path.setAttribute('d', map ? shape.d.replace(/(-?[\d.]+),(-?[\d.]+)/g, (m, x, y) => x + ',' + Math.round(map.y(+y) * 100) / 100) : shape.d);
      if (head) { if (map && map.head) head.setAttribute('transform', 'translate(0,' + map.head + ')'); else head.removeAttribute('transform'); }
    }
  }
  function arrowShape(el) {  // draw's path of an arrow, its first and last point, its head's middle
    let shape = ORIGINAL_SHAPE.get(el);
    if (shape) return shape;
    const path = el.querySelector('path'), head = el.querySelector('polygon');
    const d = path ? path.getAttribute('d') : '';
    const pts = (d.match(/-?[\d.]+,-?[\d.]+/g) || []).map(p => p.split(',').map(Number));
    const hp = head ? (head.getAttribute('points').match(/-?[\d.]+,-?[\d.]+/g) || []).map(p => p.split(',').map(Number)) : [];
    const hy = hp.length ? hp.reduce((t, p) => t + p[1], 0) / hp.length : null;
    shape = {d, first: pts.length ? pts[0] : null, last: pts.length ? pts[pts.length - 1] : null, hy};
    ORIGINAL_SHAPE.set(el, shape);
    return shape;
  }
  function arrowMap(v, a, el) {  // y ↦ y moved, linear between the moves of the boxes at the two ends
    const shape = arrowShape(el);
    if (!shape.first) return null;
    const G = GEOM[v];
    const [s, t] = G.joins[a] || [null, null];
    let [ds, dt] = arrowMoves(v, a);
    if (!ds && !dt) return null;
    // which end of the path is at the source box: the nearer one
    const rs = G.boxes.get(s);
    const far = (r, p) => r ? Math.abs(r[1] + r[3] / 2 - p[1]) + Math.abs(r[0] + r[2] / 2 - p[0]) : 0;
    if (rs && far(rs, shape.last) < far(rs, shape.first)) [ds, dt] = [dt, ds];
    const y0 = shape.first[1], y1 = shape.last[1];
    const y = Math.abs(y1 - y0) < 1e-9 ? (yy => yy + (ds + dt) / 2) : (yy => { const u = Math.min(1, Math.max(0, (yy - y0) / (y1 - y0))); return yy + ds + (dt - ds) * u; });
    const head = shape.hy === null ? 0 : (Math.abs(shape.hy - y0) < Math.abs(shape.hy - y1) ? ds : dt);
    return {y, head, key: ds + ':' + dt};
  }
  function moveAll(v, changed) {  // every element in the document; when the room changed, the drawing's size, the lids and frames
    const L = LAYER[v];
    for (const layerEl of [L.nodes, L.edges, L.labels]) for (const el of layerEl.children) moveEl(v, el);
    if (!changed) return;
    for (const [j, el] of LIDS[v]) if (el) placeLid(el, lidGeom(v, j));
    for (const [j, el] of Array.from(FRAMES[v])) {  // frames are made again where their boxes are
      if (el && el.parentNode) { el.remove(); FRAMES[v].delete(j); place(frame(v, j), L.frames, true); } else FRAMES[v].delete(j);
    }
    const P = PANES[v], svg = SVG[v].querySelector('svg');
    const W = ROOM[v].W, H = ROOM[v].H;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('width', String(W)); svg.setAttribute('height', String(H));
    const bg = svg.querySelector(':scope > rect');
    if (bg) { bg.setAttribute('width', String(W)); bg.setAttribute('height', String(H)); }
    if (P) { P.W = W; P.H = H; P.miniDrawn = false; }
  }
  function rectOf(v, k) {  // where node k is drawn now: its box, or its closed group's lid
    const j = closedGroup(k);
    if (j >= 0) { const g = lidGeom(v, j); return g && {x0: g[0], y0: g[1], x1: g[0] + g[2], y1: g[1] + g[3]}; }
    const r = GEOM[v].boxes.get('n' + k);
    if (!r) return null;
    const dy = ROOM[v].box.get('n' + k) || 0;
    return {x0: r[0], y0: r[1] + dy, x1: r[0] + r[2], y1: r[1] + r[3] + dy};
  }
  const GROUP_BOXES = {};  // view → group → its boxes' ids
  const GROUP_RECT = {};  // view → group → the rectangle round its boxes as drawn now
  for (const v of VIEWS) {
    DRAWN[v] = new Set(LAZY ? [] : GROUPS.map((g, j) => j).filter(j => !CLOSED.has(j)));
    GROUP_BOXES[v] = new Map();
    GROUP_RECT[v] = new Map();
    for (const id of GEOM[v].boxes.keys()) {
      const j = GROUP_OF[parseInt(id.slice(1), 10)];
      if (j === undefined || j < 0) continue;
      if (!GROUP_BOXES[v].has(j)) GROUP_BOXES[v].set(j, []);
      GROUP_BOXES[v].get(j).push(id);
    }
  }
  function groupRect(v, j) {
    let r = GROUP_RECT[v].get(j);
    if (r === undefined) {
      r = null;
      for (const id of GROUP_BOXES[v].get(j) || []) {
        const b = GEOM[v].boxes.get(id), dy = ROOM[v].box.get(id) || 0;
        if (!r) r = {x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity};
        r.x0 = Math.min(r.x0, b[0]); r.x1 = Math.max(r.x1, b[0] + b[2]); r.y0 = Math.min(r.y0, b[1] + dy); r.y1 = Math.max(r.y1, b[1] + b[3] + dy);
      }
      GROUP_RECT[v].set(j, r);
    }
    return r;
  }
  function arrowWanted(v, a) {  // both ends open, and at least one of them drawn
    const [s, t] = D.drawings[v].ends[a];
    if (closedGroup(s) >= 0 || closedGroup(t) >= 0) return false;
    const drawn = k => k < 0 || GROUP_OF[k] < 0 || DRAWN[v].has(GROUP_OF[k]);
    return drawn(s) || drawn(t);
  }
  function drawGroup(v, j, on) {  // a group's boxes, halo and arrows in or out of the document
    const L = LAYER[v];
    if (on) DRAWN[v].add(j); else DRAWN[v].delete(j);
    for (const el of groupNodes(v, j)) { place(el, L.nodes, on); if (on) moveEl(v, el); }
    place(frame(v, j), L.frames, on);
    for (const a of ARROWS_OF[v].get(j) || []) {
      const want = arrowWanted(v, a);
      const [e, l] = want ? arrowEls(v, a) : (STORE[v].arrows.get(a) || [null, null]);
      place(e, L.edges, want);
      place(l, L.labels, want);
      if (want) { if (e) moveEl(v, e); if (l) moveEl(v, l); }
    }
  }
  function stepGroups(i) {  // the open groups that hold shown step i's node or edge
    const out = [];
    if (!VIS.length || VIS[i].group >= 0) return out;
    const st = STEPS[VIS[i].s];
    for (const k of [st.node, ...(st.edge ? [st.edge[0]] : [])]) {
      const j = k >= 0 ? GROUP_OF[k] : -1;
      if (j >= 0 && !CLOSED.has(j) && !out.includes(j)) out.push(j);
    }
    return out;
  }
  function redrawn(v) {  // after groups came or went: the page's view of the document again
    index();
    // a box drawn again shows the numbers of now (it may have left during a what-if change)
    if (whatif) rewriteDrawings(); else restoreDrawings();
    if (VIS.length) markPending(VIS[current].e);
  }
  const DRAW_NEAR = 150;  // open groups near the view, at most, drawn box by box
  const SKETCH = {};  // view → the sketch of every open box (one path), made after each packing
  function sketch(v, on) {
    const L = LAYER[v];
    if (!L.sketch) { L.sketch = doc.createElementNS(SVGNS, 'path'); L.sketch.setAttribute('class', 'sketch'); L.sketch.setAttribute('fill', '#e3ecf8'); L.sketch.setAttribute('stroke', '#4a5d78'); L.sketch.setAttribute('stroke-width', '1'); L.sketch.setAttribute('vector-effect', 'non-scaling-stroke'); }
    if (on && SKETCH[v] === undefined) {
      let d = '';
      for (let j = 0; j < GROUPS.length; j++) {
        if (CLOSED.has(j)) continue;
        for (const id of GROUP_BOXES[v].get(j) || []) {
          const b = GEOM[v].boxes.get(id), dy = ROOM[v].box.get(id) || 0;
          d += 'M' + b[0] + ',' + (b[1] + dy) + 'h' + b[2] + 'v' + b[3] + 'h' + (-b[2]) + 'z';
        }
      }
      SKETCH[v] = d;
      L.sketch.setAttribute('d', d || 'M0,0');
    }
    if (on && !L.sketch.parentNode) L.frames.after(L.sketch);
    else if (!on && L.sketch.parentNode) L.sketch.remove();
  }
  function cullGroups(v, inner, outer, hidden, budget, focused) {  // lazy pages: the open groups near the view drawn
    const near = [];
    if (!hidden) {
      for (let j = 0; j < GROUPS.length; j++) {
        if (CLOSED.has(j)) continue;
        const r = groupRect(v, j);
        if (r && meets(outer, r.x0, r.y0, r.x1, r.y1)) near.push(j);
      }
    }
    const far = near.length > DRAW_NEAR;  // too far out to read: the sketch instead
    const steps = hidden ? [] : stepGroups(current);
    if (focused >= 0 && !hidden && DRAWN[v].has(focused) && !steps.includes(focused)) steps.push(focused);
    let changed = false, later = false;
    for (const j of Array.from(DRAWN[v])) if (far ? !steps.includes(j) : !near.includes(j) && !steps.includes(j)) { drawGroup(v, j, false); changed = true; }
    const add = steps.filter(j => !DRAWN[v].has(j));
    if (!far) {
      // the groups the view shows first (nearest its middle first), then the margin's as the budget allows
      const [cx, cy] = [(outer[0] + outer[2]) / 2, (outer[1] + outer[3]) / 2];
      const dist = j => { const r = groupRect(v, j); return Math.abs((r.x0 + r.x1) / 2 - cx) + Math.abs((r.y0 + r.y1) / 2 - cy); };
      const wait = near.filter(j => !DRAWN[v].has(j) && !add.includes(j)).sort((a, b) => dist(a) - dist(b));
      for (const j of wait) {
        const r = groupRect(v, j);
        if (budget > 0 && (inner === outer || meets(inner, r.x0, r.y0, r.x1, r.y1))) { add.push(j); budget--; } else later = true;
      }
    }
    preparse(v, add);
    for (const j of add) { drawGroup(v, j, true); changed = true; }
    sketch(v, far);
    return {changed, later};
  }
  function preparse(v, list) {  // the markup of groups about to be drawn, parsed in one go
    const st = STORE[v], dr = D.drawings[v];
    const jobs = [];
    const parts = [];
    for (const j of list) {
      if (!st.nodes.has(j)) {
        const m = piece(dr.lateNodes[j]);
        if (m) { jobs.push(['n', j]); parts.push('<g>' + m + '</g>'); } else st.nodes.set(j, []);
      }
      for (const a of ARROWS_OF[v].get(j) || []) {
        if (st.arrows.has(a)) continue;
        const late = dr.lateArrows[a];
        if (!late) { st.arrows.set(a, [null, null]); continue; }
        jobs.push(['a', a]);
        parts.push('<g>' + (piece(late[0]) || '') + '</g><g>' + (piece(late[1]) || '') + '</g>');
      }
    }
    if (!jobs.length) return;
    const wraps = parse(parts.join(''));
    let w = 0;
    for (const [kind, key] of jobs) {
      if (kind === 'n') st.nodes.set(key, Array.from(wraps[w++].children));
      else { const e = wraps[w++].firstElementChild, l = wraps[w++].firstElementChild; st.arrows.set(key, [e, l]); }
    }
  }
  function links(v) {  // an arrow for each pair of things joined through a closed group
    const ends = D.drawings[v].ends || [];
    const seen = new Set();
    const out = [];
    for (const [s, t] of ends) {
      if (s < 0 || t < 0) continue;
      const js = closedGroup(s), jt = closedGroup(t);
      if (js < 0 && jt < 0) continue;
      if (js >= 0 && js === jt) continue;
      const key = (js >= 0 ? 'g' + js : 'n' + s) + '>' + (jt >= 0 ? 'g' + jt : 'n' + t);
      if (seen.has(key)) continue;
      seen.add(key);
      const a = rectOf(v, s), b = rectOf(v, t);
      if (!a || !b) continue;
      const ca = [(a.x0 + a.x1) / 2, (a.y0 + a.y1) / 2], cb = [(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2];
      const clip = (r, c, d) => {  // where the line from c towards d leaves rectangle r
        const dx = d[0] - c[0], dy = d[1] - c[1];
        const tx = dx ? ((dx > 0 ? r.x1 : r.x0) - c[0]) / dx : Infinity;
        const ty = dy ? ((dy > 0 ? r.y1 : r.y0) - c[1]) / dy : Infinity;
        const u = Math.min(1, Math.max(0, Math.min(tx, ty)));
        return [c[0] + dx * u, c[1] + dy * u];
      };
      const p = clip(a, ca, cb), q = clip(b, cb, ca);
      const len = Math.hypot(q[0] - p[0], q[1] - p[1]);
      if (len < 1) continue;
      const ux = (q[0] - p[0]) / len, uy = (q[1] - p[1]) / len;
      const h1 = [q[0] - 9 * ux + 4 * uy, q[1] - 9 * uy - 4 * ux], h2 = [q[0] - 9 * ux - 4 * uy, q[1] - 9 * uy + 4 * ux];
      const n = x => x.toFixed(1);
      out.push([Math.min(p[0], q[0]), Math.min(p[1], q[1]), Math.max(p[0], q[0]), Math.max(p[1], q[1]),
        '<g class="link"><path d="M' + n(p[0]) + ',' + n(p[1]) + 'L' + n(q[0]) + ',' + n(q[1]) + '" stroke="#555555" stroke-width="1.3" fill="none"/>'
        + '<polygon points="' + n(q[0]) + ',' + n(q[1]) + ' ' + n(h1[0]) + ',' + n(h1[1]) + ' ' + n(h2[0]) + ',' + n(h2[1]) + '" fill="#555555"/></g>']);
    }
    LINKS[v] = out;
    SHOWN_LINKS[v] = null;
    cull(v);
  }
  // open (on = true) or close groups: their boxes and arrows in or out of the document, their
  // lids and frames, the links, and the steps (a closed group is one step each way)
  function setGroups(list, on, how) {
    how = how || {};
    const at = VIS.length ? VIS[current].a : 0;
    const wasIn = VIS.length && VIS[current].group >= 0 && list.includes(VIS[current].group);
    const focused = focusedDrawn();  // a lid opened or a tab closed leaves the document: its focus goes on
    for (const j of list) { if (on) CLOSED.delete(j); else CLOSED.add(j); }
    const touched = new Set(list);
    for (const v of VIEWS) {
      const L = LAYER[v];
      for (const j of touched) {
        const open = !CLOSED.has(j);
        if (open) place(LIDS[v].get(j), L.lids, false);  // a closed one's lid comes with the camera (cull)
        // a big graph's opened group is drawn when the camera comes near it (cull)
        if (!open || !LAZY) drawGroup(v, j, open);
      }
    }
    for (const v of VIEWS) moveAll(v, pack(v));  // the room closed groups leave, and open ones take
    for (const v of VIEWS) cull(v);
    index();
    if (whatif) rewriteDrawings(); else restoreDrawings();
    lidTexts();
    for (const v of VIEWS) { links(v); PANES[v].miniDrawn = false; miniView(PANES[v]); }
    buildVis();
    // the camera moves when the current step was the group opened (its first step inside is
    // shown) or is now inside a group closed (its box is shown); else it stays where it is
    const i = visOf(at);
    const moved = on ? wasIn : VIS[i].group >= 0 && list.includes(VIS[i].group);
    show(i, {keepCamera: !moved, animate: true, quiet: how.quiet});
    if (focused) refocus(focused);
    for (const f of listeners) f('groups', null);
  }

  // ------------------------------------------------------------ steps
  const STEPS = D.steps;
  // The steps as the page shows them: each step of the explanation, except that a closed
  // group's consecutive steps (forward, or backward) are one step.
  let VIS = [];
  const GROUP_OPS = GROUPS.map(g => g.members.some(k => D.nodes[k].role === 'operation'));
  function buildVis() {
    // each shown step: s..e the explanation's steps it shows, a the first it stands for
    VIS = [];
    let skip = null;  // the leaf steps of a closed group just passed over
    STEPS.forEach((s, i) => {
      const j = closedGroup(s.node);
      const phase = s.kind === 'forward' ? 'f' : 'b';
      // a closed group's leaves (a neuron's weight, a module's parameters) are shown in its
      // steps, forward and backward (explain puts parameters first forward and last backward)
      if (j >= 0 && D.nodes[s.node].role !== 'operation' && GROUP_OPS[j]) {
        if (phase === 'f' && (!skip || skip.j !== j)) skip = {j, first: i};
        return;
      }
      const last = VIS[VIS.length - 1];
      if (j >= 0 && last && last.group === j && last.phase === phase) { last.e = i; skip = null; return; }
      VIS.push({s: i, e: i, a: skip && skip.j === j ? skip.first : i, group: j, phase});
      skip = null;
    });
  }
  function visOf(i) {  // the shown step holding explanation step i
    let lo = 0, hi = VIS.length - 1;
    while (lo < hi) { const m = (lo + hi + 1) >> 1; if (VIS[m].a <= i) lo = m; else hi = m - 1; }
    return lo;
  }
  function firstBackward() { const i = VIS.findIndex(x => x.phase === 'b'); return i < 0 ? VIS.length - 1 : i; }
  function stepOf(i) { return STEPS[VIS[i].s]; }
  function viewFor(step) {
    const mode = $('view').value;
    if (mode !== 'auto') return mode;
    return step.kind === 'forward' ? 'forward' : 'gradients';
  }
  // Every drawn element is 'pending' (not reached yet) before one step and done from it on:
  // its threshold is computed once; a step touches only the elements whose state changes.
  const PENDING = (function () {
    const reveal = new Map(), complete = new Map(), handled = new Map();
    let back = STEPS.findIndex(s => s.kind !== 'forward');
    if (back < 0) back = STEPS.length;
    const gfirst = new Map(), glast = new Map();
    STEPS.forEach((s, j) => {
      const grp = GROUP_OF[s.node];
      if (s.kind === 'forward') {
        if (!reveal.has(s.node)) reveal.set(s.node, j);
        if (grp >= 0 && !gfirst.has(grp)) gfirst.set(grp, j);
      } else {
        if (s.complete && !complete.has(s.node)) complete.set(s.node, j);
        if (s.edge) { const key = s.edge[0] + ':' + s.edge[1]; if (!handled.has(key)) handled.set(key, j); }
        if (grp >= 0 && (D.nodes[s.node].role === 'operation' || !GROUP_OPS[grp])) glast.set(grp, j);
      }
    });
    const at = (m, k) => m.has(k) ? m.get(k) : Infinity;
    return {list: null, at: null, back, reveal, complete, handled, gfirst, glast,
      node: (v, k) => v === 'forward' ? (D.nodes[k].role !== 'operation' ? 0 : Math.min(at(reveal, k), back)) : Math.max(back, at(complete, k)),
      edge: (v, e) => v === 'forward' ? (e ? Math.min(at(reveal, e[0]), back) : 0) : (e ? at(handled, e[0] + ':' + e[1]) : Infinity),
      lid: (v, j) => v === 'forward' ? Math.min(at(gfirst, j), back) : Math.max(back, at(glast, j))};
  })();
  function pendingList() {
    const list = [];
    for (const v of VIEWS) {
      for (const [k, els] of NODE_ELS[v]) { const t = PENDING.node(v, k); for (const el of els) list.push({el, t, p: el.classList.contains('pending')}); }
      const arrows = D.drawings[v].arrows;
      for (const g of SVG[v].querySelectorAll('g.edge, g.edge-label')) {
        list.push({el: g, t: PENDING.edge(v, arrows[parseInt(g.dataset.i, 10)]), p: g.classList.contains('pending')});
      }
      for (const [j, el] of LIDS[v]) if (el && el.parentNode) list.push({el, t: PENDING.lid(v, j), p: el.classList.contains('pending')});
    }
    return list;
  }
  function markPending(i) {  // i: the last explanation step done
    if (!PENDING.list) PENDING.list = pendingList();
    for (const x of PENDING.list) {
      const want = i < x.t;
      if (want !== x.p) { x.el.classList.toggle('pending', want); x.p = want; }
    }
  }
  let CURRENT = [];  // the elements that draw the current step
  function currentEls(v, i) {
    const vis = VIS[i];
    if (vis.group >= 0) {  // a closed group's lid, put in the document if the camera has not yet
      const el = lid(v, vis.group);
      if (!el) return [];
      if (!el.parentNode) {
        if (SVG[v].classList.contains('hidden')) return []; place(el, LAYER[v].lids, true); refreshLid(v, vis.group, el); PENDING.list = null; }
      return [el];
    }
    const step = STEPS[vis.s];
    if (LAZY && !SVG[v].classList.contains('hidden')) {  // the step's group in the document, if the camera has not put it there
      const missing = stepGroups(i).filter(j => !DRAWN[v].has(j));
      if (missing.length) { preparse(v, missing); for (const j of missing) drawGroup(v, j, true); redrawn(v); }
    }
    if (step.edge) {
      const e = EDGE_ELS[v].get(step.edge[0] + ':' + step.edge[1]);
      if (e) return [e.label, e.edge].filter(Boolean);
      // an edge out of a closed group is not drawn: the node it reaches stands for it
      const j = closedGroup(step.edge[0]);
      if (j >= 0 && closedGroup(step.node) < 0) return NODE_ELS[v].get(step.node) || [];
      return [];
    }
    return NODE_ELS[v].get(step.node) || [];
  }
  function primaryView(step) {
    const view = viewFor(step);
    return view === 'both' ? (step.kind === 'forward' ? 'forward' : 'gradients') : view;
  }
  function mark(i) {
    const step = stepOf(i);
    markPending(VIS[i].e);
    for (const el of CURRENT) { el.classList.remove('current'); el.removeAttribute('aria-current'); }
    CURRENT = [];
    const primary = primaryView(step);
    for (const v of VIEWS) {
      const els = currentEls(v, i);
      els.forEach((el, j) => {
        el.classList.add('current');
        if (v === primary && j === 0) el.setAttribute('aria-current', 'step');
        CURRENT.push(el);
      });
    }
  }
  function title(i) {
    const vis = VIS[i];
    const step = STEPS[vis.s];
    const n = D.nodes[step.node];
    let pass;
    if (vis.group >= 0) pass = (vis.phase === 'f' ? 'forward pass: ' : 'backward pass: ') + GROUPS[vis.group].name + ' (closed)';
    else pass = step.kind === 'forward' ? 'forward pass: ' + n.name
      : step.kind === 'seed' ? 'backward pass: the seed'
        : step.edge ? 'backward pass: the edge from ' + n.name + ' into ' + D.nodes[step.edge[0]].name
          : 'backward pass: ' + n.name;
    return 'Step ' + (i + 1) + ' of ' + VIS.length + ' · ' + pass;
  }
  function shortened(i) {  // are explanation step i's numbers kept behind its names?
    const st = STEPS[i];
    if (st.long === undefined) st.long = hasBig(i) || full(i).blocks.some(b => b.eq !== undefined && b.eq.length > 2 * LONG_PART);
    return st.long;
  }
  function groupBlocks(vis) {  // a closed group's step: forward, its inputs → its outputs;
    // backward, the gradient reaching its outputs and the gradient it passes back
    const g = GROUPS[vis.group];
    const inside = new Set(g.members);
    const q = s => (big(s) ? summary(s) : num(s));
    const out = [];
    const word = g.kind === 'module' ? 'the module ' : '';
    if (vis.phase === 'f') {
      out.push({p: (g.kind === 'module' ? 'The module ' : '') + g.name + ' (' + g.members.length + ' nodes, closed: open it to step through them) computes its outputs from its inputs.'});
      const ins = g.inputs.map(k => D.nodes[k].name + ' = ' + q(D.values[k]));
      const leaves = g.members.filter(k => D.nodes[k].role !== 'operation').map(k => D.nodes[k].name + ' = ' + q(D.values[k]));
      if (ins.length) out.push({eq: 'in: ' + ins.join(', ')});
      if (leaves.length) out.push({eq: 'its own: ' + leaves.join(', ')});
      out.push({eq: 'out: ' + g.outputs.map(k => D.nodes[k].name + ' = ' + q(D.values[k])).join(', ')});
      return out;
    }
    out.push({p: 'Backward through ' + word + g.name + ' (closed): the gradient that reaches its outputs, and the gradient it passes back to its inputs.'});
    const reach = g.outputs.filter(k => D.grads[k]).map(k => D.nodes[k].dname + ' = ' + q(D.grads[k]));
    if (reach.length) out.push({eq: 'in: ' + reach.join(', ')});
    for (const k of g.inputs) {
      const es = (EDGES_FROM.get(k) || []).filter(e => inside.has(e.node) && e.c);
      if (!es.length) continue;
      if (es.length === 1) { out.push({eq: 'passes back to ' + D.nodes[k].name + ': ' + q(es[0].c)}); continue; }
      // several edges into one input: their sum, element by element (each is the input's shape)
      const total = read(es[0].c);
      for (const e of es.slice(1)) read(e.c).forEach((x, i) => { total[i] += x; });
      const shown = es.some(e => stale(e.c)) ? 'not recomputed' : total.length > SHORT_TEXT
        ? summaryOf(es[0].c.shape, total) : textMinus(nested(total, es[0].c.shape, 0));
      out.push({eq: 'passes back to ' + D.nodes[k].name + ' (' + es.length + ' edges, summed): ' + shown});
    }
    const own = g.members.filter(k => D.nodes[k].role === 'input' && D.grads[k]);
    if (own.length) {
      const list = own.slice(0, 4).map(k => D.nodes[k].dname + ' = ' + q(D.grads[k]));
      out.push({eq: 'its own inputs: ' + list.join(', ') + (own.length > 4 ? ', … and ' + (own.length - 4) + ' more' : '')});
    }
    return out;
  }
  function stepBlocks(i) {  // i: a shown step
    const vis = VIS[i];
    if (vis.group >= 0) return groupBlocks(vis);
    const k = vis.s;
    if (shortened(k)) return render(full(k).live, true);
    return whatif ? render(full(k).live, false) : full(k).blocks;
  }
  function blockText(b) { return b.eq !== undefined ? b.eq : b.p; }
  function numbersBehind(more) {  // <details>: the numbers a formula keeps behind its names
    const det = doc.createElement('details');
    det.className = 'numbers';
    const sum = doc.createElement('summary');
    sum.textContent = 'the numbers (' + more.length + (more.length === 1 ? ' quantity)' : ' quantities)');
    det.appendChild(sum);
    for (const [name, text] of more) {
      const p = doc.createElement('p');
      p.textContent = name + ' = ' + text;
      det.appendChild(p);
    }
    return det;
  }
  let hashTimer = 0;
  function writeHash() {
    hashTimer = 0;
    if (location.hash === '#step=' + (current + 1)) return;
    try { history.replaceState(null, '', '#step=' + (current + 1)); } catch (e) { /* a sandboxed frame has no URL of its own */ }
  }
  function show(i, how) {
    how = how || {};
    current = Math.max(0, Math.min(VIS.length - 1, i));
    const step = stepOf(current);
    const head = title(current);
    $('step-title').textContent = head;
    const box = $('step-text');
    box.replaceChildren();
    if (whatif) {
      const p = doc.createElement('p');
      p.className = 'whatif-banner';
      p.textContent = 'What-if: the numbers below are recomputed from your inputs.';
      box.appendChild(p);
    }
    const blocks = stepBlocks(current);
    for (const b of blocks) {
      const el = doc.createElement(b.eq !== undefined ? 'div' : 'p');
      if (b.eq !== undefined) { el.className = 'eq'; el.textContent = b.eq; } else el.textContent = b.p;
      box.appendChild(el);
      if (b.more) box.appendChild(numbersBehind(b.more));
    }
    if (!how.quiet) $('announce').textContent = head + '. ' + blocks.map(blockText).join(' ');
    const view = viewFor(step);
    const focused = focusedDrawn();
    for (const v of VIEWS) {
      const hide = !(view === 'both' || view === v);
      if (SVG[v].classList.contains('hidden') !== hide) {
        SVG[v].classList.toggle('hidden', hide);
        for (const w of VIEWS) PANES[w].size = null;
        if (hide) cull(v);
      }
    }
    mark(current);
    $('jump').value = current + 1;
    if (opts.page && !hashTimer) hashTimer = setTimeout(writeHash, 120);  // once per burst of steps (replaceState is slow)
    if (!how.keepCamera || !cameraReady()) followStep(how.animate);
    else for (const v of VIEWS) miniHere(PANES[v]);
    if (focused && SVG[focused.v].classList.contains('hidden')) refocus(focused);  // the view changed
    for (const f of listeners) f('step', current);
  }
  // The focus is never dropped to the page when the view changes from one drawing to the
  // other: a box, arrow, lid or tab of the drawing hidden hands it to the same node, edge or
  // group in the drawing shown, else to the current step's element there, else to ▶.
  function focusedDrawn() {  // {v, el}: the drawn element that has the focus, or null
    const a = doc.activeElement;
    if (!a || !a.closest) return null;
    const v = VIEWS.find(w => SVG[w].contains(a));
    const el = v && a.closest('g.lid, g.node, g.edge, g.edge-label, g.frame-tab');
    return el ? {v, el} : null;
  }
  function counterpart(el, from, to) {  // el of drawing `from`, drawn in `to` (in the document), or null
    // a group's lid and its ⊟ tab stand for each other (a group opened or closed in between)
    const live = x => x && x.isConnected && x.getAttribute('tabindex') !== null ? x : null;
    const tab = j => { const g = FRAMES[to].get(j); return live(g && g.querySelector('.frame-tab')); };
    if (el.classList.contains('node')) return (NODE_ELS[to].get(parseInt(el.id.slice(1), 10)) || []).find(live) || null;
    if (el.classList.contains('lid')) { const j = Number(el.dataset.group); return live(LIDS[to].get(j)) || tab(j); }
    if (el.classList.contains('frame-tab')) {
      for (const [j, f] of FRAMES[from]) if (f && f.contains(el)) return tab(j) || live(LIDS[to].get(j));
      return null;
    }
    const e = D.drawings[from].arrows[parseInt(el.dataset.i, 10)];
    const got = e && EDGE_ELS[to].get(e[0] + ':' + e[1]);
    return got ? live(got.edge) : null;
  }
  function refocus(focused) {  // after a change of view, or a group opened or closed
    const a = doc.activeElement;
    const gone = !a || a === doc.body || !a.isConnected || SVG[focused.v].classList.contains('hidden') && SVG[focused.v].contains(a);
    if (!gone) return;  // still on something shown
    const to = VIEWS.filter(w => !SVG[w].classList.contains('hidden')).sort((x, y) => (y === focused.v) - (x === focused.v));
    let target = null;
    for (const w of to) { target = counterpart(focused.el, focused.v, w); if (target) break; }
    if (!target) {
      target = CURRENT.find(el => el.isConnected && el.getAttribute('tabindex') !== null && to.some(w => SVG[w].contains(el)));
    }
    (target || $('next')).focus({preventScroll: true});
  }

  // ------------------------------------------------------------ camera: zoom, pan, follow the pass
  // The drawing's viewBox is the camera: (x, y) the top-left corner in drawing units, k the CSS
  // pixels per unit. Following the pass brings the current element into view with its text at
  // READ_PX or more (never under 11 px when an element is too big for the pane).
  const READ_PX = 13;
  const MIN_PX = 11.05;
  const K_MAX = 8;
  const PAD = 28;  // CSS px kept around a followed element
  let following = true;
  const PANES = {};
  for (const v of VIEWS) {
    const svg = SVG[v].querySelector('svg');
    const vb = svg.viewBox.baseVal;
    // the drawing keeps its own size; the camera is a CSS transform, which moves and scales it
    // without laying its thousands of elements out again
    svg.setAttribute('width', String(vb.width));
    svg.setAttribute('height', String(vb.height));
    svg.setAttribute('role', 'group');
    const mini = SVG[v].querySelector('.mini');
    PANES[v] = {v, pane: SVG[v], svg, W: vb.width, H: vb.height, cam: null, anim: 0,
      mini, canvas: mini.querySelector('canvas'), miniView: mini.querySelector('.mini-view'),
      miniHere: mini.querySelector('.mini-here'), miniScale: 0, miniDrawn: false};
  }
  // A shown pane's size, measured once for one pane shown and once for both (the shown panes
  // share the room equally), and again when the page is resized: a step that changes the pane
  // shown does not lay the page out in the middle of its work to measure it.
  const SIZES = new Map();  // how many panes are shown → a shown pane's [width, height]
  const shownPanes = () => VIEWS.filter(v => !SVG[v].classList.contains('hidden')).length;
  function paneSize(P) {
    if (!P.size || !P.size[0]) {
      const shown = !SVG[P.v].classList.contains('hidden'), n = shownPanes();
      const known = shown ? SIZES.get(n) : null;
      P.size = known ? known.slice() : [P.pane.clientWidth, P.pane.clientHeight];
      if (shown && !known && P.size[0] && P.size[1]) SIZES.set(n, P.size.slice());
    }
    return P.size;
  }
  function cameraReady() { return VIEWS.every(v => SVG[v].classList.contains('hidden') || PANES[v].cam); }
  function fitK(P) {
    const [w, h] = paneSize(P);
    return Math.min((w - 16) / P.W, (h - 16) / P.H);
  }
  function kMin(P) { return Math.min(0.5, fitK(P) * 0.8); }
  function setCam(P, x, y, k) {
    const [w, h] = paneSize(P);
    if (!w || !h) return;
    k = Math.min(K_MAX, Math.max(kMin(P), k));
    const vw = w / k, vh = h / k;
    // the centre of the view stays on the drawing
    x = Math.min(P.W - vw / 2, Math.max(-vw / 2, x));
    y = Math.min(P.H - vh / 2, Math.max(-vh / 2, y));
    P.cam = {x, y, k};
    P.svg.style.transform = 'translate(' + (-x * k) + 'px,' + (-y * k) + 'px) scale(' + k + ')';
    cull(P.v);
    if (P.v === primaryView(stepOf(current))) $('zoom-level').textContent = Math.round(k * 100) + '%';
    miniView(P);
  }
  function moveCam(P, x, y, k, animate) {
    cancelAnimationFrame(P.anim);
    P.moving = false;
    if (!animate || !P.cam || reducedMotion()) { setCam(P, x, y, k); return; }
    P.moving = true;
    const from = P.cam, t0 = performance.now(), T = 220;
    const tick = now => {
      const u = Math.min(1, (now - t0) / T), e = u * (2 - u);
      // interpolate the zoom geometrically and the centre linearly
      const [w, h] = paneSize(P);
      const kk = from.k * Math.pow(k / from.k, e);
      const cx0 = from.x + w / (2 * from.k), cy0 = from.y + h / (2 * from.k);
      const cx1 = x + w / (2 * k), cy1 = y + h / (2 * k);
      const cx = cx0 + (cx1 - cx0) * e, cy = cy0 + (cy1 - cy0) * e;
      if (u >= 1) P.moving = false;
      setCam(P, cx - w / (2 * kk), cy - h / (2 * kk), kk);
      if (u < 1) P.anim = requestAnimationFrame(tick);
    };
    P.anim = requestAnimationFrame(tick);
  }
  function fitZoom(P) { return Math.min(fitK(P), 1.6); }
  function fit(P, animate) {
    const [w, h] = paneSize(P);
    if (!w || !h) return;
    const k = fitZoom(P);
    moveCam(P, P.W / 2 - w / (2 * k), P.H / 2 - h / (2 * k), k, animate);
  }
  function zoomAt(P, factor, cx, cy) {  // (cx, cy): the screen point that stays put
    if (!P.cam) fit(P);
    if (!P.cam) return;
    const r = P.pane.getBoundingClientRect();
    const px = cx === undefined ? r.width / 2 : cx - r.left, py = cy === undefined ? r.height / 2 : cy - r.top;
    const {x, y, k} = P.cam;
    const k2 = Math.min(K_MAX, Math.max(kMin(P), k * factor));
    const ux = x + px / k, uy = y + py / k;
    setCam(P, ux - px / k2, uy - py / k2, k2);
  }
  const BOXES = new WeakMap();
  function boxOf(el, view) {  // an element's extent in drawing units as drawn now (draw's, moved by the room)
    if (el.classList.contains('lid')) {
      const g = lidGeom(el.id.startsWith('lid-forward') ? 'forward' : 'gradients', Number(el.dataset.group));
      return {x0: g[0], y0: g[1], x1: g[0] + g[2], y1: g[1] + g[3]};
    }
    const b = drawnBox(el);
    const v = view || (el.closest('#draw-forward') ? 'forward' : 'gradients');
    let d0 = 0, d1 = 0;
    if (el.classList.contains('node')) d0 = d1 = ROOM[v].box.get(el.id) || 0;
    else if (el.classList.contains('edge-label')) d0 = d1 = ROOM[v].label.get(parseInt(el.dataset.i, 10)) || 0;
    else if (el.classList.contains('edge')) {
      const map = arrowMap(v, parseInt(el.dataset.i, 10), el);
      if (map) { d0 = map.y(b.y0) - b.y0; d1 = map.y(b.y1) - b.y1; }
    }
    return d0 || d1 ? {x0: b.x0, y0: b.y0 + d0, x1: b.x1, y1: b.y1 + d1} : b;
  }
  function drawnBox(el) {  // draw's extent of an element, read once from its attributes (no layout)
    let b = BOXES.get(el);
    if (b) return b;
    if (el.classList.contains('edge')) {
      const sh = arrowShape(el);
      const nums = [];
      for (const s of [sh.d, (el.querySelector('polygon') || {getAttribute: () => ''}).getAttribute('points') || '']) nums.push(...(s.match(/-?\d+(\.\d+)?/g) || []));
      b = {x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity};
      for (let i = 0; i + 1 < nums.length; i += 2) {
        const x = +nums[i], y = +nums[i + 1];
        b.x0 = Math.min(b.x0, x); b.y0 = Math.min(b.y0, y); b.x1 = Math.max(b.x1, x); b.y1 = Math.max(b.y1, y);
      }
      if (Number.isFinite(b.x0)) { BOXES.set(el, b); return b; }
    }
    const r = el.querySelector(':scope > rect');
    if (r) b = {x0: +r.getAttribute('x'), y0: +r.getAttribute('y'), x1: +r.getAttribute('x') + +r.getAttribute('width'), y1: +r.getAttribute('y') + +r.getAttribute('height')};
    else {  // an arrow: the numbers of its path and head
      const nums = [];
      for (const s of el.querySelectorAll('path, polygon')) nums.push(...(s.getAttribute('d') || s.getAttribute('points') || '').match(/-?\d+(\.\d+)?/g) || []);
      b = {x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity};
      for (let i = 0; i + 1 < nums.length; i += 2) {
        const x = +nums[i], y = +nums[i + 1];
        b.x0 = Math.min(b.x0, x); b.y0 = Math.min(b.y0, y); b.x1 = Math.max(b.x1, x); b.y1 = Math.max(b.y1, y);
      }
      if (!Number.isFinite(b.x0)) { const g = el.getBBox(); b = {x0: g.x, y0: g.y, x1: g.x + g.width, y1: g.y + g.height}; }
    }
    BOXES.set(el, b);
    return b;
  }
  function bbox(els) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const el of els) {
      const b = boxOf(el);
      x0 = Math.min(x0, b.x0); y0 = Math.min(y0, b.y0); x1 = Math.max(x1, b.x1); y1 = Math.max(y1, b.y1);
    }
    return {x: x0, y: y0, width: x1 - x0, height: y1 - y0};
  }
  function smallestFont(els) {
    let f = Infinity;
    for (const el of els) for (const t of el.querySelectorAll('text')) f = Math.min(f, parseFloat(t.getAttribute('font-size')) || 12);
    return Number.isFinite(f) ? f : 12;
  }
  function follow(P, els, animate) {
    const [w, h] = paneSize(P);
    if (!w || !h || !els.length) return;
    let b = bbox(els);
    const font = smallestFont(els);
    // an edge's label can sit far from its arrow: when both do not fit, the label (which
    // carries aria-current and the text) is what the camera shows
    if (els.length > 1 && Math.min(w / b.width, h / b.height) * font < MIN_PX) b = bbox([els[0]]);
    const need = READ_PX / font, floor = MIN_PX / font;
    let k = P.cam ? P.cam.k : need;
    if (k < need) k = need;
    const fitsIn = pad => Math.min((w - 2 * pad) / Math.max(b.width, 1), (h - 2 * pad) / Math.max(b.height, 1));
    let pad = PAD;
    if (fitsIn(PAD) < k) {  // too big for the pane at this zoom: smaller, down to the floor, then less margin
      k = Math.max(floor, fitsIn(PAD));
      if (fitsIn(PAD) < floor) { pad = 4; k = Math.max(floor, Math.min(k, fitsIn(pad))); }
    }
    if (P.cam && Math.abs(k - P.cam.k) < 1e-9) {  // already in view: keep the camera still
      const c = P.cam, m = PAD / k;
      if (b.x >= c.x + m && b.y >= c.y + m && b.x + b.width <= c.x + w / k - m && b.y + b.height <= c.y + h / k - m) { miniHere(P); return; }
    }
    let x = b.x + b.width / 2 - w / (2 * k), y = b.y + b.height / 2 - h / (2 * k);
    if (b.width * k > w - 2 * pad) x = b.x - pad / k;  // too wide even at the floor: its start
    if (b.height * k > h - 2 * pad) y = b.y - pad / k;
    moveCam(P, x, y, k, animate);
    miniHere(P, b);
  }
  function followStep(animate) {
    for (const v of VIEWS) {
      const P = PANES[v];
      if (SVG[v].classList.contains('hidden')) continue;
      if (!P.cam) {  // first showing: the whole graph when it is readable whole, else the step
        // (straight to it: a camera set on the whole graph first would put every lid near it
        // in the document, to take them out again at once)
        const [w, h] = paneSize(P);
        if (!w || !h) continue;
        if (fitZoom(P) * 12 >= READ_PX) { fit(P); miniHere(P); continue; }
      }
      if (following) follow(P, currentEls(v, current), animate);
      else miniHere(P);
    }
  }
  // ------------------------------------------------------------ the overview (mini-map)
  const MINI_W = 200, MINI_H = 240;
  function drawMini(P) {  // the overview's size now, its picture when the page is next idle
    // (painting thousands of boxes is not a step's work: the frame is shown first)
    const s = Math.min(MINI_W / P.W, MINI_H / P.H);
    P.miniScale = s;
    const cw = Math.max(8, Math.round(P.W * s)), ch = Math.max(8, Math.round(P.H * s));
    const dpr = win.devicePixelRatio || 1;
    P.canvas.width = Math.round(cw * dpr); P.canvas.height = Math.round(ch * dpr);
    P.canvas.style.width = cw + 'px'; P.canvas.style.height = ch + 'px';
    P.mini.style.width = cw + 'px'; P.mini.style.height = ch + 'px';
    P.miniDrawn = true;
    if (!P.miniPaint) P.miniPaint = idle(() => { P.miniPaint = 0; paintMini(P); }, 300);
  }
  function paintMini(P) {
    const s = P.miniScale;
    const dpr = win.devicePixelRatio || 1;
    const cw = P.canvas.width / dpr, ch = P.canvas.height / dpr;
    const ctx = P.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#ffffff'; ctx.fillRect(0, 0, cw, ch);
    const fills = new Map();  // the colours of the boxes in the document (a box waiting as markup is drawn plain)
    for (const r of P.svg.querySelectorAll('g.node > rect')) fills.set(r.parentNode.id, r.getAttribute('fill'));
    // one path per colour, filled once (and one outline path): thousands of boxes in a few calls
    const paths = new Map(), edges = new Path2D(), lids = new Path2D();
    for (const [id, g] of GEOM[P.v].boxes) {  // every shown box, drawn or waiting
      if (closedGroup(parseInt(id.slice(1), 10)) >= 0) continue;
      const dy = ROOM[P.v].box.get(id) || 0;
      const x = g[0], y = g[1] + dy, rw = g[2], rh = g[3];
      const fill = fills.get(id) || '#dde6f2';
      let path = paths.get(fill);
      if (!path) { path = new Path2D(); paths.set(fill, path); }
      path.rect(x * s, y * s, Math.max(1, rw * s), Math.max(1, rh * s));
      if (rw * s > 3) edges.rect(x * s, y * s, rw * s, rh * s);
    }
    for (const [fill, path] of paths) { ctx.fillStyle = fill; ctx.fill(path); }
    ctx.strokeStyle = '#555'; ctx.lineWidth = 0.5;
    ctx.stroke(edges);
    for (const j of CLOSED) {  // closed groups, whether or not their lids are in the document
      const g = lidGeom(P.v, j);
      if (g) lids.rect(g[0] * s, g[1] * s, Math.max(1, g[2] * s), Math.max(1, g[3] * s));
    }
    ctx.fillStyle = '#9db8dc';
    ctx.fill(lids);
  }
  function miniView(P) {
    if (!P.cam) return;
    const [w, h] = paneSize(P);
    const {x, y, k} = P.cam;
    const whole = x <= 0 && y <= 0 && x + w / k >= P.W && y + h / k >= P.H;
    P.mini.hidden = whole;
    if (whole) return;
    if (!P.miniDrawn) drawMini(P);
    const s = P.miniScale, cw = P.W * s, ch = P.H * s;
    const l = Math.max(0, x * s), t = Math.max(0, y * s);
    const r = Math.min(cw, (x + w / k) * s), b = Math.min(ch, (y + h / k) * s);
    Object.assign(P.miniView.style, {left: l + 'px', top: t + 'px', width: Math.max(2, r - l) + 'px', height: Math.max(2, b - t) + 'px'});
  }
  function miniHere(P, b) {
    if (!P.cam || P.mini.hidden) return;
    if (!b) { const els = currentEls(P.v, current); if (!els.length) { P.miniHere.hidden = true; return; } b = bbox(els); }
    const s = P.miniScale;
    P.miniHere.hidden = false;
    Object.assign(P.miniHere.style, {left: (b.x + b.width / 2) * s - 4 + 'px', top: (b.y + b.height / 2) * s - 4 + 'px'});
  }
  for (const v of VIEWS) {
    const P = PANES[v];
    P.pane.addEventListener('wheel', ev => {
      ev.preventDefault();
      const d = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
      zoomAt(P, Math.exp(-d * (ev.ctrlKey ? 0.01 : 0.0015)), ev.clientX, ev.clientY);
    }, {passive: false});
    const pointers = new Map();
    let drag = null, pinch = null, swallowClick = false;
    P.pane.addEventListener('pointerdown', ev => {
      if (ev.button !== 0 || ev.target.closest('.mini')) return;
      pointers.set(ev.pointerId, [ev.clientX, ev.clientY]);
      if (pointers.size === 1 && P.cam) drag = {x: ev.clientX, y: ev.clientY, cam: Object.assign({}, P.cam), moved: false};
      if (pointers.size === 2) {
        const [a, b] = Array.from(pointers.values());
        pinch = Math.hypot(a[0] - b[0], a[1] - b[1]);
        drag = null;
      }
    });
    P.pane.addEventListener('pointermove', ev => {
      if (!pointers.has(ev.pointerId)) return;
      pointers.set(ev.pointerId, [ev.clientX, ev.clientY]);
      if (pointers.size === 2 && pinch) {
        const [a, b] = Array.from(pointers.values());
        const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
        if (d > 0) zoomAt(P, d / pinch, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
        pinch = d;
        swallowClick = true;
        return;
      }
      if (!drag) return;
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) { drag.moved = true; P.pane.setPointerCapture(ev.pointerId); P.pane.classList.add('panning'); }
      setCam(P, drag.cam.x - dx / drag.cam.k, drag.cam.y - dy / drag.cam.k, drag.cam.k);
    });
    const up = ev => {
      pointers.delete(ev.pointerId);
      if (drag && drag.moved) swallowClick = true;
      if (pointers.size < 2) pinch = null;
      if (!pointers.size) { drag = null; P.pane.classList.remove('panning'); }
    };
    P.pane.addEventListener('pointerup', up);
    P.pane.addEventListener('pointercancel', up);
    P.pane.addEventListener('click', ev => { if (swallowClick) { swallowClick = false; ev.stopPropagation(); ev.preventDefault(); } }, true);
    // the overview: press or drag to look there
    const look = ev => {
      const r = P.canvas.getBoundingClientRect();
      const [w, h] = paneSize(P);
      const ux = (ev.clientX - r.left) / P.miniScale, uy = (ev.clientY - r.top) / P.miniScale;
      setCam(P, ux - w / (2 * P.cam.k), uy - h / (2 * P.cam.k), P.cam.k);
    };
    P.mini.addEventListener('pointerdown', ev => { if (!P.cam) return; ev.stopPropagation(); P.mini.setPointerCapture(ev.pointerId); look(ev); P.miniDrag = true; });
    P.mini.addEventListener('pointermove', ev => { if (P.miniDrag) look(ev); });
    P.mini.addEventListener('pointerup', () => { P.miniDrag = false; });
  }
  function visiblePanes() { return VIEWS.filter(v => !SVG[v].classList.contains('hidden')).map(v => PANES[v]); }
  $('zoom-in').onclick = () => visiblePanes().forEach(P => zoomAt(P, 1.25));
  $('zoom-out').onclick = () => visiblePanes().forEach(P => zoomAt(P, 0.8));
  $('fit').onclick = () => visiblePanes().forEach(P => fit(P, true));
  $('follow').onclick = () => {
    following = !following;
    $('follow').setAttribute('aria-pressed', following ? 'true' : 'false');
    if (following) followStep(true);
  };
  if (win.ResizeObserver) {
    const ro = new win.ResizeObserver(entries => {
      for (const e of entries) {
        const P = VIEWS.map(v => PANES[v]).find(p => p.pane === e.target);
        if (!P) continue;
        P.size = [P.pane.clientWidth, P.pane.clientHeight];
        if (SVG[P.v].classList.contains('hidden') || !P.size[0] || !P.size[1]) continue;
        const n = shownPanes(), known = SIZES.get(n);
        if (!known || known[0] !== P.size[0] || known[1] !== P.size[1]) { SIZES.clear(); SIZES.set(n, P.size.slice()); }
      }
      for (const P of Object.values(PANES)) {
        if (!P.cam || !P.size || !P.size[0]) continue;
        setCam(P, P.cam.x, P.cam.y, P.cam.k);
      }
      if (!cameraReady()) followStep(false);
    });
    for (const v of VIEWS) ro.observe(SVG[v]);
  }

  // ------------------------------------------------------------ details of a node or an edge
  function valueLine(prefix, s) {  // a short line, the long numbers behind a disclosure
    if (!big(s)) { const p = doc.createElement('p'); p.textContent = prefix + num(s); return [p]; }
    const p = doc.createElement('p');
    p.textContent = prefix + summary(s);
    return [p, numbersBehind([[prefix.replace(/ = $/, ''), num(s)]])];
  }
  function details(k, edge) {
    const out = [];
    const n = D.nodes[k];
    const line = t => { const p = doc.createElement('p'); p.textContent = t; out.push(p); };
    if (edge) {
      const e = edgeOf(edge[0], edge[1]);
      line('Edge: ' + D.nodes[e.source].name + ' → ' + D.nodes[e.node].name);
      if (e.local) out.push(...valueLine('local partial ∂' + D.nodes[e.node].name + '/∂' + D.nodes[e.source].name + ' = ', e.local));
      out.push(...valueLine('upstream gradient = ', D.grads[e.node]));
      if (e.c) out.push(...valueLine('contribution passed back = ', e.c));
    } else {
      line(n.name + ' (' + n.role + ')' + (n.formula && n.formula !== n.name ? ' = ' + n.formula : ''));
      out.push(...valueLine('value = ', D.values[k]));
      if (D.grads[k]) out.push(...valueLine('gradient = ', D.grads[k]));
      if (D.frozen[k]) line('not recomputed in the page: ' + D.frozen[k]);
    }
    $('details-text').replaceChildren(...out);
    $('details').hidden = false;
  }
  function stepOfNode(k, view) {  // a shown step (-1: none)
    let i = -1;
    if (view === 'gradients') {
      for (let j = STEPS.length - 1; j >= 0; j--) if (STEPS[j].kind !== 'forward' && STEPS[j].node === k) { i = j; break; }
    }
    if (i < 0) i = STEPS.findIndex(s => s.kind === 'forward' && s.node === k);
    return i < 0 ? -1 : visOf(i);
  }
  function stepOfEdge(edge) {
    const i = STEPS.findIndex(s => s.edge && s.edge[0] === edge[0] && s.edge[1] === edge[1]);
    return i < 0 ? -1 : visOf(i);
  }
  const DECORATED = new WeakSet();  // boxes and arrows are made keyboard buttons once
  function decorateNode(v, k, g) {
    if (DECORATED.has(g)) return;
    DECORATED.add(g);
    g.setAttribute('tabindex', '0');
    g.setAttribute('role', 'button');
    g.setAttribute('aria-label', (v === 'forward' ? 'forward step of ' : 'gradient of ') + D.nodes[k].name);
    const pick = () => { const i = stepOfNode(k, v); if (i >= 0) show(i, {animate: true}); details(k, null); };
    g.addEventListener('click', pick);
    g.addEventListener('keydown', ev => { if (ev.key === 'Enter') { ev.preventDefault(); pick(); } });
  }
  function decorateEdge(v, e, g) {
    if (DECORATED.has(g)) return;
    DECORATED.add(g);
    if (g.classList.contains('edge')) {
      g.setAttribute('tabindex', '0'); g.setAttribute('role', 'button');
      g.setAttribute('aria-label', 'edge from ' + D.nodes[D.nodes[e[0]].inputs[e[1]]].name + ' into ' + D.nodes[e[0]].name);
    }
    const pick = () => { const i = stepOfEdge(e); if (i >= 0) show(i, {animate: true}); details(e[0], e); };
    g.addEventListener('click', pick);
    g.addEventListener('keydown', ev => { if (ev.key === 'Enter') { ev.preventDefault(); pick(); } });
  }

  // ------------------------------------------------------------ search: a name, its node, its steps
  const NODE_NAMES = Object.keys(D.names).filter(n => D.names[n][1] < 0);
  (function () {
    const list = $('cr-names');
    const frag = doc.createDocumentFragment();
    for (const n of NODE_NAMES.slice(0, 2000)) { const o = doc.createElement('option'); o.value = n; frag.appendChild(o); }
    list.appendChild(frag);
  })();
  function find(text) {
    const t = text.trim();
    if (!t) return null;
    if (D.names[t]) return D.names[t][0];
    const low = t.toLowerCase();
    const hit = NODE_NAMES.find(n => n.toLowerCase() === low) || NODE_NAMES.find(n => n.toLowerCase().startsWith(low))
      || NODE_NAMES.find(n => n.toLowerCase().includes(low));
    return hit === undefined ? null : D.names[hit][0];
  }
  function search(text) {
    const k = find(text);
    const box = $('found-text');
    box.replaceChildren();
    $('found').hidden = false;
    if (k === null) { box.textContent = 'No node is called ' + text.trim() + '.'; $('announce').textContent = box.textContent; return -1; }
    if (closedGroup(k) >= 0) setGroups([closedGroup(k)], true, {quiet: true});  // found inside a closed group: open it
    const p = doc.createElement('p');
    p.textContent = D.nodes[k].name + ' (' + D.nodes[k].role + ')';
    box.appendChild(p);
    const steps = [];
    STEPS.forEach((s, i) => { if (s.node === k || (s.edge && s.edge[0] === k)) { const j = visOf(i); if (steps[steps.length - 1] !== j) steps.push(j); } });
    const nav = doc.createElement('div');
    nav.className = 'found-steps';
    for (const i of steps.slice(0, 40)) {
      const b = doc.createElement('button');
      const s = stepOf(i);
      b.textContent = 'step ' + (i + 1) + (s.kind === 'forward' ? ' (forward)' : s.edge && s.edge[0] === k ? ' (passes back)' : ' (gradient)');
      b.onclick = () => show(i, {animate: true});
      nav.appendChild(b);
    }
    if (steps.length > 40) nav.appendChild(doc.createTextNode(' … and ' + (steps.length - 40) + ' more'));
    box.appendChild(nav);
    const first = stepOfNode(k, 'forward');
    if (first >= 0) show(first, {animate: true}); else if (steps.length) show(steps[0], {animate: true});
    details(k, null);
    return k;
  }
  let searched = null;  // a search runs once per text (Enter, then leaving the box, is one search)
  const searchBox = () => { const t = $('search').value; if (t !== searched) { searched = t; search(t); } };
  $('search').addEventListener('change', searchBox);
  $('search').addEventListener('keydown', ev => { if (ev.key === 'Enter') { ev.preventDefault(); searchBox(); } });

  // ------------------------------------------------------------ what-if inputs
  // The rules of `--at`: 3, -0.25, 4/5, 1e-3, a decimal comma (0,5) in a single number, and
  // lists [1, 2]; nothing that is not a finite float (1/0 and 1e999 are refused by name).
  const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
  function parseScalar(text, comma) {
    let t = text.trim().replace(/\u2212/g, '-');
    if (comma && /^[+-]?\d*,\d+$/.test(t)) t = t.replace(',', '.');
    let v;
    const frac = /^(.+?)\s*\/\s*(.+)$/.exec(t);
    if (frac) {
      if (!FLOAT.test(frac[1]) || !FLOAT.test(frac[2])) throw new Error('cannot read ' + text.trim() + ' as a number');
      const d = Number(frac[2]);
      if (d === 0) throw new Error(text.trim() + ' divides by zero');
      v = Number(frac[1]) / d;
    } else {
      if (!FLOAT.test(t)) throw new Error('cannot read ' + (text.trim() || 'an empty box') + ' as a number');
      v = Number(t);
    }
    if (!Number.isFinite(v)) throw new Error(text.trim() + ' is beyond the range of floating-point numbers (about ±1.8e308)');
    return v;
  }
  function parseValue(text, shape) {  // → the numbers in row-major order; throws a readable message
    const t = text.trim();
    if (!t.startsWith('[')) {
      if (shape.length) throw new Error('write a list shaped ' + shape.join('×') + ', like ' + example(shape));
      return [parseScalar(t, true)];
    }
    if (!shape.length) throw new Error('write one number (3, -0.25, 4/5, 1e-3 or 0,5)');
    const stack = [];
    let token = '', result = null;
    for (const ch of t) {
      if (ch === '[') stack.push([]);
      else if (ch === ',' || ch === ']') {
        if (token.trim()) { if (!stack.length) throw new Error('unbalanced brackets'); stack[stack.length - 1].push(parseScalar(token, false)); }
        token = '';
        if (ch === ']') {
          if (!stack.length) throw new Error('unbalanced brackets');
          const done = stack.pop();
          if (stack.length) stack[stack.length - 1].push(done); else result = done;
        }
      } else if (result !== null && ch.trim()) throw new Error('text after the closing bracket');
      else token += ch;
    }
    if (stack.length || result === null) throw new Error('unbalanced brackets');
    const flat = [];
    const walk = (x, depth) => {
      if (Array.isArray(x)) { if (depth >= shape.length || x.length !== shape[depth]) throw new Error('write a list shaped ' + shape.join('×') + ', like ' + example(shape)); x.forEach(y => walk(y, depth + 1)); }
      else { if (depth !== shape.length) throw new Error('write a list shaped ' + shape.join('×') + ', like ' + example(shape)); flat.push(x); }
    };
    walk(result, 0);
    return flat;
  }
  function example(shape) {
    const build = d => d === shape.length ? '1' : '[' + Array.from({length: Math.min(shape[d], 3)}, () => build(d + 1)).join(', ') + (shape[d] > 3 ? ', …' : '') + ']';
    return build(0);
  }
  const CELLS = 16;  // inputs with at most this many elements get a cell and a slider each
  const ELEMENT_NAMES = {};
  for (const [name, [k, flat]] of Object.entries(D.names)) {
    if (flat < 0) continue;
    if (!ELEMENT_NAMES[k]) ELEMENT_NAMES[k] = [];
    if (ELEMENT_NAMES[k][flat] === undefined) ELEMENT_NAMES[k][flat] = name;
  }
  const ROWS = [];
  function plainText(x) { return decShort(x).replace(/\u2212/g, '-'); }
  function sliderFor(x, label) {
    const slider = doc.createElement('input');
    slider.type = 'range';
    const span = Math.max(1, Math.abs(x) * 2);
    slider.min = String(x - span); slider.max = String(x + span); slider.step = String(span / 200);
    slider.value = String(x);
    slider.setAttribute('aria-label', 'slider for ' + label);
    return slider;
  }
  const FIRST_ROWS = 40;  // a program with many inputs shows the first ones, the rest on demand
  function inputRows(all) {
    const box = $('inputs');
    const many = !all && D.inputs.length > FIRST_ROWS + 10;
    if (many) {
      const more = doc.createElement('button');
      more.textContent = 'show all ' + D.inputs.length + ' inputs';
      more.onclick = () => { more.remove(); box.replaceChildren(); ROWS.length = 0; inputRows(true); };
      box.after(more);
    }
    D.inputs.forEach((k, j) => {
      if (many && j >= FIRST_ROWS) return;
      const s = D.values[k];
      const name = D.nodes[k].name;
      const row = doc.createElement('div');
      row.className = 'row';
      const err = doc.createElement('div');
      err.className = 'error';
      err.setAttribute('role', 'alert');
      const fail = m => { err.textContent = m; row.append(err); };
      const entry = {k, row, boxes: [], sliders: [], cells: [], text: null};
      const size = s.at.length;
      if (size === 1 || size > CELLS) {  // one box (and a slider for a number)
        const id = 'in-' + k;
        const label = doc.createElement('label');
        label.htmlFor = id;
        label.textContent = name;
        const input = doc.createElement('input');
        input.type = 'text'; input.id = id; input.value = num(s).replace(/\u2212/g, '-');
        input.setAttribute('aria-label', 'value of ' + name);
        if (size === 1) input.setAttribute('inputmode', 'decimal');
        row.append(label, input);
        entry.text = input;
        if (size === 1) {
          const slider = sliderFor(D.original[j], name);
          row.append(doc.createElement('span'), slider);
          entry.sliders.push(slider);
          slider.addEventListener('input', () => { input.value = slider.value; err.remove(); apply(k, [Number(slider.value)], 'page'); });
        }
        input.addEventListener('change', () => {
          let flat;
          try { flat = parseValue(input.value, s.shape); } catch (e) {
            fail(size === 1 ? e.message + ': write a number (3, -0.25, 4/5, 1e-3 or 0,5)' : e.message);
            return;
          }
          err.remove();
          if (size === 1) entry.sliders[0].value = String(flat[0]);
          apply(k, flat, 'page');
        });
      } else {  // one cell and one slider per element
        row.classList.add('cells');
        const head = doc.createElement('div');
        head.className = 'cells-name';
        head.textContent = name + ' (' + s.shape.join('×') + ')';
        row.append(head);
        const grid = doc.createElement('div');
        grid.className = 'cell-grid';
        grid.setAttribute('role', 'group');
        grid.setAttribute('aria-label', 'elements of ' + name);
        const orig = [D.original[j]].flat(Infinity);
        for (let f = 0; f < size; f++) {
          const ename = (ELEMENT_NAMES[k] && ELEMENT_NAMES[k][f]) || name + '[' + f + ']';
          const cell = doc.createElement('div');
          cell.className = 'cell';
          const label = doc.createElement('label');
          label.htmlFor = 'in-' + k + '-' + f;
          label.textContent = ename;
          const input = doc.createElement('input');
          input.type = 'text'; input.id = 'in-' + k + '-' + f; input.value = plainText(S[s.at[f]]);
          input.setAttribute('inputmode', 'decimal');
          input.setAttribute('aria-label', 'value of ' + ename);
          const slider = sliderFor(orig[f], ename);
          cell.append(label, input, slider);
          grid.append(cell);
          entry.boxes.push(input); entry.sliders.push(slider); entry.cells.push(cell);
          const setOne = x => { const flat = read(s); flat[f] = x; apply(k, flat, 'page'); };
          slider.addEventListener('input', () => { input.value = slider.value; err.remove(); setOne(Number(slider.value)); });
          input.addEventListener('change', () => {
            let x;
            try { x = parseScalar(input.value, true); } catch (e) { fail(ename + ': ' + e.message + ' (write 3, -0.25, 4/5, 1e-3 or 0,5)'); return; }
            err.remove();
            slider.value = String(x);
            setOne(x);
          });
        }
        row.append(grid);
      }
      ROWS.push(entry);
      box.appendChild(row);
    });
  }
  function syncRows() {  // every box and slider shows the page's numbers
    for (const r of ROWS) {
      const s = D.values[r.k];
      if (r.text) r.text.value = num(s).replace(/\u2212/g, '-');
      r.boxes.forEach((b, f) => { b.value = plainText(S[s.at[f]]); });
      r.sliders.forEach((sl, f) => { sl.value = String(S[s.at[f]]); });
    }
    markRows();
  }
  function markRows() {  // an input changed, and in a row of cells only the elements changed
    for (const r of ROWS) {
      const at = D.values[r.k].at;
      r.row.classList.toggle('changed', at.some(s => S[s] !== ORIGINAL[s]));
      r.cells.forEach((c, f) => { c.classList.toggle('changed', S[at[f]] !== ORIGINAL[at[f]]); });
    }
  }
  function apply(k, flat, from) {
    D.values[k].at.forEach((slot, i) => { S[slot] = flat[i]; });
    recompute();
    markRows();
    for (const f of listeners) f('input', {k, from});
  }
  function reset() {
    S.set(ORIGINAL);
    recompute();
    syncRows();
    for (const f of listeners) f('input', {k: -1, from: 'reset'});
  }

  // ------------------------------------------------------------ controls
  function play(on) {
    if (timer) { clearInterval(timer); timer = null; }
    if (on) {
      if (current >= VIS.length - 1) show(0);
      timer = setInterval(() => { if (current >= VIS.length - 1) play(false); else show(current + 1, {animate: true, quiet: true}); }, Number($('speed').value));
    }
    $('play').textContent = timer ? '⏸ pause' : '▶ play';
    $('play').setAttribute('aria-pressed', timer ? 'true' : 'false');
  }
  const go = i => show(i, {animate: true});
  $('first').onclick = () => go(0);
  $('prev').onclick = () => go(current - 1);
  $('next').onclick = () => go(current + 1);
  $('last').onclick = () => go(VIS.length - 1);
  $('back-start').onclick = () => go(firstBackward());
  $('play').onclick = () => play(!timer);
  $('speed').onchange = () => { if (timer) play(true); };
  $('view').onchange = () => show(current);
  $('jump').onchange = () => go(parseInt($('jump').value, 10) - 1);
  function counts() { $('jump').max = String(VIS.length); $('count').textContent = 'of ' + VIS.length; }
  $('reset').onclick = reset;
  const keyTarget = opts.page ? doc : root;
  keyTarget.addEventListener('keydown', ev => {
    const tag = (ev.target && ev.target.tagName) || '';
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const panes = visiblePanes();
    if (ev.key === 'ArrowRight') go(current + 1);
    else if (ev.key === 'ArrowLeft') go(current - 1);
    else if (ev.key === 'Home') go(0);
    else if (ev.key === 'End') go(VIS.length - 1);
    else if (ev.key === ' ' && tag !== 'BUTTON') play(!timer);
    else if (ev.key === '+' || ev.key === '=') panes.forEach(P => zoomAt(P, 1.25));
    else if (ev.key === '-' || ev.key === '\u2212' || ev.key === '_') panes.forEach(P => zoomAt(P, 0.8));
    else if (ev.key === '0') panes.forEach(P => fit(P, true));
    else if (ev.key === '/' ) $('search').focus();
    else return;
    ev.preventDefault();
  });
  function fromHash() {
    const m = opts.page ? /step=(\d+)/.exec(location.hash) : null;
    return m ? parseInt(m[1], 10) - 1 : 0;
  }
  if (opts.page) win.addEventListener('hashchange', () => show(fromHash()));

  const notes = [];
  if (!D.interactive) notes.push('This graph is too big to recompute in the page: the numbers shown are the program\'s.');
  const frozen = Object.keys(D.frozen);
  if (frozen.length) notes.push('Not recomputed in the page (kept at the program\'s numbers): ' + frozen.map(k => D.nodes[k].name + ' (' + D.frozen[k] + ')').join('; ') + '.');
  if (D.exact) notes.push('Exact forms are shown for the program\'s own inputs; a what-if change computes in floating point.');
  $('notes').textContent = notes.join(' ');
  if (D.interactive) inputRows(); else $('inputs').textContent = 'Inputs cannot be changed here.';

  // ------------------------------------------------------------ the scripting surface
  function groupList(which) {  // a group's index or name, a list of them, or all groups (none given)
    if (which === undefined || which === null) return GROUPS.map((g, j) => j);
    return [which].flat().map(w => {
      const j = typeof w === 'number' ? w : GROUPS.findIndex(g => g.name === w || g.name.startsWith(w + ':'));
      if (!(j >= 0 && j < GROUPS.length)) throw new Error('no group ' + w + ' (groups: ' + GROUPS.slice(0, 20).map(g => g.name).join('; ') + ')');
      return j;
    });
  }
  function named(name) {
    const hit = D.names[name];
    if (!hit) throw new Error('no node named ' + name + ' (names: ' + Object.keys(D.names).slice(0, 50).join(', ') + ')');
    return hit;
  }
  function get(s, flat) {
    if (!s || (flat >= 0 ? whatif && STALE.has(s.at[flat]) : stale(s))) return null;
    const v = read(s);
    if (flat >= 0) return v[flat];
    if (s.shape.length === 0) return v[0];
    const build = (shape, off) => { if (!shape.length) return v[off]; const step = shape.slice(1).reduce((a, b) => a * b, 1); const o = []; for (let i = 0; i < shape[0]; i++) o.push(build(shape.slice(1), off + i * step)); return o; };
    return build(s.shape, 0);
  }
  function set(name, value) {
    const [k, f] = named(name);
    if (!D.interactive || !D.inputs.includes(k)) throw new Error(name + ' is not an input the page can change');
    const flat = read(D.values[k]);
    const check = x => { const n = typeof x === 'number' ? x : parseScalar(String(x), true); if (!Number.isFinite(n)) throw new Error(name + ': ' + x + ' is not a finite number'); return n; };
    if (f >= 0) flat[f] = check(value);
    else { const given = [value].flat(Infinity).map(check); if (given.length !== flat.length) throw new Error('expected ' + flat.length + ' numbers'); given.forEach((x, i) => { flat[i] = x; }); }
    apply(k, flat, 'script');
    syncRows();
  }
  const api = {
    steps: () => VIS.length,
    step: i => { if (i === undefined) return current; show(i); return current; },
    value: name => { const [k, f] = named(name); return get(D.values[k], f); },
    grad: name => { const [k, f] = named(name); return get(D.grads[k], f); },
    set,
    reset,
    names: () => Object.keys(D.names),
    text: i => stepBlocks(i === undefined ? current : i).map(blockText),
    liveText: i => { const v = VIS[i === undefined ? current : i]; return (v.group >= 0 ? groupBlocks(v) : render(full(v.s).live, false)).map(blockText); },
    explainText: i => { const v = VIS[i === undefined ? current : i]; return (v.group >= 0 ? groupBlocks(v) : full(v.s).blocks).map(blockText); },
    groups: () => GROUPS.map((g, j) => ({name: g.name, kind: g.kind, nodes: g.members.length, open: !CLOSED.has(j)})),
    open: which => { setGroups(groupList(which), true); return current; },
    close: which => { setGroups(groupList(which), false); return current; },
    whatif: () => whatif,
    edges: () => D.edges.map(e => ({from: D.nodes[e.source].name, into: D.nodes[e.node].name, node: e.node, source: e.source, i: e.i,
      local: get(e.local, -1), contribution: get(e.c, -1)})),
    nodes: () => D.nodes.map((n, k) => ({name: n.name, value: get(D.values[k], -1), grad: get(D.grads[k], -1)})),
    find: search,
    camera: view => { const P = PANES[view || primaryView(stepOf(current))]; return P.cam ? Object.assign({}, P.cam) : null; },
    drawingSize: view => [PANES[view].W, PANES[view].H],
    fit: () => visiblePanes().forEach(P => fit(P)),
    zoom: f => visiblePanes().forEach(P => zoomAt(P, f)),
    inputs: () => D.inputs.map(k => NODE_NAMES.find(n => D.names[n][0] === k)).filter(n => n !== undefined),
    listen: f => { listeners.push(f); },
  };
  // the first picture: closed groups as their lids, open ones framed, and the steps they make
  for (const v of VIEWS) moveAll(v, pack(v));
  for (const v of VIEWS) {
    for (let j = 0; j < GROUPS.length; j++) if (!CLOSED.has(j) && !LAZY) place(frame(v, j), LAYER[v].frames, true);
  }
  index();
  for (const v of VIEWS) links(v);
  buildVis();
  const toggle = $('groups-toggle');
  if (toggle) {
    toggle.hidden = !GROUPS.length;
    const label = () => { const any = CLOSED.size > 0; toggle.textContent = any ? 'open all groups' : 'close all groups'; toggle.setAttribute('aria-pressed', any ? 'false' : 'true'); };
    label();
    toggle.onclick = () => { setGroups(GROUPS.map((g, j) => j), CLOSED.size > 0); };
    listeners.push(what => { if (what === 'groups') label(); });
  }
  listeners.push(what => { if (what === 'groups') counts(); });
  counts();
  show(fromHash(), {quiet: true});
  // while the page is idle after loading: where each open group is in the pane not shown yet,
  // so that the first step into it does not find them all
  if (LAZY) idle(() => { for (const v of VIEWS) for (let j = 0; j < GROUPS.length; j++) if (!CLOSED.has(j)) groupRect(v, j); }, 2000);
  return api;
}
