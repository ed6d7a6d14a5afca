// verify.mjs decrypts, with npm jose, JWEs that the Go package produced
// (TestExportForJose), and checks plaintexts and headers. Our own script; see
// README.md.
//
//   node verify.mjs <path-to-testdata> <exported.json>
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { compactDecrypt, importPKCS8 } from "jose";

const [dir, file] = process.argv.slice(2);
const kek = new Uint8Array(createHash("sha256").update("sbx-enc-shared-secret", "utf8").digest());
const priv = await importPKCS8(readFileSync(`${dir}/mle-private-pkcs8.pem`, "utf8"), "RSA-OAEP-256");
let failures = 0;
for (const { kind, plaintext, compact } of JSON.parse(readFileSync(file, "utf8"))) {
  const opts = kind === "field"
    ? { keyManagementAlgorithms: ["A256GCMKW"], contentEncryptionAlgorithms: ["A256GCM"] }
    : { keyManagementAlgorithms: ["RSA-OAEP-256"], contentEncryptionAlgorithms: ["A128GCM", "A256GCM"] };
  const { plaintext: pt, protectedHeader: h } = await compactDecrypt(compact, kind === "field" ? kek : priv, opts);
  const got = new TextDecoder().decode(pt);
  const ok = got === plaintext &&
    (kind === "field"
      ? h.kid === "SBXENCAPIKEY01" && h.typ === "JOSE" && h.channelSecurityContext === "SHARED_SECRET" && typeof h.iat === "string"
      : h.kid === "SBX-MLE-KEY-01" && h.iat === 1767225600123);
  if (!ok) failures++;
  console.log(ok ? "ok  " : "FAIL", kind, JSON.stringify(h), got);
}
process.exit(failures ? 1 : 0);
