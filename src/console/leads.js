import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { ErrorNote } from './ui.js';

const STAGES = ['new', 'contacted', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];
const label = (status) => status[0].toUpperCase() + status.slice(1);
const money = (value) => (value == null ? '' : Number(value).toLocaleString(undefined, { maximumFractionDigits: 2 }));

/** The lead pipeline as a board: a column per status; a card moves by its menu or by dragging. */
export function Leads() {
  const [leads, setLeads] = useState();
  const [pipeline, setPipeline] = useState();
  const [error, setError] = useState();
  const [dragging, setDragging] = useState();

  async function load() {
    const [list, stats] = await Promise.all([api('GET', '/api/v1/leads?limit=1000'), api('GET', '/api/v1/leads/stats/pipeline')]);
    setLeads(list.leads);
    setPipeline(stats);
  }

  useEffect(() => {
    load().catch(setError);
  }, []);

  async function move(lead, status) {
    if (lead.status === status) return;
    setError(undefined);
    try {
      await api('PUT', `/api/v1/leads/${lead.id}`, { status });
      await load();
    } catch (err) {
      setError(err);
      // Re-render from the record, so the card's menu shows where the lead really is.
      await load().catch(() => undefined);
    }
  }

  const stage = (status) => pipeline?.stages.find((s) => s.status === status);
  return html`<section class="leads page">
    <div class="page-head">
      <h2>Leads</h2>
      ${pipeline ? html`<span class="muted">${pipeline.open_count} open · ${money(pipeline.open_value)} in the open pipeline</span>` : null}
      <button onClick=${() => load().catch(setError)}>Refresh</button>
    </div>
    <${ErrorNote} error=${error} onClose=${() => setError(undefined)} />
    ${
      leads === undefined
        ? html`<p class="muted">Loading…</p>`
        : html`<div class="board">
            ${STAGES.map(
              (status) =>
                html`<div
                  class=${`column${dragging ? ' droppable' : ''}`}
                  data-status=${status}
                  onDragOver=${(e) => e.preventDefault()}
                  onDrop=${(e) => {
                    e.preventDefault();
                    if (dragging) void move(dragging, status);
                    setDragging(undefined);
                  }}
                >
                  <h3>${label(status)} <span class="muted">${stage(status)?.count ?? 0}</span></h3>
                  ${stage(status) && Number(stage(status).value) > 0 ? html`<div class="muted small">${money(stage(status).value)}</div>` : null}
                  ${leads.filter((l) => l.status === status).map((l) => html`<${LeadCard} key=${l.id} lead=${l} move=${move} onDrag=${setDragging} />`)}
                </div>`,
            )}
          </div>`
    }
  </section>`;
}

function LeadCard({ lead, move, onDrag }) {
  const contact = lead.contact;
  return html`<article class="card lead" data-lead-id=${lead.id} draggable="true" onDragStart=${() => onDrag(lead)} onDragEnd=${() => onDrag(undefined)}>
    <strong>${lead.title}</strong>
    <div class="muted small">${contact?.name ?? contact?.company ?? (contact?.phone_number ? contact.phone_number : `contact ${lead.contact_id}`)}</div>
    <div class="lead-meta">
      <span class=${`badge priority-${lead.priority}`}>${lead.priority}</span>
      ${lead.estimated_value != null ? html`<span>${money(lead.estimated_value)}</span>` : null}
      <span class="muted small" title="Lead score">score ${lead.lead_score}</span>
    </div>
    <select aria-label="Move to" value=${lead.status} onChange=${(e) => move(lead, e.currentTarget.value)}>
      ${STAGES.map((s) => html`<option value=${s}>${label(s)}</option>`)}
    </select>
  </article>`;
}
