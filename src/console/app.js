// The operator console: Preact components written with htm, loaded as plain ES modules.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { consoleConfig, currentSession, logout, onSessionChange } from './api.js';
import { Campaigns } from './campaigns.js';
import { Chat } from './chat.js';
import { html } from './html.js';
import { Inbox } from './inbox.js';
import { Leads } from './leads.js';
import { Login } from './login.js';
import { NewConversation } from './new-conversation.js';
import { WebhookLogs } from './webhook-logs.js';

/** Pages live in the URL's hash (#/inbox/<id>, #/inbox/new, #/campaigns, #/leads): the API serves one file. */
function useRoute() {
  const read = () => location.hash.replace(/^#\/?/, '').split('/');
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function App() {
  const [session, setSession] = useState(currentSession);
  const [config, setConfig] = useState();
  const [page = 'inbox', id] = useRoute();

  useEffect(() => onSessionChange(setSession), []);
  useEffect(() => {
    void consoleConfig().then(setConfig);
  }, []);

  if (!session) return html`<${Login} />`;
  const tab = (name, text) => html`<a href=${`#/${name}`} class=${page === name ? 'active' : ''}>${text}</a>`;
  return html`<div class="shell">
    <header class="topbar">
      <strong class="brand">WhatsApp assistant</strong>
      <nav>
        ${tab('inbox', 'Inbox')} ${tab('campaigns', 'Campaigns')} ${tab('leads', 'Leads')}
        ${session.user?.role === 'admin' ? tab('webhook-logs', 'Webhook logs') : null}
      </nav>
      <span class="who">${session.user?.email} <span class="badge">${session.user?.role}</span></span>
      <button class="link" onClick=${() => void logout()}>Sign out</button>
    </header>
    ${
      page === 'webhook-logs'
        ? html`<${WebhookLogs} selectedId=${id} />`
        : page === 'campaigns'
          ? html`<${Campaigns} />`
          : page === 'leads'
            ? html`<${Leads} />`
            : html`<main class="inbox-layout">
                <${Inbox} selectedId=${id} me=${session.user} />
                ${
                  id === 'new'
                    ? html`<${NewConversation} me=${session.user} />`
                    : id && config
                      ? html`<${Chat} key=${id} id=${id} config=${config} me=${session.user} />`
                      : html`<section class="chat empty"><p class="muted">Pick a conversation.</p></section>`
                }
              </main>`
    }
  </div>`;
}

const root = document.getElementById('app');
root.replaceChildren(); // the "Loading" note the page shows until this module runs
render(html`<${App} />`, root);
