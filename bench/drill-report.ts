/** The drills' table, for the console and for bench/results/drill.md. */
import type { DrillResult } from './drill';

const COLUMNS: [string, (r: DrillResult) => string | number][] = [
  ['drill', (r) => r.name],
  ['sent', (r) => r.sent],
  ['accepted', (r) => r.accepted],
  ['never accepted', (r) => r.sendFailed],
  ['webhook retries', (r) => `${r.webhookRetries} (${r.messagesRedelivered} msgs)`],
  ['recorded', (r) => r.recorded],
  ['answered', (r) => r.answered],
  ['answered twice', (r) => r.answeredTwice],
  ['lost', (r) => r.lost],
  ['not recorded', (r) => r.notRecorded],
  ['not answered', (r) => r.notAnswered],
  ['fallback replies', (r) => r.fallbackReplies],
  // A reply is the replyToBurst activity since chat v2 (sendWhatsAppMessage before, and for notices).
  ['replies given up', (r) => (r.activities.failed.replyToBurst ?? 0) + (r.activities.failed.sendWhatsAppMessage ?? 0)],
  ['crashes', (r) => (r.crashes.length ? r.crashes.map((c) => c.name).join(' ') : 0)],
  ['load s', (r) => (r.loadMs / 1000).toFixed(1)],
  ['settle s', (r) => (r.settled ? (r.settleMs / 1000).toFixed(1) : `>${(r.settleMs / 1000).toFixed(0)} (not settled)`)],
];

export function renderTable(results: DrillResult[]): string {
  const rows = [COLUMNS.map(([h]) => h), ...results.map((r) => COLUMNS.map(([, f]) => String(f(r))))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padStart(widths[i]!)).join('  ')).join('\n');
}

const counts = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ') || '-';

const failures = (r: DrillResult) =>
  Object.entries(r.webhookFailures)
    .map(([kind, f]) => `${kind}: ${f.count} (+${(f.firstAtMs / 1000).toFixed(1)} to +${(f.lastAtMs / 1000).toFixed(1)} s)`)
    .join(', ') || '-';

interface Report {
  at: string;
  mode: string;
  machine: { cpus: number; cpu?: string; memoryGiB: number; node: string; platform: string; loadAvgAtEnd: number[] };
  settings: { chats: number; rate: number; env: Record<string, string> };
  totalMs: number;
  drills: DrillResult[];
}

export function renderMarkdown(report: Report): string {
  const { machine: m, settings: s } = report;
  const lines = [
    '# Fault drills',
    '',
    `\`npm run drill${report.mode === 'quick' ? ' -- --quick' : ''}\` (bench/drill.ts), ${report.at}, ${m.cpus} cores (${m.cpu}), ` +
      `${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; load average at the end ${m.loadAvgAtEnd.join(' ')}; total ${(report.totalMs / 1000).toFixed(0)} s.`,
    '',
    `Each drill: ${s.chats} fresh chats writing ${s.rate} messages/s in total through the signed webhook while the fault is injected, ` +
      `then wait until every chat is idle. Worker and API are the real entry points as separate processes; Postgres is reached through a TCP proxy; ` +
      `Graph and OpenAI are loopback fakes. Settings: ${Object.entries(s.env)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}.`,
    '',
    `| ${COLUMNS.map(([h]) => h).join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...report.drills.map((r) => `| ${COLUMNS.map(([, f]) => f(r)).join(' | ')} |`),
    '',
    'Also measured: replies sent, the same reply text sent twice to a chat ("repeated"), Graph sends whose wamid no outbound row holds ("off record"), tokens echoed to the wrong chat, chats flagged NeedsHuman at the end, LLM requests refused by the fault / answered, activity attempts beyond the first and activities that failed for good (from the chats\' histories), webhook failures by kind, with when they happened:',
    '',
    '| drill | replies | repeated | off record | misrouted | NeedsHuman chats | LLM refused | LLM answered | activity retries | activities failed | webhook failures |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...report.drills.map(
      (r) =>
        `| ${r.name} | ${r.replies} | ${r.repeatedReplies} | ${r.sendsNotOnRecord} | ${r.misrouted} | ${r.chatsNeedingHuman} | ${r.llmRequestsRefused} | ${
          r.llmRequestsAnswered
        } | ${counts(r.activities.retries)} | ${counts(r.activities.failed)} | ${failures(r)} |`,
    ),
    '',
    'Definitions. **sent**: messages the load generator wrote, each with a unique wamid and text token. **accepted**: of those, the ones a webhook POST got 200 for; **never accepted**: still refused 2 minutes after the load stopped. ' +
      "**webhook retries**: POSTs beyond each message's first (same body, same wamid, as Meta redelivers) and how many messages needed one. **recorded**: accepted messages with an inbound row (by wamid) in Postgres. " +
      '**answered** / **answered twice**: accepted messages whose token is in exactly one / in two or more of the replies the fake Graph accepted for their chat (the fake model answers "Reply to: " and the texts of the user messages after the last assistant turn). ' +
      '**not answered**: in no reply, and no fallback reply went to the chat after the message was written (those count under fallback). **lost**: accepted and not recorded or not answered, each message once. ' +
      "**fallback replies**: replies with the fixed fallback text (LLM retries exhausted). **replies given up**: reply sends that failed for good (the chat is flagged NeedsHuman; the burst stays in the context, so the fake model mentions it again in the chat's next reply if the user writes again). " +
      '**crashes**: worker or API exits no drill caused (restarted after 1 s, as a process manager would). **settle**: from the end of the load until every chat reports idle with nothing pending twice, 1 s apart, with no reply sent in between.',
    '',
    "Timelines (seconds from the start of each drill's load):",
    '',
    ...report.drills.flatMap((r) => [`- **${r.name}** (${r.title}): ${r.events.map((e) => `+${(e.atMs / 1000).toFixed(1)} ${e.what}`).join('; ')}`]),
    '',
  ];
  return lines.join('\n');
}
