// Webhook logs (admins): every request the Meta and Twilio webhooks received, filtered, and one
// request with its body, to answer "Meta says it delivered" (GET /api/v1/webhook-logs).
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { ErrorNote, fullTime } from './ui.js';

const PAGE = 50;
const OUTCOMES = [
  'accepted',
  'ignored',
  'verified',
  'verify_refused',
  'signature_refused',
  'not_configured',
  'malformed',
  'too_large',
  'temporal_unavailable',
  'database_unavailable',
  'error',
  'not_found',
  'aborted',
];
const EMPTY = { provider: '', outcome: '', signature: '', status: '', number: '', message_id: '', from: '', to: '' };

/** datetime-local ("2026-12-04T10:00", local time) → ISO 8601 with offset, as the API takes it. */
const isoOf = (local) => (local ? new Date(local).toISOString() : '');

function queryOf(filters, offset) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) {
    const value = k === 'from' || k === 'to' ? isoOf(v) : v.trim();
    if (value) q.set(k, value);
  }
  if (offset !== undefined) {
    q.set('limit', String(PAGE));
    q.set('offset', String(offset));
  }
  return q.toString();
}

const label = (s) => s.replace(/_/g, ' ');
const outcomeClass = (o) => (o === 'accepted' || o === 'verified' ? 'ok' : o === 'ignored' ? 'quiet' : 'bad');

/** The list with its filters, beside the request picked (#/webhook-logs/<id>). */
export function WebhookLogs({ selectedId }) {
  const [draft, setDraft] = useState(EMPTY);
  const [filters, setFilters] = useState(EMPTY);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState();
  const [stats, setStats] = useState();
  const [error, setError] = useState();

  async function load() {
    const [list, counts] = await Promise.all([
      api('GET', `/api/v1/webhook-logs?${queryOf(filters, offset)}`),
      api('GET', `/api/v1/webhook-logs/stats?${queryOf(filters)}`),
    ]);
    setPage(list);
    setStats(counts);
    setError(undefined);
  }

  useEffect(() => {
    load().catch(setError);
  }, [filters, offset]);

  const field = (name) => ({ name, value: draft[name], onInput: (e) => setDraft({ ...draft, [name]: e.currentTarget.value }) });
  const apply = (e) => {
    e.preventDefault();
    setOffset(0);
    setFilters({ ...draft });
  };
  const reset = () => {
    setDraft(EMPTY);
    setOffset(0);
    setFilters(EMPTY);
  };

  return html`<section class="webhook-logs page">
    <div class="page-head">
      <h2>Webhook logs</h2>
      ${
        stats
          ? html`<span class="muted small webhook-log-stats" data-total=${stats.total}>
              ${stats.total} in
              ${filters.from || filters.to ? 'the range' : 'the last 24 h'}${Object.entries(stats.by_outcome).map(([o, n]) => ` · ${n} ${label(o)}`)}
            </span>`
          : null
      }
      <button onClick=${() => load().catch(setError)}>Refresh</button>
    </div>
    <form class="filters webhook-log-filters" onSubmit=${apply}>
      <select ...${field('provider')} aria-label="Provider">
        <option value="">Any provider</option>
        <option value="meta">Meta</option>
        <option value="twilio">Twilio</option>
      </select>
      <select ...${field('outcome')} aria-label="Outcome">
        <option value="">Any outcome</option>
        ${OUTCOMES.map((o) => html`<option value=${o}>${label(o)}</option>`)}
      </select>
      <select ...${field('signature')} aria-label="Signature">
        <option value="">Any signature</option>
        <option value="valid">valid</option>
        <option value="missing">missing</option>
        <option value="invalid">invalid</option>
        <option value="not_checked">not checked</option>
      </select>
      <input ...${field('status')} placeholder="Status (401, 4xx)" size="10" />
      <input ...${field('number')} placeholder="Business number" />
      <input ...${field('message_id')} placeholder="wamid or message SID" />
      <label class="small">From <input type="datetime-local" ...${field('from')} /></label>
      <label class="small">To <input type="datetime-local" ...${field('to')} /></label>
      <button type="submit" class="primary">Filter</button>
      <button type="button" onClick=${reset}>Reset</button>
    </form>
    <${ErrorNote} error=${error} onClose=${() => setError(undefined)} />
    <div class="webhook-log-layout">
      <div class="webhook-log-list">
        ${
          page === undefined
            ? html`<p class="muted">Loading…</p>`
            : page.webhook_logs.length === 0
              ? html`<p class="muted">No webhook requests${filters === EMPTY ? ' yet' : ' match'}.</p>`
              : html`<table class="webhook-log-table">
                  <thead>
                    <tr>
                      <th>Received</th>
                      <th>Provider</th>
                      <th>Request</th>
                      <th>Number</th>
                      <th>Signature</th>
                      <th>Status</th>
                      <th>Outcome</th>
                      <th>Items</th>
                      <th>ms</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${page.webhook_logs.map((r) => html`<${Row} key=${r.id} r=${r} selected=${r.id === selectedId} />`)}
                  </tbody>
                </table>`
        }
        ${
          page && page.total > PAGE
            ? html`<div class="pager small">
                <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>Newer</button>
                <span class="muted">${offset + 1}–${Math.min(offset + PAGE, page.total)} of ${page.total}</span>
                <button disabled=${offset + PAGE >= page.total} onClick=${() => setOffset(offset + PAGE)}>Older</button>
              </div>`
            : null
        }
      </div>
      ${selectedId ? html`<${Detail} key=${selectedId} id=${selectedId} />` : null}
    </div>
  </section>`;
}

function Row({ r, selected }) {
  const items = [r.messages ? `${r.messages} msg` : '', r.statuses ? `${r.statuses} status` : '', r.skipped ? `${r.skipped} skipped` : '']
    .filter(Boolean)
    .join(', ');
  return html`<tr
    class=${`webhook-log-row${selected ? ' selected' : ''}`}
    data-id=${r.id}
    data-provider=${r.provider}
    data-outcome=${r.outcome}
    data-signature=${r.signature}
    data-status=${r.status_code ?? ''}
    onClick=${() => (location.hash = `#/webhook-logs/${r.id}`)}
  >
    <td><a href=${`#/webhook-logs/${r.id}`}>${fullTime(r.received_at)}</a></td>
    <td>${r.provider}</td>
    <td class="mono">${r.method} ${r.path}</td>
    <td class="mono">${r.business_numbers.join(', ')}</td>
    <td><span class=${`badge signature-${r.signature}`}>${label(r.signature)}</span></td>
    <td>${r.status_code ?? '—'}</td>
    <td><span class=${`badge outcome-${outcomeClass(r.outcome)}`}>${label(r.outcome)}</span></td>
    <td class="small">${items}</td>
    <td class="small">${Math.round(r.duration_ms)}</td>
  </tr>`;
}

/** One request: everything recorded, and its body pretty-printed. */
function Detail({ id }) {
  const [log, setLog] = useState();
  const [error, setError] = useState();
  useEffect(() => {
    api('GET', `/api/v1/webhook-logs/${encodeURIComponent(id)}`).then(setLog, setError);
  }, [id]);

  if (error) return html`<aside class="webhook-log-detail card"><${ErrorNote} error=${error} /></aside>`;
  if (!log) return html`<aside class="webhook-log-detail card"><p class="muted">Loading…</p></aside>`;
  const body = log.body_json != null ? JSON.stringify(log.body_json, null, 2) : log.body;
  const rows = [
    ['Received', fullTime(log.received_at)],
    ['Provider', log.provider],
    ['Request', `${log.method} ${log.path}`],
    ['Business number', log.business_numbers.join(', ') || '—'],
    ['Signature', label(log.signature)],
    ['Status', log.status_code ?? 'no answer'],
    ['Outcome', label(log.outcome)],
    ['Messages / statuses / skipped', `${log.messages} / ${log.statuses} / ${log.skipped}`],
    ['Duration', `${log.duration_ms} ms`],
    ['Request id', log.request_id ?? '—'],
    ['Message ids', log.message_ids.join(', ') || '—'],
    ['Content type', log.content_type ?? '—'],
  ];
  return html`<aside class="webhook-log-detail card" data-id=${log.id} data-outcome=${log.outcome}>
    <div class="page-head">
      <h3>Request ${log.id}</h3>
      <a class="button" href="#/webhook-logs">Close</a>
    </div>
    <dl>
      ${rows.map(
        ([k, v]) =>
          html`<dt>${k}</dt>
            <dd class=${k === 'Message ids' || k === 'Request' ? 'mono' : ''}>${v}</dd>`,
      )}
      ${
        log.error
          ? html`<dt>Error</dt>
              <dd class="failure">${log.error}</dd>`
          : null
      }
    </dl>
    <h3>
      Body
      <span class="muted small"
        >${log.body_bytes} bytes${log.body_truncated ? ' · cut (WEBHOOK_LOG_MAX_BODY_BYTES)' : ''}${log.body_redacted ? ' · text redacted' : ''}</span
      >
    </h3>
    ${body == null ? html`<p class="muted">No body stored.</p>` : html`<pre class="webhook-log-body">${body}</pre>`}
  </aside>`;
}
