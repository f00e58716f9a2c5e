/**
 * `npm run chat`: the terminal chat, run as a child process the way a developer runs it, against
 * an API with a real chat workflow behind it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { chatTarget } from '../scripts/chat/dev-info';
import { APP_SECRET, eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

const ROOT = path.join(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

interface Chat {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  stderr(): string;
  /** Waits for this line on stdout. */
  shows(line: string): Promise<void>;
  exited: Promise<number | null>;
}

function chat(args: string[], env: Record<string, string> = {}): Chat {
  // Only what is given here: nothing from the test process's environment reaches the config.
  const child = spawn(TSX, ['scripts/chat.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env } });
  const lines: string[] = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => err,
    shows: (line) => eventually(() => expect(lines).toContain(line), 30_000),
    exited,
  };
}

test('a line typed in the terminal reaches the bot, and the reply, takeover, operator and handback show up', async () => {
  const waId = randomPhone();
  const c = chat(['--phone', waId, '--api', h.apiUrl, '--key', KEYS.viewer], { WHATSAPP_APP_SECRET: APP_SECRET, WHATSAPP_PHONE_NUMBER_ID: 'PNID' });
  try {
    await c.shows(`Chatting as +${waId} (Terminal User) with the assistant at ${h.apiUrl}`);
    c.child.stdin.write('hello from the terminal\n');
    await eventually(() => expect(h.llm.wasAsked('hello from the terminal')).toBe(true));
    await c.shows('bot: Reply to: hello from the terminal');
    // Signed and shaped as Meta's: the API took it as an inbound message from this user, with the name.
    const [inbound] = await h.recorded(waId);
    expect(inbound).toMatchObject({ sender_type: 'user', content: 'hello from the terminal', message_type: 'text' });
    expect(inbound!.wamid).toMatch(/^wamid\./);
    await h.settled(waId);

    expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId, operator: 'Ana' }, key: KEYS.operator })).status).toBe(200);
    await c.shows('— an operator (key:operator-key) took over —');
    const sent = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, operator: 'Ana', message: 'Hi, Ana here.' }, key: KEYS.operator });
    expect(sent.status).toBe(200);
    await c.shows('operator (key:operator-key): Hi, Ana here.');
    expect((await h.api('POST', '/api/v1/handback', { body: { phone: waId }, key: KEYS.operator })).status).toBe(200);
    await c.shows('— handed back to the bot —');

    c.child.stdin.write('/quit\n');
    expect(await c.exited).toBe(0);
    expect(c.lines.slice(2)).toEqual([
      'bot: Reply to: hello from the terminal',
      '— an operator (key:operator-key) took over —',
      'operator (key:operator-key): Hi, Ana here.',
      '— handed back to the bot —',
    ]);
    expect(c.stderr()).toBe('');
  } finally {
    c.child.kill();
  }
});

test('Ctrl-D (end of input) leaves the chat', async () => {
  const c = chat(['--phone', randomPhone(), '--api', h.apiUrl, '--key', KEYS.viewer]);
  await eventually(() => expect(c.lines.length).toBeGreaterThanOrEqual(2), 30_000);
  c.child.stdin.end();
  expect(await c.exited).toBe(0);
});

test('says clearly when the API is not running, or refuses the key', async () => {
  const closed = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
  const down = chat(['--api', `http://127.0.0.1:${closed}`, '--key', KEYS.viewer]);
  expect(await down.exited).toBe(1);
  expect(down.stderr()).toBe(`chat: cannot reach the API at http://127.0.0.1:${closed}: is npm run dev running?\n`);

  const wrong = chat(['--api', h.apiUrl, '--key', 'not-the-key-0000000000']);
  expect(await wrong.exited).toBe(1);
  expect(wrong.stderr()).toMatch(/refused the key \(from --key\).*Pass --key <API key> \(npm run dev prints one/);
});

test('with no flags it finds the API and key: flags, then PORT and API_KEYS, then what npm run dev left', () => {
  const dev = { api: 'http://127.0.0.1:4000', apiKey: 'dev_key_from_npm_run_dev' };
  const config = { PORT: 3000, API_KEYS: [] };
  expect(chatTarget({}, config, {}, dev)).toEqual({ api: 'http://127.0.0.1:4000', key: 'dev_key_from_npm_run_dev', keySource: '.data/dev.json' });
  expect(chatTarget({}, config, {}, undefined)).toEqual({ api: 'http://127.0.0.1:3000' });
  expect(chatTarget({}, { PORT: 5000, API_KEYS: [{ secret: 'env-key-0123456789abcdef', role: 'viewer' }] }, { PORT: '5000' }, dev)).toEqual({
    api: 'http://127.0.0.1:5000',
    key: 'env-key-0123456789abcdef',
    keySource: 'API_KEYS',
  });
  expect(chatTarget({ api: 'http://api.test/', key: 'flag-key' }, config, {}, dev)).toEqual({ api: 'http://api.test', key: 'flag-key', keySource: '--key' });
});
