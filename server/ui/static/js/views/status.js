// Status: this node's seal status, health and leader, the raft peers with
// every node's health (autopilot), and the init and unseal forms.
import * as api from '../api.js';
import { button, card, clear, errorText, facts, field, h, input, message, onSubmit, table } from '../dom.js';

const healthAnswers = [429, 472, 473, 501, 503];

export async function render(main, _params, current) {
  main.append(h('h2', {}, 'Node status'));
  const refresh = button('Refresh', () => render(clear(main), _params, current), 'secondary');
  main.append(h('div', { class: 'actions' }, refresh));
  const grid = h('div', { class: 'grid' });
  main.append(grid);
  const seal = await api.get('sys/seal-status', { auth: false });
  if (!current()) return;
  const again = () => render(clear(main), _params, current);
  grid.append(sealCard(seal, again));
  if (!seal.initialized) grid.append(initCard(again));
  else if (seal.sealed) grid.append(unsealCard(seal, again));
  grid.append(await healthCard(), await leaderCard());
  main.append(await peersCard(seal));
}

function sealCard(s) {
  const state = s.sealed ? h('span', { class: 'badge bad' }, 'sealed') : h('span', { class: 'badge ok' }, 'unsealed');
  return card('Seal', facts([
    ['State', state], ['Initialized', s.initialized], ['Seal type', s.type],
    ['Threshold', `${s.t} of ${s.n} key shares`], ['Version', s.version],
    ['Cluster', s.cluster_name], ['Storage', s.storage_type],
  ]));
}

function progressView(s) {
  const text = `${s.progress} of ${s.t} key shares entered`;
  return h('div', { id: 'unseal-progress' },
    h('progress', { max: s.t || 1, value: s.progress || 0, 'aria-label': 'Unseal progress' }),
    h('p', { 'aria-live': 'polite' }, text));
}

function unsealCard(s, done) {
  const out = h('div');
  let prog = progressView(s);
  const key = input('key', { type: 'password', required: true, autocomplete: 'off' });
  const form = h('form', { class: 'form', 'aria-label': 'Unseal' },
    field('Unseal key share', key), h('button', { type: 'submit' }, 'Submit key share'),
    button('Reset progress', async () => {
      try {
        const r = await api.put('sys/unseal', { reset: true }, { auth: false });
        prog.replaceWith(prog = progressView(r));
      } catch (err) { out.append(message('error', errorText(err))); }
    }, 'secondary'));
  onSubmit(form, async (v) => {
    const r = await api.put('sys/unseal', { key: v.key.trim() }, { auth: false });
    key.value = '';
    if (!r.sealed) {
      done();
      return;
    }
    prog.replaceWith(prog = progressView(r));
    key.focus();
  }, out);
  return card('Unseal', h('p', {}, 'Enter key shares one at a time; the node unseals when the threshold is reached.'), prog, form, out);
}

function initCard(done) {
  const out = h('div');
  const shares = input('shares', { type: 'number', min: 1, max: 255, value: 5, required: true });
  const threshold = input('threshold', { type: 'number', min: 1, max: 255, value: 3, required: true });
  const form = h('form', { class: 'form', 'aria-label': 'Initialize' },
    field('Key shares', shares), field('Threshold', threshold), h('button', { type: 'submit' }, 'Initialize'));
  onSubmit(form, async (v) => {
    const r = await api.put('sys/init', { secret_shares: Number(v.shares), secret_threshold: Number(v.threshold) }, { auth: false });
    clear(out).append(message('info', 'Store these key shares and the root token now: they are shown once.'),
      h('pre', { class: 'mono' }, [...r.keys.map((k, i) => `Key share ${i + 1}: ${k}\n`), `Root token: ${r.root_token}`]),
      button('Continue to unseal', done));
    form.hidden = true;
  }, out);
  return card('Initialize', h('p', {}, 'This node is not initialized.'), form, out);
}

async function healthCard() {
  try {
    const r = await api.get('sys/health', { auth: false, accept: healthAnswers });
    return card('Health', facts([
      ['Initialized', r.initialized], ['Sealed', r.sealed], ['Standby', r.standby],
      ['Server time', r.server_time_utc ? new Date(r.server_time_utc * 1000).toISOString() : ''],
      ['Version', r.version], ['Cluster id', r.cluster_id],
    ]));
  } catch (err) {
    return card('Health', message('error', errorText(err)));
  }
}

async function leaderCard() {
  try {
    const r = await api.get('sys/leader', { auth: false });
    return card('Leader', facts([
      ['HA enabled', r.ha_enabled], ['This node leads', r.is_self],
      ['Leader address', r.leader_address], ['Leader cluster address', r.leader_cluster_address],
      ['Active since', r.active_time && !r.active_time.startsWith('0001') ? r.active_time : ''],
    ]));
  } catch (err) {
    return card('Leader', message('error', errorText(err)));
  }
}

async function peersCard(seal) {
  if (seal.sealed) return card('Raft peers', h('p', { class: 'muted' }, 'Unseal the node to see its raft peers.'));
  if (!api.token()) return card('Raft peers', h('p', { class: 'muted' }, 'Log in with a token that has sudo on sys/storage/raft/configuration to see the peers.'));
  try {
    const r = await api.get('sys/storage/raft/configuration');
    const servers = (r.data && r.data.config && r.data.config.servers) || [];
    // Every node's health as the active node's autopilot sees it (a
    // browser may talk only to this node).
    let ap = {};
    try {
      ap = ((await api.get('sys/storage/raft/autopilot/state')).data || {}).servers || {};
    } catch {
      ap = {};
    }
    return card('Raft peers', table('Servers of the raft configuration', ['Node', 'Address', 'Leader', 'Voter', 'Healthy', 'Status', 'Last contact', 'Version'],
      servers.map((s) => {
        const a = ap[s.node_id] || {};
        const healthy = a.healthy === undefined ? '—' : h('span', { class: `badge ${a.healthy ? 'ok' : 'bad'}` }, a.healthy ? 'healthy' : 'unhealthy');
        return [s.node_id, s.address, s.leader ? 'leader' : 'follower', s.voter ? 'yes' : 'no', healthy, a.status || '—', a.last_contact || '—', a.version || '—'];
      })));
  } catch (err) {
    return card('Raft peers', message('error', errorText(err)));
  }
}
