// Cedar policies: list, edit (the server validates on save and its 400 is
// shown), delete, and the explain form (sys/authz/explain): who, action,
// path -> decision and the deciding policies. Route: #/policies[/<name>].
import * as api from '../api.js';
import { button, card, clear, errorText, facts, field, flash, h, input, message, onSubmit, select } from '../dom.js';

const operations = ['read', 'list', 'create', 'update', 'patch', 'delete'];

function href(name) {
  return `#/policies/${encodeURIComponent(name)}`;
}

export async function render(main, params, current) {
  main.append(h('h2', {}, 'Cedar policies'));
  const name = params.join('/');
  if (name) {
    await editor(main, name, current);
  } else {
    const names = await api.list('sys/policies/cedar');
    if (!current()) return;
    main.append(card('Policies', names.length
      ? h('ul', {}, names.map((n) => h('li', {}, h('a', { href: href(n) }, n))))
      : h('p', { class: 'muted' }, 'No Cedar policies yet.'), newForm()));
  }
  main.append(explainCard(name));
}

function newForm() {
  const n = input('name', { required: true, pattern: '[A-Za-z0-9._-]+' });
  const form = h('form', { class: 'form', 'aria-label': 'New policy' }, field('New policy name', n), h('button', { type: 'submit', class: 'secondary' }, 'Edit new policy'));
  onSubmit(form, (v) => { location.hash = href(v.name.trim()); });
  return form;
}

async function editor(main, name, current) {
  const r = await api.get(api.path('sys/policies/cedar', name), { accept: [404] });
  if (!current()) return;
  const existing = r.data && typeof r.data.policy === 'string';
  const out = h('div');
  const text = h('textarea', { name: 'policy', class: 'code', rows: 14, spellcheck: 'false', required: true });
  text.value = existing ? r.data.policy : 'permit(\n  principal,\n  action == Action::"read",\n  resource in Secret::"secret/data/"\n);\n';
  const form = h('form', { class: 'form stack', 'aria-label': `Edit policy ${name}` },
    field('Policy text (Cedar)', text, 'Validated against the Cedar schema when saved.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save policy'),
      existing ? button('Delete policy', async () => {
        if (!window.confirm(`Delete the policy ${name}?`)) return;
        try {
          await api.del(api.path('sys/policies/cedar', name));
          flash('ok', `Deleted policy ${name}.`, true);
          location.hash = '#/policies';
        } catch (err) { clear(out).append(message('error', errorText(err))); }
      }, 'danger') : null,
      h('a', { href: '#/policies' }, 'All policies')));
  onSubmit(form, async (v) => {
    await api.put(api.path('sys/policies/cedar', name), { policy: v.policy });
    out.append(message('ok', `Saved policy ${name}.`));
  }, out);
  main.append(card(existing ? `Policy ${name}` : `New policy ${name}`, form, out));
}

function explainCard() {
  const out = h('div', { 'aria-live': 'polite' });
  const who = select('who', [['self', 'Me (the current token)'], ['token', 'Token'], ['accessor', 'Token accessor'], ['entity_name', 'Entity name']], 'self');
  const whoValue = input('value', { class: 'mono' });
  const op = select('operation', operations, 'read');
  const p = input('path', { required: true, class: 'mono', placeholder: 'secret/data/app/db' });
  const form = h('form', { class: 'form', 'aria-label': 'Explain a request' },
    field('Who', who), field('Token, accessor or name', whoValue, 'Not needed for “Me”.'), field('Operation', op), field('Path', p),
    h('button', { type: 'submit' }, 'Explain'));
  onSubmit(form, async (v) => {
    const body = { path: v.path.trim().replace(/^\/?(v1\/)?/, ''), operation: v.operation };
    if (v.who !== 'self') {
      if (!v.value.trim()) throw new Error(`give the ${v.who.replace('_', ' ')} to explain for`);
      body[v.who] = v.value.trim();
    }
    const d = (await api.post('sys/authz/explain', body)).data || {};
    out.append(explanation(d));
  }, out);
  return card('Explain a decision', h('p', {}, 'Who may do what on which path, and which policies decide it. Asking about another token needs sudo.'), form, out);
}

function explanation(d) {
  const verdict = d.allowed ? h('p', { class: 'decision allowed' }, 'Allowed') : h('p', { class: 'decision denied' }, 'Denied');
  const pols = (d.policies || []).map((p) => h('div', {}, h('h4', {}, p.id), h('pre', { class: 'mono' }, p.text || '(text unavailable)')));
  return h('div', { class: 'explanation' }, verdict, facts([
    ['Reason', d.reason], ['Principal', d.principal], ['Groups', d.groups], ['Action', d.action], ['Resource', d.resource],
    ['Deciding policies', (d.policy_ids || []).length ? d.policy_ids : 'none (nothing permits it: denied by default)'],
    ['Policies considered', d.considered], ['Evaluation errors', d.errors],
  ]), pols);
}
