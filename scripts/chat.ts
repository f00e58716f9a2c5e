/**
 * `npm run chat -- [--phone N] [--api URL] [--key KEY] [--name NAME]`: talk to the assistant from
 * a terminal as a WhatsApp user. Each line goes to the API's webhook exactly as Meta would send it
 * (signed with WHATSAPP_APP_SECRET when set); the bot's and operators' replies, takeovers and
 * handbacks are printed as they happen, from the API's conversation stream.
 */
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { phoneField } from '../src/api/phone';
import { loadConfigOrExit } from '../src/config';
import { chatTarget, readDevInfo, type ChatTarget } from './chat/dev-info';
import { ApiRefused, followStream, openChatStream } from './chat/follow';
import { ChatPrinter } from './chat/printer';
import { inboundTextWebhook, postWebhook } from './chat/webhook';

const USAGE = 'usage: npm run chat -- [--phone 15550001111] [--api http://127.0.0.1:3000] [--key <API key>] [--name "Terminal User"]';

function fail(message: string): never {
  process.stderr.write(`chat: ${message}\n`);
  process.exit(1);
}

function refusedHint(target: ChatTarget, err: ApiRefused): string {
  if (err.status === 401) {
    const from =
      target.keySource === '.data/dev.json'
        ? ' (it came from .data/dev.json, left by the last npm run dev: is that API still the one running?)'
        : target.keySource
          ? ` (from ${target.keySource})`
          : '';
    return `the API at ${target.api} refused the key${from}: ${err.message}. Pass --key <API key> (npm run dev prints one as "API key"), or set API_KEYS as the API has it.`;
  }
  if (err.status === 403) return `the key may not read conversations (${err.message}); use a key with any role but none.`;
  return `the API at ${target.api} answered ${err.status}: ${err.message}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { phone: { type: 'string' }, api: { type: 'string' }, key: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const config = loadConfigOrExit();
  const phone = phoneField.safeParse(values.phone ?? '15550001111');
  if (!phone.success) fail(`--phone: ${phone.error.issues[0]!.message}`);
  const target = chatTarget(values, config, process.env, readDevInfo());
  if (!target.key) {
    fail(
      'no API key to follow the chat with: start npm run dev in another terminal (it leaves its key for this command), or pass --key <API key>, or set API_KEYS',
    );
  }
  const { api, key } = target as Required<ChatTarget>;
  const unreachable = `cannot reach the API at ${api}: is npm run dev running?`;

  const stop = new AbortController();
  const first = await openChatStream(api, key, phone.data, undefined, stop.signal).catch((err: unknown) =>
    fail(err instanceof ApiRefused ? refusedHint(target, err) : unreachable),
  );

  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  rl.setPrompt('> ');
  // Replies arrive while the user types: print above the prompt, then redraw it.
  const print = (line: string) => {
    if (tty) {
      readline.clearLine(process.stdout, 0);
      readline.cursorTo(process.stdout, 0);
    }
    process.stdout.write(`${line}\n`);
    if (tty) rl.prompt(true);
  };

  const printer = new ChatPrinter(print);
  const following = followStream({
    first,
    reopen: (sinceId) => openChatStream(api, key, phone.data, sinceId, stop.signal),
    onEvent: (e) => printer.handle(e),
    onNotice: print,
    signal: stop.signal,
  });

  const name = values.name ?? 'Terminal User';
  const send = async (text: string) => {
    const body = inboundTextWebhook({ from: phone.data, name, text, phoneNumberId: config.WHATSAPP_PHONE_NUMBER_ID ?? '100000000000000' });
    let res: Response;
    try {
      res = await postWebhook(api, body, config.WHATSAPP_APP_SECRET);
    } catch {
      print(`(not sent) ${unreachable}`);
      return;
    }
    if (res.ok) return;
    const detail = ((await res.json().catch(() => null)) as { error?: { message?: string } } | null)?.error?.message ?? res.statusText;
    if (res.status === 401) {
      print(
        config.WHATSAPP_APP_SECRET
          ? `(not sent) the API refused the webhook's signature: WHATSAPP_APP_SECRET here must be the API's (${detail})`
          : `(not sent) the API checks webhook signatures: set WHATSAPP_APP_SECRET to the API's (${detail})`,
      );
    } else {
      print(`(not sent) the API answered ${res.status}: ${detail}`);
    }
  };

  console.log(`Chatting as +${phone.data} (${name}) with the assistant at ${api}`);
  console.log(
    `Type a message and press Enter; /quit or Ctrl-D leaves.${config.WHATSAPP_APP_SECRET ? '' : ' (webhooks unsigned: WHATSAPP_APP_SECRET is not set)'}`,
  );
  if (tty) rl.prompt();

  // One at a time, so messages reach the chat in the order they were typed.
  let sending = Promise.resolve();
  rl.on('line', (line) => {
    const text = line.trim();
    if (text === '/quit') return rl.close();
    if (text) sending = sending.then(() => send(text));
    if (tty) rl.prompt();
  });
  rl.on('SIGINT', () => rl.close());
  rl.once('close', () => {
    void sending.then(async () => {
      stop.abort();
      await following;
      process.exit(0);
    });
  });
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
