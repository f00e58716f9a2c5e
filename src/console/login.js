import { useState } from 'preact/hooks';
import { login, sessionEndReason } from './api.js';
import { html } from './html.js';
import { ErrorNote } from './ui.js';

/** Sign in with a user of the API (POST /api/v1/auth/login). */
export function Login() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(() => (sessionEndReason() ? { message: sessionEndReason() } : undefined));

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(email.trim(), password);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return html`<main class="login">
    <form class="card" onSubmit=${submit}>
      <h1>Operator console</h1>
      <p class="muted">Sign in with your user of the WhatsApp assistant API.</p>
      <label>Email <input name="email" type="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} /></label>
      <label
        >Password
        <input name="password" type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.currentTarget.value)}
      /></label>
      <${ErrorNote} error=${error} />
      <button class="primary" type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  </main>`;
}
