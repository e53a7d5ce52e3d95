import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * The Chromium the browser tests drive, found or provided without a manual step: Debian's
 * (`/usr/bin/chromium`) when the machine has it, else the headless Chromium that the
 * `@sparticuz/chromium` npm package ships (unpacked into the temporary folder on first use).
 * `DOVETAIL_CHROMIUM` names another binary. The flags are the ones a closed network needs: no
 * background networking, no component updates, no sync.
 */
const debianChromium = '/usr/bin/chromium';
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function chromiumExecutable(): Promise<string> {
  const chosen = process.env['DOVETAIL_CHROMIUM'];
  if (chosen) return chosen;
  if (existsSync(debianChromium)) return debianChromium;
  const packaged = (await import('@sparticuz/chromium')).default;
  return packaged.executablePath();
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumExecutable(), args: chromiumArgs });
}
