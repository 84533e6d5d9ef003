// x509.js - reads the certificates of a PEM file in the browser, so that
// the IdP form shows each one's subject, validity and SHA-256 thumbprint
// before anything is saved. A small DER walker over the fields shown; the
// server parses and checks the certificate again on save (the authority).

const NAMES = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O',
  '2.5.4.11': 'OU', '2.5.4.5': 'serialNumber', '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.25': 'DC',
};
const KEYS = { '1.2.840.113549.1.1.1': 'RSA', '1.2.840.10045.2.1': 'EC', '1.3.101.112': 'Ed25519', '1.2.840.113549.1.1.10': 'RSA-PSS' };

function tlv(b, off, end) {
  if (off + 2 > end) throw new Error('truncated DER');
  const tag = b[off];
  let len = b[off + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4 || off + 2 + n > end) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[off + 2 + i];
    hdr += n;
  }
  const start = off + hdr;
  if (start + len > end) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

function kids(b, t) {
  const out = [];
  for (let off = t.start; off < t.end;) { const c = tlv(b, off, t.end); out.push(c); off = c.end; }
  return out;
}

function oid(b, t) {
  const v = b.subarray(t.start, t.end);
  const parts = [Math.floor(v[0] / 40), v[0] % 40];
  let n = 0;
  for (let i = 1; i < v.length; i++) {
    n = n * 128 + (v[i] & 0x7f);
    if (!(v[i] & 0x80)) { parts.push(n); n = 0; }
  }
  return parts.join('.');
}

function str(b, t) {
  const v = b.subarray(t.start, t.end);
  if (t.tag === 0x1e) { // BMPString
    let s = '';
    for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode((v[i] << 8) | v[i + 1]);
    return s;
  }
  if (t.tag === 0x14) return Array.from(v, (c) => String.fromCharCode(c)).join(''); // T61
  return new TextDecoder('utf-8', { fatal: false }).decode(v);
}

function name(b, t) {
  const parts = [];
  for (const set of kids(b, t)) {
    for (const atv of kids(b, set)) {
      const [o, val] = kids(b, atv);
      const id = oid(b, o);
      parts.push(`${NAMES[id] || id}=${str(b, val)}`);
    }
  }
  return parts.join(', ');
}

function time(b, t) {
  const s = str(b, t);
  const m = t.tag === 0x17 ? s.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/) : s.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/);
  if (!m) throw new Error(`unsupported time ${s}`);
  let y = Number(m[1]);
  if (t.tag === 0x17) y += y < 50 ? 2000 : 1900;
  return new Date(Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] || 0)));
}

/** The fields of one DER certificate. */
export async function parseDer(der) {
  const b = der;
  const cert = tlv(b, 0, b.length);
  if (cert.tag !== 0x30 || cert.end !== b.length) throw new Error('not a DER certificate');
  const [tbs] = kids(b, cert);
  const f = kids(b, tbs);
  let i = f[0].tag === 0xa0 ? 1 : 0; // optional version
  i += 2; // serial, signature algorithm
  const issuer = name(b, f[i++]);
  const [nb, na] = kids(b, f[i++]);
  const subject = name(b, f[i++]);
  const spki = f[i++];
  const [alg] = kids(b, kids(b, spki)[0]);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', b));
  return {
    subject, issuer, notBefore: time(b, nb), notAfter: time(b, na),
    keyType: KEYS[oid(b, alg)] || oid(b, alg),
    // As the server and `openssl x509 -fingerprint -sha256` show it: "AB:CD:...".
    sha256Thumbprint: Array.from(digest, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join(':'),
  };
}

/**
 * The certificates of a PEM text: [{pem, info}] with the PEM block as
 * text. Throws with a reason for anything else (a private key, no
 * certificate, a broken block).
 */
export async function parsePem(text) {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new Error('this file holds a private key: upload the certificate only');
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new Error('no "BEGIN CERTIFICATE" block in this file (PEM expected)');
  const out = [];
  for (const m of blocks) {
    const b64 = m[1].replace(/\s+/g, '');
    let bin;
    try { bin = atob(b64); } catch { throw new Error('a certificate block is not valid base64'); }
    const der = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const info = await parseDer(der);
    out.push({ pem: `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`, info });
  }
  return out;
}
