import { html } from './html.js';

// The placeholders the API fills: {{name}} or {{1}} (src/templates/render.ts).
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*|\d+)\s*\}\}/g;

/** The body as it will read, with the values given so far ({{name}} where one is missing). */
export const previewTemplate = (body, values) => body.replace(PLACEHOLDER, (m, name) => (values[name]?.trim() ? values[name] : m));

/** An approved template to send, with an input for each of its variables and a preview. */
export function TemplatePicker({ templates, template, values, onTemplate, onValues, disabled }) {
  if (templates === undefined) return html`<p class="muted small">Loading the approved templates…</p>`;
  if (templates.length === 0) return html`<p class="warn small">No approved templates: create one (POST /api/v1/templates) and have it approved.</p>`;
  return html`<div class="template-picker">
    <label
      >Template
      <select
        name="template"
        required
        disabled=${disabled}
        value=${template ? String(template.id) : ''}
        onChange=${(e) => onTemplate(templates.find((t) => String(t.id) === e.currentTarget.value))}
      >
        <option value="" disabled>Choose an approved template…</option>
        ${templates.map((t) => html`<option value=${String(t.id)}>${t.name} (${t.language})</option>`)}
      </select></label
    >
    ${
      template
        ? html`${(template.variables ?? []).map(
              (name) =>
                html`<label key=${name}
                  >${name}
                  <input
                    name=${`variable-${name}`}
                    data-variable=${name}
                    required
                    disabled=${disabled}
                    value=${values[name] ?? ''}
                    onInput=${(e) => onValues({ ...values, [name]: e.currentTarget.value })}
                /></label>`,
            )}
            <div class="template-preview" aria-label="Preview">${previewTemplate(template.body, values)}</div>`
        : null
    }
  </div>`;
}
