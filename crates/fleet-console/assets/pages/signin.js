// Sign-in (keys mode): the key goes to POST /console/session, which sets an HttpOnly
// cookie; the page never stores it and clears the input whatever the outcome.
import { signIn } from '../api.js';
import { el } from '../dom.js';

export async function render(root, ctx) {
  document.title = 'Sign in · fleet console';
  const input = el('input', { id: 'signin-key', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, placeholder: 'fleet_…', 'aria-describedby': 'signin-help' });
  const msg = el('p', { id: 'signin-error', class: 'notice warn', hidden: true });
  const submit = el('button', { id: 'signin-submit', type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = el('form', { class: 'panel signin', novalidate: true },
    el('h1', {}, 'Sign in to fleet'),
    el('div', { class: 'field' }, el('label', { for: 'signin-key' }, 'API key'), input),
    el('p', { id: 'signin-help', class: 'muted small' },
      'Paste an API key of your project. It is sent once to sign you in and is not kept by this page.'),
    msg,
    el('div', { class: 'row end' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    input.value = '';
    msg.hidden = true;
    if (!key) {
      msg.textContent = 'Enter an API key.';
      msg.hidden = false;
      input.focus();
      return;
    }
    submit.disabled = true;
    try {
      await signIn(key);
      ctx.rerenderHeader();
      ctx.go('#/overview');
    } catch (err) {
      msg.textContent = err.message;
      msg.hidden = false;
      ctx.showError(err); // the #error-banner (role="alert") announces it
      input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  root.append(form);
  input.focus();
}
