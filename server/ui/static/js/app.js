// The router: the URL fragment (#/screen/param/...) picks a screen; each
// screen module exports render(main, params).
import * as api from './api.js';
import { clear, errorText, flash, message, screenChanged } from './dom.js';
import * as status from './views/status.js';
import * as login from './views/login.js';
import * as kv from './views/kv.js';
import * as leases from './views/leases.js';
import * as policies from './views/policies.js';
import * as audit from './views/audit.js';
import * as rotation from './views/rotation.js';

const screens = { status, login, kv, leases, policies, audit, rotation };
let generation = 0;
let first = true;

/** parse splits the fragment into a screen name and decoded params. */
function parse() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [name, ...rest] = raw.split('/');
  return { name: screens[name] ? name : 'status', params: rest.map((p) => decodeURIComponent(p)) };
}

async function render() {
  const gen = ++generation;
  const { name, params } = parse();
  for (const a of document.querySelectorAll('.nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = clear(document.getElementById('main'));
  if (!first) screenChanged();
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · SecretumVault`;
  try {
    await screens[name].render(main, params, () => gen === generation);
  } catch (err) {
    if (gen === generation) main.append(message('error', errorText(err)));
  }
  if (!first && gen === generation) main.focus();
  first = false;
}

async function showSession() {
  const who = document.getElementById('whoami');
  const out = document.getElementById('logout');
  if (!api.token()) {
    who.textContent = 'Not logged in';
    out.hidden = true;
    return;
  }
  out.hidden = false;
  try {
    const r = await api.get('auth/token/lookup-self');
    const d = r.data || {};
    who.textContent = `Logged in as ${d.display_name || 'token'} (${(d.policies || []).join(', ') || 'no policies'})`;
  } catch (err) {
    who.textContent = `Token not usable: ${errorText(err)}`;
  }
}

document.getElementById('logout').addEventListener('click', () => {
  api.setToken('');
  flash('ok', 'Logged out: the token is forgotten by this tab.', true);
  location.hash = '#/login';
});
window.addEventListener('hashchange', render);
window.addEventListener('sv-token', showSession);
showSession();
render();
