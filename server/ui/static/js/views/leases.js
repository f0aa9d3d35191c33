// Leases: browse the lease ids by prefix (LIST sys/leases/lookup/...),
// look one up, renew or revoke it. Route: #/leases/<prefix>.
import * as api from '../api.js';
import { button, card, clear, errorText, facts, field, flash, h, input, message, table } from '../dom.js';

function href(prefix) {
  return `#/leases/${prefix.split('/').map(encodeURIComponent).join('/')}`;
}

export async function render(main, params, current) {
  const prefix = params.join('/');
  main.append(h('h2', {}, 'Leases'), crumbs(prefix));
  const keys = await api.list(api.path('sys/leases/lookup', prefix));
  if (!current()) return;
  const detail = h('div', { 'aria-live': 'polite' });
  const increment = input('increment', { placeholder: 'e.g. 1h', class: 'mono' });
  const rows = keys.map((k) => {
    if (k.endsWith('/')) return [h('a', { href: href(prefix + k) }, k), 'prefix', ''];
    const id = prefix + k;
    return [h('code', {}, k), 'lease', h('div', { class: 'actions' },
      button('Look up', () => lookup(detail, id), 'secondary'),
      button('Renew', () => act(detail, 'Renewed', id, () => api.put('sys/leases/renew', { lease_id: id, increment: increment.value.trim() || undefined }))),
      button('Revoke', () => {
        if (window.confirm(`Revoke ${id}?`)) act(detail, 'Revoked', id, () => api.put('sys/leases/revoke', { lease_id: id }), true);
      }, 'danger'))];
  });
  main.append(card(`Under ${prefix || '(all mounts)'}`,
    h('div', { class: 'form' }, field('Renewal increment', increment, 'Empty asks for the lease’s own TTL.')),
    keys.length ? table(`${keys.length} entr${keys.length === 1 ? 'y' : 'ies'}`, ['Key', 'Kind', 'Actions'], rows)
      : h('p', { class: 'muted' }, 'No leases under this prefix.')), detail);
}

function crumbs(prefix) {
  const parts = prefix.split('/').filter(Boolean);
  const items = [h('li', {}, h('a', { href: '#/leases' }, 'all'))];
  parts.forEach((p, i) => items.push(h('li', {}, h('a', { href: href(`${parts.slice(0, i + 1).join('/')}/`) }, p))));
  return h('nav', { 'aria-label': 'Prefix' }, h('ol', { class: 'crumbs' }, items));
}

function leaseFacts(d) {
  return facts([['Lease', h('code', {}, d.id || d.lease_id || '')], ['Issued', d.issue_time], ['Expires', d.expire_time],
    ['Last renewal', d.last_renewal], ['TTL', d.ttl !== undefined ? `${d.ttl}s` : d.lease_duration !== undefined ? `${d.lease_duration}s` : ''],
    ['Renewable', d.renewable]]);
}

async function lookup(detail, id) {
  clear(detail);
  try {
    const r = await api.put('sys/leases/lookup', { lease_id: id });
    detail.append(card('Lease', leaseFacts(r.data || {})));
  } catch (err) {
    detail.append(message('error', errorText(err)));
  }
}

async function act(detail, what, id, fn, reload) {
  clear(detail);
  try {
    const r = await fn();
    flash('ok', `${what} ${id}.`, reload);
    if (reload) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else detail.append(card(`${what} lease`, leaseFacts({ ...r, ...(r.data || {}) })));
  } catch (err) {
    detail.append(message('error', errorText(err)));
  }
}
