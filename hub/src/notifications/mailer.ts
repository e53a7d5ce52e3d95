import { limits } from '@dovetail/shared';
import nodemailer, { type NodemailerError } from 'nodemailer';
import type { SendOutcome } from './outcome.ts';

export type OutgoingMail = {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<id@domain>`: the same on every attempt, so a receiver can tell a retry from a new message. */
  messageId: string;
  headers: Record<string, string>;
};

/** Hands e-mails to a mail server. */
export interface Mailer {
  send(mail: OutgoingMail): Promise<SendOutcome>;
  close(): void;
}

/**
 * SMTP through nodemailer, one connection per message (STARTTLS when the server offers it;
 * `smtps://` for implicit TLS). Each phase of an attempt (DNS, connect, greeting, every reply) is
 * bounded by `timeoutMs`. A 5xx reply (except 503) is a permanent refusal; a refused connection, a
 * timeout or a 4xx is worth retrying. No file or URL is ever read into a message.
 */
export function smtpMailer(url: string, from: string, timeoutMs: number): Mailer {
  const transport = nodemailer.createTransport({
    url,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    async send(mail) {
      try {
        const info = await transport.sendMail({
          from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: mail.messageId,
          headers: mail.headers,
        });
        return { ok: true, reference: String(info.response ?? '').slice(0, limits.notificationErrorLengthMax) };
      } catch (error) {
        const failure = error as NodemailerError;
        const permanent = failure.permanent === true;
        const reply = failure.responseCode ? `${failure.responseCode} ` : '';
        return {
          ok: false,
          permanent,
          error: `${reply}${failure.message}`.slice(0, limits.notificationErrorLengthMax),
        };
      }
    },
    close() {
      transport.close();
    },
  };
}
