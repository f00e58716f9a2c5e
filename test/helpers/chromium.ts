import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Debian's Chromium through playwright-core, which downloads no browser. launch() starts from a
 * fresh temporary profile; the flags keep Chromium off the network (on a machine without one it
 * would stall on background connections).
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}. The browser tests drive Debian's chromium through playwright-core and download no browser: ` +
        'install it with `sudo apt-get install -y --no-install-recommends chromium` (or set CHROMIUM_PATH to a Chromium or Chrome binary).',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
