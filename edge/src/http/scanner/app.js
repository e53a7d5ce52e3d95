// The scanner app: plain ES modules served by the edge (no build step), under a strict CSP (no
// inline script or style). Screens: sign in, scan (receive, count, move, damage, transfers, in-store
// sale), pick & ship, returns, sync. Every text node is set with textContent, never HTML.
import { parseGs1 } from '/app/gs1.js';
import { ago, clock, errorSentence, plural, refusalText } from '/app/words.js';

const $ = (id) => document.getElementById(id);
const store = window.sessionStorage;
const pollMs = 2500;

// ---------------------------------------------------------------- DOM helpers

/** el('li', {class: 'x'}, 'text', child…): an element, its text set safely. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(target, text, kind) {
  target.textContent = text;
  target.className = `message ${kind ?? ''}`;
}

// ---------------------------------------------------------------- API

const state = {
  token: store.getItem('dovetail-token'),
  me: null,
  names: new Map(JSON.parse(store.getItem('dovetail-names') ?? '[]')),
  recent: JSON.parse(store.getItem('dovetail-recent') ?? '[]'),
  // Stock scans made while the edge could not be reached: {username, items: [{key, path, body, text}]}.
  queue: JSON.parse(store.getItem('dovetail-queue') ?? 'null') ?? { username: null, items: [] },
  sync: null,
  reachable: true,
  refused: [],
  screen: 'scan',
};

class Unreachable extends Error {}

/** One API call. Answers {status, data}; a 401 ends the session; no answer at all throws Unreachable. */
async function api(method, path, body, { idempotent = false, key } = {}) {
  const headers = {};
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  // One key per action: a retry after a dropped Wi-Fi answer is replayed, never counted twice.
  if (key || idempotent) headers['idempotency-key'] = key ?? crypto.randomUUID();
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    setReachable(false);
    throw new Unreachable('the warehouse server cannot be reached');
  }
  setReachable(true);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401 && path !== '/login' && state.token) {
    endSession('Your session has ended. Sign in again to carry on.');
  }
  return { status: response.status, data };
}

function failure(result) {
  return errorSentence(result.data?.error);
}

// ---------------------------------------------------------------- product names

function nameOf(sku) {
  return state.names.get(sku) ?? sku;
}
function rememberNames(entries) {
  for (const entry of entries) state.names.set(entry.sku, entry.label);
  store.setItem('dovetail-names', JSON.stringify([...state.names].slice(-500)));
}
async function loadNames(skus) {
  const missing = [...new Set(skus)].filter((sku) => !state.names.has(sku));
  if (missing.length === 0) return;
  const query = missing
    .slice(0, 100)
    .map((sku) => `sku=${encodeURIComponent(sku)}`)
    .join('&');
  try {
    const result = await api('GET', `/catalog?${query}`);
    if (result.status === 200) rememberNames(result.data.items);
  } catch {}
}

/**
 * What a scanned code stands for: GS1 data split into GTIN, lot and serial, then the product it
 * names. An unknown code is taken as a SKU typed by hand (the edge records it as not yet verified).
 */
async function resolveCode(raw) {
  const code = raw.trim();
  if (code === '') return { ok: false, message: 'Scan or type the product first.' };
  const gs1 = parseGs1(code);
  if (gs1 && !gs1.ok) return { ok: false, message: `This barcode cannot be read: ${gs1.message}.` };
  const lookFor = gs1?.gtin ?? code;
  let found;
  try {
    found = await api('GET', `/catalog/lookup?code=${encodeURIComponent(lookFor)}`);
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    // Offline from the edge: a typed product code is taken as it is and checked when it is sent.
    if (gs1?.gtin || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(code)) {
      return { ok: false, message: 'Barcodes cannot be looked up without the warehouse server: type the product code.' };
    }
    return { ok: true, sku: code, label: nameOf(code), known: state.names.has(code), offline: true, lot: gs1?.lot };
  }
  if (found.status === 200) {
    rememberNames([found.data]);
    return { ok: true, sku: found.data.sku, label: found.data.label, lot: gs1?.lot, serial: gs1?.serial, known: true };
  }
  if (gs1?.gtin) return { ok: false, message: 'This barcode is not a product in this warehouse’s catalog.' };
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(code)) return { ok: false, message: 'That is not a product code.' };
  return { ok: true, sku: code, label: code, known: false };
}

// ---------------------------------------------------------------- session

function persist() {
  store.setItem('dovetail-recent', JSON.stringify(state.recent.slice(0, 30)));
}
function persistQueue() {
  store.setItem('dovetail-queue', JSON.stringify(state.queue));
}

/**
 * Sends the scans kept on the handheld, oldest first, each with the Idempotency-Key it got when it
 * was made: a scan whose answer was lost is replayed by the edge, never recorded twice.
 */
let flushing = false;
async function flushQueue() {
  if (flushing || state.queue.items.length === 0 || !state.token) return;
  flushing = true;
  try {
    while (state.queue.items.length > 0) {
      const item = state.queue.items[0];
      const result = await api('POST', item.path, item.body, { key: item.key });
      if (result.status === 401) break;
      const scan = state.recent.find((entry) => entry.key === item.key);
      if (result.status === 201) {
        if (scan) Object.assign(scan, { state: 'recorded', eventIds: [result.data.event.id] });
      } else if (scan) {
        Object.assign(scan, { state: 'failed', failure: failure(result) });
      }
      state.queue.items.shift();
      persistQueue();
      persist();
    }
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
  } finally {
    flushing = false;
    renderRecent();
    renderBanner();
  }
}

function endSession(note) {
  state.token = null;
  state.me = null;
  state.recent = [];
  store.removeItem('dovetail-token');
  store.removeItem('dovetail-recent');
  // Scans kept on the handheld stay for the same person's next sign-in (an expired session).
  $('signin-note').textContent = note ?? '';
  render();
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = $('signin-button');
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    say($('signin-message'), 'Enter your username and password.', 'bad');
    (username ? form.password : form.username).focus();
    return;
  }
  // Checking a password takes the server a moment on purpose: show that it is working.
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.querySelector('.label').textContent = 'Checking…';
  say($('signin-message'), '', 'bad');
  try {
    const result = await api('POST', '/login', { username, password });
    if (result.status === 200) {
      state.token = result.data.token;
      store.setItem('dovetail-token', state.token);
      form.reset();
      $('signin-note').textContent = '';
      await start();
    } else if (result.status === 429) {
      say($('signin-message'), `Too many wrong passwords. ${result.data?.error?.message ?? ''}`, 'bad');
    } else if (result.status === 401) {
      say($('signin-message'), 'Wrong username or password. Try again.', 'bad');
      form.password.value = '';
      form.password.focus();
    } else {
      say($('signin-message'), failure(result), 'bad');
    }
  } catch {
    say($('signin-message'), 'The warehouse server cannot be reached. Check the Wi-Fi and try again.', 'bad');
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.querySelector('.label').textContent = 'Sign in';
  }
});

let discardConfirmed = false;
$('sign-out').addEventListener('click', async () => {
  const kept = state.queue.items.length;
  if (kept > 0 && !discardConfirmed) {
    discardConfirmed = true;
    say(
      $('scan-message'),
      `${plural(kept, 'scan is', 'scans are')} not yet recorded on the warehouse server. Reconnect to send ${kept === 1 ? 'it' : 'them'}, or press Sign out again to throw ${kept === 1 ? 'it' : 'them'} away.`,
      'bad',
    );
    location.hash = '#scan';
    return;
  }
  discardConfirmed = false;
  state.queue = { username: null, items: [] };
  store.removeItem('dovetail-queue');
  try {
    await api('POST', '/logout');
  } catch {}
  endSession('You are signed out. The next person can sign in.');
  $('username').focus();
});

let expiryTimer;
async function start() {
  let me;
  try {
    me = await api('GET', '/me');
  } catch {
    render();
    return;
  }
  if (me.status !== 200) return;
  state.me = me.data;
  if (state.queue.items.length > 0 && state.queue.username !== me.data.username) {
    // Another person's unsent scans are not sent under this account.
    state.queue = { username: null, items: [] };
    store.removeItem('dovetail-queue');
  }
  // Supervisor-only actions are offered to supervisors only (the edge refuses them to others anyway).
  for (const option of document.querySelectorAll('#scan-action option[data-role]')) {
    option.hidden = option.disabled = option.dataset.role !== me.data.role;
  }
  clearTimeout(expiryTimer);
  const left = new Date(me.data.expiresAt).getTime() - Date.now();
  if (left > 0 && left < 2 ** 31) {
    expiryTimer = setTimeout(() => endSession('Your session has ended. Sign in again to carry on.'), left);
  }
  render();
  refreshSync();
}

// ---------------------------------------------------------------- screens

const screens = ['scan', 'pick', 'returns', 'sync'];

function render() {
  const signedIn = Boolean(state.token);
  $('screen-signin').hidden = signedIn;
  $('tabs').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
  $('who').textContent = state.me ? `${state.me.username} · warehouse ${state.me.warehouseId}` : '';
  if (!signedIn) {
    for (const screen of screens) $(`screen-${screen}`).hidden = true;
    $('banner').hidden = !(state.reachable === false);
    renderBanner();
    document.title = 'Sign in · Dovetail scanner';
    return;
  }
  const wanted = location.hash.slice(1);
  state.screen = screens.includes(wanted) ? wanted : 'scan';
  for (const screen of screens) $(`screen-${screen}`).hidden = screen !== state.screen;
  for (const link of $('tabs').querySelectorAll('a')) {
    if (link.dataset.screen === state.screen) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${$(`screen-${state.screen}`).querySelector('h1').textContent} · Dovetail scanner`;
  renderBanner();
  renderRecent();
  if (state.screen === 'pick') refreshPicks();
  if (state.screen === 'returns') refreshReturns();
  if (state.screen === 'sync') renderSync();
}
window.addEventListener('hashchange', render);

// ---------------------------------------------------------------- sync status and banner

function setReachable(reachable) {
  if (state.reachable === reachable) return;
  state.reachable = reachable;
  renderBanner();
}

async function refreshSync() {
  if (!state.token) return;
  await flushQueue();
  const asked = new Date().toISOString();
  try {
    const status = await api('GET', '/sync/status');
    if (status.status !== 200) return;
    const previous = state.sync;
    state.sync = status.data;
    if (!previous || previous.rejected !== status.data.rejected || state.refused.length !== status.data.rejected) {
      await refreshRefused();
    }
    markSent(asked);
  } catch {}
  renderBanner();
  renderRecent();
  if (state.screen === 'sync') renderSync();
}

async function refreshRefused() {
  const items = [];
  let cursor = '';
  for (let page = 0; page < 10; page++) {
    const result = await api('GET', `/sync/rejections?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (result.status !== 200) break;
    items.push(...result.data.items);
    if (!result.data.nextCursor) break;
    cursor = result.data.nextCursor;
  }
  state.refused = items;
  await loadNames(items.map((item) => item.sku));
  const byEvent = new Map(items.map((item) => [item.eventId, item]));
  for (const scan of state.recent) {
    const refusal = scan.eventIds?.map((id) => byEvent.get(id)).find(Boolean);
    if (refusal) {
      scan.state = 'refused';
      scan.refusal = { reason: refusal.reason, message: refusal.message };
    }
  }
  persist();
}

/** Scans recorded before a status was asked for, that shows nothing waiting, have reached head office. */
function markSent(asked) {
  if (state.sync?.pendingUpstream !== 0) return;
  for (const scan of state.recent) if (scan.state === 'recorded' && scan.at < asked) scan.state = 'sent';
  persist();
}

function renderBanner() {
  const banner = $('banner');
  const line = $('banner-line');
  const detail = $('banner-detail');
  const refusedButton = $('banner-refused');
  if (!state.reachable) {
    banner.hidden = false;
    banner.className = 'banner bad';
    line.textContent = 'No connection to the warehouse server';
    const kept = state.queue.items.length;
    detail.textContent = `Check the Wi-Fi. Stock scans are kept on this handheld${
      kept > 0 ? ` (${plural(kept, 'scan', 'scans')} kept now)` : ''
    } and recorded when the connection is back; picking, packing and returns wait for it.`;
    refusedButton.hidden = true;
    return;
  }
  if (!state.token || !state.sync) {
    banner.hidden = true;
    return;
  }
  const s = state.sync;
  banner.hidden = false;
  const waiting = s.pendingUpstream;
  const contact = s.lastContactAt ? `Last contact with head office ${clock(s.lastContactAt)} (${ago(s.lastContactAt)}).` : 'No contact with head office yet.';
  if (s.fenced) {
    banner.className = 'banner bad';
    line.textContent = 'This warehouse server was replaced: scans here no longer reach head office';
    detail.textContent = 'Stop scanning on this server and call a supervisor.';
  } else if (s.connected) {
    banner.className = 'banner ok';
    line.textContent =
      waiting === 0 ? 'Online: every scan has reached head office' : `Online: sending ${plural(waiting, 'scan', 'scans')}…`;
    detail.textContent = contact;
  } else {
    banner.className = 'banner warn';
    line.textContent = `Offline from head office: ${plural(waiting, 'scan', 'scans')} waiting to be sent`;
    detail.textContent = `Keep working: scans are saved here and sent when the link is back. ${contact}`;
  }
  const refused = state.refused.length;
  refusedButton.hidden = refused === 0;
  refusedButton.textContent = `${plural(refused, 'scan was', 'scans were')} refused by head office: see what to correct`;
  const badge = $('tab-badge');
  badge.hidden = refused === 0;
  badge.textContent = String(refused);
  badge.setAttribute('aria-label', `${plural(refused, 'refused scan', 'refused scans')}`);
}
$('banner-refused').addEventListener('click', () => {
  location.hash = '#sync';
});

function renderSync() {
  const s = state.sync;
  const facts = $('sync-facts');
  facts.replaceChildren();
  const fact = (term, value) => facts.append(el('dt', {}, term), el('dd', {}, value));
  if (!state.reachable) fact('This handheld', 'cannot reach the warehouse server');
  if (s) {
    fact('Head office', s.fenced ? 'this server was replaced (call a supervisor)' : s.connected ? 'connected' : 'not connected');
    fact('Scans waiting to be sent', String(s.pendingUpstream));
    fact('Last contact', s.lastContactAt ? `${clock(s.lastContactAt)} (${ago(s.lastContactAt)})` : 'never');
    fact('Refused by head office', String(state.refused.length));
    fact('Warehouse', s.warehouseId);
    if (!s.connected && s.lastError) fact('Why not connected', s.lastError);
  }
  const list = $('refused');
  list.replaceChildren();
  $('refused-empty').hidden = state.refused.length > 0;
  for (const item of [...state.refused].reverse()) {
    const { what, todo } = refusalText(item.reason, item.message);
    list.append(
      el(
        'li',
        { class: 'refused' },
        el('strong', {}, item.sku ? `${nameOf(item.sku)} ` : 'An order or return update '),
        el('span', { class: 'small' }, `${item.sku ? `(${item.sku}) · ` : ''}refused ${clock(item.rejectedAt)}`),
        el('p', {}, what),
        el('p', { class: 'small' }, `Head office said: “${item.message}”`),
        todo ? el('p', {}, el('b', {}, 'What to do: '), todo) : null,
      ),
    );
  }
}

setInterval(() => {
  if (state.token) refreshSync();
}, pollMs);
window.addEventListener('online', () => refreshSync());
window.addEventListener('offline', () => setReachable(false));

// ---------------------------------------------------------------- recent scans

function remember(text, eventIds, extra = {}) {
  state.recent.unshift({ text, eventIds, at: new Date().toISOString(), state: 'recorded', ...extra });
  state.recent = state.recent.slice(0, 30);
  persist();
  renderRecent();
}

function renderRecent() {
  const list = $('recent');
  list.replaceChildren();
  $('recent-empty').hidden = state.recent.length > 0;
  for (const scan of state.recent.slice(0, 10)) {
    let status;
    if (scan.state === 'refused') {
      const { what, todo } = refusalText(scan.refusal.reason, scan.refusal.message);
      status = el('p', {}, el('strong', {}, '✗ Refused by head office. '), what, todo ? ` ${todo}` : '');
    } else if (scan.state === 'queued') {
      status = el('p', { class: 'state-wait' }, '⏳ Kept on this handheld until the warehouse server can be reached');
    } else if (scan.state === 'failed') {
      status = el('p', {}, el('strong', {}, '✗ Not recorded by the warehouse server. '), scan.failure);
    } else if (scan.state === 'sent') {
      status = el('p', { class: 'state-ok' }, '✓ Recorded and sent to head office');
    } else {
      status = el('p', { class: 'state-wait' }, '✓ Recorded here, waiting to be sent to head office');
    }
    list.append(
      el(
        'li',
        { class: scan.state === 'refused' ? 'refused' : '' },
        el('span', {}, scan.text),
        el('span', { class: 'small' }, ` · ${clock(scan.at)}`),
        status,
      ),
    );
  }
  // The last confirmation on screen follows its scan: never "✓" for a scan head office refused.
  const last = state.recent[0];
  const message = $('scan-message');
  if (last?.state === 'refused' && message.dataset.scan === last.at) {
    const { what } = refusalText(last.refusal.reason, last.refusal.message);
    say(message, `✗ ${last.text}, but head office refused it: ${what} See Sync to correct it.`, 'bad');
  }
}

// ---------------------------------------------------------------- scan screen

/** Per action: the fields it shows, their labels, the API body and the sentence that confirms it. */
const actions = {
  receive: {
    fields: ['quantity', 'bin', 'lot', 'serials'],
    bin: 'Into bin',
    body: (f) => ({ sku: f.sku, quantity: f.quantity, bin: f.bin, lot: f.lot, serials: f.serials }),
    done: (f) => `${f.quantity} × ${f.label} received into ${f.bin ?? 'the receiving area'}`,
  },
  count: {
    fields: ['quantity', 'bin'],
    quantity: 'Quantity counted',
    bin: 'Bin counted',
    body: (f) => ({ sku: f.sku, bin: f.bin, countedQuantity: f.quantity }),
    done: (f, event) => {
      if (!event) return `${f.label} counted in ${f.bin ?? 'the whole warehouse'}: ${f.quantity}`;
      const delta = event?.delta ?? 0;
      const change = delta === 0 ? 'as expected' : `${delta > 0 ? '+' : ''}${delta} against the books`;
      return `${f.label} counted in ${f.bin ?? 'the whole warehouse'}: ${f.quantity} (${change})`;
    },
  },
  move: {
    fields: ['quantity', 'bin', 'toBin', 'lot', 'serials'],
    bin: 'From bin',
    body: (f) => ({
      sku: f.sku,
      quantity: f.quantity,
      fromBin: f.bin ?? 'UNASSIGNED',
      toBin: f.toBin,
      lot: f.lot,
      serials: f.serials,
    }),
    done: (f) => `${f.quantity} × ${f.label} moved from ${f.bin ?? 'the receiving area'} to ${f.toBin}`,
  },
  damage: {
    fields: ['quantity', 'bin', 'lot', 'serials'],
    bin: 'In bin',
    body: (f) => ({ sku: f.sku, quantity: f.quantity, bin: f.bin, lot: f.lot, serials: f.serials }),
    done: (f) => `${f.quantity} × ${f.label} marked damaged${f.bin ? ` in ${f.bin}` : ''}`,
  },
  'transfer-out': {
    fields: ['quantity', 'bin', 'warehouse', 'transfer', 'lot', 'serials'],
    bin: 'From bin',
    warehouse: 'To warehouse',
    body: (f) => ({
      sku: f.sku,
      quantity: f.quantity,
      bin: f.bin,
      lot: f.lot,
      serials: f.serials,
      toWarehouseId: f.warehouse,
      transferId: f.transfer,
    }),
    done: (f) => `${f.quantity} × ${f.label} sent to warehouse ${f.warehouse} (transfer ${f.transfer})`,
  },
  'transfer-in': {
    fields: ['quantity', 'bin', 'warehouse', 'transfer', 'lot', 'serials'],
    bin: 'Into bin',
    warehouse: 'From warehouse',
    body: (f) => ({
      sku: f.sku,
      quantity: f.quantity,
      bin: f.bin,
      lot: f.lot,
      serials: f.serials,
      fromWarehouseId: f.warehouse,
      transferId: f.transfer,
    }),
    done: (f) =>
      `${f.quantity} × ${f.label} received from warehouse ${f.warehouse} into ${f.bin ?? 'the receiving area'}`,
  },
  adjust: {
    fields: ['quantity', 'reason', 'bin', 'lot', 'serials'],
    quantity: 'Change (+ to add units, − to take them away)',
    bin: 'In bin',
    body: (f) => ({ sku: f.sku, delta: f.quantity, reason: f.reason, bin: f.bin, lot: f.lot, serials: f.serials }),
    done: (f) =>
      `Stock of ${f.label} corrected by ${f.quantity > 0 ? '+' : ''}${f.quantity}${f.bin ? ` in ${f.bin}` : ''} (${f.reasonText})`,
  },
  'quota-return': {
    fields: ['quantity'],
    body: (f) => ({ sku: f.sku, quantity: f.quantity }),
    done: (f) => `In-store allowance for ${f.quantity} × ${f.label} given back to head office`,
  },
  'instore-sale': {
    fields: ['quantity', 'bin', 'serials'],
    bin: 'From bin (if known)',
    body: (f) => ({ sku: f.sku, quantity: f.quantity, bin: f.bin, serials: f.serials }),
    done: (f, _event, stock) =>
      `${f.quantity} × ${f.label} sold in store; in-store allowance left: ${stock?.edgeQuota ?? 'unknown'}`,
  },
};

let scanned = null;

function showFields() {
  const action = actions[$('scan-action').value];
  for (const field of document.querySelectorAll('#scan-form .field')) {
    field.hidden = !action.fields.includes(field.dataset.field);
  }
  $('scan-quantity-label').textContent = action.quantity ?? 'Quantity';
  $('scan-bin-label').textContent = action.bin ?? 'Bin';
  $('scan-warehouse-label').textContent = action.warehouse ?? 'Other warehouse';
  const name = $('scan-action').value;
  $('scan-quantity').min = name === 'count' ? '0' : name === 'adjust' ? '-100000' : '1';
}
$('scan-action').addEventListener('change', showFields);

async function identify() {
  const input = $('scan-code');
  const resolved = await resolveCode(input.value);
  if (!resolved.ok) {
    scanned = null;
    input.setAttribute('aria-invalid', 'true');
    $('product-name').textContent = resolved.message;
    return null;
  }
  input.removeAttribute('aria-invalid');
  scanned = resolved;
  if (resolved.lot) $('scan-lot').value = resolved.lot;
  if (resolved.serial) $('scan-serials').value = resolved.serial;
  if (resolved.sku !== input.value.trim() && !resolved.lot && !resolved.serial) input.value = resolved.sku;
  $('product-name').textContent = resolved.offline
    ? `${resolved.label} (checked when the warehouse server is back)`
    : resolved.known
      ? resolved.label
      : `${resolved.sku}: not in the catalog yet (recorded anyway; head office checks it)`;
  showStock(resolved.sku);
  return resolved;
}

$('scan-code').addEventListener('input', () => {
  scanned = null;
  $('product-name').textContent = '';
});
// A keyboard-wedge scanner types the code and presses Enter: identify it, then go to the next field.
$('scan-code').addEventListener('keydown', async (event) => {
  if (event.key !== 'Enter') return;
  event.preventDefault();
  const found = await identify();
  if (!found) return;
  const next = [...document.querySelectorAll('#scan-form .field:not([hidden]) input')][0];
  (next ?? $('scan-submit')).focus();
  next?.select?.();
});

async function showStock(sku) {
  try {
    const result = await api('GET', `/stock/${encodeURIComponent(sku)}`);
    if (result.status === 200) renderStock(result.data);
    else $('stock-card').hidden = true;
  } catch {}
}

function renderStock(stock) {
  $('stock-card').hidden = false;
  $('stock-title').textContent = `Stock here: ${nameOf(stock.sku)}`;
  const facts = $('stock');
  facts.replaceChildren();
  const fact = (term, value) => facts.append(el('dt', {}, term), el('dd', {}, String(value)));
  fact('In stock', stock.onHand);
  fact('Free to sell', stock.available);
  if (stock.committed) fact('Promised to orders', stock.committed);
  if (stock.picked) fact('Picked, not shipped', stock.picked);
  if (stock.damaged) fact('Damaged', stock.damaged);
  fact('In-store allowance', stock.edgeQuota);
  fact('Bins', stock.bins.map((b) => `${b.bin}: ${b.quantity}`).join(', ') || 'none');
  if (stock.lots.length) fact('Lots', stock.lots.map((l) => `${l.lot}: ${l.quantity}`).join(', '));
  if (stock.serials.length) fact('Serial numbers', stock.serials.join(', '));
  if (!stock.verified) fact('Catalog', 'not yet confirmed by head office');
}

function scanFields(form) {
  const text = (name) => {
    const value = form[name].value.trim();
    return value === '' ? undefined : value;
  };
  const serials = text('serials')
    ?.split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    sku: scanned.sku,
    label: scanned.known ? scanned.label : scanned.sku,
    quantity: Number(form.quantity.value),
    bin: text('bin')?.toUpperCase(),
    toBin: text('toBin')?.toUpperCase(),
    warehouse: text('warehouse'),
    transfer: text('transfer'),
    lot: text('lot'),
    serials: serials?.length ? serials : undefined,
    reason: form.reason.value,
    reasonText: form.reason.selectedOptions[0]?.textContent.toLowerCase(),
  };
}

function missingField(actionName, f) {
  if (actionName === 'adjust') {
    if (!Number.isInteger(f.quantity) || f.quantity === 0) return ['quantity', 'Enter the change, e.g. -2 or 3.'];
  } else if (!Number.isInteger(f.quantity) || f.quantity < (actionName === 'count' ? 0 : 1)) {
    return ['quantity', 'Enter a quantity.'];
  }
  if (actionName === 'move' && !f.toBin) return ['toBin', 'Scan the bin the units go to.'];
  if (actionName.startsWith('transfer') && !f.warehouse) return ['warehouse', 'Enter the other warehouse.'];
  if (actionName.startsWith('transfer') && !f.transfer) return ['transfer', 'Enter the transfer reference.'];
  return null;
}

$('scan-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const message = $('scan-message');
  const actionName = form.action.value;
  const action = actions[actionName];
  const button = $('scan-submit');
  button.disabled = true;
  try {
    if (!scanned && !(await identify())) {
      say(message, `✗ ${$('product-name').textContent || 'Scan the product first.'}`, 'bad');
      $('scan-code').focus();
      return;
    }
    const fields = scanFields(form);
    const missing = missingField(actionName, fields);
    if (missing) {
      say(message, `✗ ${missing[1]}`, 'bad');
      form[missing[0]].setAttribute('aria-invalid', 'true');
      form[missing[0]].focus();
      return;
    }
    for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
    const body = JSON.parse(JSON.stringify(action.body(fields)));
    const result = await api('POST', `/stock/${actionName}`, body, { idempotent: true });
    if (result.status === 201) {
      const text = action.done(fields, result.data.event, result.data.stock);
      remember(text, [result.data.event.id]);
      say(message, `✓ ${text}`, 'ok');
      message.dataset.scan = state.recent[0].at;
      renderStock(result.data.stock);
      // Ready for the next scan: keep the action and bin, clear what is unit-specific.
      form.code.value = '';
      form.lot.value = '';
      form.serials.value = '';
      scanned = null;
      $('product-name').textContent = '';
      $('scan-code').focus();
      refreshSync();
    } else {
      say(message, `✗ Not recorded. ${failure(result)}`, 'bad');
      if (result.data?.error?.details?.stock) renderStock(result.data.error.details.stock);
    }
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    keepOnHandheld(form, actionName, action);
  } finally {
    button.disabled = false;
  }
});

/** The edge cannot be reached: the scan is kept here, with its key, and sent when it can. */
function keepOnHandheld(form, actionName, action) {
  const fields = scanFields(form);
  const body = JSON.parse(JSON.stringify(action.body(fields)));
  const key = crypto.randomUUID();
  const text = action.done(fields, undefined, undefined).replace(/; in-store allowance left: .*$/, '');
  if (state.queue.items.length >= 200) {
    say($('scan-message'), '✗ Not recorded: 200 scans are already waiting on this handheld. Reconnect first.', 'bad');
    return;
  }
  state.queue.username = state.me?.username ?? state.queue.username;
  state.queue.items.push({ key, path: `/stock/${actionName}`, body, text });
  persistQueue();
  remember(text, [], { state: 'queued', key });
  const message = $('scan-message');
  say(message, `⏳ Kept on this handheld: ${text}. It is recorded when the warehouse server is back.`, 'warn');
  form.code.value = '';
  form.lot.value = '';
  form.serials.value = '';
  scanned = null;
  $('product-name').textContent = '';
  $('scan-code').focus();
  renderBanner();
}

// ---------------------------------------------------------------- camera (BarcodeDetector)

if ('BarcodeDetector' in window && navigator.mediaDevices?.getUserMedia) {
  $('camera-button').hidden = false;
  $('camera-button').setAttribute('aria-label', 'Scan the product with the camera');
}
let cameraStream = null;
let cameraTarget = $('scan-code');
async function openCamera(target) {
  cameraTarget = target;
  const dialog = $('camera-dialog');
  dialog.showModal();
  $('camera-message').textContent = 'Starting the camera…';
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    const detector = new window.BarcodeDetector({ formats });
    cameraStream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    const video = $('camera-video');
    video.srcObject = cameraStream;
    await video.play();
    $('camera-message').textContent = 'Looking for a barcode…';
    while (cameraStream) {
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length > 0) {
        closeCamera();
        cameraTarget.value = codes[0].rawValue;
        cameraTarget.focus();
        cameraTarget.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch {
    $('camera-message').textContent = 'The camera cannot be used here. Type the code instead.';
  }
}
function closeCamera() {
  for (const track of cameraStream?.getTracks() ?? []) track.stop();
  cameraStream = null;
  if ($('camera-dialog').open) $('camera-dialog').close();
}
$('camera-button').addEventListener('click', () => openCamera($('scan-code')));
$('camera-close').addEventListener('click', closeCamera);
$('camera-dialog').addEventListener('close', closeCamera);

// ---------------------------------------------------------------- pick, pack and ship

let order = null;

function cityOf(shipTo) {
  const address = shipTo?.address ?? {};
  return [address.city, address.country].filter(Boolean).join(', ') || 'address not given';
}

/** Lines in walking order: the bin each is picked from first, open lines before finished ones. */
function walkOrder(lines) {
  return [...lines]
    .map((line) => ({ ...line, left: line.quantity - line.picked, bin: line.pickFrom?.[0]?.bin ?? null }))
    .sort((a, b) => (a.left === 0) - (b.left === 0) || String(a.bin ?? '~').localeCompare(String(b.bin ?? '~')));
}

async function refreshPicks() {
  const list = $('picks');
  try {
    const result = await api('GET', '/fulfillments?status=active&limit=100');
    if (result.status !== 200) return;
    await loadNames(result.data.items.flatMap((item) => item.lines.map((line) => line.sku)));
    list.replaceChildren();
    if (result.data.items.length === 0) list.append(el('li', {}, 'Nothing to pick right now.'));
    for (const item of result.data.items) {
      const units = item.lines.reduce((sum, line) => sum + line.quantity, 0);
      const picked = item.lines.reduce((sum, line) => sum + line.picked, 0);
      const first = walkOrder(item.lines)[0];
      list.append(
        el(
          'li',
          {},
          el('strong', {}, `Order ${item.orderNumber}`),
          el('p', {}, `Ships to ${cityOf(item.shipTo)} · ${picked} of ${plural(units, 'unit', 'units')} picked`),
          item.status === 'packed' ? el('p', {}, 'Packed: ready to ship') : null,
          first && first.left > 0 ? el('p', { class: 'small' }, `Starts at bin ${first.bin ?? '(no stock in a bin)'}`) : null,
          item.cancelRequested ? el('p', {}, el('strong', {}, 'Cancel requested: do not ship')) : null,
          el(
            'button',
            { type: 'button', class: 'quiet', onclick: () => openOrder(item.id) },
            `Open order ${item.orderNumber}`,
          ),
        ),
      );
    }
    if (order) await openOrder(order.id, { keepMessage: true });
  } catch {}
}
$('refresh-picks').addEventListener('click', refreshPicks);

async function openOrder(id, { keepMessage = false } = {}) {
  const listed = await api('GET', '/fulfillments?status=active&limit=100');
  let found = listed.status === 200 ? listed.data.items.find((item) => item.id === id) : undefined;
  if (!found) {
    const view = await api('GET', `/fulfillments/${encodeURIComponent(id)}`);
    if (view.status !== 200) return;
    found = view.data;
  }
  const opening = order?.id !== id;
  order = found;
  await loadNames(order.lines.map((line) => line.sku));
  $('pick-list-view').hidden = true;
  $('order').hidden = false;
  if (!keepMessage) say($('order-message'), '');
  $('order-title').textContent = `Order ${order.orderNumber}`;
  const shipTo = order.shipTo ?? {};
  $('order-shipto').textContent = `Ships to ${shipTo.name ?? ''}, ${cityOf(shipTo)} · carrier: ${order.carrier ?? 'chosen when shipping'}`;
  const lines = walkOrder(order.lines);
  const list = $('order-lines');
  list.replaceChildren();
  for (const line of lines) {
    const bins = (line.pickFrom ?? []).map((b) => `${b.bin} holds ${b.quantity}`).join(', ');
    list.append(
      el(
        'li',
        { class: line.left === 0 ? 'done' : '' },
        el('span', { class: 'bin' }, line.left === 0 ? '✓ ' : `Bin ${line.bin ?? '—'} · `),
        el('strong', {}, nameOf(line.sku)),
        el('p', {}, line.left === 0 ? `All ${line.quantity} picked` : `${line.left} left to pick (${line.picked} of ${line.quantity} picked)`),
        bins && line.left > 0 ? el('p', { class: 'small' }, bins) : null,
      ),
    );
  }
  const next = lines.find((line) => line.left > 0);
  const status = order.status;
  $('pick-form').hidden = !next || status === 'shipped';
  $('pack-form').hidden = Boolean(next) || status !== 'picking' && status !== 'open';
  $('ship-form').hidden = status !== 'packed';
  if (order.cancelRequested) $('order-next').textContent = 'Cancel requested: put the units back and do not ship.';
  else if (next) $('order-next').textContent = `Next: go to bin ${next.bin ?? '(none holds it)'} and pick ${next.left} × ${nameOf(next.sku)}.`;
  else if (status === 'packed') $('order-next').textContent = 'Packed. Hand it to the carrier and record the shipment.';
  else if (status === 'shipped') $('order-next').textContent = 'Shipped.';
  else $('order-next').textContent = 'Everything is picked. Pack it next.';
  if (next && opening) {
    $('pick-quantity').value = String(next.left);
    $('pick-bin').value = next.bin ?? '';
  }
  if (opening && $('parcels').children.length === 0) addParcel();
}
$('back-to-picks').addEventListener('click', () => {
  order = null;
  $('order').hidden = true;
  $('pick-list-view').hidden = false;
  say($('order-message'), '');
  refreshPicks();
});

async function orderAction(path, body, confirm) {
  const message = $('order-message');
  try {
    const result = await api('POST', `/fulfillments/${encodeURIComponent(order.id)}/${path}`, body, { idempotent: true });
    if (result.status === 201) {
      say(message, `✓ ${confirm}`, 'ok');
      const data = result.data ?? {};
      const eventIds = [data.event?.id, data.fact?.id, ...(data.events ?? []).map((e) => e.id)].filter(Boolean);
      remember(confirm, eventIds);
      refreshSync();
      return true;
    }
    say(message, `✗ Not recorded. ${failure(result)}`, 'bad');
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    say(message, '✗ Not recorded: the warehouse server cannot be reached.', 'bad');
  }
  return false;
}

$('pick-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const resolved = await resolveCode(form.code.value);
  if (!resolved.ok) {
    say($('order-message'), `✗ ${resolved.message}`, 'bad');
    form.code.focus();
    return;
  }
  const line = order.lines.find((l) => l.sku === resolved.sku);
  if (!line) {
    say($('order-message'), `✗ ${nameOf(resolved.sku)} is not on order ${order.orderNumber}. Check the label.`, 'bad');
    form.code.select();
    return;
  }
  const quantity = Number(form.quantity.value);
  const bin = form.bin.value.trim().toUpperCase() || undefined;
  const body = JSON.parse(JSON.stringify({ sku: line.sku, quantity, bin, lot: resolved.lot, serials: resolved.serial ? [resolved.serial] : undefined }));
  const left = line.quantity - line.picked - quantity;
  const tail = left > 0 ? `${left} still to pick` : 'line complete';
  const ok = await orderAction('pick', body, `${quantity} × ${nameOf(line.sku)} picked from ${bin ?? 'the warehouse'} for order ${order.orderNumber} (${tail})`);
  if (ok) {
    form.code.value = '';
    await openOrder(order.id, { keepMessage: true });
    const next = walkOrder(order.lines).find((l) => l.left > 0);
    if (next) {
      form.quantity.value = String(next.left);
      form.bin.value = next.bin ?? '';
      form.code.focus();
    }
  }
});
$('pick-code').addEventListener('keydown', (event) => {
  if (event.key !== 'Enter') return;
  event.preventDefault();
  $('pick-form').requestSubmit();
});

let parcelCount = 0;
function addParcel() {
  parcelCount += 1;
  const n = parcelCount;
  const field = (name, label, attributes) =>
    el('div', {}, el('label', { for: `parcel-${n}-${name}` }, label), el('input', { id: `parcel-${n}-${name}`, name, type: 'number', inputmode: 'decimal', min: '0', ...attributes }));
  $('parcels').append(
    el(
      'fieldset',
      { class: 'parcel' },
      el('legend', {}, `Parcel ${$('parcels').children.length + 1}`),
      field('weightKg', 'Weight (kg)', { step: '0.1' }),
      el('div', { class: 'triple' }, field('lengthCm', 'Length (cm)', {}), field('widthCm', 'Width (cm)', {}), field('heightCm', 'Height (cm)', {})),
    ),
  );
}
$('add-parcel').addEventListener('click', addParcel);

$('pack-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const packages = [];
  for (const parcel of $('parcels').querySelectorAll('fieldset')) {
    const number = (name) => Number(parcel.querySelector(`[name=${name}]`).value);
    const values = [number('weightKg'), number('lengthCm'), number('widthCm'), number('heightCm')];
    if (values.some((value) => !(value > 0))) {
      say($('order-message'), '✗ Give every parcel its weight and its three sides.', 'bad');
      parcel.querySelector('input').focus();
      return;
    }
    packages.push({
      weightGrams: Math.round(values[0] * 1000),
      lengthMm: Math.round(values[1] * 10),
      widthMm: Math.round(values[2] * 10),
      heightMm: Math.round(values[3] * 10),
    });
  }
  const ok = await orderAction('pack', { packages }, `Order ${order.orderNumber} packed in ${plural(packages.length, 'parcel', 'parcels')}`);
  if (ok) {
    $('parcels').replaceChildren();
    parcelCount = 0;
    addParcel();
    await openOrder(order.id, { keepMessage: true });
    $('ship-carrier').focus();
  }
});

$('ship-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const carrier = form.carrier.value.trim();
  const trackingNumber = form.trackingNumber.value.trim();
  if (!carrier || !trackingNumber) {
    say($('order-message'), '✗ Enter the carrier and the tracking number.', 'bad');
    (carrier ? form.trackingNumber : form.carrier).focus();
    return;
  }
  const number = order.orderNumber;
  const ok = await orderAction('ship', { carrier, trackingNumber }, `Order ${number} shipped with ${carrier}, tracking ${trackingNumber}`);
  if (ok) {
    // A shipped order is done: clear the form so the next one starts empty.
    form.reset();
    await openOrder(order.id, { keepMessage: true });
  }
});

// ---------------------------------------------------------------- returns

let currentReturn = null;

async function refreshReturns() {
  const list = $('returns');
  try {
    const result = await api('GET', '/returns?status=expected&limit=100');
    if (result.status !== 200) return;
    await loadNames(result.data.items.flatMap((item) => item.lines.map((line) => line.sku)));
    list.replaceChildren();
    if (result.data.items.length === 0) list.append(el('li', {}, 'No returns are expected here right now.'));
    for (const item of result.data.items) {
      const expected = item.lines.reduce((sum, line) => sum + line.expected, 0);
      list.append(
        el(
          'li',
          {},
          el('strong', {}, `Return ${item.number}`),
          el('p', {}, `For order ${item.orderNumber} · ${plural(expected, 'unit', 'units')} expected`),
          el('p', { class: 'small' }, item.lines.map((line) => `${line.expected} × ${nameOf(line.sku)}`).join(', ')),
          el('button', { type: 'button', class: 'quiet', onclick: () => openReturn(item) }, `Receive return ${item.number}`),
        ),
      );
    }
  } catch {}
}
$('refresh-returns').addEventListener('click', refreshReturns);

function openReturn(item) {
  currentReturn = item;
  $('returns-list-view').hidden = true;
  $('return-form').hidden = false;
  say($('return-message'), '');
  $('return-title').textContent = `Return ${item.number} for order ${item.orderNumber}`;
  const lines = $('return-lines');
  lines.replaceChildren();
  item.lines.forEach((line, i) => {
    if (line.expected === 0) return;
    const count = (name, label, value) =>
      el('div', {}, el('label', { for: `ret-${i}-${name}` }, label), el('input', { id: `ret-${i}-${name}`, name, type: 'number', inputmode: 'numeric', min: '0', max: String(line.expected), value: String(value) }));
    lines.append(
      el(
        'fieldset',
        { class: 'return-line', 'data-sku': line.sku },
        el('legend', {}, `${nameOf(line.sku)}: ${line.expected} expected`),
        el('div', { class: 'triple' }, count('restock', 'Back on the shelf', line.expected), count('damaged', 'Damaged', 0), count('missing', 'Missing', 0)),
        el('label', { for: `ret-${i}-bin` }, 'Put in bin'),
        el('input', { id: `ret-${i}-bin`, name: 'bin', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false' }),
      ),
    );
  });
  lines.querySelector('input')?.focus();
}
$('back-to-returns').addEventListener('click', () => {
  currentReturn = null;
  $('return-form').hidden = true;
  $('returns-list-view').hidden = false;
  refreshReturns();
});

$('return-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const message = $('return-message');
  const lines = [];
  const words = [];
  for (const fieldset of $('return-lines').querySelectorAll('fieldset')) {
    const sku = fieldset.dataset.sku;
    const value = (name) => Number(fieldset.querySelector(`[name=${name}]`).value || 0);
    const bin = fieldset.querySelector('[name=bin]').value.trim().toUpperCase() || undefined;
    const expected = currentReturn.lines.find((line) => line.sku === sku).expected;
    const counts = { restock: value('restock'), damaged: value('damaged'), missing: value('missing') };
    const total = counts.restock + counts.damaged + counts.missing;
    if (Object.values(counts).some((n) => !Number.isInteger(n) || n < 0) || total > expected) {
      say(message, `✗ ${nameOf(sku)}: ${expected} expected, ${total} given. Check the numbers.`, 'bad');
      fieldset.querySelector('input').focus();
      return;
    }
    const said = [];
    for (const disposition of ['restock', 'damaged', 'missing']) {
      if (counts[disposition] === 0) continue;
      lines.push({ sku, quantity: counts[disposition], disposition, ...(bin && disposition !== 'missing' ? { bin } : {}) });
    }
    if (counts.restock) said.push(`${counts.restock} back on the shelf${bin ? ` in ${bin}` : ''}`);
    if (counts.damaged) said.push(`${counts.damaged} damaged`);
    if (counts.missing) said.push(`${counts.missing} missing`);
    if (said.length) words.push(`${nameOf(sku)}: ${said.join(', ')}`);
  }
  if (lines.length === 0) {
    say(message, '✗ Nothing to receive: give at least one unit.', 'bad');
    return;
  }
  try {
    const result = await api('POST', `/returns/${encodeURIComponent(currentReturn.id)}/receive`, { lines }, { idempotent: true });
    if (result.status === 201) {
      const text = `Return ${currentReturn.number} received. ${words.join('; ')}`;
      say(message, `✓ ${text}`, 'ok');
      remember(text, [...(result.data.events ?? []).map((e) => e.id), result.data.fact?.id].filter(Boolean));
      currentReturn = null;
      $('return-form').hidden = true;
      $('returns-list-view').hidden = false;
      refreshReturns();
      refreshSync();
    } else {
      say(message, `✗ Not received. ${failure(result)}`, 'bad');
    }
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    say(message, '✗ Not received: the warehouse server cannot be reached.', 'bad');
  }
});

// ---------------------------------------------------------------- start

// A call that found no server already shows in the banner; nothing more to report for it.
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof Unreachable) event.preventDefault();
});

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
}
showFields();
render();
if (state.token) start();
