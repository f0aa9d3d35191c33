// Rotation: every matched secret's age against its policy's max age and
// its next run (sys/rotation/status), and the policies, runnable now.
import * as api from '../api.js';
import { button, card, clear, errorText, flash, h, message, seconds, table } from '../dom.js';

const badges = { ok: 'ok', warn: 'warn', overdue: 'bad', quarantined: 'bad' };

export async function render(main, _params, current) {
  main.append(h('h2', {}, 'Rotation'));
  const [st, names] = await Promise.all([api.get('sys/rotation/status'), api.list('sys/rotation/policies')]);
  if (!current()) return;
  const d = st.data || {};
  const secrets = d.secrets || [];
  main.append(h('p', {}, `${d.ok || 0} ok, ${d.warn || 0} warning, ${d.overdue || 0} overdue, ${d.quarantined || 0} quarantined.`));
  const rows = secrets.map((s) => [h('code', {}, s.path), s.policy, h('span', { class: `badge ${badges[s.state] || ''}` }, s.state),
    seconds(s.age), seconds(s.max_age), s.last_rotated || '—', s.due || '—', s.next_rotation || '—']);
  main.append(card('Secrets', secrets.length
    ? table('Age and next run of every rotated secret', ['Path', 'Policy', 'State', 'Age', 'Max age', 'Last rotated', 'Due', 'Next run'], rows)
    : h('p', { class: 'muted' }, 'No secret is under a rotation policy.')));
  const out = h('div', { 'aria-live': 'polite' });
  main.append(card('Policies', names.length
    ? table('Rotation policies', ['Policy', 'Run'], names.map((n) => [n, button(`Run ${n} now`, async () => {
      clear(out);
      try {
        await api.post(api.path('sys/rotation/policies', n, 'run'));
        flash('ok', `Ran rotation policy ${n}.`, true);
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      } catch (err) { out.append(message('error', errorText(err))); }
    }, 'secondary')]))
    : h('p', { class: 'muted' }, 'No rotation policies.'), out));
}
