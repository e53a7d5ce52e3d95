/**
 * The demo's mailbox: a local SMTP server (the `smtp-server` package) that keeps every message the
 * hub sends as a .eml file and shows them on a small page, so the customer's e-mails can be read
 * without a real mail account. Loopback only; it delivers nothing onwards.
 *
 *   node --import tsx demo/src/mail-catcher.ts   (env: MAIL_SMTP_PORT, MAIL_WEB_PORT, MAIL_DIR)
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

const smtpPort = Number(process.env.MAIL_SMTP_PORT ?? 4025);
const webPort = Number(process.env.MAIL_WEB_PORT ?? 4026);
const directory = process.env.MAIL_DIR ?? path.resolve('mail');
const messageBytesMax = 2 * 1024 * 1024;
fs.mkdirSync(directory, { recursive: true });

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The headers of a raw message (folded lines joined), enough to list it. */
function headersOf(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`) as text, for the list. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, _charset: string, encoding: string, text: string) => {
      if (encoding.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString('utf8');
      const bytes = text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_hex, code: string) => `%${code}`);
      try {
        return decodeURIComponent(bytes);
      } catch {
        return text;
      }
    });
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  size: messageBytesMax,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const to = session.envelope.rcptTo.map((address) => address.address).join(', ');
      const name = `${Date.now()}-${fs.readdirSync(directory).length + 1}.eml`;
      fs.writeFileSync(path.join(directory, name), `X-Envelope-To: ${to}\r\n${Buffer.concat(chunks).toString('utf8')}`);
      process.stdout.write(`${JSON.stringify({ service: 'mail', message: 'received', to, file: name })}\n`);
      callback();
    });
  },
});
server.listen(smtpPort, '127.0.0.1');

http
  .createServer((request, response) => {
    const files = fs
      .readdirSync(directory)
      .filter((file) => file.endsWith('.eml'))
      .sort();
    const match = /^\/messages\/([\w.-]+\.eml)$/.exec(request.url ?? '');
    const headers = { 'content-security-policy': "default-src 'none'", 'content-type': 'text/html; charset=utf-8' };
    if (match?.[1] && files.includes(match[1])) {
      const raw = fs.readFileSync(path.join(directory, match[1]), 'utf8');
      response.writeHead(200, headers).end(`<!doctype html><title>message</title><pre>${escapeHtml(raw)}</pre>`);
      return;
    }
    const rows = files
      .reverse()
      .map((file) => {
        const parsed = headersOf(fs.readFileSync(path.join(directory, file), 'utf8'));
        return `<tr><td>${escapeHtml(parsed.date ?? '')}</td><td>${escapeHtml(parsed['x-envelope-to'] ?? '')}</td><td><a href="/messages/${file}">${escapeHtml(decodeWords(parsed.subject ?? '(no subject)'))}</a></td></tr>`;
      })
      .join('');
    response
      .writeHead(200, headers)
      .end(
        `<!doctype html><meta charset="utf-8"><title>Demo mailbox</title><h1>Demo mailbox (${files.length})</h1><table><tr><th>date</th><th>to</th><th>subject</th></tr>${rows}</table>`,
      );
  })
  .listen(webPort, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ service: 'mail', message: 'listening', smtpPort, webPort, directory })}\n`);
