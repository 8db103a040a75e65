// A minimal SMTP server for the suite: accepts every message (EHLO/HELO, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT) and stores it as JSON in the spool directory, so tests can read codes and links
// from mail the server really delivered. Usage: node lib/smtp-sink.js <port-file> <spool-dir>
import net from 'node:net';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

const [portFile, spool] = process.argv.slice(2);

const server = net.createServer((socket) => {
  socket.setEncoding('utf8');
  let buffer = '';
  let envelope = { from: null, to: [] };
  let data = null; // lines of the DATA section while it is being received
  const reply = (line) => socket.write(`${line}\r\n`);
  reply('220 sdk-suite-sink ESMTP');
  socket.on('data', (chunk) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      if (data) {
        if (line === '.') {
          const id = randomUUID();
          const file = join(spool, `${Date.now()}-${id}.json`);
          writeFileSync(`${file}.tmp`, JSON.stringify({ ...envelope, data: data.join('\r\n') }));
          renameSync(`${file}.tmp`, file);
          data = null;
          envelope = { from: null, to: [] };
          reply(`250 2.0.0 queued as ${id}`);
        } else {
          data.push(line.startsWith('..') ? line.slice(1) : line);
        }
        continue;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') socket.write('250-sdk-suite-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
      else if (verb === 'HELO') reply('250 sdk-suite-sink');
      else if (verb === 'MAIL') { envelope.from = /<([^>]*)>/.exec(line)?.[1] ?? ''; reply('250 2.1.0 OK'); }
      else if (verb === 'RCPT') { envelope.to.push(/<([^>]*)>/.exec(line)?.[1] ?? ''); reply('250 2.1.5 OK'); }
      else if (verb === 'DATA') { data = []; reply('354 end data with <CR><LF>.<CR><LF>'); }
      else if (verb === 'RSET') { envelope = { from: null, to: [] }; reply('250 OK'); }
      else if (verb === 'NOOP') reply('250 OK');
      else if (verb === 'QUIT') { reply('221 bye'); socket.end(); }
      else reply('502 5.5.2 command not implemented');
    }
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => writeFileSync(portFile, String(server.address().port)));
