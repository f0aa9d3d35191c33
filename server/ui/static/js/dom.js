// Small DOM helpers. Text always goes in as text nodes (never parsed as HTML),
// so values read from the server cannot inject markup.

let counter = 0;

/** uid returns a document-unique id for label/input pairs. */
export function uid(prefix = 'f') {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * h creates an element. attrs: class, text, on<Event> handlers, boolean
 * attributes (true sets, false/undefined omits), anything else as an
 * attribute. Children are nodes, strings or arrays of them.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** clear removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** field is a labelled control: <label>text <control></label>. */
export function field(text, control, hint) {
  if (!control.id) control.id = uid();
  const lab = h('label', { for: control.id }, text, control);
  if (hint) {
    const hid = uid('hint');
    control.setAttribute('aria-describedby', hid);
    lab.append(h('span', { id: hid, class: 'muted' }, hint));
  }
  return lab;
}

/** input builds an <input> (type text by default). */
export function input(name, attrs = {}) {
  return h('input', { name, type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });
}

/** select builds a <select> of [value, label] pairs (or plain values). */
export function select(name, options, selected) {
  return h('select', { name }, options.map((o) => {
    const [value, label] = Array.isArray(o) ? o : [o, o];
    return h('option', { value, selected: String(value) === String(selected) }, label);
  }));
}

/** button builds a type=button button; onclick runs fn. */
export function button(text, fn, cls) {
  return h('button', { type: 'button', class: cls, onclick: fn }, text);
}

/** facts renders [term, value] pairs as a definition list. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v instanceof Node ? v : display(v))]));
}

/** display turns an API value into readable text. */
export function display(v) {
  if (v === undefined || v === null || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.length ? v.map(display).join(', ') : '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** table renders rows (arrays of cells) under headers with a caption. */
export function table(caption, headers, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c))))))));
}

/** card is a titled section. */
export function card(title, ...children) {
  return h('section', { class: 'card', 'aria-label': title }, h('h3', {}, title), ...children);
}

/** message is a status box: kind is error, ok or info. */
export function message(kind, text) {
  return h('div', { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** errorText is what a failed call says (the server's errors, joined). */
export function errorText(err) {
  if (err && Array.isArray(err.errors) && err.errors.length) return `${err.status ? `${err.status}: ` : ''}${err.errors.join('; ')}`;
  return String((err && err.message) || err);
}

/**
 * flash shows a message at the top of the page until the screen changes;
 * with keep it survives that change once (a save that then navigates
 * keeps its confirmation). flash() with no text clears it.
 */
export function flash(kind, text, keep = false) {
  const el = clear(document.getElementById('flash'));
  delete el.dataset.keep;
  if (text) el.append(message(kind, text));
  if (text && keep) el.dataset.keep = '1';
}

/** screenChanged drops the flash message of the screen before last. */
export function screenChanged() {
  const el = document.getElementById('flash');
  if (el.dataset.keep) delete el.dataset.keep;
  else clear(el);
}

/**
 * submitting wires a form's submit to fn(form data object); while fn
 * runs the submit buttons are disabled; an error shows in out (or the
 * flash area) and is never thrown.
 */
export function onSubmit(form, fn, out) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    if (out) clear(out);
    try {
      await fn(Object.fromEntries(new FormData(form).entries()), form);
    } catch (err) {
      if (out) out.append(message('error', errorText(err)));
      else flash('error', errorText(err));
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return form;
}

/** seconds renders a duration in seconds as "1h2m3s". */
export function seconds(n) {
  n = Number(n);
  if (!Number.isFinite(n)) return '—';
  if (n <= 0) return '0s';
  const d = Math.floor(n / 86400); const hr = Math.floor((n % 86400) / 3600);
  const m = Math.floor((n % 3600) / 60); const s = Math.floor(n % 60);
  return [d && `${d}d`, hr && `${hr}h`, m && `${m}m`, s && `${s}s`].filter(Boolean).join('');
}
