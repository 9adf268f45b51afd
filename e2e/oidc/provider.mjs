#!/usr/bin/env node
// A real OpenID provider for the end-to-end tests and for trying OIDC sign-in locally
// (`just oidc-dev`). It is `oidc-provider` (OpenID Certified), pinned in package-lock.json and
// installed by scripts/setup.sh, with what a test needs around it: one confidential client,
// accounts from a JSON file, a login page that checks the password, and consent granted
// without a second page.
//
//   node e2e/oidc/provider.mjs --port 0 --client-id ID --client-secret SECRET \
//     --redirect-uri http://127.0.0.1:8080/api/v1/auth/oidc/callback [--redirect-uri …] \
//     [--accounts FILE]
//
// The same settings may come from the environment (HUBKEEP_OIDC_PORT, HUBKEEP_OIDC_CLIENT_ID,
// HUBKEEP_OIDC_CLIENT_SECRET, HUBKEEP_OIDC_REDIRECT_URIS separated by spaces,
// HUBKEEP_OIDC_ACCOUNTS); a flag wins. It listens on 127.0.0.1 only, with the issuer
// `http://127.0.0.1:<port>`, prints one line `{"issuer":"http://127.0.0.1:<port>"}` on stdout
// once it listens (the harness in e2e/src/oidc.rs waits for it), logs to stderr and runs
// until SIGTERM or SIGINT. Sessions, grants and codes live in memory: a restart forgets them.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const here = fileURLToPath(new URL('.', import.meta.url));

function usage(message) {
  process.stderr.write(`provider.mjs: ${message}\n`
    + 'usage: node provider.mjs --port N --client-id ID --client-secret SECRET '
    + '--redirect-uri URI [--redirect-uri URI …] [--accounts FILE]\n');
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      accounts: { type: 'string' },
    },
  }));
} catch (err) {
  usage(err.message);
}

const env = process.env;
const port = Number(args.port ?? env.HUBKEEP_OIDC_PORT ?? 0);
const clientId = args['client-id'] ?? env.HUBKEEP_OIDC_CLIENT_ID;
const clientSecret = args['client-secret'] ?? env.HUBKEEP_OIDC_CLIENT_SECRET;
const redirectUris = args['redirect-uri']
  ?? (env.HUBKEEP_OIDC_REDIRECT_URIS ?? '').split(/\s+/).filter(Boolean);
const accountsFile = args.accounts ?? env.HUBKEEP_OIDC_ACCOUNTS ?? `${here}accounts.json`;

if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad port: ${args.port}`);
if (!clientId) usage('--client-id is required');
if (!clientSecret) usage('--client-secret is required');
if (redirectUris.length === 0) usage('at least one --redirect-uri is required');
for (const uri of redirectUris) if (!URL.canParse(uri)) usage(`not a URL: --redirect-uri ${JSON.stringify(uri)}`);

// Accounts: `{ login, password, email, email_verified, name }`. The login is the `sub`: stable
// across restarts, so a hub that links people by `sub` finds them again.
const accounts = new Map();
for (const account of JSON.parse(fs.readFileSync(accountsFile, 'utf8'))) {
  if (typeof account.login !== 'string' || typeof account.password !== 'string') {
    usage(`${accountsFile}: every account needs a string login and password`);
  }
  accounts.set(account.login, account);
}

function log(message) {
  process.stderr.write(`[oidc] ${message}\n`);
}

function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; }
  main { max-width: 22rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 6px;
         box-shadow: 0 1px 3px rgba(0,0,0,.2); }
  h1 { font-size: 1.3rem; margin-top: 0; }
  label { display: block; margin-top: 1rem; font-size: .9rem; }
  input { display: block; width: 100%; box-sizing: border-box; padding: .5rem; margin-top: .25rem; }
  button { margin-top: 1.5rem; width: 100%; padding: .6rem; }
  .error { color: #a00; background: #fee; padding: .5rem; border-radius: 4px; }
  .hint { color: #666; font-size: .8rem; }
  pre { white-space: pre-wrap; word-break: break-word; }
</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;
}

function loginPage(uid, { login = '', error, clientId: client } = {}) {
  return page('Sign in — test OpenID provider', `<h1>Sign in</h1>
<p class="hint">Test OpenID provider${client ? ` for <code>${escapeHtml(client)}</code>` : ''}</p>
${error ? `<p class="error" id="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label for="login">Login</label>
  <input id="login" name="login" value="${escapeHtml(login)}" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button id="submit" type="submit">Sign in</button>
</form>
<p><a id="cancel" href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

// oidc-provider's own error page pulls a web font from the internet; this one is offline.
async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('Error — test OpenID provider', `<h1>Something went wrong</h1>
${Object.entries(out).map(([key, value]) => `<pre><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</pre>`).join('\n')}`);
}

async function findAccount(ctx, sub) {
  const account = accounts.get(sub);
  if (!account) return undefined;
  const [givenName, ...rest] = String(account.name ?? '').split(' ');
  return {
    accountId: sub,
    // Every claim the account has; the provider keeps only those the grant and the requested
    // scopes allow.
    async claims() {
      return {
        sub,
        email: account.email,
        email_verified: account.email_verified === true,
        name: account.name,
        given_name: givenName || undefined,
        family_name: rest.join(' ') || undefined,
      };
    },
  };
}

// The server listens first, so that a `--port 0` provider knows its issuer (its own address)
// before it is built; its request handler is attached below, before the ready line tells
// anyone the address.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

// An RSA key made at start: RS256 is the ID-token algorithm every relying party accepts by
// default, and a fresh key per run keeps oidc-provider from warning about its built-in
// development keys.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  responseTypes: ['code'],
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  // The hub reads the email from the ID token only: put the scopes' claims there, not just at
  // the userinfo endpoint.
  conformIdTokenClaims: false,
  findAccount,
  jwks: { keys: [signingKey] },
  // PKCE (S256, the only method enabled) is required: the hub always sends it, and a test
  // that forgot it should fail here as it would against a strict provider.
  pkce: { methods: ['S256'], required: () => true },
  features: {
    // The login page below replaces the built-in development one.
    devInteractions: { enabled: false },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // The hub talks to the provider from its server, never from a browser script.
  clientBasedCORS: () => false,
  cookies: {
    keys: ['hubkeep-oidc-dev-cookie-key-1'],
    // oidc-provider 8 defaults the session cookie to SameSite=None, which browsers drop
    // unless it is also Secure (https only): over plain http the session would be lost and
    // `prompt=none` would always answer login_required. Lax still travels on the top-level
    // redirects of an authorization request.
    long: { signed: true, sameSite: 'lax' },
    short: { signed: true, sameSite: 'lax' },
  },
  // Explicit lifetimes (the defaults, in seconds) keep the provider from warning about them.
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    Session: 14 * 24 * 60 * 60,
    Grant: 14 * 24 * 60 * 60,
  },
  renderError,
});

provider.on('server_error', (ctx, err) => log(`server error: ${err.stack ?? err}`));
provider.on('authorization.error', (ctx, err) => log(`authorization error: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}`));
provider.on('grant.error', (ctx, err) => log(`token error: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}`));
provider.on('grant.success', (ctx) => log(`token issued for ${ctx.oidc.entities.Account?.accountId ?? '?'}`));

// The grant a finished interaction hands over: openid, email and profile, plus whatever claims
// or resource scopes a consent prompt found missing, so that the consent step never shows a
// page and later `prompt=none` requests of this session are answered silently.
async function grantFor(details, accountId) {
  let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  if (!grant || grant.accountId !== accountId) {
    grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  }
  grant.addOIDCScope('openid email profile');
  const missing = details.prompt.details ?? {};
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

// The interaction routes: GET /interaction/:uid (the login page, or consent granted at once),
// POST /interaction/:uid/login, GET /interaction/:uid/abort.
async function interaction(req, res, pathname) {
  const [, , uid, action = ''] = pathname.split('/');
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    // No interaction cookie, or it expired: the user must start again from the hub.
    send(res, 400, page('Sign-in expired', `<h1>Sign-in expired</h1><p>${escapeHtml(err.message)}</p>`
      + '<p>Start the sign-in again from the application.</p>'));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, page('Sign-in mismatch', '<h1>This sign-in page is stale</h1>'));
    return;
  }
  const client = details.params.client_id;

  if (req.method === 'GET' && action === '') {
    if (details.prompt.name === 'login') {
      send(res, 200, loginPage(uid, { login: details.params.login_hint, clientId: client }));
      return;
    }
    // consent: granted without asking.
    const grantId = await grantFor(details, details.session?.accountId);
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const login = (form.get('login') ?? '').trim();
    const account = accounts.get(login);
    if (!account || !crypto.timingSafeEqual(
      crypto.createHash('sha256').update(form.get('password') ?? '').digest(),
      crypto.createHash('sha256').update(account.password).digest(),
    )) {
      log(`wrong login or password for ${JSON.stringify(login)}`);
      send(res, 200, loginPage(uid, { login, error: 'Wrong login or password.', clientId: client }));
      return;
    }
    log(`signed in: ${login}`);
    const grantId = await grantFor(details, login);
    await provider.interactionFinished(req, res, {
      login: { accountId: login },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (req.method === 'GET' && action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'the user cancelled the sign-in',
    }, { mergeWithLastSubmission: false });
    return;
  }

  send(res, 404, page('Not found', '<h1>Not found</h1>'));
}

// oidc-provider checks a static client's metadata when it is first looked up: look it up now,
// so that a bad client (say, a redirect URI it refuses) stops the start, not the first sign-in.
try {
  await provider.Client.find(clientId);
} catch (err) {
  log(`the client is refused: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}`);
  process.exit(2);
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  if (pathname.startsWith('/interaction/')) {
    interaction(req, res, pathname).catch((err) => {
      log(`interaction error: ${err.stack ?? err}`);
      if (!res.headersSent) send(res, 500, page('Error', `<h1>Error</h1><pre>${escapeHtml(err.message)}</pre>`));
      else res.end();
    });
  } else {
    callback(req, res);
  }
});

// Everything lives in memory: there is nothing to flush or drain, so a signal ends the process
// at once (waiting for server.close() could take a second or more).
function shutdown(signal) {
  log(`${signal}: stopping`);
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

log(`${accounts.size} accounts from ${accountsFile}; client ${clientId} → ${redirectUris.join(', ')}`);
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
