import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { ErrorNote, fullTime } from './ui.js';

const ACTIVE = new Set(['scheduled', 'running', 'paused']);
const FAST_MS = 2000;
const SLOW_MS = 5000;

/** Campaigns with their progress; every 2 s while one is active, every 5 s otherwise. */
export function Campaigns() {
  const [campaigns, setCampaigns] = useState();
  const [details, setDetails] = useState({});
  const [error, setError] = useState();
  const known = useRef({});

  // The list, plus the detail (stats and live progress) of each campaign that is active or changed.
  async function load() {
    const { campaigns: list } = await api('GET', '/api/v1/campaigns?limit=50');
    const stale = list.filter((c) => ACTIVE.has(c.status) || known.current[c.id]?.updated_at !== c.updated_at);
    const fresh = await Promise.all(stale.map((c) => api('GET', `/api/v1/campaigns/${c.id}`)));
    for (const d of fresh) known.current[d.id] = d;
    setCampaigns(list);
    setDetails({ ...known.current });
    setError(undefined);
    return list.some((c) => ACTIVE.has(c.status));
  }

  useEffect(() => {
    let timer;
    let stopped = false;
    const tick = async () => {
      let active = true;
      if (!document.hidden) active = await load().catch((err) => (setError(err), true));
      if (!stopped) timer = setTimeout(tick, active ? FAST_MS : SLOW_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  async function control(id, action) {
    setError(undefined);
    try {
      await api('POST', `/api/v1/campaigns/${id}/${action}`);
      await load();
    } catch (err) {
      setError(err);
    }
  }

  return html`<section class="campaigns page">
    <h2>Campaigns</h2>
    <${ErrorNote} error=${error} onClose=${() => setError(undefined)} />
    ${
      campaigns === undefined
        ? html`<p class="muted">Loading…</p>`
        : campaigns.length === 0
          ? html`<p class="muted">No campaigns yet. Create them through the API (POST /api/v1/campaigns).</p>`
          : html`<ul class="campaign-list">
              ${campaigns.map((c) => html`<${CampaignCard} key=${c.id} c=${details[c.id] ?? c} control=${control} />`)}
            </ul>`
    }
  </section>`;
}

/** Counts for the bar: the live query of the run when there is one (fresher), else the stored stats. */
function figures(c) {
  const p = c.progress;
  return {
    total: p?.total ?? c.total_recipients ?? 0,
    sent: Math.max(p?.sent ?? 0, c.messages_sent ?? 0),
    delivered: c.messages_delivered ?? 0,
    read: c.messages_read ?? 0,
    failed: Math.max(p?.failed ?? 0, c.messages_failed ?? 0),
  };
}

const pct = (n, total) => `${total ? Math.min(100, (100 * n) / total) : 0}%`;

function CampaignCard({ c, control }) {
  const f = figures(c);
  return html`<li class="card campaign" data-campaign-id=${c.id} data-status=${c.status}>
    <div class="campaign-head">
      <div>
        <strong>${c.name}</strong>
        <span class=${`badge status-${c.status}`}>${c.status}</span>
        ${c.progress ? html`<span class="muted small">${c.progress.phase} · ${c.progress.ratePerSecond}/s</span>` : null}
      </div>
      <div class="campaign-actions">
        ${c.status === 'running' ? html`<button onClick=${() => control(c.id, 'pause')}>Pause</button>` : null}
        ${c.status === 'paused' ? html`<button class="primary" onClick=${() => control(c.id, 'resume')}>Resume</button>` : null}
      </div>
    </div>
    <div
      class="progress"
      role="progressbar"
      aria-valuemin="0"
      aria-valuemax=${f.total}
      aria-valuenow=${f.sent}
      data-total=${f.total}
      data-sent=${f.sent}
      data-delivered=${f.delivered}
      data-read=${f.read}
      data-failed=${f.failed}
    >
      <span class="seg read" style=${{ width: pct(f.read, f.total) }}></span>
      <span class="seg delivered" style=${{ width: pct(f.delivered - f.read, f.total) }}></span>
      <span class="seg sent" style=${{ width: pct(f.sent - f.delivered, f.total) }}></span>
      <span class="seg failed" style=${{ width: pct(f.failed, f.total) }}></span>
    </div>
    <div class="legend small">
      <span><b>${f.sent}</b> of ${f.total} sent</span>
      <span class="key delivered">${f.delivered} delivered</span>
      <span class="key read">${f.read} read</span>
      <span class="key failed">${f.failed} failed</span>
      ${c.replies_received ? html`<span>${c.replies_received} replied</span>` : null}
      ${c.started_at ? html`<span class="muted">started ${fullTime(c.started_at)}</span>` : null}
    </div>
    ${c.last_error ? html`<p class="warn small">${c.last_error}</p>` : null}
  </li>`;
}
