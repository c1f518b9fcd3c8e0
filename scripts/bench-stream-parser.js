#!/usr/bin/env node
// Throughput of the web page's MJPEG stream parser (MultipartParser in
// crates/ipcamd/web/app.js) as a proxy may deliver the stream: in chunks of 1 byte to
// 16 KiB, with Content-Length in every part (spec 4.1.2) and without (parts cut at the
// next boundary). A measurement, not a check: `node scripts/bench-stream-parser.js [app.js]`
// (another app.js, e.g. from `git show`, compares versions).
'use strict';

const fs = require('fs');
const path = require('path');

const PARTS = 30;
const JPEG_BYTES = 14000; // A 640x480 test-pattern frame is about this size.
const CHUNK_SIZES = [1, 64, 1460, 16384];
const RUNS = 5;

/** The parser and what it needs, cut out of the page's script. */
function loadParser(file) {
  const script = fs.readFileSync(file, 'utf8');
  const from = script.indexOf('/** Largest part kept');
  const to = script.indexOf('/** `yyyy-mm-dd hh:mm:ss');
  if (from < 0 || to < from) throw new Error(`no MultipartParser in ${file}`);
  return new Function(`${script.slice(from, to)}; return MultipartParser;`)();
}

/** PARTS parts laid out as spec 4.1.2 has them, optionally without Content-Length. */
function stream(withLength) {
  const jpeg = new Uint8Array(JPEG_BYTES).map((_, i) => (i * 7919) % 251);
  jpeg.set([0xff, 0xd8]);
  jpeg.set([0xff, 0xd9], JPEG_BYTES - 2);
  const encoder = new TextEncoder();
  const head = encoder.encode(
    '--video boundary--\r\n' +
      (withLength ? `Content-Length: ${JPEG_BYTES}\r\n` : '') +
      'Date: 2026-12-03 23:00:00 IO_00000000_PT_170_045\r\nContent-Type: image/jpeg\r\n\r\n',
  );
  const partBytes = head.length + JPEG_BYTES + 4;
  const bytes = new Uint8Array(PARTS * partBytes);
  for (let i = 0; i < PARTS; i++) {
    bytes.set(head, i * partBytes);
    bytes.set(jpeg, i * partBytes + head.length);
    bytes.set([13, 10, 13, 10], (i + 1) * partBytes - 4);
  }
  return bytes;
}

function measure(Parser, bytes, chunkSize) {
  let best = Infinity;
  let parts = 0;
  for (let run = 0; run < RUNS; run++) {
    parts = 0;
    const started = process.hrtime.bigint();
    const parser = new Parser('--video boundary--', () => parts++);
    for (let at = 0; at < bytes.length; at += chunkSize) {
      parser.push(bytes.subarray(at, at + chunkSize));
    }
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { parts, ms: best };
}

const file = process.argv[2] || path.join(__dirname, '../crates/ipcamd/web/app.js');
const Parser = loadParser(file);
for (const withLength of [true, false]) {
  const bytes = stream(withLength);
  for (const size of CHUNK_SIZES) {
    const { parts, ms } = measure(Parser, bytes, size);
    const rate = bytes.length / 1e6 / (ms / 1000);
    console.log(
      `${withLength ? 'Content-Length' : 'boundary only '}  chunks of ${String(size).padStart(5)} B: ` +
        `${rate.toFixed(1).padStart(7)} MB/s  (${parts} parts in ${ms.toFixed(1)} ms)`,
    );
  }
}
