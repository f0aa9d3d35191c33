// Log in with a token or with userpass. The token is kept in this tab's
// sessionStorage only.
import * as api from '../api.js';
import { card, errorText, facts, field, flash, h, input, message, onSubmit } from '../dom.js';

export async function render(main) {
  main.append(h('h2', {}, 'Log in'));
  const grid = h('div', { class: 'grid' });
  main.append(grid, await currentCard());
  grid.append(tokenCard(), userpassCard());
}

async function accept(tok, how) {
  api.setToken(tok);
  try {
    const r = await api.get('auth/token/lookup-self');
    flash('ok', `Logged in with ${how} as ${(r.data && r.data.display_name) || 'token'}.`, true);
  } catch (err) {
    api.setToken('');
    throw err;
  }
  location.hash = '#/status';
}

function tokenCard() {
  const out = h('div');
  const tok = input('token', { type: 'password', required: true });
  const form = h('form', { class: 'form stack', 'aria-label': 'Token login' },
    field('Token', tok), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Log in with token')));
  onSubmit(form, (v) => accept(v.token.trim(), 'a token'), out);
  return card('Token', form, out);
}

function userpassCard() {
  const out = h('div');
  const mount = input('mount', { value: 'userpass', required: true });
  const user = input('username', { required: true, autocomplete: 'username' });
  const pass = input('password', { type: 'password', required: true, autocomplete: 'current-password' });
  const form = h('form', { class: 'form stack', 'aria-label': 'Userpass login' },
    field('Username', user), field('Password', pass), field('Auth mount', mount),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Log in with userpass')));
  onSubmit(form, async (v) => {
    const r = await api.post(api.path('auth', v.mount.trim(), 'login', v.username.trim()), { password: v.password }, { auth: false });
    pass.value = '';
    if (!r.auth || !r.auth.client_token) throw new Error('the login answer carries no token');
    await accept(r.auth.client_token, 'userpass');
  }, out);
  return card('Userpass', form, out);
}

async function currentCard() {
  if (!api.token()) return card('Current session', h('p', { class: 'muted' }, 'Not logged in.'));
  try {
    const d = (await api.get('auth/token/lookup-self')).data || {};
    return card('Current session', facts([
      ['Display name', d.display_name], ['Policies', d.policies], ['Entity', d.entity_id],
      ['Accessor', d.accessor], ['TTL', d.ttl ? `${d.ttl}s` : 'none'], ['Expires', d.expire_time],
    ]));
  } catch (err) {
    return card('Current session', message('error', errorText(err)));
  }
}
