// An independent SMART Health Card verifier: Node's WebCrypto (ECDSA P-256,
// SHA-256, signatures as r||s like JWS) and zlib's raw inflate. Reads
// {"jws": "...", "jwks": {...}} on stdin; prints the payload, or exits 1.
import { webcrypto } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { jws, jwks } = JSON.parse(input);
const [h, p, s] = jws.split('.');
const header = JSON.parse(Buffer.from(h, 'base64url').toString());
if (header.alg !== 'ES256' || header.zip !== 'DEF') { console.error('bad header'); process.exit(1); }
const jwk = jwks.keys.find((k) => k.kid === header.kid);
if (!jwk) { console.error('no key'); process.exit(1); }
const key = await webcrypto.subtle.importKey('jwk', { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
const ok = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(s, 'base64url'), Buffer.from(h + '.' + p));
if (!ok) { console.error('bad signature'); process.exit(1); }
// RFC 7638 thumbprint of the key: the kid must be it.
const tp = Buffer.from(await webcrypto.subtle.digest('SHA-256', Buffer.from(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })))).toString('base64url');
if (tp !== header.kid) { console.error('kid is not the thumbprint'); process.exit(1); }
process.stdout.write(inflateRawSync(Buffer.from(p, 'base64url')));
