// Audit: the enabled devices with their failure counters (from the
// Prometheus metrics), each device's checkpoint public key (what offline
// verification checks the log against), a live tail of a device's lines
// exactly as written (sys/audit/:path/tail, polled every second), and the
// HMAC of a value as the device writes it.
import * as api from '../api.js';
import { button, card, clear, errorText, facts, field, h, input, message, onSubmit, select, table } from '../dom.js';

/** failures parses secretum_vault_audit_log_failures_total by device. */
function failures(text) {
  const out = {};
  const re = /^secretum_vault_audit_log_failures_total\{[^}]*device="((?:[^"\\]|\\.)*)"[^}]*\}\s+(\S+)/gm;
  let m;
  while ((m = re.exec(text)) !== null) out[m[1].replace(/\\(.)/g, '$1')] = Number(m[2]);
  return out;
}

export async function render(main, _params, current) {
  main.append(h('h2', {}, 'Audit devices'));
  const r = await api.get('sys/audit');
  if (!current()) return;
  const devices = Object.values(r.data || {}).sort((a, b) => String(a.path).localeCompare(String(b.path)));
  let fails = null;
  let failNote = null;
  try {
    fails = failures(await api.call('GET', 'sys/metrics?format=prometheus', undefined, { raw: true }));
  } catch (err) {
    failNote = message('error', `Failure counters unavailable: ${errorText(err)}`);
  }
  const detail = h('div', { 'aria-live': 'polite' });
  const rows = devices.map((d) => {
    const n = fails ? fails[d.path] || 0 : null;
    let health = 'unknown';
    if (n !== null) health = n === 0 ? h('span', { class: 'badge ok' }, 'no failures') : h('span', { class: 'badge bad' }, `${n} failed entries`);
    const opts = Object.entries(d.options || {}).map(([k, v]) => `${k}=${v}`).join(', ');
    return [h('code', {}, d.path), d.type, opts || '—', health, h('span', {},
      button(`Public key of ${d.path}`, () => publicKey(detail, d.path), 'secondary'), ' ',
      button(`Tail ${d.path}`, () => tail(detail, d.path, current), 'secondary'))];
  });
  main.append(card('Devices', devices.length
    ? table(`${devices.length} device${devices.length === 1 ? '' : 's'}`, ['Path', 'Type', 'Options', 'Recording', 'Verify'], rows)
    : h('p', { class: 'muted' }, 'No audit devices are enabled.'), failNote,
  h('p', {}, 'Verification runs offline on the log files: ', h('code', {}, 'vaultctl audit verify -public-key KEY FILE...'),
    ' checks the hash chain and the signed checkpoints with the device’s public key.'),
  h('p', { class: 'muted' }, 'Tail shows the lines a device writes from now on, exactly as in its log: secret values stay HMACs.')), detail);
  if (devices.length) main.append(hashCard(devices));
}

async function publicKey(detail, path) {
  clear(detail);
  try {
    const d = (await api.get(api.path('sys/audit', path, 'public-key'))).data || {};
    detail.append(card(`Checkpoint key of ${path}`, facts([['Key id', h('code', {}, d.key_id || '')], ['Algorithm', d.algorithm]]),
      h('pre', { class: 'mono' }, d.public_key || '')));
  } catch (err) {
    detail.append(message('error', errorText(err)));
  }
}

/** tail polls a device's new lines every second until stopped or the screen changes. */
function tail(detail, path, current) {
  clear(detail);
  const log = h('pre', { class: 'mono tail', 'aria-live': 'polite', 'aria-label': `Audit log of ${path}` });
  const status = h('p', { class: 'muted' }, 'Waiting for new entries…');
  let stopped = false;
  const stop = button('Stop tail', () => { stopped = true; status.textContent = 'Stopped.'; }, 'secondary');
  detail.append(card(`Live tail of ${path}`, status, stop, log));
  let cursor = 0;
  let shown = 0;
  const step = async () => {
    if (stopped || !current() || !log.isConnected) return;
    try {
      const d = (await api.get(`${api.path('sys/audit', path, 'tail')}?after=${cursor}`)).data || {};
      cursor = d.cursor || cursor;
      for (const line of d.lines || []) {
        log.append(document.createTextNode(line.endsWith('\n') ? line : `${line}\n`));
        shown++;
      }
      if (shown) status.textContent = `${shown} line${shown === 1 ? '' : 's'} since the tail started.`;
      const extra = log.childNodes.length - 500;
      for (let i = 0; i < extra; i++) log.firstChild.remove();
    } catch (err) {
      status.textContent = `Tail failed: ${errorText(err)}`;
      return;
    }
    setTimeout(step, 1000);
  };
  step();
}

function hashCard(devices) {
  const out = h('div', { 'aria-live': 'polite' });
  const dev = select('device', devices.map((d) => d.path));
  const value = input('input', { type: 'password', required: true });
  const form = h('form', { class: 'form', 'aria-label': 'Hash a value' }, field('Device', dev), field('Value', value), h('button', { type: 'submit' }, 'Hash'));
  onSubmit(form, async (v) => {
    const d = (await api.post(api.path('sys/audit-hash', v.device), { input: v.input })).data || {};
    value.value = '';
    out.append(facts([['HMAC', h('code', {}, d.hash || '')], ['Key generation', d.generation]]));
  }, out);
  return card('Find a value in the log', h('p', {}, 'Audit entries carry secrets as HMACs. Hash a value to search the log for it.'), form, out);
}
