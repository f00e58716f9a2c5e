import type { OutboundContent } from '../channels/types';
import type { AudienceMember } from '../db/campaign-audience';
import type { Template } from '../db/schema';
import { renderTemplate, templateParameters } from '../templates/render';
import { CUSTOMER_WINDOW_MS } from '../workflows/definitions';

const WINDOW_MARGIN_MS = 10 * 60 * 1000;

/** Contact fields a template may use ({{first_name}}, {{company}}, custom attributes ...). */
export function contactVariables(member: AudienceMember, defaults: Record<string, string>): Record<string, string> {
  const own: Record<string, unknown> = {
    ...member.attributes,
    first_name: member.first_name,
    last_name: member.last_name,
    email: member.email,
    company: member.company,
    job_title: member.job_title,
    phone: member.phone_number,
  };
  const vars: Record<string, string> = { ...defaults };
  for (const [name, value] of Object.entries(own)) {
    // The contact's own value wins; the campaign's default fills a gap.
    if (value !== null && value !== undefined && String(value).trim() !== '') vars[name] = String(value);
  }
  return vars;
}

/**
 * Inside the 24 h customer-service window a free-form text is allowed (and free); outside it only
 * the approved template may be sent. Throws TemplateRenderError when a variable has no value.
 */
export function campaignContent(
  template: Pick<Template, 'name' | 'language' | 'body'>,
  member: AudienceMember,
  defaults: Record<string, string>,
  now: number,
): OutboundContent & { kind: 'text' | 'template' } {
  const vars = contactVariables(member, defaults);
  const text = renderTemplate(template.body, vars);
  // With a margin: the message may wait for its slot, and must not arrive as free text just after
  // the window closed (WhatsApp would refuse it).
  const inWindow = member.last_inbound_at !== null && now - new Date(member.last_inbound_at).getTime() < CUSTOMER_WINDOW_MS - WINDOW_MARGIN_MS;
  if (inWindow) return { kind: 'text', text };
  return {
    kind: 'template',
    template: { name: template.name, language: template.language, parameters: templateParameters(template.body, vars), text },
  };
}
