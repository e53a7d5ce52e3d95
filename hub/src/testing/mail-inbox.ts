import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server on loopback (the `smtp-server` package) for notification tests: it accepts every
 * message (or answers as told), keeps the raw bytes, and decodes what a reader sees: headers, the
 * text and HTML parts, the links in the text. A second delivery of one Message-ID shows as a
 * duplicate in `byMessageId`.
 */
export type ReceivedMail = {
  from: string;
  to: string[];
  raw: string;
  /** Header names lower-cased, folded lines joined, encoded words decoded. */
  headers: Map<string, string>;
  subject: string;
  messageId: string;
  text: string;
  html: string;
  /** The http(s) links in the text part, in order. */
  links: string[];
};

export class TestMailInbox {
  readonly messages: ReceivedMail[] = [];
  /** An SMTP reply code to refuse a message with (e.g. 451, 550), or undefined to accept it. */
  refuse: (mail: ReceivedMail) => number | undefined = () => undefined;
  readonly #waiters: Array<() => void> = [];
  #server: SMTPServer | undefined;
  port = 0;

  async start(port = 0): Promise<this> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const mail = parseMail(Buffer.concat(chunks).toString('utf8'), session);
          const code = this.refuse(mail);
          if (code !== undefined) {
            const error = new Error(`refused by the test inbox`) as Error & { responseCode: number };
            error.responseCode = code;
            callback(error);
            return;
          }
          this.messages.push(mail);
          for (const wake of this.#waiters.splice(0)) wake();
          callback();
        });
      },
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    return this;
  }

  url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  /** Messages per Message-ID: a notification sent twice shows as 2. */
  byMessageId(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const mail of this.messages) counts.set(mail.messageId, (counts.get(mail.messageId) ?? 0) + 1);
    return counts;
  }

  /** Waits until at least `count` messages arrived (or throws after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} e-mails, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages;
  }
}

type Part = { headers: Map<string, string>; body: string };

function splitHeaders(raw: string): Part {
  const normalized = raw.replace(/\r\n/g, '\n');
  const end = normalized.indexOf('\n\n');
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? '' : normalized.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  return { headers, body };
}

/** RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`), adjacent ones joined. */
function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : quotedPrintable(text.replace(/_/g, ' ')),
    );
}

function quotedPrintable(text: string): string {
  const bytes: number[] = [];
  const source = text.replace(/=\n/g, '');
  for (let index = 0; index < source.length; index++) {
    const char = source[index]!;
    const hex = source.slice(index + 1, index + 3);
    if (char === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else bytes.push(...Buffer.from(char, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'quoted-printable') return quotedPrintable(part.body);
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return part.body;
}

/** The leaf parts of a message (multipart containers opened), with their decoded bodies. */
function leaves(part: Part): Array<{ type: string; body: string }> {
  const type = part.headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.toLowerCase().startsWith('multipart/') || !boundary) {
    return [{ type: type.split(';')[0]!.trim().toLowerCase(), body: decodeBody(part) }];
  }
  const sections = part.body.split(`--${boundary}`).slice(1);
  return sections
    .filter((section) => !section.startsWith('--'))
    .flatMap((section) => leaves(splitHeaders(section.replace(/^\n/, ''))));
}

function parseMail(raw: string, session: { envelope: { mailFrom: unknown; rcptTo: Array<{ address: string }> } }) {
  const message = splitHeaders(raw);
  const parts = leaves(message);
  const text = parts.find((part) => part.type === 'text/plain')?.body ?? '';
  const html = parts.find((part) => part.type === 'text/html')?.body ?? '';
  const from = session.envelope.mailFrom;
  return {
    from: from && typeof from === 'object' && 'address' in from ? String(from.address) : '',
    to: session.envelope.rcptTo.map((recipient) => recipient.address),
    raw,
    headers: message.headers,
    subject: message.headers.get('subject') ?? '',
    messageId: message.headers.get('message-id') ?? '',
    text,
    html,
    links: [...text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((match) => match[0]),
  };
}

/** A request an SMS provider received: the form fields and the Basic credentials. */
export type ReceivedSms = { path: string; to: string; from: string; body: string; authorization: string };

/**
 * A Twilio-style SMS API on loopback: records each `POST …/Messages.json` and answers 201 with a
 * `sid`, or as `answer` says for the n-th request (0-based).
 */
export class TestSmsProvider {
  readonly received: ReceivedSms[] = [];
  answer: (request: ReceivedSms, nth: number) => { status: number; headers?: Record<string, string> } = () => ({
    status: 201,
  });
  #server: http.Server | undefined;
  port = 0;

  async start(): Promise<this> {
    this.#server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const sms: ReceivedSms = {
          path: request.url ?? '',
          to: form.get('To') ?? '',
          from: form.get('From') ?? '',
          body: form.get('Body') ?? '',
          authorization: request.headers.authorization ?? '',
        };
        const nth = this.received.length;
        this.received.push(sms);
        const { status, headers = {} } = this.answer(sms, nth);
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(status < 300 ? { sid: `SM${nth}`, status: 'queued' } : { message: 'refused' }));
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/2010-04-01/Accounts/AC123'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}
