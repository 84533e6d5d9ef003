// bench/node-ref/server.js - the Node.js reference server of the grantd
// benchmark (bench/compare.py starts it, measures it next to grantd, and
// stops it by PID). It is oidc-provider (an OpenID Certified library) with the
// JWT bearer grant (RFC 7523) added the way its documentation suggests:
// provider.registerGrantType() with a handler that verifies the assertion
// with jose and issues tokens through the provider's own models. Nothing
// here is tuned for the benchmark beyond what a small deployment would do.
//
// Environment (all required unless a default is given):
//   NODEREF_PORT            TCP port on 127.0.0.1
//   NODEREF_WORKERS         1 = one plain process (default); N > 1 = node:cluster
//                           primary + N workers sharing the port
//   NODEREF_IDP_KEY         path of the identity provider's public key (SPKI PEM)
//                           that signs the assertions (RS256)
//   NODEREF_IDP_ISSUER      the assertions' expected `iss`
//   NODEREF_AUDIENCE        the assertions' expected `aud` (the same value
//                           grantd's identity provider alias has)
//   NODEREF_CLIENT_SECRET   secret of both clients (client_secret_basic):
//                             bench-at  jwt-bearer, client_credentials
//                                       (access token only)
//                             bench-rt  jwt-bearer, refresh_token,
//                                       client_credentials (access + refresh token)
//
// Prints "node-ref ready pid=<pid> workers=<worker pids, empty for one
// process>" on stdout once every process listens.
//
// Storage is oidc-provider's default in-memory adapter (an LRU of 1000
// entries per process: nothing survives a restart and nothing is written to
// disk). Replay protection keeps the seen (iss, jti) pairs in a Map per
// process, so with several workers a jti is only refused by the worker that
// saw it first.

import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    throw new Error(`${name} is not set`);
  }
  return v;
}

const port = Number(env('NODEREF_PORT'));
const workers = Number(env('NODEREF_WORKERS', '1'));

if (workers > 1 && cluster.isPrimary) {
  // The primary only forks and relays readiness: with the default
  // round-robin scheduling it accepts connections and hands each to a
  // worker, which then owns that keep-alive connection.
  const listening = new Set();
  for (let i = 0; i < workers; i += 1) {
    cluster.fork();
  }
  cluster.on('listening', (worker) => {
    listening.add(worker.process.pid);
    if (listening.size === workers) {
      console.log(`node-ref ready pid=${process.pid} workers=${[...listening].join(',')}`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    // A dead worker is a failed benchmark, not something to paper over.
    console.error(`node-ref: worker ${worker.process.pid} exited (${signal ?? code})`);
    process.exit(1);
  });
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) {
      w.process.kill('SIGTERM');
    }
    process.exit(0);
  });
} else {
  await serve();
}

async function serve() {
  // Loaded here, not at the top, so a cluster primary (which serves no
  // request) does not carry the library.
  const jose = await import('jose');
  const { default: Provider, errors } = await import('oidc-provider');

  const idpKey = await jose.importSPKI(readFileSync(env('NODEREF_IDP_KEY'), 'utf8'), 'RS256');
  const idpIssuer = env('NODEREF_IDP_ISSUER');
  const audience = env('NODEREF_AUDIENCE');
  const secret = env('NODEREF_CLIENT_SECRET');

  // The provider's own signing key (ID tokens, JWT access tokens): none is
  // issued in this benchmark, but a key avoids the development-keys warning.
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const signingJwk = { ...(await jose.exportJWK(privateKey)), alg: 'ES256', use: 'sig' };

  // Accounts are whatever the identity provider asserts (`sub`); a real
  // deployment would look the subject up in its user store here.
  async function findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub }; } };
  }

  const client = (id, grantTypes) => ({
    client_id: id,
    client_secret: secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: grantTypes,
    // A machine client: no authorization endpoint, so no redirect URIs.
    response_types: [],
    redirect_uris: [],
    // the algorithm of the provider's only signing key (default: RS256)
    id_token_signed_response_alg: 'ES256',
  });

  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      client('bench-at', [JWT_BEARER, 'client_credentials']),
      client('bench-rt', [JWT_BEARER, 'refresh_token', 'client_credentials']),
    ],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
    },
    jwks: { keys: [signingJwk] },
    findAccount,
    // grantd's default lifetimes: access tokens 1 h, refresh tokens 1 day.
    ttl: {
      AccessToken: 3600,
      ClientCredentials: 3600,
      RefreshToken: 86400,
      Grant: 86400,
    },
  });

  provider.on('server_error', (ctx, err) => {
    console.error('node-ref server_error:', err);
  });

  // (iss, jti) pairs already used, with the assertion's exp (seconds) so the
  // map can be pruned once replay is impossible anyway.
  const seen = new Map();
  setInterval(() => {
    const now = Date.now() / 1000;
    for (const [k, exp] of seen) {
      if (exp < now - 60) seen.delete(k);
    }
  }, 60_000).unref();

  provider.registerGrantType(JWT_BEARER, async function jwtBearerGrant(ctx) {
    const { assertion } = ctx.oidc.params;
    if (!assertion) {
      throw new errors.InvalidRequest("missing required parameter 'assertion'");
    }

    let payload;
    try {
      // The same checks grantd makes by default: signature (RS256 only),
      // iss, aud, exp present and not passed, iat not older than 30 min,
      // 60 s clock skew (maxTokenAge makes jose require iat, which grantd
      // checks only when present; every benchmark assertion has one).
      ({ payload } = await jose.jwtVerify(assertion, idpKey, {
        algorithms: ['RS256'],
        issuer: idpIssuer,
        audience,
        requiredClaims: ['sub', 'exp'],
        maxTokenAge: '30m',
        clockTolerance: 60,
      }));
    } catch (err) {
      throw new errors.InvalidGrant(`invalid assertion: ${err.code ?? err.message}`);
    }

    if (payload.jti !== undefined) {
      const key = `${payload.iss}\u0000${payload.jti}`;
      if (seen.has(key)) {
        throw new errors.InvalidGrant('assertion replayed (jti already used)');
      }
      seen.set(key, payload.exp);
    }

    const account = await findAccount(ctx, payload.sub);
    if (!account) {
      throw new errors.InvalidGrant('unknown subject');
    }
    const { client: oidcClient } = ctx.oidc;

    // A refresh token only for a client that may use the refresh_token
    // grant, as grantd does. oidc-provider ties refresh tokens to a Grant
    // (the record of what the account allowed the client), so make one.
    let grantId;
    const withRefresh = oidcClient.grantTypeAllowed('refresh_token');
    if (withRefresh) {
      const grant = new provider.Grant({ accountId: account.accountId, clientId: oidcClient.clientId });
      grantId = await grant.save();
    }

    const at = new provider.AccessToken({
      accountId: account.accountId,
      client: oidcClient,
      grantId,
      gty: 'jwt_bearer',
    });
    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();

    let refreshToken;
    if (withRefresh) {
      const rt = new provider.RefreshToken({
        accountId: account.accountId,
        client: oidcClient,
        grantId,
        gty: 'jwt_bearer',
        rotations: 0,
      });
      ctx.oidc.entity('RefreshToken', rt);
      refreshToken = await rt.save();
    }

    ctx.body = {
      access_token: accessToken,
      token_type: at.tokenType,
      expires_in: at.expiration,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    };
  }, ['assertion']);

  const server = createServer(provider.callback());
  server.listen(port, '127.0.0.1', () => {
    if (!cluster.isWorker) {
      console.log(`node-ref ready pid=${process.pid} workers=`);
    }
  });
  process.on('SIGTERM', () => {
    server.close();
    process.exit(0);
  });
}
