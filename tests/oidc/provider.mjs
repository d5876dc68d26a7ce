// A real OpenID Connect provider for the tests: panva's oidc-provider, on loopback, with people, their
// passwords and groups read from a JSON file at each login (so a test can move someone to another group).
//
//   node provider.mjs settings.json
//
// settings.json: {"issuer", "port", "clients": [...], "people": "people.json", "cert"?, "key"?, "jwks"?}
// people.json:   {"<login>": {"password": "...", "name": "...", "groups": ["..."]}}
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const people = () => JSON.parse(readFileSync(settings.people, 'utf8'));
const SCOPE = 'openid profile groups';
const CLAIMS = ['preferred_username', 'name', 'groups'];

const provider = new Provider(settings.issuer, {
  clients: settings.clients,
  ...(settings.jwks ? { jwks: settings.jwks } : {}), // else its development keys
  scopes: ['openid', 'profile', 'groups'],
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'], groups: ['groups'] },
  conformIdTokenClaims: false, // the scopes' claims go in the ID token itself, as Entra ID and Keycloak can
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['tests-only-cookie-key'] },
  async findAccount(ctx, id) {
    const person = people()[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: person.name, groups: person.groups };
      },
    };
  },
  // A first-party application that IT consented to for everyone: no consent page after the login.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPE);
    grant.addOIDCClaims(CLAIMS);
    await grant.save();
    return grant;
  },
});

// The development login page takes any password: check it against the people file before it goes on.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path.startsWith('/interaction/')) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString();
    const form = new URLSearchParams(raw);
    const person = people()[form.get('login')];
    if (form.get('prompt') === 'login' && (!person || person.password !== form.get('password'))) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = '<!DOCTYPE html><title>Sign-in</title><p>Wrong login or password.</p>';
      return;
    }
    ctx.request.body = raw;
  }
  await next();
});

const server = settings.cert
  ? https.createServer({ cert: readFileSync(settings.cert), key: readFileSync(settings.key) }, provider.callback())
  : http.createServer(provider.callback());
server.listen(settings.port, '127.0.0.1', () => console.log(`listening on ${settings.port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
