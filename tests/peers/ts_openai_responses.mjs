// The official OpenAI TypeScript SDK, unmodified, against the gateway's
// Responses API: responses.create (plain, with the cost header),
// responses.stream, responses.parse with zodTextFormat, a three-turn
// previous_response_id chain, retrieve / inputItems.list / delete, hosted MCP
// items (with an approval round trip), and the typed errors.
// Prints one JSON line. Environment: as python_openai_responses.py.

import OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import { VERSION } from "openai/version";
import { z } from "zod";

const BASE = process.env.ASSISTIV_BASE_URL;
const MODEL = process.env.ASSISTIV_MODEL;
const client = (apiKey) => new OpenAI({ baseURL: `${BASE}/v1`, apiKey, maxRetries: 0 });
const assert = (ok, what) => {
  if (!ok) throw new Error(`assertion failed: ${JSON.stringify(what)}`);
};

const eu = client(process.env.ASSISTIV_EU_KEY);
const out = { sdk: VERSION };

// 1. Plain: the echo as output_text, usage summed, the gateway's cost header.
const { data: plain, response } = await eu.responses
  .create({ model: MODEL, input: "ping from typescript" })
  .withResponse();
assert(plain.status === "completed" && plain.output_text === "ping from typescript", plain);
assert(plain.usage.input_tokens > 0 && plain.usage.total_tokens > plain.usage.input_tokens, plain.usage);
assert(Number(response.headers.get("x-assistiv-cost-usd")) > 0, [...response.headers]);
out.plain = plain.output_text;

// 2. Streamed through the SDK's helper: the deltas spell the answer, the
// lifecycle events arrive, and the final response is the one stored.
const kinds = [];
let deltas = "";
const stream = eu.responses.stream({ model: MODEL, input: "hello streamed typescript" });
for await (const event of stream) {
  kinds.push(event.type);
  if (event.type === "response.output_text.delta") deltas += event.delta;
}
const final = await stream.finalResponse();
assert(deltas === "hello streamed typescript", deltas);
for (const kind of ["response.created", "response.output_text.delta", "response.completed"]) {
  assert(kinds.includes(kind), kinds);
}
assert(kinds[0] === "response.created" && kinds.at(-1) === "response.completed", kinds);
const stored = await eu.responses.retrieve(final.id);
assert(stored.status === "completed" && stored.output_text === deltas, stored);
// (key order aside; the streamed one carries the helper's `parsed: null`s)
const canonical = (v) =>
  Array.isArray(v) ? v.map(canonical)
  : v && typeof v === "object"
    ? Object.fromEntries(
        Object.keys(v)
          .filter((k) => k !== "parsed" && k !== "output_parsed")
          .sort()
          .map((k) => [k, canonical(v[k])]),
      )
    : v;
const bare = (r) => JSON.stringify(canonical(r));
assert(bare(final) === bare(stored), [final, stored]);
out.streamed = deltas;
out.stream_events = [...new Set(kinds)].sort();

// 3. Structured output: text.format from a Zod schema, parsed back.
const Weather = z.object({ city: z.string(), temperature_c: z.number(), sunny: z.boolean() });
const parsed = await eu.responses.parse({
  model: MODEL,
  input: "Weather in Paris as JSON",
  text: { format: zodTextFormat(Weather, "weather") },
});
const weather = parsed.output_parsed;
assert(weather && typeof weather.city === "string" && typeof weather.sunny === "boolean", parsed);
out.parsed = weather;

// 4. A three-turn chain: each turn continues the one before by its id (the
// driver checks the provider saw the whole conversation on turn 3).
const texts = [
  "typescript turn one: my name is Ada",
  "typescript turn two: I like tea",
  "typescript turn three: who am I?",
];
const chain = [];
for (const text of texts) {
  const previous = chain.at(-1);
  const turn = await eu.responses.create({
    model: MODEL,
    input: text,
    ...(previous ? { previous_response_id: previous } : {}),
  });
  assert(turn.output_text === text && turn.previous_response_id === (previous ?? null), turn);
  chain.push(turn.id);
}
out.chain = { ids: chain, texts };

// 5. retrieve, inputItems.list (only that turn's own input, typed, with ids),
// delete, then retrieve is a 404.
const second = await eu.responses.retrieve(chain[1]);
assert(second.id === chain[1] && second.previous_response_id === chain[0], second);
const items = [];
for await (const item of eu.responses.inputItems.list(chain[1])) items.push(item);
assert(items.length === 1, items);
const [item] = items;
assert(item.type === "message" && item.role === "user" && item.id.startsWith("msg_"), item);
assert(item.content[0].type === "input_text" && item.content[0].text === texts[1], item);
await eu.responses.delete(chain[2]);
const gone = await eu.responses.retrieve(chain[2]).catch((e) => e);
assert(gone instanceof OpenAI.NotFoundError && gone.status === 404, String(gone));
out.input_item = { id: item.id, type: item.type, role: item.role };
out.deleted = chain[2];

// 6. Hosted MCP (the end user's skills tools): typed items; with approvals the
// turn stops at a request, and approving it in the next turn runs the call.
if (process.env.ASSISTIV_HOSTED_MCP === "1") {
  const mcp = {
    type: "mcp",
    server_label: "gw",
    server_url: `${BASE}/mcp/skills`,
    allowed_tools: ["find_skill"],
    require_approval: "never",
  };
  const run = await eu.responses.create({ model: MODEL, input: "find a skill for pdf forms", tools: [mcp] });
  const [listing, call, message] = run.output;
  assert(listing.type === "mcp_list_tools" && listing.tools.map((t) => t.name).join() === "find_skill", listing);
  assert(call.type === "mcp_call" && call.name === "find_skill" && !call.error && call.output != null, call);
  assert("query" in JSON.parse(call.arguments), call);
  assert(message.type === "message" && run.output_text, run);

  const always = { ...mcp, require_approval: "always" };
  const ask = await eu.responses.create({ model: MODEL, input: "find a skill for spreadsheets", tools: [always] });
  const request = ask.output.at(-1);
  assert(ask.output[0].type === "mcp_list_tools", ask.output);
  assert(request.type === "mcp_approval_request" && request.name === "find_skill", request);
  const approved = await eu.responses.create({
    model: MODEL,
    previous_response_id: ask.id,
    input: [{ type: "mcp_approval_response", approval_request_id: request.id, approve: true }],
    tools: [always],
  });
  const calls = approved.output.filter((i) => i.type === "mcp_call");
  assert(calls.length === 1 && calls[0].approval_request_id === request.id && calls[0].output != null, approved);
  assert(approved.output.at(-1).type === "message" && approved.output_text, approved);
  out.mcp = {
    types: run.output.map((i) => i.type),
    approval_request_id: request.id,
    approved_call: calls[0].approval_request_id,
  };
}

// 7. Errors, typed by status: a platform key, an unknown previous_response_id,
// another end user's response.
async function expect(ErrorType, status, call) {
  try {
    await call();
  } catch (e) {
    assert(e instanceof ErrorType, [e.constructor.name, e.message]);
    assert(e.status === status, [e.status, e.error]);
    return e.code;
  }
  throw new Error(`expected ${ErrorType.name}`);
}

const other = client(process.env.ASSISTIV_OTHER_EU_KEY);
out.errors = {
  platform_key: await expect(OpenAI.PermissionDeniedError, 403, () =>
    client(process.env.ASSISTIV_PLATFORM_KEY).responses.create({ model: MODEL, input: "x" }),
  ),
  unknown_previous: await expect(OpenAI.NotFoundError, 404, () =>
    eu.responses.create({ model: MODEL, input: "x", previous_response_id: `resp_${"0".repeat(32)}` }),
  ),
  other_user: await expect(OpenAI.NotFoundError, 404, () => other.responses.retrieve(chain[0])),
};
out.ok = true;
console.log(JSON.stringify(out));
