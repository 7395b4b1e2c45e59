'use strict';
// The chainrule explorer. Data (steps, names, where every number lives) comes from the JSON
// element; the numbers come from crCompute, the op table's rules written as JavaScript by
// chainrule.explorer.program. Text is only ever inserted with textContent.
(function () {
  const D = JSON.parse(document.getElementById('cr-data').textContent);
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
  const $ = id => document.getElementById(id);

  // ------------------------------------------------------------ numbers as explain writes them
  function dec(x) {  // chainrule.values.format_float
    if (Number.isNaN(x)) return 'nan';
    if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
    if (x === 0) return '0';
    if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
    const e = x.toExponential(DIG - 1);
    let [mant, ex] = e.split('e');
    const exp = parseInt(ex, 10);
    if (exp < -4 || exp >= DIG) {
      if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
      return mant + 'e' + (exp < 0 ? '-' + String(-exp).padStart(2, '0') : '+' + String(exp).padStart(2, '0'));
    }
    let t = x.toFixed(Math.max(0, DIG - 1 - exp));
    if (t.includes('.')) t = t.replace(/0+$/, '').replace(/\.$/, '');
    return t;
  }
  function decShort(x) {  // format_float writes the exponent without padding: 1.5e-5
    const t = dec(x);
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
  function slotsOf(q, of) {
    if (q === 'v') return D.values[of];
    if (q === 'g') return D.grads[of];
    const e = edgeOf(of[0], of[1]);
    return e && (q === 'l' ? e.local : q === 'c' ? e.c : e.r);
  }
  const EDGE = new Map(D.edges.map(e => [e.node + ':' + e.i, e]));
  function edgeOf(node, i) { return EDGE.get(node + ':' + i); }
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
  function close(s, shown) {  // explain.document._close (a matrix element by element)
    const vals = read(s);
    const texts = s.shape.length ? shown.replace(/[\[\]]/g, '').split(',') : [shown];
    if (texts.length !== vals.length) return false;
    return vals.every((v, i) => {
      const x = Number(texts[i].trim().replace(MINUS, '-'));
      return Number.isFinite(x) && Math.abs(v - x) <= 1e-12 * Math.max(1, Math.abs(v));
    });
  }
  function chain(b) {  // explain.document._chain
    const kept = [];
    for (const part of b.chain) { const t = pieces(part); if (!kept.length || kept[kept.length - 1] !== t) kept.push(t); }
    const fs = slotsOf(b.final.q, b.final.of);
    let text = kept[0];
    const rel = [];
    for (let i = 1; i < kept.length; i++) rel.push('=');
    if (fs) {
      const d = num(fs);
      if (d !== kept[kept.length - 1]) { kept.push(d); rel.push(close(fs, d) ? '=' : '≈'); }
    }
    for (let i = 1; i < kept.length; i++) text += ' ' + rel[i - 1] + ' ' + kept[i];
    return text;
  }
  function render(blocks) {
    return blocks.map(b => b.chain ? {eq: chain(b)} : b);
  }

  // ------------------------------------------------------------ recomputation
  function recompute() {
    crCompute(S, cr);
    whatif = D.inputs.some(k => D.values[k].at.some(s => !Object.is(S[s], ORIGINAL[s])));
    if (whatif) rewriteDrawings(); else restoreDrawings();
    show(current);
  }

  // ------------------------------------------------------------ drawings
  const SVG = {forward: $('draw-forward'), gradients: $('draw-gradients')};
  const ORIGINAL_TEXT = new Map();
  for (const v of Object.keys(SVG)) for (const t of SVG[v].querySelectorAll('text')) ORIGINAL_TEXT.set(t, t.textContent);
  function boxTexts(view, id) {
    const g = SVG[view].querySelector('g.node[id="' + CSS.escape(id) + '"]');
    return g ? Array.from(g.querySelectorAll('text')) : [];
  }
  function recipeText(r) {
    if (r.sum !== undefined) {
      const terms = D.edges.filter(e => e.source === r.sum && e.c).map(e => num(e.c));
      return r.prefix + (terms.length <= 4 ? plus(terms) : 'the sum of ' + terms.length + ' terms');
    }
    if (r.product) {
      const e = edgeOf(r.product[0], r.product[1]);
      const g = D.grads[e.node];
      const f = s => negative(s) ? '(' + num(s) + ')' : num(s);
      let t = f(g) + ' ' + r.symbol + ' ' + f(e.local);
      if (r.summed) t = 'Σ(' + t + ')';
      return t + ' = ' + num(e.c);
    }
    const s = slotsOf(r.q, r.of);
    return (r.prefix || '') + (s ? num(s) : '?');
  }
  function rewriteDrawings() {
    for (const v of Object.keys(SVG)) {
      const rec = D.drawings[v].recipes;
      for (const [id, list] of Object.entries(rec.boxes)) {
        const texts = boxTexts(v, id);
        list.forEach((r, j) => { if (r && texts[j]) texts[j].textContent = recipeText(r); });
      }
      for (const [a, list] of Object.entries(rec.edges)) {
        const g = SVG[v].querySelector('g.edge-label[data-i="' + a + '"]');
        if (!g) continue;
        const texts = g.querySelectorAll('text');
        list.forEach((r, j) => { if (r && texts[j]) texts[j].textContent = recipeText(r); });
      }
    }
    for (const k of D.inputs) {
      const changed = D.values[k].at.some(s => S[s] !== ORIGINAL[s]);
      for (const v of Object.keys(SVG)) for (const g of SVG[v].querySelectorAll('g.node[id="n' + k + '"]')) g.classList.toggle('changed', changed);
    }
  }
  function restoreDrawings() {
    for (const [t, s] of ORIGINAL_TEXT) t.textContent = s;
    for (const v of Object.keys(SVG)) for (const g of SVG[v].querySelectorAll('g.node.changed')) g.classList.remove('changed');
  }

  // ------------------------------------------------------------ steps
  const STEPS = D.steps;
  const firstBackward = STEPS.findIndex(s => s.kind !== 'forward');
  function viewFor(step) {
    const mode = $('view').value;
    if (mode !== 'auto') return mode;
    return step.kind === 'forward' ? 'forward' : 'gradients';
  }
  function arrowIndex(view, edge) {
    const arrows = D.drawings[view].arrows;
    for (let a = 0; a < arrows.length; a++) if (arrows[a] && arrows[a][0] === edge[0] && arrows[a][1] === edge[1]) return a;
    return -1;
  }
  function mark(i) {
    const step = STEPS[i];
    const revealed = new Set(), complete = new Set(), handled = new Set();
    for (let j = 0; j <= i; j++) {
      const s = STEPS[j];
      if (s.kind === 'forward') revealed.add(s.node);
      else { if (s.complete) complete.add(s.node); if (s.edge) handled.add(s.edge[0] + ':' + s.edge[1]); }
    }
    const backward = step.kind !== 'forward';
    for (const v of Object.keys(SVG)) {
      for (const g of SVG[v].querySelectorAll('g.node')) {
        const k = parseInt(g.id.slice(1), 10);
        const pending = v === 'forward' ? !(backward || revealed.has(k) || D.nodes[k].role === 'constant')
          : !(complete.has(k) || (!backward && false));
        g.classList.toggle('pending', v === 'gradients' ? (!backward || !complete.has(k)) : pending);
        g.classList.toggle('current', k === step.node && (v === 'forward') === !backward);
      }
      const arrows = D.drawings[v].arrows;
      for (const g of SVG[v].querySelectorAll('g.edge, g.edge-label')) {
        const e = arrows[parseInt(g.dataset.i, 10)];
        const key = e ? e[0] + ':' + e[1] : '';
        const pending = v === 'forward' ? (!backward && e && !revealed.has(e[0])) : !(backward && handled.has(key));
        g.classList.toggle('pending', Boolean(pending) && !(v === 'gradients' && backward && e && complete.has(e[0]) && handled.has(key)));
        g.classList.toggle('current', Boolean(step.edge && e && v === 'gradients' && e[0] === step.edge[0] && e[1] === step.edge[1]));
      }
    }
  }
  function title(step, i) {
    const n = D.nodes[step.node];
    const pass = step.kind === 'forward' ? 'forward pass: ' + n.name
      : step.kind === 'seed' ? 'backward pass: the seed'
        : step.edge ? 'backward pass: the edge from ' + n.name + ' into ' + D.nodes[step.edge[0]].name
          : 'backward pass: ' + n.name;
    return 'Step ' + (i + 1) + ' of ' + STEPS.length + ' · ' + pass;
  }
  function stepBlocks(i) { return whatif ? render(STEPS[i].live) : STEPS[i].blocks; }
  function show(i) {
    current = Math.max(0, Math.min(STEPS.length - 1, i));
    const step = STEPS[current];
    $('step-title').textContent = title(step, current);
    const box = $('step-text');
    box.replaceChildren();
    if (whatif) {
      const p = document.createElement('p');
      p.className = 'whatif-banner';
      p.textContent = 'What-if: the numbers below are recomputed from your inputs.';
      box.appendChild(p);
    }
    for (const b of stepBlocks(current)) {
      const el = document.createElement(b.eq !== undefined ? 'div' : 'p');
      if (b.eq !== undefined) { el.className = 'eq'; el.textContent = b.eq; } else el.textContent = b.p;
      box.appendChild(el);
    }
    const view = viewFor(step);
    for (const v of Object.keys(SVG)) SVG[v].classList.toggle('hidden', !(view === 'both' || view === v));
    mark(current);
    $('jump').value = current + 1;
    if (location.hash !== '#step=' + (current + 1)) {
      try { history.replaceState(null, '', '#step=' + (current + 1)); } catch (e) { /* a sandboxed frame has no URL of its own */ }
    }
  }

  // ------------------------------------------------------------ details of a node or an edge
  function details(k, edge) {
    const out = [];
    const n = D.nodes[k];
    if (edge) {
      const e = edgeOf(edge[0], edge[1]);
      out.push('Edge: ' + D.nodes[e.source].name + ' → ' + D.nodes[e.node].name);
      if (e.local) out.push('local partial ∂' + D.nodes[e.node].name + '/∂' + D.nodes[e.source].name + ' = ' + num(e.local));
      out.push('upstream gradient = ' + num(D.grads[e.node]));
      if (e.c) out.push('contribution passed back = ' + num(e.c));
    } else {
      out.push(n.name + ' (' + n.role + ')' + (n.formula && n.formula !== n.name ? ' = ' + n.formula : ''));
      out.push('value = ' + num(D.values[k]));
      if (D.grads[k]) out.push('gradient = ' + num(D.grads[k]));
      if (D.frozen[k]) out.push('not recomputed in the page: ' + D.frozen[k]);
    }
    const box = $('details-text');
    box.replaceChildren(...out.map(t => { const p = document.createElement('p'); p.textContent = t; return p; }));
    $('details').hidden = false;
  }
  function stepOfNode(k, view) {
    if (view === 'gradients') {
      for (let i = STEPS.length - 1; i >= 0; i--) if (STEPS[i].kind !== 'forward' && STEPS[i].node === k) return i;
    }
    return STEPS.findIndex(s => s.kind === 'forward' && s.node === k);
  }
  function stepOfEdge(edge) {
    return STEPS.findIndex(s => s.edge && s.edge[0] === edge[0] && s.edge[1] === edge[1]);
  }
  for (const v of Object.keys(SVG)) {
    for (const g of SVG[v].querySelectorAll('g.node')) {
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      const pick = () => { const k = parseInt(g.id.slice(1), 10); const i = stepOfNode(k, v); if (i >= 0) show(i); details(k, null); };
      g.addEventListener('click', pick);
      g.addEventListener('keydown', ev => { if (ev.key === 'Enter') { ev.preventDefault(); pick(); } });
    }
    for (const g of SVG[v].querySelectorAll('g.edge, g.edge-label')) {
      const e = D.drawings[v].arrows[parseInt(g.dataset.i, 10)];
      if (!e) continue;
      if (g.classList.contains('edge')) { g.setAttribute('tabindex', '0'); g.setAttribute('role', 'button'); }
      const pick = () => { const i = stepOfEdge(e); if (i >= 0) show(i); details(e[1], e); };
      g.addEventListener('click', pick);
      g.addEventListener('keydown', ev => { if (ev.key === 'Enter') { ev.preventDefault(); pick(); } });
    }
  }

  // ------------------------------------------------------------ what-if inputs
  function parseValue(text, shape) {
    const t = text.trim().replace(/\u2212/g, '-');
    let v;
    const frac = /^(-?\d+(?:\.\d*)?(?:e-?\d+)?)\s*\/\s*(\d+(?:\.\d*)?)$/i.exec(t);
    if (frac) v = Number(frac[1]) / Number(frac[2]);
    else { try { v = JSON.parse(t); } catch (e) { return null; } }
    const flat = [];
    const walk = (x, depth) => {
      if (Array.isArray(x)) { if (depth >= shape.length || x.length !== shape[depth]) throw new Error('shape'); x.forEach(y => walk(y, depth + 1)); }
      else { if (typeof x !== 'number' || depth !== shape.length) throw new Error('shape'); flat.push(x); }
    };
    try { walk(v, 0); } catch (e) { return null; }
    return flat;
  }
  const ROWS = [];
  function inputRows() {
    const box = $('inputs');
    D.inputs.forEach((k, j) => {
      const s = D.values[k];
      const row = document.createElement('div');
      row.className = 'row';
      const id = 'in-' + k;
      const label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = D.nodes[k].name;
      const input = document.createElement('input');
      input.type = 'text'; input.id = id; input.value = num(s).replace(/\u2212/g, '-');
      input.setAttribute('aria-label', 'value of ' + D.nodes[k].name);
      row.append(label, input);
      let slider = null;
      if (s.shape.length === 0) {
        slider = document.createElement('input');
        slider.type = 'range';
        const x = D.original[j];
        const span = Math.max(1, Math.abs(x) * 2);
        slider.min = String(x - span); slider.max = String(x + span); slider.step = String(span / 200);
        slider.value = String(x);
        slider.setAttribute('aria-label', 'slider for ' + D.nodes[k].name);
        row.append(document.createElement('span'), slider);
        slider.addEventListener('input', () => { input.value = slider.value; apply(k, [Number(slider.value)]); });
      }
      const err = document.createElement('div');
      err.className = 'error';
      input.addEventListener('change', () => {
        const flat = parseValue(input.value, s.shape);
        if (!flat) { err.textContent = 'write a number (3, -0.25, 4/5) or a list shaped like ' + num(s); row.append(err); return; }
        err.remove();
        if (slider && flat.length === 1) slider.value = String(flat[0]);
        apply(k, flat);
      });
      ROWS.push({k, row, input, slider});
      box.appendChild(row);
    });
  }
  function apply(k, flat) {
    D.values[k].at.forEach((slot, i) => { S[slot] = flat[i]; });
    recompute();
    for (const r of ROWS) r.row.classList.toggle('changed', D.values[r.k].at.some(s => S[s] !== ORIGINAL[s]));
  }
  function reset() {
    S.set(ORIGINAL);
    recompute();
    ROWS.forEach(r => { r.input.value = num(D.values[r.k]).replace(/\u2212/g, '-'); if (r.slider) r.slider.value = String(S[D.values[r.k].at[0]]); r.row.classList.remove('changed'); });
  }

  // ------------------------------------------------------------ controls
  function play(on) {
    if (timer) { clearInterval(timer); timer = null; }
    if (on) {
      if (current >= STEPS.length - 1) show(0);
      timer = setInterval(() => { if (current >= STEPS.length - 1) play(false); else show(current + 1); }, Number($('speed').value));
    }
    $('play').textContent = timer ? '⏸ pause' : '▶ play';
    $('play').setAttribute('aria-pressed', timer ? 'true' : 'false');
  }
  $('first').onclick = () => show(0);
  $('prev').onclick = () => show(current - 1);
  $('next').onclick = () => show(current + 1);
  $('last').onclick = () => show(STEPS.length - 1);
  $('back-start').onclick = () => show(firstBackward);
  $('play').onclick = () => play(!timer);
  $('speed').onchange = () => { if (timer) play(true); };
  $('view').onchange = () => show(current);
  $('jump').onchange = () => show(parseInt($('jump').value, 10) - 1);
  $('jump').max = String(STEPS.length);
  $('count').textContent = 'of ' + STEPS.length;
  $('reset').onclick = reset;
  document.addEventListener('keydown', ev => {
    const tag = (ev.target && ev.target.tagName) || '';
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
    if (ev.key === 'ArrowRight') { show(current + 1); ev.preventDefault(); }
    else if (ev.key === 'ArrowLeft') { show(current - 1); ev.preventDefault(); }
    else if (ev.key === 'Home') { show(0); ev.preventDefault(); }
    else if (ev.key === 'End') { show(STEPS.length - 1); ev.preventDefault(); }
    else if (ev.key === ' ' && tag !== 'BUTTON') { play(!timer); ev.preventDefault(); }
  });
  function fromHash() {
    const m = /step=(\d+)/.exec(location.hash);
    return m ? parseInt(m[1], 10) - 1 : 0;
  }
  window.addEventListener('hashchange', () => show(fromHash()));

  const notes = [];
  if (!D.interactive) notes.push('This graph is too big to recompute in the page: the numbers shown are the program\'s.');
  const frozen = Object.keys(D.frozen);
  if (frozen.length) notes.push('Not recomputed in the page (kept at the program\'s numbers): ' + frozen.map(k => D.nodes[k].name + ' (' + D.frozen[k] + ')').join('; ') + '.');
  if (D.exact) notes.push('Exact forms are shown for the program\'s own inputs; a what-if change computes in floating point.');
  $('notes').textContent = notes.join(' ');
  if (D.interactive) inputRows(); else $('inputs').textContent = 'Inputs cannot be changed here.';

  // ------------------------------------------------------------ the scripting surface
  function named(name) {
    const hit = D.names[name];
    if (!hit) throw new Error('no node named ' + name + ' (names: ' + Object.keys(D.names).join(', ') + ')');
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
  window.chainrule = {
    steps: () => STEPS.length,
    step: i => { if (i === undefined) return current; show(i); return current; },
    value: name => { const [k, f] = named(name); return get(D.values[k], f); },
    grad: name => { const [k, f] = named(name); return get(D.grads[k], f); },
    set: (name, value) => {
      const [k, f] = named(name);
      if (!D.interactive || !D.inputs.includes(k)) throw new Error(name + ' is not an input the page can change');
      const flat = read(D.values[k]);
      if (f >= 0) flat[f] = Number(value);
      else { const given = [value].flat(Infinity).map(Number); if (given.length !== flat.length) throw new Error('expected ' + flat.length + ' numbers'); given.forEach((x, i) => { flat[i] = x; }); }
      apply(k, flat);
      const row = ROWS.find(r => r.k === k);
      if (row) { row.input.value = num(D.values[k]).replace(/\u2212/g, '-'); if (row.slider) row.slider.value = String(flat[0]); }
    },
    reset,
    names: () => Object.keys(D.names),
    text: i => stepBlocks(i === undefined ? current : i).map(b => b.eq !== undefined ? b.eq : b.p),
    liveText: i => render(STEPS[i === undefined ? current : i].live).map(b => b.eq !== undefined ? b.eq : b.p),
    explainText: i => STEPS[i === undefined ? current : i].blocks.map(b => b.eq !== undefined ? b.eq : b.p),
    whatif: () => whatif,
    edges: () => D.edges.map(e => ({from: D.nodes[e.source].name, into: D.nodes[e.node].name, node: e.node, source: e.source, i: e.i,
      local: get(e.local, -1), contribution: get(e.c, -1)})),
    nodes: () => D.nodes.map((n, k) => ({name: n.name, value: get(D.values[k], -1), grad: get(D.grads[k], -1)})),
  };
  show(fromHash());
})();
