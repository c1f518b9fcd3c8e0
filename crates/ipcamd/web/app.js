// The camera's web page: a plain client of the IPCamCGI 1.2 CGIs, nothing private.
//
// Every request goes through apiUrl(), so the page works however it was opened: on either
// HTTP port, behind a reverse proxy under a sub-path (home.example/cam1/), through TLS ended
// at the proxy, and from an address with the login in it (user:pass@camera/).
// Login is the browser's own Basic authentication: the credentials it cached for the page
// go with every request made here, or, when the address carried them, the page sends them
// itself (see addressLogin). What the user may do is found out by asking the CGIs (see
// discoverRole), and the server stays the only judge of every value: forms are not
// validated here, the server's 400 reason is shown instead.
'use strict';

const VIEWER = 0;
const OPERATOR = 1;
const ADMIN = 2;

// ---------------------------------------------------------------- where requests go

/**
 * The absolute URL of one of the camera's resources (`path` as in the spec, without its
 * leading `/`: 'mjpeg.cgi', 'image.jpg?x=1'), resolved against the page's own address and
 * without the login a user may have typed into it. Relative to the page, so a proxy's
 * sub-path and scheme carry over (no absolute `/` path, no mixed content); without
 * userinfo, because fetch() refuses a URL that has it, and a password has no business in
 * an element's attribute. Every fetch, image, stream and form of the page takes its URL
 * from here.
 */
function apiUrl(path) {
  if (/^(\/|[a-z][a-z0-9+.-]*:)/i.test(path)) {
    throw new Error(`apiUrl takes a path relative to the page, not ${path}`);
  }
  const url = new URL(path, document.baseURI);
  url.username = '';
  url.password = '';
  return url.href;
}

/**
 * The `Authorization` header for the login typed into the page's address, or null. A
 * browser that opened user:pass@camera/ logged the page in with it, but fetch() refuses a
 * URL that still carries it, and whether a browser adds it to a URL without it is up to the
 * browser: so the page sends it itself. (An <img> cannot send headers: the plain-image
 * fallback relies on the browser, which Chromium does.) Read once from the address the
 * browser already holds; never written to the DOM, to storage or to a log.
 */
const addressLogin = (() => {
  const address = new URL(document.baseURI);
  if (!address.username && !address.password) return null;
  // The URL parser percent-encodes what it must; a stray '%' stays as typed.
  const decode = (part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const login = `${decode(address.username)}:${decode(address.password)}`;
  const bytes = new TextEncoder().encode(login);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
})();

/** fetch() of one of the camera's resources, with the address's login if there was one. */
function apiFetch(path, init = {}) {
  const headers = new Headers(init.headers);
  if (addressLogin) headers.set('Authorization', addressLogin);
  return fetch(apiUrl(path), { cache: 'no-store', ...init, headers });
}

// ---------------------------------------------------------------- CGI client

/** GET a CGI; resolves to {status, text}, status 0 when the camera cannot be reached. */
async function cgiGet(path) {
  try {
    const response = await apiFetch(path);
    return { status: response.status, text: await response.text() };
  } catch (err) {
    return { status: 0, text: 'cannot reach the camera' };
  }
}

/** POST a form to a CGI; pairs is a list of [name, value]. */
async function cgiPost(path, pairs) {
  const body = pairs.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
  try {
    const response = await apiFetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    return { status: response.status, text: await response.text() };
  } catch (err) {
    return { status: 0, text: 'cannot reach the camera' };
  }
}

/** The `Name=value` lines of a CGI answer, in order (names may repeat, as in lists). */
function parseTable(text) {
  const pairs = [];
  for (const line of text.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq > 0) pairs.push([line.slice(0, eq).trim(), line.slice(eq + 1)]);
  }
  return pairs;
}

/** Groups repeated records (user list, active users) that each start with `first`. */
function records(pairs, first) {
  const out = [];
  for (const [name, value] of pairs) {
    if (name === first || out.length === 0) out.push({});
    out[out.length - 1][name] = value;
  }
  return out;
}

/** The one-line message of a failed request, as the user should read it. */
function failure(result) {
  if (result.status === 0) return 'Cannot reach the camera.';
  if (result.status === 401) return 'Not allowed for this login.';
  if (result.status === 503) return 'The camera is busy, try again.';
  const reason = result.text.trim().split(/\r?\n/)[0];
  return reason || `The camera answered ${result.status}.`;
}

/** The parameter a 400 reason names: the server starts it with `Name:`. */
function reasonField(reason) {
  const match = /^([A-Za-z0-9_]+)\s*:/.exec(reason);
  return match ? match[1] : null;
}

// ---------------------------------------------------------------- small DOM helpers

const $ = (selector, root = document) => root.querySelector(selector);

/** Creates an element with properties/attributes and children. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== 'list') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

function setStatus(node, text, kind = '') {
  node.textContent = text;
  node.dataset.kind = kind;
}

/** Asks for confirmation in the page's own dialog; resolves to true on OK. */
function confirmAction(text, okLabel) {
  const dialog = $('#confirm');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

// ---------------------------------------------------------------- live view

/** Largest part kept while waiting for the rest of it: far above any JPEG of 640x480. */
const MAX_PART_BYTES = 8 << 20;
const MAX_HEAD_BYTES = 8 << 10;
const CRLFCRLF = [13, 10, 13, 10];
/** What ends a part's head, as a list of needles for MultipartParser.search. */
const HEAD_END = [CRLFCRLF];

function indexOfBytes(buffer, needle, from, to) {
  const last = to - needle.length;
  outer: for (let i = from; i <= last; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (buffer[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * Splits a multipart/x-mixed-replace byte stream into parts. Parts are cut by their
 * Content-Length (spec 4.1.2 sends it), or at the next boundary when a part has none. How
 * the body arrives does not matter (a proxy may re-chunk it): a chunk may end anywhere, in a
 * head, a boundary or a JPEG, or hold several parts, and searches resume where the last one
 * stopped, so a stream in tiny chunks costs no more than in large ones. One buffer is reused
 * and grows only for a larger part; a part handed to onPart is a view into it, valid until
 * onPart returns.
 */
class MultipartParser {
  constructor(boundary, onPart) {
    this.buffer = new Uint8Array(256 << 10);
    this.start = 0;
    this.end = 0;
    this.headers = null;
    // Bytes after `start` already searched for the end of the head or part: a search
    // resumes there instead of rescanning what came in earlier chunks.
    this.searched = 0;
    this.onPart = onPart;
    const encoder = new TextEncoder();
    this.delimiters = boundary
      ? [encoder.encode(`\r\n--${boundary}`), encoder.encode(`\r\n${boundary}`)]
      : [];
    this.decoder = new TextDecoder();
  }

  push(chunk) {
    this.append(chunk);
    while (this.headers ? this.readBody() : this.readHeaders());
  }

  append(chunk) {
    const kept = this.end - this.start;
    if (kept + chunk.length > MAX_PART_BYTES) throw new Error('stream part too large');
    if (this.end + chunk.length > this.buffer.length) {
      if (kept + chunk.length > this.buffer.length) {
        const size = Math.max(kept + chunk.length, this.buffer.length * 2);
        const bigger = new Uint8Array(Math.min(size, MAX_PART_BYTES));
        bigger.set(this.buffer.subarray(this.start, this.end));
        this.buffer = bigger;
      } else {
        this.buffer.copyWithin(0, this.start, this.end);
      }
      this.start = 0;
      this.end = kept;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  readHeaders() {
    const buffer = this.buffer;
    while (this.start < this.end && (buffer[this.start] === 13 || buffer[this.start] === 10)) {
      this.start++;
    }
    const at = this.search(HEAD_END);
    if (at < 0) {
      if (this.end - this.start > MAX_HEAD_BYTES) throw new Error('stream part head too large');
      return false;
    }
    const headers = new Map();
    for (const line of this.decoder.decode(buffer.subarray(this.start, at)).split('\r\n')) {
      const colon = line.indexOf(':');
      if (line.startsWith('--') || colon < 0) continue;
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    this.headers = headers;
    this.start = at + 4;
    this.searched = 0;
    return true;
  }

  readBody() {
    const declared = this.headers.get('content-length');
    let bodyEnd;
    let next;
    if (declared !== undefined && /^\d+$/.test(declared)) {
      bodyEnd = this.start + Number(declared);
      if (Number(declared) > MAX_PART_BYTES) throw new Error('stream part too large');
      if (bodyEnd > this.end) return false;
      next = bodyEnd;
    } else {
      const delimiter = this.search(this.delimiters);
      if (delimiter < 0) return false;
      next = delimiter + 2;
      // Spec 4.1.2 ends a part with CRLF CRLF: neither CRLF belongs to the JPEG.
      bodyEnd = delimiter;
      const buffer = this.buffer;
      while (bodyEnd - 2 >= this.start && buffer[bodyEnd - 2] === 13 && buffer[bodyEnd - 1] === 10) {
        bodyEnd -= 2;
      }
    }
    const headers = this.headers;
    this.headers = null;
    this.onPart(headers, this.buffer.subarray(this.start, bodyEnd));
    this.start = next;
    this.searched = 0;
    return true;
  }

  /**
   * Where the first of `needles` starts after `start`, or -1. Resumes after the bytes
   * searched before, less a needle's length, as a needle may straddle two chunks.
   */
  search(needles) {
    let longest = 0;
    for (const needle of needles) longest = Math.max(longest, needle.length);
    const from = this.start + Math.max(0, this.searched - longest + 1);
    let first = -1;
    for (const needle of needles) {
      const at = indexOfBytes(this.buffer, needle, from, this.end);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    this.searched = first < 0 ? this.end - this.start : 0;
    return first;
  }
}

/** `yyyy-mm-dd hh:mm:ss IO_xxxxxxxx_PT_ppp_ttt` of a part's Date header (spec 4.1.2). */
function parsePartDate(value) {
  const match = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\s+IO_([01]{8})_PT_(\d{3})_(\d{3}))?/.exec(
    value || '',
  );
  if (!match) return null;
  return {
    time: match[1],
    io: match[2] || null,
    pan: match[3] === undefined ? null : Number(match[3]),
    tilt: match[4] === undefined ? null : Number(match[4]),
  };
}

/**
 * Shows /mjpeg.cgi in an <img>. The stream is read with fetch() so that each part's Date
 * header (time, I/O bits, pan/tilt) is visible to the page; every JPEG becomes an object URL.
 * A frame that arrives while the previous one still decodes replaces the waiting one, so a
 * slow phone shows fewer frames instead of falling behind. Browsers without readable
 * response bodies get the plain <img src=mjpeg.cgi> and a once-a-second /iocontrol.cgi poll.
 */
class LiveView {
  constructor(img, onStatus, onState) {
    this.img = img;
    this.onStatus = onStatus;
    this.onState = onState;
    this.frames = 0;
    this.abort = null;
    this.shownUrl = null;
    this.decoding = false;
    this.waiting = null;
    this.retryTimer = 0;
    this.pollTimer = 0;
    this.failures = 0;
    this.streaming = typeof ReadableStream === 'function' && 'body' in Response.prototype;
  }

  start() {
    if (this.abort || this.pollTimer) return;
    clearTimeout(this.retryTimer);
    this.onStatus('Connecting…');
    if (this.streaming) {
      this.abort = new AbortController();
      this.read(this.abort.signal);
    } else {
      this.img.src = apiUrl('mjpeg.cgi');
      this.img.onload = () => this.countFrame();
      this.pollTimer = setInterval(() => this.pollIo(), 1000);
    }
  }

  stop(reason) {
    clearTimeout(this.retryTimer);
    clearInterval(this.pollTimer);
    this.pollTimer = 0;
    if (this.abort) this.abort.abort();
    this.abort = null;
    if (!this.streaming) this.img.removeAttribute('src');
    this.onStatus(reason);
  }

  async read(signal) {
    try {
      const response = await apiFetch('mjpeg.cgi', { signal });
      if (!response.ok) throw new Error(failure({ status: response.status, text: '' }));
      const type = response.headers.get('content-type') || '';
      const boundary = /boundary="?([^";]+)"?/i.exec(type);
      const parser = new MultipartParser(boundary ? boundary[1].trim() : '', (headers, jpeg) =>
        this.part(headers, jpeg),
      );
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) throw new Error('The stream ended.');
        parser.push(value);
      }
    } catch (err) {
      if (signal.aborted) return;
      this.abort = null;
      this.retry(err.message);
    }
  }

  retry(message) {
    this.failures++;
    const seconds = Math.min(10, 2 ** Math.min(this.failures - 1, 4));
    this.onStatus(`${message} Reconnecting in ${seconds} s…`);
    this.retryTimer = setTimeout(() => this.start(), seconds * 1000);
  }

  part(headers, jpeg) {
    this.failures = 0;
    const state = parsePartDate(headers.get('date'));
    if (state) this.onState(state);
    const blob = new Blob([jpeg], { type: 'image/jpeg' });
    if (this.decoding) this.waiting = blob;
    else this.show(blob);
  }

  show(blob) {
    this.decoding = true;
    const url = URL.createObjectURL(blob);
    this.img.src = url;
    this.img
      .decode()
      .then(() => this.countFrame())
      .catch(() => {})
      .finally(() => {
        if (this.shownUrl) URL.revokeObjectURL(this.shownUrl);
        this.shownUrl = url;
        this.decoding = false;
        const next = this.waiting;
        this.waiting = null;
        if (next && this.abort) this.show(next);
      });
  }

  countFrame() {
    this.frames++;
    this.img.dataset.frames = String(this.frames);
    if (this.frames === 1 || this.img.dataset.status) this.onStatus('');
  }

  async pollIo() {
    const values = await readIoStatus();
    if (!values) return;
    const bit = (name) => (values.get(name) === '1' ? '1' : '0');
    this.onState({
      time: values.get('CurrentTime') || '',
      io: `${bit('Trigger1')}${bit('Trigger2')}${bit('ImageUpload')}${bit('ImageEmail')}0000`,
      pan: null,
      tilt: null,
    });
  }
}

/** The one line of GET /iocontrol.cgi as a Map (Trigger1 … CurrentTime), or null. */
async function readIoStatus() {
  const result = await cgiGet('iocontrol.cgi');
  if (result.status !== 200) return null;
  return new Map(
    result.text
      .trim()
      .split('&')
      .map((pair) => pair.split('=')),
  );
}

/**
 * The camera's own clock (its time zone, and its manually set or synchronised time), read
 * from /iocontrol.cgi once a second while the line is on screen.
 */
function cameraClock() {
  const value = el('output', { id: 'camera-clock' }, '…');
  const line = el('p', { class: 'camera-clock' }, 'Camera time: ', value);
  const tick = async () => {
    if (!line.isConnected) {
      clearInterval(timer);
      return;
    }
    const values = await readIoStatus();
    if (values && values.get('CurrentTime')) value.textContent = values.get('CurrentTime');
  };
  const timer = setInterval(tick, 1000);
  queueMicrotask(tick);
  return line;
}

// ---------------------------------------------------------------- camera state and controls

const camera = { role: VIEWER, io: '00000000', pan: null, tilt: null };

function showCameraState(state) {
  $('#stamp').textContent = state.time;
  if (state.io) {
    camera.io = state.io;
    for (const button of document.querySelectorAll('#io button')) {
      const on = state.io[Number(button.dataset.bit)] === '1';
      button.setAttribute('aria-pressed', String(on));
    }
  }
  if (state.pan !== null) {
    camera.pan = state.pan;
    camera.tilt = state.tilt;
    $('#position').textContent = `Pan ${state.pan}° · Tilt ${state.tilt}°`;
    $('#position').dataset.pan = String(state.pan);
    $('#position').dataset.tilt = String(state.tilt);
    placeMarker($('#map-head'), state.pan, state.tilt);
  }
}

const PAN_MAX = 340;
const TILT_MAX = 135;

/** Puts a marker on the map; tilt grows upwards, so it is drawn from the bottom. */
function placeMarker(marker, pan, tilt) {
  marker.style.left = `${(pan / PAN_MAX) * 100}%`;
  marker.style.top = `${(1 - tilt / TILT_MAX) * 100}%`;
  marker.hidden = false;
}

async function panTilt(pairs) {
  const status = $('#pad-status');
  setStatus(status, '');
  const result = await cgiPost('pantiltcontrol.cgi', pairs);
  if (result.status >= 300 || result.status === 0) setStatus(status, failure(result), 'error');
  return result;
}

function setUpPad() {
  for (const [range, output] of [
    ['#pan-degree', '#pan-degree-out'],
    ['#tilt-degree', '#tilt-degree-out'],
  ]) {
    $(range).addEventListener('input', () => ($(output).textContent = $(range).value));
  }
  for (const button of document.querySelectorAll('[data-move]')) {
    button.addEventListener('click', () =>
      panTilt([
        ['PanSingleMoveDegree', $('#pan-degree').value],
        ['TiltSingleMoveDegree', $('#tilt-degree').value],
        ['PanTiltSingleMove', button.dataset.move],
      ]),
    );
  }
  $('#map').addEventListener('click', (event) => {
    const box = event.currentTarget.getBoundingClientRect();
    const x = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
    const y = Math.min(Math.max((event.clientY - box.top) / box.height, 0), 1);
    const pan = Math.round(x * PAN_MAX);
    const tilt = Math.round((1 - y) * TILT_MAX);
    const target = $('#map-target');
    placeMarker(target, pan, tilt);
    target.dataset.pan = String(pan);
    target.dataset.tilt = String(tilt);
    panTilt([
      ['PanTiltHorizontal', String(pan)],
      ['PanTiltVertical', String(tilt)],
      ['PanTiltPositionMove', 'true'],
    ]);
  });
  setUpPresets();
  for (const button of document.querySelectorAll('[data-swing]')) {
    button.addEventListener('click', () =>
      panTilt([['PanTiltSwingMode', button.dataset.swing]]),
    );
  }
}

function setUpPresets() {
  const select = $('#preset');
  select.append(el('option', { value: '0' }, 'Home'));
  for (let n = 1; n <= 24; n++) select.append(el('option', { value: String(n) }, `Preset ${n}`));
  const homeSelected = () => {
    const home = select.value === '0';
    $('#preset-set').disabled = home;
    $('#preset-clear').disabled = home;
    $('#preset-name').disabled = home;
  };
  select.addEventListener('change', homeSelected);
  homeSelected();
  $('#preset-go').addEventListener('click', () =>
    panTilt([['PanTiltPresetPositionMove', select.value]]),
  );
  $('#preset-set').addEventListener('click', () => {
    if (camera.pan === null) {
      setStatus($('#pad-status'), 'The position is not known yet.', 'error');
      return;
    }
    const pairs = [
      ['PanTiltHorizontal', String(camera.pan)],
      ['PanTiltVertical', String(camera.tilt)],
      ['SetPosition', select.value],
    ];
    const name = $('#preset-name').value.trim();
    if (name) pairs.push(['SetName', name]);
    panTilt(pairs).then((result) => {
      if (result.status < 300 && result.status) {
        setStatus($('#pad-status'), `Preset ${select.value} saved.`, 'ok');
      }
    });
  });
  $('#preset-clear').addEventListener('click', () =>
    panTilt([['ClearPosition', select.value]]).then((result) => {
      if (result.status < 300 && result.status) {
        setStatus($('#pad-status'), `Preset ${select.value} cleared.`, 'ok');
      }
    }),
  );
}

function setUpIo() {
  for (const button of document.querySelectorAll('#io button')) {
    button.disabled = camera.role < Number(button.dataset.minRole);
    button.addEventListener('click', async () => {
      const on = camera.io[Number(button.dataset.bit)] === '1';
      const result = await cgiPost('iocontrol.cgi', [[button.dataset.io, on ? '0' : '1']]);
      if (result.status >= 300 || result.status === 0) {
        setStatus($('#pad-status'), failure(result), 'error');
      }
    });
  }
}

async function snapshot() {
  const response = await apiFetch('image.jpg').catch(() => null);
  if (!response || !response.ok) {
    $('#stream-state').textContent = 'Snapshot failed.';
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const stamp = ($('#stamp').textContent || new Date().toISOString()).replace(/[^0-9]/g, '');
  const link = el('a', { href: url, download: `snapshot-${stamp}.jpg` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// ---------------------------------------------------------------- settings: field schema

const opts = (...pairs) => pairs.map((p) => (Array.isArray(p) ? p : [String(p), String(p)]));
const text = (name, label, max) => ({ name, label, type: 'text', max });
const secret = (name, label, max) => ({ name, label, type: 'password', max });
const number = (name, label, min, max) => ({ name, label, type: 'number', min, max });
const choice = (name, label, options) => ({ name, label, type: 'select', options });
const check = (name, label, on = '1', off = '0') => ({ name, label, type: 'check', on, off });
const bits = (name, label, names) => ({ name, label, type: 'bits', names });
const time = (name, label) => ({ name, label, type: 'time' });
const when = (field, condition) => ({ ...field, when: condition });
const heading = (title) => ({ heading: title });

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const FILE_MODES = opts(['0', 'Overwrite'], ['1', 'Date and time'], ['2', 'Sequence number']);

/** Table 1 of the appendix, TimeZoneIndex 1..84. */
const TIME_ZONES = [
  '(GMT-12:00) International Date Line West', '(GMT-11:00) Midway Island, Samoa',
  '(GMT-10:00) Hawaii', '(GMT-09:00) Alaska', '(GMT-08:00) Pacific Time (US & Canada)',
  '(GMT-08:00) Tijuana, Baja California', '(GMT-07:00) Arizona',
  '(GMT-07:00) Chihuahua, La Paz, Mazatlan', '(GMT-07:00) Mountain Time (US & Canada)',
  '(GMT-06:00) Central America', '(GMT-06:00) Central Time (US & Canada)',
  '(GMT-06:00) Guadalajara, Mexico City, Monterrey', '(GMT-06:00) Saskatchewan',
  '(GMT-05:00) Bogota, Lima, Quito, Rio Branco', '(GMT-05:00) Eastern Time (US & Canada)',
  '(GMT-05:00) Indiana (East)', '(GMT-04:30) Caracas', '(GMT-04:00) Atlantic Time (Canada)',
  '(GMT-04:00) La Paz', '(GMT-04:00) Manaus', '(GMT-04:00) Santiago',
  '(GMT-03:30) Newfoundland', '(GMT-03:00) Brasilia', '(GMT-03:00) Buenos Aires, Georgetown',
  '(GMT-03:00) Greenland', '(GMT-03:00) Montevideo', '(GMT-02:00) Mid-Atlantic',
  '(GMT-01:00) Azores', '(GMT-01:00) Cape Verde Is.', '(GMT) Casablanca, Monrovia, Reykjavik',
  '(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London',
  '(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna',
  '(GMT+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague',
  '(GMT+01:00) Brussels, Copenhagen, Madrid, Paris',
  '(GMT+01:00) Sarajevo, Skopje, Warsaw, Zagreb', '(GMT+01:00) West Central Africa',
  '(GMT+02:00) Amman', '(GMT+02:00) Athens, Bucharest, Istanbul', '(GMT+02:00) Beirut',
  '(GMT+02:00) Cairo', '(GMT+02:00) Harare, Pretoria',
  '(GMT+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius', '(GMT+02:00) Jerusalem',
  '(GMT+02:00) Minsk', '(GMT+02:00) Windhoek', '(GMT+03:00) Baghdad',
  '(GMT+03:00) Kuwait, Riyadh', '(GMT+03:00) Moscow, St. Petersburg, Volgograd',
  '(GMT+03:00) Nairobi', '(GMT+03:00) Tbilisi', '(GMT+03:30) Tehran',
  '(GMT+04:00) Abu Dhabi, Muscat', '(GMT+04:00) Baku', '(GMT+04:00) Yerevan',
  '(GMT+04:30) Kabul', '(GMT+05:00) Ekaterinburg', '(GMT+05:00) Islamabad, Karachi, Tashkent',
  '(GMT+05:30) Chennai, Kolkata, Mumbai, New Delhi', '(GMT+05:30) Sri Jayawardenepura',
  '(GMT+05:45) Kathmandu', '(GMT+06:00) Almaty, Novosibirsk', '(GMT+06:00) Astana, Dhaka',
  '(GMT+06:30) Yangon (Rangoon)', '(GMT+07:00) Bangkok, Hanoi, Jakarta',
  '(GMT+07:00) Krasnoyarsk', '(GMT+08:00) Beijing, Chongqing, Hong Kong, Urumqi',
  '(GMT+08:00) Irkutsk, Ulaan Bataar', '(GMT+08:00) Kuala Lumpur, Singapore',
  '(GMT+08:00) Perth', '(GMT+08:00) Taipei', '(GMT+09:00) Osaka, Sapporo, Tokyo',
  '(GMT+09:00) Seoul', '(GMT+09:00) Yakutsk', '(GMT+09:30) Adelaide', '(GMT+09:30) Darwin',
  '(GMT+10:00) Brisbane', '(GMT+10:00) Canberra, Melbourne, Sydney',
  '(GMT+10:00) Guam, Port Moresby', '(GMT+10:00) Hobart', '(GMT+10:00) Vladivostok',
  '(GMT+11:00) Magadan, Solomon Is., New Caledonia', '(GMT+12:00) Auckland, Wellington',
  '(GMT+12:00) Fiji, Kamchatka, Marshall Is.', "(GMT+13:00) Nuku'alofa",
];

const TIME_ZONE_OPTIONS = [['0', 'Fixed offset (time zone below)']].concat(
  TIME_ZONES.map((label, i) => [String(i + 1), label]),
);

const HOUR_OFFSETS = Array.from({ length: 26 }, (_, i) => {
  const hours = i - 12;
  const value = hours > 0 ? `+${hours}` : String(hours);
  return [value, `GMT${hours === 0 ? '' : value}`];
});

/** Table 2 of the appendix. */
const DDNS_PROVIDERS = opts(
  'www.dlinkddns.com', 'WWW.ORAY.NET', 'corede.net', 'www.DynDNS.org(Custom)',
  'www.DynDNS.org(Free)', 'DynDNS.org(Custom)', 'DynDNS.org(Free)', 'DynDNS', 'Cn99', 'DyNS',
  'TZO.com', 'dhs.org', 'Ivy Network', '@Net DDNS', 'Sharella', '51Wireless',
  'PLANEX CyberGate', 'Address.net',
);

const RATES = opts(
  'Fully Automatic', '1 Mb', '2 Mb', '5.5 Mb', '11 Mb', '6 Mb', '9 Mb', '12 Mb', '18 Mb',
  '24 Mb', '36 Mb', '48 Mb', '54 Mb',
);

const WEP = { WEPEncryption: ['2', '3'] };

/**
 * One settings page per configuration CGI of chapter 3, in the spec's order. `info` is the
 * read-only query CGI shown above the form; `clock` shows the camera's running clock; `when` shows a field only for some values of
 * others. Fields a camera does not return are hidden; names it returns that are not listed
 * here are shown as plain text fields, so extensions need no change of the page.
 */
const PAGES = [
  {
    id: 'system', title: 'System', path: 'system.cgi', info: 'isystem.cgi',
    fields: [
      text('CameraName', 'Camera name', 32),
      text('Location', 'Location', 64),
      heading('Administrator'),
      text('AdminID', 'User name', 12),
      secret('AdminPassword', 'Password', 8),
      choice('LEDControl', 'LED', opts(['0', 'Normal'], ['1', 'Off'], ['2', 'Dummy'])),
    ],
    note: 'Changing the administrator login makes the browser ask for the new one.',
  },
  {
    id: 'datetime', title: 'Date and time', path: 'datetime.cgi', clock: true,
    fields: [
      choice('DateTimeMode', 'Clock', opts(['0', 'Synchronise with a time server'], ['1', 'Set manually'])),
      when(text('TimeServerIPAddress', 'Time server', 64), { DateTimeMode: ['0'] }),
      when(choice('TimeServerProtocol', 'Protocol', opts(['0', 'NTP'], ['1', 'Time (RFC 868)'])), { DateTimeMode: ['0'] }),
      choice('TimeZoneIndex', 'Time zone', TIME_ZONE_OPTIONS),
      when(choice('TimeZone', 'Offset', HOUR_OFFSETS), { TimeZoneIndex: ['0'] }),
      when({ name: 'Date', label: 'Date', type: 'date' }, { DateTimeMode: ['1'] }),
      when({ ...time('Time', 'Time'), action: ['Use this device’s clock', useDeviceClock] }, { DateTimeMode: ['1'] }),
    ],
  },
  {
    id: 'users', title: 'Users', path: 'user.cgi', render: renderUsers,
    fields: [check('AccessControlEnable', 'Viewers must log in', '0', '1')],
  },
  {
    id: 'image', title: 'Image', path: 'image.cgi', info: 'iimage.cgi',
    fields: [
      choice('VideoResolution', 'Resolution', opts(['0', '160 × 120'], ['1', '320 × 240'], ['2', '640 × 480'])),
      choice('CompressionRate', 'Compression', opts(['0', 'Very low'], ['1', 'Low'], ['2', 'Medium'], ['3', 'High'], ['4', 'Very high'])),
      choice('FrameRate', 'Frame rate', opts(['0', 'Auto'], ['1', '1 fps'], ['5', '5 fps'], ['7', '7 fps'], ['15', '15 fps'], ['20', '20 fps'])),
      { name: 'BrightnessControl', label: 'Brightness', type: 'range', min: 1, max: 128 },
      { name: 'ContrastControl', label: 'Contrast', type: 'range', min: 1, max: 128 },
      { name: 'SaturationControl', label: 'Saturation', type: 'range', min: 1, max: 128 },
      choice('LightFrequency', 'Mains frequency', opts(['0', '50 Hz'], ['1', '60 Hz'])),
      bits('Mirror', 'Mirror', ['Horizontal', 'Vertical']),
      check('AntiFlickerEnable', 'Anti-flicker'),
    ],
  },
  {
    id: 'network', title: 'Network', path: 'network.cgi', info: 'inetwork.cgi',
    fields: [
      choice('IPAddressMode', 'Address', opts(['4', 'DHCP'], ['1', 'Fixed IP address'], ['5', 'PPPoE'])),
      when(text('IPAddress', 'IP address', 15), { IPAddressMode: ['1'] }),
      when(text('SubnetMask', 'Subnet mask', 15), { IPAddressMode: ['1'] }),
      when(text('DefaultGateway', 'Default gateway', 15), { IPAddressMode: ['1'] }),
      when(text('DNSIPAddress1', 'Primary DNS', 15), { IPAddressMode: ['1'] }),
      when(text('DNSIPAddress2', 'Secondary DNS', 15), { IPAddressMode: ['1'] }),
      when(text('PPPoEUserID', 'PPPoE user', 64), { IPAddressMode: ['5'] }),
      when(secret('PPPoEPASSWORD', 'PPPoE password', 32), { IPAddressMode: ['5'] }),
      heading('Dynamic DNS'),
      check('DDNSEnable', 'Enabled'),
      when(choice('DDNSProvider', 'Provider', DDNS_PROVIDERS), { DDNSEnable: ['1'] }),
      when(text('DDNSHostName', 'Host name', 64), { DDNSEnable: ['1'] }),
      when(text('DDNSUserName', 'User name', 64), { DDNSEnable: ['1'] }),
      when(secret('DDNSPassword', 'Password', 32), { DDNSEnable: ['1'] }),
      heading('Ports'),
      check('SecondHTTPPortEnable', 'Second HTTP port', '3', '0'),
      when(number('SecondHTTPPort', 'Port', 1, 65535), { SecondHTTPPortEnable: ['3'] }),
      check('UPnPEnable', 'UPnP'),
    ],
  },
  {
    id: 'wireless', title: 'Wireless', path: 'wireless.cgi', info: 'iwireless.cgi',
    fields: [
      choice('ConnectionMode', 'Mode', opts(['0', 'Infrastructure'], ['1', 'Ad-hoc'])),
      text('SSID', 'SSID', 32),
      choice('WirelessChannel', 'Channel', opts(...Array.from({ length: 14 }, (_, i) => i + 1))),
      choice('TransmissionRate', 'Rate', RATES),
      choice('WEPEncryption', 'Security', opts(['0', 'None'], ['2', 'WEP 64 bits'], ['3', 'WEP 128 bits'], ['4', 'WPA-PSK / WPA2-PSK'])),
      when(choice('AuthenticationType', 'Authentication', opts(['0', 'Open system'], ['1', 'Shared key'], ['2', 'Both'])), WEP),
      when(choice('WEPKeyFormat', 'Key format', opts(['0', 'ASCII'], ['1', 'HEX'])), WEP),
      when(secret('Key1', 'Key 1', 26), WEP),
      when(secret('Key2', 'Key 2', 26), WEP),
      when(secret('Key3', 'Key 3', 26), WEP),
      when(secret('Key4', 'Key 4', 26), WEP),
      when(choice('TxKey', 'Key in use', opts('Key 1', 'Key 2', 'Key 3', 'Key 4')), WEP),
      when(secret('PreSharedKey', 'Pre-shared key', 64), { WEPEncryption: ['4'] }),
      number('BeaconInterval', 'Beacon interval', 1, 65535),
      choice('Preamble', 'Preamble', opts(['0', 'Long'], ['1', 'Short'])),
    ],
  },
  {
    id: 'ftp', title: 'FTP', path: 'upload.cgi',
    fields: [
      text('FTPHostAddress', 'Server', 64),
      number('FTPPortNumber', 'Port', 1, 65535),
      text('FTPUserName', 'User name', 32),
      secret('FTPPassword', 'Password', 32),
      text('FTPDirectoryPath', 'Directory', 64),
      check('FTPPassiveMode', 'Passive mode'),
      heading('Scheduled upload'),
      check('FTPScheduleEnable', 'Enabled'),
      ...scheduled('FTPSchedule', [
        choice('FTPScheduleVideoFrequencyMode', 'Pace', opts(['0', 'Frames per second'], ['1', 'Seconds per frame'])),
        when(choice('FTPScheduleFramePerSecond', 'Frames per second', opts('1', '2', '3', 'Auto')), { FTPScheduleVideoFrequencyMode: ['0'] }),
        when(number('FTPScheduleSecondPerFrame', 'Seconds per frame', 1, 65535), { FTPScheduleVideoFrequencyMode: ['1'] }),
        text('FTPScheduleBaseFileName', 'Base file name', 32),
        choice('FTPScheduleFileMode', 'File names', FILE_MODES),
        when(number('FTPScheduleMaxFileSequenceNumber', 'Highest sequence number', 1, 65535), { FTPScheduleFileMode: ['2'] }),
      ]),
      heading('Manual upload'),
      check('FTPManualEnable', 'Enabled'),
      when(text('FTPManualBaseFileName', 'Base file name', 32), { FTPManualEnable: ['1'] }),
      when(choice('FTPManualFileMode', 'File names', FILE_MODES), { FTPManualEnable: ['1'] }),
      when(number('FTPManualMaxFileSequenceNumber', 'Highest sequence number', 1, 65535), { FTPManualEnable: ['1'], FTPManualFileMode: ['2'] }),
    ],
  },
  {
    id: 'email', title: 'E-mail', path: 'email.cgi',
    fields: [
      text('EmailSMTPServerAddress', 'SMTP server', 64),
      number('EmailSMTPPortNumber', 'SMTP port', 1, 65535),
      text('EmailSenderAddress', 'Sender', 64),
      text('EmailReceiverAddress', 'Receiver', 64),
      text('EmailUserName', 'User name', 64),
      secret('EmailPassword', 'Password', 32),
      heading('Scheduled e-mail'),
      check('EmailScheduleEnable', 'Enabled'),
      ...scheduled('EmailSchedule', [
        number('EmailScheduleInterval', 'Interval (seconds)', 1, 65535),
      ]),
      heading('Manual e-mail'),
      check('EmailManualEnable', 'Enabled'),
      when(number('EmailManualInterval', 'Interval (seconds)', 1, 65535), { EmailManualEnable: ['1'] }),
    ],
  },
  // Extension: motion detection and events (web/motion.js).
  { id: 'motion', title: 'Motion', render: (page, root) => renderMotion(page, root) },
  { id: 'viewers', title: 'Viewers', render: renderViewers },
  { id: 'maintenance', title: 'Maintenance', render: renderMaintenance },
];

/** The schedule fields FTP and e-mail share, shown while the schedule is enabled. */
function scheduled(prefix, rest) {
  const enabled = { [`${prefix}Enable`]: ['1'] };
  const timed = { ...enabled, [`${prefix}Mode`]: ['1'] };
  return [
    when(choice(`${prefix}Mode`, 'When', opts(['0', 'Always'], ['1', 'On a schedule'])), enabled),
    when(bits(`${prefix}Day`, 'Days', DAYS), timed),
    when(time(`${prefix}TimeStart`, 'From'), timed),
    when(time(`${prefix}TimeStop`, 'Until'), timed),
    ...rest.map((field) => ({ ...field, when: { ...enabled, ...(field.when || {}) } })),
  ];
}

function useDeviceClock(form) {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  form.elements.Date.value = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  form.elements.Time.value = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
}

// ---------------------------------------------------------------- settings: forms

/** Builds the control of one field; each answers get() and set(value) in CGI spelling. */
function control(field) {
  const id = `f-${field.name}`;
  switch (field.type) {
    case 'select': {
      const select = el('select', { id, name: field.name },
        field.options.map(([value, label]) => el('option', { value }, label)));
      return {
        node: select,
        get: () => select.value,
        set: (value) => {
          const match = [...select.options].find((o) => o.value === value || Number(o.value) === Number(value) && value.trim() !== '');
          if (!match) select.append(el('option', { value }, value));
          select.value = match ? match.value : value;
        },
      };
    }
    case 'check': {
      const box = el('input', { id, name: field.name, type: 'checkbox' });
      return { node: box, get: () => (box.checked ? field.on : field.off), set: (v) => (box.checked = v === field.on) };
    }
    case 'bits': {
      const boxes = field.names.map((label, bit) => el('input', { type: 'checkbox', value: String(bit), 'aria-label': label }));
      const node = el('span', { id, class: 'bits', role: 'group', 'aria-label': field.label },
        boxes.map((box, i) => el('label', {}, box, field.names[i])));
      return {
        node,
        get: () => String(boxes.reduce((sum, box, bit) => sum + (box.checked ? 1 << bit : 0), 0)),
        set: (value) => boxes.forEach((box, bit) => (box.checked = (Number(value) >> bit) & 1)),
      };
    }
    case 'range': {
      const input = el('input', { id, name: field.name, type: 'range', min: field.min, max: field.max });
      const output = el('output', { for: id });
      input.addEventListener('input', () => (output.textContent = input.value));
      return {
        node: el('span', { class: 'range' }, input, output),
        get: () => input.value,
        set: (value) => { input.value = value; output.textContent = value; },
      };
    }
    default: {
      const types = { password: 'password', number: 'number', time: 'time', date: 'date' };
      const input = el('input', {
        id, name: field.name, type: types[field.type] || 'text', maxLength: field.max,
        min: field.min, max: field.type === 'number' ? field.max : undefined,
        step: field.type === 'time' ? 1 : undefined,
        autocomplete: field.type === 'password' ? 'new-password' : 'off',
        inputMode: field.type === 'number' ? 'numeric' : undefined,
      });
      if (field.type === 'number') input.removeAttribute('maxlength');
      // A time input drops ":00" seconds; the CGI wants hh:mm:ss.
      const get = field.type === 'time'
        ? () => (input.value.length === 5 ? `${input.value}:00` : input.value)
        : () => input.value;
      return { node: input, get, set: (value) => (input.value = value) };
    }
  }
}

/** A settings form bound to one CGI: load with GET, save what changed with POST. */
class SettingsForm {
  constructor(page) {
    this.page = page;
    this.loaded = new Map();
    this.controls = new Map();
    this.form = el('form', { class: 'settings-form', novalidate: true, dataset: { cgi: page.path } });
    this.fieldsNode = el('div', { class: 'fields' });
    this.status = el('p', { class: 'status', role: 'status' });
    for (const field of page.fields) this.fieldsNode.append(this.row(field));
    const note = page.note ? [el('p', { class: 'note' }, page.note)] : [];
    this.form.append(
      this.fieldsNode,
      ...note,
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'primary' }, 'Save'),
        el('button', { type: 'button', onclick: () => this.load() }, 'Reload')),
      this.status,
    );
    this.form.addEventListener('submit', (event) => { event.preventDefault(); this.save(); });
    this.form.addEventListener('input', () => this.applyConditions());
    this.form.addEventListener('change', () => this.applyConditions());
  }

  row(field) {
    if (field.heading) return el('h3', {}, field.heading);
    const ctl = control(field);
    this.controls.set(field.name, { field, ...ctl });
    const action = field.action
      ? el('button', { type: 'button', class: 'small', onclick: () => { field.action[1](this.form); this.applyConditions(); } }, field.action[0])
      : null;
    const labelTag = field.type === 'bits' ? 'span' : 'label';
    const dataset = { field: field.name, ...(field.extra ? { extra: 'true' } : {}) };
    return el('div', { class: 'field', dataset, hidden: true },
      el(labelTag, { class: 'label', for: field.type === 'bits' ? undefined : `f-${field.name}` }, field.label),
      el('span', { class: 'control' }, ctl.node, action),
      el('p', { class: 'error', id: `e-${field.name}`, role: 'alert' }));
  }

  async load() {
    this.clearErrors();
    setStatus(this.status, 'Loading…');
    const result = await cgiGet(this.page.path);
    if (result.status !== 200) {
      setStatus(this.status, failure(result), 'error');
      return false;
    }
    this.fill(parseTable(result.text));
    setStatus(this.status, '');
    return true;
  }

  fill(pairs) {
    this.loaded = new Map(pairs);
    for (const [name, value] of pairs) {
      if (!this.controls.has(name)) this.fieldsNode.append(this.row({ ...text(name, name), extra: true }));
      this.controls.get(name).set(value);
    }
    this.applyConditions();
  }

  value(name) {
    const ctl = this.controls.get(name);
    return ctl && this.loaded.has(name) ? ctl.get() : this.loaded.get(name);
  }

  applyConditions() {
    for (const [name, ctl] of this.controls) {
      const conditions = Object.entries(ctl.field.when || {});
      const shown = this.loaded.has(name) && conditions.every(([other, values]) => values.includes(this.value(other)));
      const row = this.form.querySelector(`[data-field="${name}"]`);
      row.hidden = !shown;
      row.dataset.missing = String(!this.loaded.has(name));
    }
  }

  changes() {
    const pairs = [];
    for (const [name, ctl] of this.controls) {
      const row = this.form.querySelector(`[data-field="${name}"]`);
      if (!this.loaded.has(name) || row.hidden) continue;
      const value = ctl.get();
      if (value !== this.loaded.get(name)) pairs.push([name, value]);
    }
    return pairs;
  }

  async save() {
    this.clearErrors();
    const pairs = this.changes();
    if (pairs.length === 0) {
      setStatus(this.status, 'Nothing changed.');
      return;
    }
    setStatus(this.status, 'Saving…');
    const result = await cgiPost(this.page.path, pairs);
    if (result.status === 200 || result.status === 204) {
      if (result.status === 200) this.fill(parseTable(result.text));
      else await this.load();
      setStatus(this.status, 'Saved.', 'ok');
      if (this.page.id === 'system') showCameraName(this.loaded.get('CameraName'));
      return;
    }
    this.showError(result);
  }

  showError(result) {
    const message = failure(result);
    const name = result.status === 400 ? reasonField(message) : null;
    const error = name && this.form.querySelector(`#e-${CSS.escape(name)}`);
    if (error && !error.closest('.field').hidden) {
      error.textContent = message;
      const ctl = this.controls.get(name);
      ctl.node.setAttribute('aria-invalid', 'true');
      (ctl.node.querySelector?.('input') || ctl.node).focus();
      setStatus(this.status, 'Not saved: see the field marked.', 'error');
    } else {
      setStatus(this.status, `Not saved: ${message}`, 'error');
    }
  }

  clearErrors() {
    for (const error of this.form.querySelectorAll('.error')) error.textContent = '';
    for (const node of this.form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  }
}

/** A read-only information CGI as a definition list. */
async function infoList(path) {
  const list = el('dl', { class: 'info', dataset: { cgi: path } });
  const result = await cgiGet(path);
  if (result.status !== 200) {
    list.append(el('dt', {}, 'Status'), el('dd', {}, failure(result)));
    return list;
  }
  for (const [name, value] of parseTable(result.text)) {
    list.append(el('dt', {}, name), el('dd', {}, value));
  }
  return list;
}

// ---------------------------------------------------------------- settings: special pages

async function renderUsers(page, root) {
  const access = new SettingsForm(page);
  const status = el('p', { class: 'status', role: 'status' });
  const list = el('table', { class: 'list', id: 'users' });
  const show = (text) => {
    const users = records(parseTable(text), 'UserName').filter((u) => u.UserName !== undefined);
    list.replaceChildren(
      el('thead', {}, el('tr', {}, el('th', {}, 'User'), el('th', {}, 'May'), el('th', {}, ''))),
      el('tbody', {}, users.length === 0
        ? el('tr', {}, el('td', { colSpan: 3 }, 'No users yet.'))
        : users.map((user) => el('tr', { dataset: { user: user.UserName } },
          el('td', {}, user.UserName),
          el('td', {}, user.UserPrivilege === '1' ? 'view, pan/tilt, upload/e-mail' : 'view'),
          el('td', {}, el('button', { type: 'button', class: 'small danger', onclick: () => remove(user.UserName) }, 'Delete'))))),
    );
  };
  const answer = async (result, done) => {
    if (result.status === 200) {
      show(result.text);
      setStatus(status, done, 'ok');
      return true;
    }
    setStatus(status, failure(result), 'error');
    return false;
  };
  const remove = async (name) => {
    if (!(await confirmAction(`Delete the user “${name}”?`, 'Delete'))) return;
    await answer(await cgiPost('userlist.cgi', [['UserName', name], ['UserDelete', 'Yes']]), `Deleted ${name}.`);
  };
  const add = el('form', { class: 'settings-form add-user', novalidate: true, dataset: { cgi: 'userlist.cgi' } },
    el('h3', {}, 'Add a user'),
    el('div', { class: 'fields' },
      el('div', { class: 'field' }, el('label', { class: 'label', for: 'new-user' }, 'User name'),
        el('span', { class: 'control' }, el('input', { id: 'new-user', name: 'UserName', maxLength: 12, autocomplete: 'off' }))),
      el('div', { class: 'field' }, el('label', { class: 'label', for: 'new-password' }, 'Password'),
        el('span', { class: 'control' }, el('input', { id: 'new-password', name: 'UserPassword', type: 'password', maxLength: 8, autocomplete: 'new-password' }))),
      el('div', { class: 'field' }, el('label', { class: 'label', for: 'new-privilege' }, 'May'),
        el('span', { class: 'control' }, el('select', { id: 'new-privilege', name: 'UserPrivilege' },
          el('option', { value: '0' }, 'view only'), el('option', { value: '1' }, 'view, pan/tilt, upload/e-mail'))))),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, 'Add')));
  add.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = add.elements;
    const pairs = [['UserName', form.UserName.value], ['UserPassword', form.UserPassword.value],
      ['UserPrivilege', form.UserPrivilege.value], ['UserAdd', 'Yes']];
    if (await answer(await cgiPost('userlist.cgi', pairs), `Added ${form.UserName.value}.`)) add.reset();
  });
  root.append(access.form, el('h3', {}, 'Users'), list, status, add);
  await Promise.all([access.load(), cgiGet('userlist.cgi').then((r) => answer(r, ''))]);
}

async function renderViewers(page, root) {
  const table = el('table', { class: 'list', id: 'viewers' });
  const status = el('p', { class: 'status', role: 'status' });
  root.append(el('p', { class: 'note' }, 'Who is watching the video now (refreshed every 5 s).'), table, status);
  const refresh = async () => {
    const result = await cgiGet('activeuser.cgi');
    if (result.status !== 200) {
      setStatus(status, failure(result), 'error');
      return;
    }
    setStatus(status, '');
    const viewers = records(parseTable(result.text), 'UserIPAddress').filter((v) => v.UserIPAddress !== undefined);
    table.replaceChildren(
      el('thead', {}, el('tr', {}, ['Address', 'User', 'Since', 'ms/frame'].map((h) => el('th', {}, h)))),
      el('tbody', {}, viewers.length === 0
        ? el('tr', {}, el('td', { colSpan: 4 }, 'Nobody is watching.'))
        : viewers.map((v) => el('tr', {}, [v.UserIPAddress, v.UserName, v.AccessDateTime, v.MinisecondPerPacket].map((c) => el('td', {}, c || ''))))),
    );
  };
  await refresh();
  const timer = setInterval(() => (root.isConnected ? refresh() : clearInterval(timer)), 5000);
}

async function renderMaintenance(page, root) {
  const status = el('p', { class: 'status', role: 'status', id: 'maintenance-status' });
  const reset = async (param, question, label) => {
    if (!(await confirmAction(question, label))) return;
    const result = await cgiPost('reset.cgi', [[param, 'Yes']]);
    if (result.status !== 204 && result.status !== 200) {
      setStatus(status, failure(result), 'error');
      return;
    }
    setStatus(status, 'The camera is restarting…');
    await waitForCamera();
    location.reload();
  };
  const serial = el('form', { class: 'settings-form', novalidate: true },
    el('h3', {}, 'Serial port'),
    el('div', { class: 'field' }, el('label', { class: 'label', for: 'com-out' }, 'Send'),
      el('span', { class: 'control' }, el('input', { id: 'com-out', name: 'ComOut', autocomplete: 'off' }))),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Send')));
  serial.addEventListener('submit', async (event) => {
    event.preventDefault();
    const result = await cgiPost('comport.cgi', [['ComOut', serial.elements.ComOut.value], ['ComSend', 'Yes']]);
    setStatus(status, result.status === 204 || result.status === 200 ? 'Sent.' : failure(result),
      result.status === 204 || result.status === 200 ? 'ok' : 'error');
  });
  root.append(
    el('div', { class: 'actions maintenance' },
      el('button', { type: 'button', id: 'reboot', onclick: () => reset('Reset', 'Restart the camera now? Viewers are disconnected for a moment.', 'Restart') }, 'Restart camera'),
      el('button', { type: 'button', id: 'factory-reset', class: 'danger', onclick: () => reset('FactoryReset', 'Reset every setting to the factory default? Users, network and image settings are lost.', 'Reset everything') }, 'Factory reset')),
    status, serial);
}

/** Polls until the camera answers again after a restart (two minutes at most). */
async function waitForCamera() {
  const deadline = Date.now() + 120000;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  while (Date.now() < deadline) {
    if ((await cgiGet('cgiversion.cgi')).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// ---------------------------------------------------------------- pages and roles

async function renderSettings(id) {
  const page = PAGES.find((p) => p.id === id) || PAGES[0];
  for (const link of document.querySelectorAll('#settings-nav a')) {
    link.toggleAttribute('aria-current', link.dataset.page === page.id);
  }
  const root = el('div', { class: 'page', dataset: { page: page.id } }, el('h2', {}, page.title));
  $('#settings-page').replaceChildren(root);
  if (page.info) root.append(await infoList(page.info));
  if (page.clock) root.append(cameraClock());
  if (page.render) {
    await page.render(page, root);
  } else {
    const form = new SettingsForm(page);
    root.append(form.form);
    await form.load();
  }
  root.dataset.ready = 'true';
}

function showCameraName(name) {
  if (!name) return;
  $('#camera-name').textContent = name;
  document.title = name;
}

let live;

function route() {
  const [view, id] = location.hash.replace(/^#/, '').split('/');
  const settings = view === 'settings' && camera.role === ADMIN;
  $('#view-live').hidden = settings;
  $('#view-settings').hidden = !settings;
  for (const link of document.querySelectorAll('#nav a')) {
    link.toggleAttribute('aria-current', link.dataset.view === (settings ? 'settings' : 'live'));
  }
  if (settings) {
    live.stop('Paused');
    renderSettings(id);
  } else if (!document.hidden) {
    live.start();
  }
}

const ROLES = { anonymous: VIEWER, viewer: VIEWER, operator: OPERATOR, admin: ADMIN };

/**
 * What this login may do. Browsers forget the login they cached as soon as any request
 * made with it is answered 401 (Chromium evicts it even without a new challenge), and the
 * next request then asks the user to log in again. So the page first reads the role from
 * the `X-IPCam-Role` header of GET /iocontrol.cgi, which every viewer may read. Only a
 * camera without that header is probed the refusable way: GET /system.cgi answers only an
 * administrator, a bare GET /pantiltcontrol.cgi (no operation, nothing moves) is refused
 * below privilege 1; any answer but 401 means the CGI let us in.
 */
async function discoverRole() {
  const io = await apiFetch('iocontrol.cgi').catch(() => null);
  const declared = io && ROLES[(io.headers.get('X-IPCam-Role') || '').toLowerCase()];
  if (declared !== undefined && declared !== ADMIN) return { role: declared };
  const system = await cgiGet('system.cgi');
  if (system.status === 200) {
    return { role: ADMIN, name: new Map(parseTable(system.text)).get('CameraName') };
  }
  if (declared !== undefined) return { role: declared };
  const pantilt = await cgiGet('pantiltcontrol.cgi');
  return { role: pantilt.status === 401 || pantilt.status === 0 ? VIEWER : OPERATOR };
}

/**
 * Where NVRs and players find the camera besides this page, shown under the live view:
 * the RTSP address (the camera announces its port on /iocontrol.cgi; no header: RTSP is
 * off; the host is the one this page came from) and the ONVIF device service with whether
 * WS-Discovery announces it (no header: ONVIF is off).
 */
async function showNvrAddresses() {
  const io = await apiFetch('iocontrol.cgi', { method: 'HEAD' }).catch(() => null);
  if (!io) return;
  const port = io.headers.get('X-IPCam-RTSP-Port');
  if (port && /^[0-9]+$/.test(port)) {
    // Browsers give an IPv6 host name with its brackets already; add them where one does not.
    const name = location.hostname;
    const host = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
    showAddress('#rtsp', `rtsp://${host}:${port}/`, '');
  }
  const onvif = io.headers.get('X-IPCam-ONVIF');
  if (onvif) {
    const discovery = onvif.includes('discovery=on') ? 'on' : 'off';
    showAddress('#onvif', apiUrl('onvif/device_service'), `WS-Discovery ${discovery}`);
  }
}

/** Fills one of the address lines under the live view and shows it. */
function showAddress(line, url, note) {
  const link = $(`${line}-url`);
  link.href = url;
  link.textContent = url;
  $(`${line}-note`).textContent = note;
  $(line).hidden = false;
}

async function main() {
  live = new LiveView($('#video'), (text) => {
    $('#stream-state').textContent = text;
    $('#video').dataset.status = text;
  }, showCameraState);
  $('#snapshot').addEventListener('click', snapshot);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) live.stop('Paused');
    else route();
  });
  window.addEventListener('hashchange', route);
  route();

  const { role, name } = await discoverRole();
  showNvrAddresses();
  camera.role = role;
  document.body.dataset.role = ['viewer', 'operator', 'admin'][role];
  showCameraName(name);
  setUpIo();
  if (role >= OPERATOR) {
    setUpPad();
    $('#pad').hidden = false;
  }
  if (role === ADMIN) {
    $('#settings-nav').append(...PAGES.map((page) =>
      el('a', { href: `#settings/${page.id}`, dataset: { page: page.id } }, page.title)));
    $('#nav').hidden = false;
    route();
  }
}

main();
