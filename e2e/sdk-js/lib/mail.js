// Reads the mail the SMTP sink (lib/smtp-sink.js, started by run.sh) received.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const spool = process.env.SMTP_SPOOL ?? assert.fail('SMTP_SPOOL is not set (use run.sh)');

/** The message bodies (headers and body, quoted-printable soft breaks undone) sent to `to`. */
export function mailTo(to) {
  return readdirSync(spool)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(spool, f), 'utf8')))
    .filter((m) => m.to.includes(to))
    .map((m) => m.data.replace(/=\r\n/g, '').replace(/=3D/g, '='));
}

/**
 * Waits (up to 20 s) until `count` messages whose subject matches `subject` were delivered to
 * `to`; returns the newest.
 */
export async function waitForMail(to, subject, count = 1) {
  for (let i = 0; i < 200; i++) {
    const mails = mailTo(to).filter((m) => subject.test(/^Subject: (.*)$/m.exec(m)?.[1] ?? ''));
    if (mails.length >= count) return mails[mails.length - 1];
    await sleep(100);
  }
  assert.fail(`no mail #${count} to ${to} was delivered`);
}

/** The 6-digit code in a mail. */
export function codeIn(mail) {
  const match = /\b(\d{6})\b/.exec(mail.split(/\r\n\r\n/).slice(1).join('\n'));
  assert.ok(match, `no code in mail:\n${mail}`);
  return match[1];
}

/** The first link in a mail to `path` on the public URL. */
export function linkIn(mail, path) {
  const match = new RegExp(`https?://[^\\s"<>]*${path}\\?[^\\s"<>]*`).exec(mail);
  assert.ok(match, `no ${path} link in mail:\n${mail}`);
  return match[0].replace(/&amp;/g, '&');
}
