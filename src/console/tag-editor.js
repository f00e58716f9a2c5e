import { useState } from 'preact/hooks';
import { html } from './html.js';

// The API's rule for a tag (README, "Inbox"): lower case, 1–32 letters, digits, "-", "_" or spaces; at most 20.
const TAG = /^[\p{L}\p{N} _-]{1,32}$/u;
const MAX_TAGS = 20;

export const cleanTag = (text) => text.trim().replace(/\s+/g, ' ').toLowerCase();

/** Tags as chips; with `save(tags)` (a promise of success) each can be removed and new ones added. */
export function TagEditor({ tags = [], save, busy }) {
  const [draft, setDraft] = useState('');
  const [problem, setProblem] = useState();

  async function add(event) {
    event.preventDefault();
    const tag = cleanTag(draft);
    if (!tag) return;
    if (!TAG.test(tag)) return setProblem('A tag is 1–32 letters, digits, "-", "_" or spaces.');
    if (tags.includes(tag)) return setDraft('');
    if (tags.length >= MAX_TAGS) return setProblem(`At most ${MAX_TAGS} tags.`);
    setProblem(undefined);
    if (await save([...tags, tag])) setDraft('');
  }

  return html`<div class="tags" aria-label="Tags">
    ${tags.map(
      (tag) =>
        html`<span class="tag" data-tag=${tag} key=${tag}>
          ${tag}
          ${
            save
              ? html`<button
                  type="button"
                  class="tag-remove"
                  aria-label=${`Remove tag ${tag}`}
                  disabled=${busy}
                  onClick=${() => save(tags.filter((t) => t !== tag))}
                >
                  ×
                </button>`
              : null
          }
        </span>`,
    )}
    ${
      save
        ? html`<form class="tag-add" onSubmit=${add}>
            <input
              name="tag"
              placeholder="Add a tag"
              maxlength="32"
              value=${draft}
              onInput=${(e) => (setDraft(e.currentTarget.value), setProblem(undefined))}
            />
            <button type="submit" disabled=${busy || !draft.trim()}>Add</button>
          </form>`
        : tags.length === 0
          ? html`<span class="muted small">no tags</span>`
          : null
    }
    ${problem ? html`<span class="warn small" role="alert">${problem}</span>` : null}
  </div>`;
}
