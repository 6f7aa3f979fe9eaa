// The console's client of the server: the same Atlas and Sluice routes every client calls,
// authenticated by the session cookie (HttpOnly: this code never sees it) and, on writes, by the
// session's CSRF token in a header. The private key is sent once, at sign-in, and not kept.

/** The newest API version not later than this date is used for every operation. */
const VERSION = '2025-03-12';
const JSON_TYPE = `application/vnd.atlas.${VERSION}+json`;
const GZIP_TYPE = `application/vnd.atlas.${VERSION}+gzip`;

let me = null;
let signedOutHandler = () => {};

/** An error answer of the server: status, Atlas errorCode and detail. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.errorCode;
    this.detail = body && body.detail;
  }
}

/** Called when the session ends (expired, or signed out elsewhere). */
export function onSignedOut(f) {
  signedOutHandler = f;
}

/** The signed-in caller: subject, projectId, projectName, roles, can.{…}; null when signed out. */
export function current() {
  return me;
}

async function send(method, path, body, accept = JSON_TYPE) {
  const headers = { Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && me) headers['X-CSRF-Token'] = me.csrfToken;
  const r = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (r.status === 401 && me && !path.startsWith('/console/api/session')) {
    me = null;
    signedOutHandler('Your session has ended. Sign in again.');
  }
  return r;
}

async function json(r) {
  const text = await r.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { detail: text };
  }
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

/** Asks the server for the current session (a reloaded page); null when there is none. */
export async function resume() {
  const r = await send('GET', '/console/api/session');
  me = r.ok ? await r.json() : null;
  return me;
}

/** Exchanges credentials for a session once; the caller clears its inputs afterwards. */
export async function signIn(credentials) {
  me = await json(await send('POST', '/console/api/session', credentials));
  return me;
}

/** Ends the session. */
export async function signOut() {
  await send('DELETE', '/console/api/session');
  me = null;
}

/** The project's streams path. */
export function streams() {
  return `/api/atlas/v2/groups/${me.projectId}/streams`;
}

/** A workspace's path. */
export function wsPath(ws) {
  return `${streams()}/${encodeURIComponent(ws)}`;
}

/** A processor's path. */
export function procPath(ws, name) {
  return `${wsPath(ws)}/processor/${encodeURIComponent(name)}`;
}

/** GET a JSON resource. */
export async function get(path) {
  return json(await send('GET', path));
}

/** POST a JSON body. */
export async function post(path, body) {
  return json(await send('POST', path, body === undefined ? {} : body));
}

/** PATCH a JSON body. */
export async function patch(path, body) {
  return json(await send('PATCH', path, body));
}

/** DELETE a resource. */
export async function del(path) {
  return json(await send('DELETE', path));
}

/** A workspace's operational log lines (the download is gzip JSON lines), newest last. */
export async function operationalLogs(ws) {
  const r = await send('GET', `${wsPath(ws)}:downloadOperationalLogs`, undefined, GZIP_TYPE);
  if (!r.ok) await json(r);
  const text = await new Response(r.body.pipeThrough(new DecompressionStream('gzip'))).text();
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return { msg: l };
      }
    });
}
