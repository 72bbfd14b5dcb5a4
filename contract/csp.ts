/**
 * The app page's Content-Security-Policy, one for every host: the Electron shell sends it as a
 * header on the app's files, `serve` with its HTML (adding its event socket to connect-src), and
 * the build puts it in renderer/index.html as a meta tag (the only form a file:// page is sure to
 * get), which browsers enforce beside the header. Every directive is explicit, script-src too, so
 * a violation never reports a fallback to default-src.
 */
const DIRECTIVES: readonly (readonly [string, string])[] = [
  ['default-src', "'self'"],
  ['script-src', "'self'"],
  ['style-src', "'self'"],
  ['img-src', "'self' data: blob:"],
  ['connect-src', "'self'"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-ancestors', "'none'"],
];

/** Directives a meta tag cannot carry: browsers ignore them there, with a console error. */
const HEADER_ONLY = new Set(['frame-ancestors']);

/** The policy as a header; `connectSources` adds to connect-src (serve's WebSocket, ws://host:port). */
export function appCsp(connectSources: readonly string[] = []): string {
  return DIRECTIVES.map(([name, sources]) => `${name} ${name === 'connect-src' ? [sources, ...connectSources].join(' ') : sources}`).join('; ');
}

/** The policy as renderer/index.html carries it. */
export function appCspMeta(): string {
  return DIRECTIVES.filter(([name]) => !HEADER_ONLY.has(name))
    .map(([name, sources]) => `${name} ${sources}`)
    .join('; ');
}
