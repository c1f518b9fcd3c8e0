// The camera page's "Motion" settings: motion detection, the watched area painted cell by
// cell over a live picture, what an event does, and the event log. A client of the
// extension CGIs /motion.cgi and /eventlog.cgi, like app.js is of the spec's; the server
// judges every value and its 400 reason is shown under the field it names.
//
// MotionMask is 12 rows (top first) of 4 hex digits, `,`-separated; in a row the top bit
// is the leftmost of 16 cells. The painting keeps the grid as booleans and writes that
// text back. It runs after app.js and uses its helpers (`el`, `apiFetch`, `apiUrl`).
'use strict';

const MOTION_COLS = 16;
const MOTION_ROWS = 12;
/** How often the picture under the grid is refreshed, ms. */
const MOTION_PICTURE_EVERY = 1000;

/** GET or POST (pairs of [name, value]) a CGI; resolves to {status, text}. */
async function motionRequest(path, pairs) {
  const init = {};
  if (pairs) {
    init.method = 'POST';
    init.headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    init.body = pairs.map(([n, v]) => `${n}=${encodeURIComponent(v)}`).join('&');
  }
  try {
    const response = await apiFetch(path, init);
    return { status: response.status, text: await response.text() };
  } catch (err) {
    return { status: 0, text: 'Cannot reach the camera.' };
  }
}

/** `Name=value` lines as a Map. */
function motionTable(text) {
  const map = new Map();
  for (const line of text.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq > 0) map.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return map;
}

/** The mask text as rows of booleans; everything watched if it does not parse. */
function parseMotionMask(text) {
  const rows = (text || '').split(',').map((r) => r.trim());
  return Array.from({ length: MOTION_ROWS }, (_, row) => {
    const bits = /^[0-9a-fA-F]{4}$/.test(rows[row] || '') ? parseInt(rows[row], 16) : 0xffff;
    return Array.from({ length: MOTION_COLS }, (_, col) => (bits & (0x8000 >> col)) !== 0);
  });
}

function formatMotionMask(cells) {
  return cells
    .map((row) => row.reduce((bits, on, col) => (on ? bits | (0x8000 >> col) : bits), 0))
    .map((bits) => bits.toString(16).toUpperCase().padStart(4, '0'))
    .join(',');
}

/**
 * The painting editor: a 16 × 12 grid over the camera's picture. Pressing on a cell flips
 * it, and dragging paints every cell passed over the same way (watch or ignore), with a
 * mouse, a pen or a finger.
 */
class MaskEditor {
  constructor() {
    this.cells = parseMotionMask('');
    this.picture = el('img', { alt: 'Camera picture', id: 'motion-picture' });
    this.grid = el('div', { id: 'motion-grid', role: 'grid', 'aria-label': 'Watched area: 16 by 12 cells' });
    Object.assign(this.grid.style, {
      position: 'absolute', inset: '0', display: 'grid', touchAction: 'none',
      gridTemplateColumns: `repeat(${MOTION_COLS}, 1fr)`, gridTemplateRows: `repeat(${MOTION_ROWS}, 1fr)`,
    });
    this.buttons = [];
    for (let row = 0; row < MOTION_ROWS; row += 1) {
      for (let col = 0; col < MOTION_COLS; col += 1) {
        const cell = el('button', { type: 'button', dataset: { row, col }, tabIndex: -1 });
        Object.assign(cell.style, { border: '1px solid rgba(255,255,255,0.25)', padding: '0', margin: '0', minWidth: '0', minHeight: '0', borderRadius: '0' });
        this.buttons.push(cell);
        this.grid.append(cell);
      }
    }
    this.painting = null;
    this.grid.addEventListener('pointerdown', (event) => this.press(event));
    this.grid.addEventListener('pointermove', (event) => this.drag(event));
    for (const end of ['pointerup', 'pointercancel', 'pointerleave']) {
      this.grid.addEventListener(end, () => { this.painting = null; });
    }
    this.grid.addEventListener('keydown', (event) => {
      const cell = event.target.closest('button');
      if (cell && (event.key === ' ' || event.key === 'Enter')) {
        event.preventDefault();
        this.set(cell, !this.cells[cell.dataset.row][cell.dataset.col]);
      }
    });
    const stage = el('div', { class: 'motion-stage' }, this.picture, this.grid);
    Object.assign(stage.style, { position: 'relative', maxWidth: '640px', aspectRatio: '4 / 3', background: '#000', userSelect: 'none' });
    Object.assign(this.picture.style, { width: '100%', height: '100%', objectFit: 'fill', display: 'block' });
    this.node = stage;
  }

  cellAt(event) {
    const target = document.elementFromPoint(event.clientX, event.clientY);
    return target && target.parentNode === this.grid ? target : null;
  }

  press(event) {
    const cell = this.cellAt(event);
    if (!cell) return;
    event.preventDefault();
    this.painting = !this.cells[cell.dataset.row][cell.dataset.col];
    this.set(cell, this.painting);
  }

  drag(event) {
    if (this.painting === null) return;
    const cell = this.cellAt(event);
    if (cell) this.set(cell, this.painting);
  }

  set(cell, watched) {
    this.cells[cell.dataset.row][cell.dataset.col] = watched;
    this.show(cell);
  }

  show(cell) {
    const watched = this.cells[cell.dataset.row][cell.dataset.col];
    cell.dataset.watched = String(watched);
    cell.setAttribute('aria-pressed', String(watched));
    cell.style.background = watched ? 'rgba(40, 200, 90, 0.28)' : 'rgba(0, 0, 0, 0.62)';
  }

  load(text) {
    this.cells = parseMotionMask(text);
    this.buttons.forEach((cell) => this.show(cell));
  }

  fill(watched) {
    this.cells = this.cells.map((row) => row.map(() => watched));
    this.buttons.forEach((cell) => this.show(cell));
  }

  invert() {
    this.cells = this.cells.map((row) => row.map((on) => !on));
    this.buttons.forEach((cell) => this.show(cell));
  }

  get text() {
    return formatMotionMask(this.cells);
  }

  /** Refreshes the picture once a second while the editor is on the page. */
  watchPicture() {
    const refresh = () => {
      if (!this.node.isConnected) return;
      this.picture.src = apiUrl(`image.jpg?_=${Date.now()}`);
      setTimeout(refresh, MOTION_PICTURE_EVERY);
    };
    refresh();
  }
}

/** The form fields other than the mask: [name, label, kind, extra]. */
const MOTION_FIELDS = [
  ['MotionDetectionEnable', 'Motion detection', 'check'],
  ['MotionDetectionSensitivity', 'Sensitivity (0–100)', 'range'],
  ['EventUpload', 'Upload the frames (FTP page)', 'check'],
  ['EventEmail', 'E-mail the frames (E-mail page)', 'check'],
  ['EventTrigger', 'Switch on', 'choice', [['0', 'no output'], ['1', 'Trigger 1'], ['2', 'Trigger 2'], ['3', 'Trigger 1 and 2']]],
  ['EventTriggerSeconds', 'for (seconds)', 'number'],
  ['EventInterval', 'At most one event per source every (seconds)', 'number'],
];

function motionControl([name, label, kind, choices]) {
  const id = `motion-${name}`;
  let input;
  if (kind === 'check') input = el('input', { id, name, type: 'checkbox' });
  else if (kind === 'range') input = el('input', { id, name, type: 'range', min: 0, max: 100, step: 1 });
  else if (kind === 'choice') input = el('select', { id, name }, choices.map(([v, t]) => el('option', { value: v }, t)));
  else input = el('input', { id, name, type: 'number', min: 1, inputMode: 'numeric' });
  const value = () => (kind === 'check' ? (input.checked ? '1' : '0') : input.value);
  const set = (v) => { if (kind === 'check') input.checked = v === '1'; else input.value = v; };
  const row = el('div', { class: 'field', dataset: { field: name } },
    el('label', { class: 'label', for: id }, label),
    el('span', { class: 'control' }, input),
    el('span', { class: 'error', id: `e-${name}`, role: 'alert' }));
  return { name, row, input, value, set };
}

/** The settings page: registered in app.js's PAGES as `render`. */
async function renderMotion(page, root) {
  const editor = new MaskEditor();
  const controls = MOTION_FIELDS.map(motionControl);
  const status = el('p', { class: 'status', role: 'status', id: 'motion-status' });
  const maskError = el('span', { class: 'error', id: 'e-MotionMask', role: 'alert' });
  const log = el('table', { class: 'list', id: 'motion-log' });
  const form = el('form', { class: 'settings-form', id: 'motion-form', novalidate: true, dataset: { cgi: 'motion.cgi' } },
    el('div', { class: 'fields' }, controls.map((c) => c.row)),
    el('h3', {}, 'Watched area'),
    el('p', { class: 'note' }, 'Press and drag over the picture: green cells are watched, dark ones ignored.'),
    editor.node, maskError,
    el('div', { class: 'actions' },
      el('button', { type: 'button', id: 'motion-all', onclick: () => editor.fill(true) }, 'Watch all'),
      el('button', { type: 'button', id: 'motion-none', onclick: () => editor.fill(false) }, 'Watch none'),
      el('button', { type: 'button', id: 'motion-invert', onclick: () => editor.invert() }, 'Invert'),
      el('button', { type: 'submit', class: 'primary', id: 'motion-save' }, 'Save')),
    status);

  const show = (text) => {
    const table = motionTable(text);
    for (const control of controls) control.set(table.get(control.name) || '');
    editor.load(table.get('MotionMask'));
  };
  const clearErrors = () => {
    for (const error of form.querySelectorAll('.error')) error.textContent = '';
  };
  const showLog = async () => {
    const result = await motionRequest('eventlog.cgi');
    if (result.status !== 200) return;
    const table = motionTable(result.text);
    const events = Array.from({ length: Number(table.get('EventCount') || 0) }, (_, i) => table.get(`Event${i + 1}`) || '');
    log.replaceChildren(
      el('thead', {}, el('tr', {}, el('th', {}, 'Time'), el('th', {}, 'Source'))),
      el('tbody', {}, events.length === 0
        ? el('tr', {}, el('td', { colSpan: 2 }, 'No events since the camera started.'))
        : events.map((event) => {
          const cut = event.lastIndexOf(' ');
          return el('tr', {}, el('td', {}, event.slice(0, cut)), el('td', {}, event.slice(cut + 1)));
        })),
    );
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    status.textContent = 'Saving…';
    const pairs = controls.map((c) => [c.name, c.value()]).concat([['MotionMask', editor.text]]);
    const result = await motionRequest('motion.cgi', pairs);
    if (result.status === 200) {
      show(result.text);
      status.textContent = 'Saved.';
      status.dataset.kind = 'ok';
      return;
    }
    const reason = result.text.trim().split(/\r?\n/)[0] || `The camera answered ${result.status}.`;
    const name = result.status === 400 ? (/^([A-Za-z0-9_]+)\s*:/.exec(reason) || [])[1] : null;
    const error = name && form.querySelector(`#e-${CSS.escape(name)}`);
    if (error) error.textContent = reason;
    status.textContent = `Not saved: ${reason}`;
    status.dataset.kind = 'error';
  });

  root.append(form, el('h3', {}, 'Event log'), log);
  const result = await motionRequest('motion.cgi');
  if (result.status === 200) show(result.text);
  else status.textContent = result.status === 401 ? 'Not allowed for this login.' : result.text.trim();
  editor.watchPicture();
  await showLog();
}
