// gen.mjs produces the known-answer JWE vectors in ../vectors.json with the
// npm "jose" package (panva/jose), an implementation independent of go-jose.
// It is our own script; see README.md for how it was run.
//
//   node gen.mjs <path-to-testdata> > ../vectors.json
import { readFileSync } from "node:fs";
import { createHash, createPublicKey } from "node:crypto";
import { CompactEncrypt, compactDecrypt, importPKCS8, importSPKI } from "jose";

const dir = process.argv[2] ?? "..";
const enc = new TextEncoder();

// Field-level (VTS) key: SHA-256 of the UTF-8 shared secret, raw 32 bytes.
const fieldKEK = new Uint8Array(createHash("sha256").update("sbx-enc-shared-secret", "utf8").digest());
const fieldKID = "SBXENCAPIKEY01";

// MLE key: the 2048-bit RSA key generated with openssl (see README.md).
const mlePEM = readFileSync(`${dir}/mle-private-pkcs8.pem`, "utf8");
const spki = createPublicKey(mlePEM).export({ type: "spki", format: "pem" });
const mlePub = await importSPKI(spki, "RSA-OAEP-256");
const mlePriv = await importPKCS8(mlePEM, "RSA-OAEP-256");
const mleKID = "SBX-MLE-KEY-01";
const iatMs = 1767225600123;

const cardJSON = '{"accountNumber":"4111111111111111","name":"Zoë Ünïcode €","expirationDate":{"month":"12","year":"2030"},"cvv2":"123"}';

const out = [];
async function add(name, kind, plaintext, protectedHeader, key, decryptKey) {
  const jwe = await new CompactEncrypt(enc.encode(plaintext)).setProtectedHeader(protectedHeader).encrypt(key);
  // Self-check with jose before recording the vector.
  const { plaintext: back } = await compactDecrypt(jwe, decryptKey ?? key);
  if (new TextDecoder().decode(back) !== plaintext) throw new Error(`${name}: self-check failed`);
  out.push({ name, kind, header: protectedHeader, plaintext, compact: jwe });
}

// (a) field JWEs, A256GCMKW + A256GCM.
await add("field-card", "field", cardJSON, { alg: "A256GCMKW", enc: "A256GCM", kid: fieldKID }, fieldKEK);
await add("field-unicode", "field", "Zoë Ünïcode €", { alg: "A256GCMKW", enc: "A256GCM", kid: fieldKID }, fieldKEK);
await add("field-visa-header", "field", '{"email":"alice@example.com"}',
  { alg: "A256GCMKW", enc: "A256GCM", typ: "JOSE", kid: fieldKID, channelSecurityContext: "SHARED_SECRET", iat: "1767225600" }, fieldKEK);
await add("field-empty", "field", "", { alg: "A256GCMKW", enc: "A256GCM", kid: fieldKID }, fieldKEK);

// (b) MLE JWEs, RSA-OAEP-256 + A128GCM / A256GCM, iat in milliseconds.
await add("mle-a128gcm", "mle", cardJSON, { alg: "RSA-OAEP-256", enc: "A128GCM", kid: mleKID, iat: iatMs }, mlePub, mlePriv);
await add("mle-a256gcm", "mle", cardJSON, { alg: "RSA-OAEP-256", enc: "A256GCM", kid: mleKID, iat: iatMs }, mlePub, mlePriv);
await add("mle-unicode", "mle", "Zoë Ünïcode €", { alg: "RSA-OAEP-256", enc: "A128GCM", kid: mleKID, iat: iatMs }, mlePub, mlePriv);

// Negative vectors: well-formed JWEs that our decrypters must refuse.
await add("neg-field-a128kw", "negative", "x", { alg: "A128KW", enc: "A256GCM", kid: fieldKID }, fieldKEK.slice(0, 16));
await add("neg-field-a128gcm", "negative", "x", { alg: "A256GCMKW", enc: "A128GCM", kid: fieldKID }, fieldKEK);
await add("neg-field-dir", "negative", "x", { alg: "dir", enc: "A256GCM", kid: fieldKID }, fieldKEK);
await add("neg-field-wrong-kid", "negative", "x", { alg: "A256GCMKW", enc: "A256GCM", kid: "OTHERKEY" }, fieldKEK);
const otherKEK = new Uint8Array(createHash("sha256").update("another-secret", "utf8").digest());
await add("neg-field-wrong-key", "negative", "x", { alg: "A256GCMKW", enc: "A256GCM", kid: fieldKID }, otherKEK);
await add("neg-mle-rsa-oaep", "negative", "x", { alg: "RSA-OAEP", enc: "A128GCM", kid: mleKID, iat: iatMs },
  await importSPKI(spki, "RSA-OAEP"), await importPKCS8(mlePEM, "RSA-OAEP"));
await add("neg-mle-cbc", "negative", "x", { alg: "RSA-OAEP-256", enc: "A128CBC-HS256", kid: mleKID, iat: iatMs }, mlePub, mlePriv);

// Record the jose version: walk up from its resolved entry point to package.json.
let pkgDir = new URL(".", import.meta.resolve("jose"));
let version = "unknown";
for (let i = 0; i < 6; i++) {
  try {
    const pkg = JSON.parse(readFileSync(new URL("package.json", pkgDir), "utf8"));
    if (pkg.name === "jose") { version = pkg.version; break; }
  } catch {}
  pkgDir = new URL("..", pkgDir);
}
process.stdout.write(JSON.stringify({ generator: `npm jose ${version}, node ${process.version}`, vectors: out }, null, 2) + "\n");
