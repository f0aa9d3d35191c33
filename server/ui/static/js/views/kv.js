// KV v2: browse (LIST metadata), read (values masked until revealed),
// write new versions, compare two versions, delete, undelete, destroy.
// Route: #/kv/<mount>/<path>; a path ending in "/" (or none) is a folder.
import * as api from '../api.js';
import { button, card, clear, errorText, field, flash, h, input, message, onSubmit, select, table } from '../dom.js';

const MASK = '••••••••';

function href(mount, p) {
  return `#/kv/${[mount, ...p.split('/')].map(encodeURIComponent).join('/')}`;
}

export async function render(main, params, current) {
  const mount = params[0] || 'secret';
  const rest = params.slice(1).join('/');
  main.append(h('h2', {}, 'Secrets (KV v2)'), mountForm(mount), crumbs(mount, rest));
  if (rest === '' || rest.endsWith('/')) await folder(main, mount, rest, current);
  else await secret(main, mount, rest, current);
}

function mountForm(mount) {
  const m = input('mount', { value: mount, required: true });
  const form = h('form', { class: 'form', 'aria-label': 'Choose mount' }, field('KV v2 mount', m), h('button', { type: 'submit', class: 'secondary' }, 'Open'));
  onSubmit(form, (v) => { location.hash = href(v.mount.trim().replace(/\/+$/, ''), ''); });
  return form;
}

function crumbs(mount, rest) {
  const parts = rest.split('/').filter(Boolean);
  const items = [h('li', {}, h('a', { href: href(mount, '') }, mount))];
  parts.forEach((p, i) => {
    const folderPath = `${parts.slice(0, i + 1).join('/')}${i < parts.length - 1 || rest.endsWith('/') ? '/' : ''}`;
    items.push(h('li', {}, h('a', { href: href(mount, folderPath) }, p)));
  });
  return h('nav', { 'aria-label': 'Path' }, h('ol', { class: 'crumbs' }, items));
}

async function folder(main, mount, prefix, current) {
  const keys = await api.list(api.path(mount, 'metadata', prefix));
  if (!current()) return;
  const rows = keys.map((k) => [h('a', { href: href(mount, prefix + k) }, k), k.endsWith('/') ? 'folder' : 'secret']);
  main.append(card(`Keys under ${mount}/${prefix}`, keys.length
    ? table(`${keys.length} key${keys.length === 1 ? '' : 's'}`, ['Key', 'Kind'], rows)
    : h('p', { class: 'muted' }, 'Nothing here yet.')));
  main.append(writeCard(mount, prefix, null, 'Create a secret'));
}

/** rowsEditor edits key/value pairs; values are password fields until shown. */
function rowsEditor(initial) {
  const box = h('div', { class: 'stack' });
  let shown = false;
  const add = (k = '', v = '') => {
    const kIn = input('k', { value: k, class: 'mono' });
    const vIn = input('v', { value: v, type: shown ? 'text' : 'password', class: 'mono vfield' });
    box.append(h('div', { class: 'kvrow' }, field('Key', kIn), field('Value', vIn),
      button('Remove', (ev) => ev.target.closest('.kvrow').remove(), 'secondary')));
  };
  const entries = Object.entries(initial || {});
  if (entries.length) entries.forEach(([k, v]) => add(k, typeof v === 'string' ? v : JSON.stringify(v)));
  else add();
  const toggle = button('Show values', () => {
    shown = !shown;
    toggle.textContent = shown ? 'Hide values' : 'Show values';
    toggle.setAttribute('aria-pressed', String(shown));
    box.querySelectorAll('.vfield').forEach((el) => { el.type = shown ? 'text' : 'password'; });
  }, 'secondary');
  toggle.setAttribute('aria-pressed', 'false');
  const collect = () => {
    const data = {};
    box.querySelectorAll('.kvrow').forEach((row) => {
      const [k, v] = row.querySelectorAll('input');
      if (k.value.trim()) data[k.value.trim()] = v.value;
    });
    return data;
  };
  return { el: h('div', {}, box, h('div', { class: 'actions' }, button('Add a pair', () => add(), 'secondary'), toggle)), collect };
}

function writeCard(mount, p, initial, title) {
  const out = h('div');
  const pathIn = input('path', { value: p, required: true, class: 'mono' });
  const rows = rowsEditor(initial);
  const form = h('form', { class: 'form stack', 'aria-label': title },
    initial ? null : field('Path', pathIn), rows.el, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save')));
  onSubmit(form, async () => {
    const target = initial ? p : pathIn.value.trim().replace(/^\/+/, '');
    if (!target || target.endsWith('/')) throw new Error('give the secret a path that does not end in "/"');
    const data = rows.collect();
    if (!Object.keys(data).length) throw new Error('give at least one key');
    const r = await api.post(api.path(mount, 'data', target), { data });
    flash('ok', `Saved ${mount}/${target} version ${(r.data && r.data.version) || ''}.`, true);
    if (location.hash === href(mount, target)) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = href(mount, target);
  }, out);
  return card(title, form, out);
}

/** maskedValue is a value shown as dots until its button reveals it. */
function maskedValue(v) {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  const val = h('code', { class: 'masked' }, MASK);
  const btn = button('Reveal', () => {
    const reveal = val.classList.contains('masked');
    val.textContent = reveal ? text : MASK;
    val.classList.toggle('masked', !reveal);
    btn.textContent = reveal ? 'Hide' : 'Reveal';
    btn.setAttribute('aria-pressed', String(reveal));
  }, 'secondary reveal');
  btn.setAttribute('aria-pressed', 'false');
  return { val, btn };
}

function versionState(v) {
  if (!v) return 'unknown';
  if (v.destroyed) return 'destroyed';
  if (v.deletion_time) return 'deleted';
  return 'live';
}

async function readVersion(mount, p, n) {
  const r = await api.get(`${api.path(mount, 'data', p)}?version=${n}`, { accept: [404] });
  return (r.data && r.data.data) || null;
}

async function secret(main, mount, p, current) {
  const view = h('div');
  main.append(view);
  // show re-reads the metadata every time: a delete or undelete changes
  // the state of a version.
  const show = async (n) => {
    const meta = ((await api.get(api.path(mount, 'metadata', p))).data) || {};
    const versions = meta.versions || {};
    const numbers = Object.keys(versions).map(Number).sort((a, b) => a - b);
    const latest = meta.current_version || numbers[numbers.length - 1] || 0;
    const shown = n || latest;
    const data = await readVersion(mount, p, shown);
    if (!current()) return;
    clear(view).append(valuesCard(mount, p, shown, versions[shown], data, show), versionsCard(numbers, versions, latest, show),
      compareCard(mount, p, numbers, latest), writeCard(mount, p, data || {}, 'Write a new version'));
  };
  await show(0);
}

function valuesCard(mount, p, n, info, data, show) {
  const out = h('div');
  const state = versionState(info);
  const act = (label, fn, cls) => button(label, async () => {
    clear(out);
    try {
      if (await fn() === false) return;
      await show(n);
      flash('ok', `${label}: ${mount}/${p} version ${n}.`);
    } catch (err) { out.append(message('error', errorText(err))); }
  }, cls);
  const actions = h('div', { class: 'actions' });
  if (state === 'live') actions.append(act('Delete version', () => api.post(api.path(mount, 'delete', p), { versions: [n] }), 'danger'));
  if (state === 'deleted') actions.append(act('Undelete version', () => api.post(api.path(mount, 'undelete', p), { versions: [n] })));
  if (state !== 'destroyed') {
    actions.append(act('Destroy version', async () => {
      if (!window.confirm(`Destroy version ${n} of ${p} for good?`)) return false;
      return api.post(api.path(mount, 'destroy', p), { versions: [n] });
    }, 'danger'));
  }
  let body;
  if (data) {
    const cells = Object.entries(data).map(([k, v]) => {
      const m = maskedValue(v);
      return [h('code', {}, k), m.val, m.btn];
    });
    const all = button('Reveal all', () => {
      const hide = all.textContent === 'Hide all';
      body.querySelectorAll('button.reveal').forEach((b) => { if ((b.getAttribute('aria-pressed') === 'true') === hide) b.click(); });
      all.textContent = hide ? 'Reveal all' : 'Hide all';
    }, 'secondary');
    body = h('div', {}, table(`Version ${n} (${state})`, ['Key', 'Value', 'Show'], cells), h('div', { class: 'actions' }, all));
  } else {
    body = h('p', { class: 'muted' }, `Version ${n} is ${state}: no data to show.`);
  }
  return card(`${mount}/${p}`, body, actions, out);
}

function versionsCard(numbers, versions, latest, show) {
  const rows = numbers.slice().reverse().map((n) => {
    const v = versions[n];
    return [String(n), v.created_time || '', `${versionState(v)}${n === latest ? ' (current)' : ''}`, button(`View version ${n}`, () => show(n), 'secondary')];
  });
  return card('Versions', table('Every version of this secret', ['Version', 'Created', 'State', 'Open'], rows));
}

function compareCard(mount, p, numbers, latest) {
  const out = h('div');
  const a = select('a', numbers, numbers.length > 1 ? numbers[numbers.length - 2] : latest);
  const b = select('b', numbers, latest);
  const form = h('form', { class: 'form', 'aria-label': 'Compare versions' },
    field('Left version', a), field('Right version', b), h('button', { type: 'submit' }, 'Compare'));
  onSubmit(form, async (v) => {
    const [da, db] = await Promise.all([readVersion(mount, p, v.a), readVersion(mount, p, v.b)]);
    const keys = [...new Set([...Object.keys(da || {}), ...Object.keys(db || {})])].sort();
    const cell = (d, k) => (d && k in d ? maskedValue(d[k]) : null);
    const rows = keys.map((k) => {
      const l = cell(da, k); const r = cell(db, k);
      const same = l && r && JSON.stringify(da[k]) === JSON.stringify(db[k]);
      let what = 'changed';
      if (!l) what = 'added'; else if (!r) what = 'removed'; else if (same) what = 'same';
      return [h('code', {}, k), l ? h('span', {}, l.val, ' ', l.btn) : '—', r ? h('span', {}, r.val, ' ', r.btn) : '—', what];
    });
    out.append(table(`Version ${v.a} and version ${v.b} side by side`, ['Key', `Version ${v.a}`, `Version ${v.b}`, 'Difference'], rows));
    out.querySelectorAll('tbody tr').forEach((tr, i) => { if (rows[i][3] !== 'same') tr.classList.add('changed'); });
  }, out);
  return card('Compare versions', form, out);
}
