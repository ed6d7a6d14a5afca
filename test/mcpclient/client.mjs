// A client that is not ours: the official MCP TypeScript SDK drives
// visa-mcp over streamable HTTP with a bearer token, through a whole
// journey (add a card on the card-entry page and through the
// one-time-code step, buy, list the purchases) and a bad call. Any
// deviation exits 1.
//
// Usage: MCP_URL=http://127.0.0.1:PORT/mcp MCP_TOKEN=... node client.mjs
// The sandbox's test card and fixed code are used (visa-mcp built with
// -tags sandbox, or configured against cmd/visa-sandbox).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.env.MCP_URL ?? "");
const token = process.env.MCP_TOKEN ?? "";
const CARD = "4111111111111111"; // asks for a one-time code
const OTP = "456789"; // the sandbox's fixed code
const USER = "js-shopper-1";

function fail(msg) {
  // Never print the token.
  console.error("mcpclient: FAIL: " + msg.split(token).join("<token>"));
  process.exit(1);
}

function check(cond, msg) {
  if (!cond) fail(msg);
}

const seen = []; // every result, scanned for card data at the end

async function connect(withToken) {
  const headers = withToken ? { Authorization: `Bearer ${token}` } : {};
  const client = new Client({ name: "vicgo-js-client", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  await client.connect(transport);
  return client;
}

// Without a token the server refuses the connection.
let refused = false;
try {
  const c = await connect(false);
  await c.close();
} catch (err) {
  refused = /401|nauthori/i.test(String(err?.message ?? err)) || err?.code === 401;
  if (!refused) fail("unauthenticated connect failed, but not with 401: " + String(err?.message ?? err));
}
check(refused, "the server accepted a client without a bearer token");

const client = await connect(true);
const { tools } = await client.listTools();
const byName = new Map(tools.map((t) => [t.name, t]));
for (const name of ["add-card", "add-card-continue", "purchase", "list-transactions", "list-cards"]) {
  check(byName.has(name), `tool ${name} is missing (tools: ${[...byName.keys()].join(", ")})`);
}
for (const t of tools) {
  check(t.inputSchema?.type === "object", `tool ${t.name} has no object input schema`);
  check(typeof t.description === "string" && t.description.length > 0, `tool ${t.name} has no description`);
}

// Tools bound to the authenticated caller take no user: arguments the
// schema does not name are left out.
function argsFor(name, args) {
  const props = byName.get(name).inputSchema.properties ?? {};
  return Object.fromEntries(Object.entries(args).filter(([k]) => k in props));
}

async function call(name, args) {
  const res = await client.callTool({ name, arguments: argsFor(name, args) });
  seen.push(JSON.stringify(res));
  if (res.isError) fail(`${name} answered an error: ${JSON.stringify(res.content)}`);
  check(res.structuredContent && typeof res.structuredContent === "object", `${name} has no structured result`);
  return res.structuredContent;
}

const year = new Date().getFullYear() + 2;
let r = await call("add-card", {
  user: { email: "js-shopper-1@example.com", country: "US" }, // the signed-in user is the cardholder
  userId: USER,
  card: { pan: CARD, cvv2: "123", expiryMonth: 12, expiryYear: year },
});
if (r.status === "CARD_ENTRY_REQUIRED") {
  // With authentication the card is typed on the server's card-entry page,
  // never passed to the model: play the shopper's browser.
  check(typeof r.cardEntryUrl === "string" && r.cardEntryUrl.startsWith("http"), "CARD_ENTRY_REQUIRED without cardEntryUrl");
  const page = new URL(r.cardEntryUrl);
  const get = await fetch(page);
  check(get.status === 200, `card-entry page GET: ${get.status}`);
  check((await get.text()).includes("<form"), "the card-entry page has no form");
  const post = await fetch(page, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: page.origin },
    body: new URLSearchParams({ pan: CARD, cvv2: "123", month: "12", year: String(year) }),
  });
  const html = await post.text();
  check(post.status === 200, `card-entry page POST: ${post.status} ${html.slice(0, 200)}`);
  check(!html.includes(CARD), "the card-entry page echoes the card number");
  // A foreign site cannot post the form.
  const forged = await fetch(page, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://evil.example" },
    body: new URLSearchParams({ pan: CARD, cvv2: "123", month: "12", year: String(year) }),
  });
  check(forged.status === 403, `a cross-origin post of the card form was not refused: ${forged.status}`);
  r = await call("add-card-continue", { flowId: r.flowId });
}
if (r.status === "CHOOSE_STEP_UP") {
  check(Array.isArray(r.methods) && r.methods.length > 0, "CHOOSE_STEP_UP without methods");
  r = await call("add-card-continue", { flowId: r.flowId, method: r.methods[0].method });
}
check(r.status === "OTP_REQUIRED", `add-card: expected OTP_REQUIRED, got ${r.status} ${JSON.stringify(r)}`);
r = await call("add-card-continue", { flowId: r.flowId, otp: OTP });
check(r.status === "COMPLETED", `add-card-continue: expected COMPLETED, got ${r.status} ${JSON.stringify(r)}`);
const tokenId = r.card?.tokenId;
check(typeof tokenId === "string" && tokenId.length > 0, "add-card gave no tokenId");
check(r.card.last4 === CARD.slice(-4) || /^\d{4}$/.test(r.card.last4), "add-card gave no last4");

const cards = await call("list-cards", { userId: USER });
check(cards.cards?.some((c) => c.tokenId === tokenId), "list-cards does not show the new card");

const p = await call("purchase", {
  userId: USER,
  tokenId,
  amount: "19.99",
  currency: "USD",
  merchant: { name: "Best Buy", url: "https://www.bestbuy.com", countryCode: "US", categoryCode: "5732" },
  description: "USB-C cable, 2 m",
  orderId: "js-order-1",
});
check(p.status === "COMPLETED", `purchase: expected COMPLETED, got ${p.status} ${JSON.stringify(p)}`);
check(p.transaction?.status === "COMPLETED", "purchase: the transaction is not COMPLETED");

const txs = await call("list-transactions", { userId: USER });
const tx = txs.transactions?.find((t) => t.id === p.transaction.id);
check(tx, "list-transactions does not show the purchase");
check(tx.status === "COMPLETED" && tx.amount === "19.99" && tx.currency === "USD", `list-transactions: ${JSON.stringify(tx)}`);

// One bad call: a negative amount and no merchant. It must be refused,
// naming the argument, and change nothing.
let bad;
try {
  bad = await client.callTool({
    name: "purchase",
    arguments: argsFor("purchase", { userId: USER, tokenId, amount: "-5", currency: "USD", description: "x" }),
  });
} catch (err) {
  bad = { isError: true, content: [{ type: "text", text: String(err?.message ?? err) }], rejected: true };
}
seen.push(JSON.stringify(bad));
check(bad.isError === true, `a bad purchase was not refused: ${JSON.stringify(bad)}`);
const badText = (bad.content ?? []).map((c) => c.text ?? "").join(" ");
check(/merchant|amount/i.test(badText), `the refusal does not name the argument: ${badText}`);
const after = await call("list-transactions", { userId: USER });
check(after.transactions.length === txs.transactions.length, "the bad call changed the transactions");

// No result carries the card number or the code.
for (const s of seen) {
  check(!s.includes(CARD), "a result holds the card number");
  check(!new RegExp(`\\b${OTP}\\b`).test(s), "a result holds the one-time code");
}

await client.close();
console.log(`mcpclient: OK: ${tools.length} tools; card ${tokenId} added through OTP; purchase ${p.transaction.id} COMPLETED; bad call refused`);
