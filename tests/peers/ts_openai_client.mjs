// The official OpenAI TypeScript SDK, unmodified, against the gateway's
// inference plane: models.list, chat.completions.create (plain, streamed, a
// tools round trip), chat.completions.parse with a Zod schema, and the typed
// errors for 401, 402, 403, 404 and 429 carrying the gateway's codes.
// Prints one JSON line. Environment: as python_openai_client.py.

import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";

const BASE = `${process.env.ASSISTIV_BASE_URL}/v1`;
const MODEL = process.env.ASSISTIV_MODEL;
const client = (apiKey) => new OpenAI({ baseURL: BASE, apiKey, maxRetries: 0 });
const assert = (ok, what) => {
  if (!ok) throw new Error(`assertion failed: ${JSON.stringify(what)}`);
};

const eu = client(process.env.ASSISTIV_EU_KEY);
const out = { sdk: OpenAI.VERSION ?? "unknown" };

const ids = [];
for await (const model of eu.models.list()) ids.push(model.id);
assert(ids.includes(MODEL), ids);
out.models = ids.length;

const { data: plain, response } = await eu.chat.completions
  .create({ model: MODEL, messages: [{ role: "user", content: "ping" }], max_tokens: 32 })
  .withResponse();
assert(plain.choices[0].message.content === "ping", plain);
assert(Number(response.headers.get("x-assistiv-cost-usd")) > 0, [...response.headers]);
out.plain = plain.choices[0].message.content;

let text = "";
let usage = null;
let cost = null;
const stream = await eu.chat.completions.create({
  model: MODEL,
  messages: [{ role: "user", content: "hello from typescript" }],
  stream: true,
  stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  if (chunk.choices.length) text += chunk.choices[0].delta.content ?? "";
  if (chunk.usage) {
    usage = chunk.usage;
    cost = chunk.assistiv?.cost_usd;
  }
}
assert(text === "hello from typescript", text);
assert(usage && usage.total_tokens > 0, usage);
assert(cost > 0, cost);
out.streamed = text;

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
        additionalProperties: false,
      },
      strict: true,
    },
  },
];
const messages = [{ role: "user", content: "What is the weather in Paris?" }];
const first = await eu.chat.completions.create({ model: MODEL, messages, tools });
assert(first.choices[0].finish_reason === "tool_calls", first);
const call = first.choices[0].message.tool_calls[0];
assert(typeof JSON.parse(call.function.arguments).city === "string", call);
messages.push(first.choices[0].message);
messages.push({ role: "tool", tool_call_id: call.id, content: "sunny, 21 C" });
const second = await eu.chat.completions.create({ model: MODEL, messages, tools });
assert(second.choices[0].finish_reason === "stop", second);
out.tools = call.function.name;

const Weather = z.object({ city: z.string(), temperature_c: z.number(), sunny: z.boolean() });
const parsed = await eu.chat.completions.parse({
  model: MODEL,
  messages: [{ role: "user", content: "Weather in Paris as JSON" }],
  response_format: zodResponseFormat(Weather, "weather"),
});
const weather = parsed.choices[0].message.parsed;
assert(weather && typeof weather.city === "string" && typeof weather.sunny === "boolean", parsed);
out.parsed = weather;

async function expect(ErrorType, status, code, call) {
  try {
    await call();
  } catch (e) {
    assert(e instanceof ErrorType, [e.constructor.name, e.message]);
    assert(e.status === status, [e.status, e.error]);
    assert(e.code === code, [e.code, e.error]);
    return e.code;
  }
  throw new Error(`expected ${ErrorType.name}`);
}

const ping = { model: MODEL, messages: [{ role: "user", content: "ping" }], max_tokens: 8 };
const errors = {};
errors["401"] = await expect(OpenAI.AuthenticationError, 401, "unauthorized", () =>
  client("sk-eu_nope").chat.completions.create(ping),
);
errors["402"] = await expect(OpenAI.APIError, 402, "no_budget", () =>
  client(process.env.ASSISTIV_BROKE_KEY).chat.completions.create(ping),
);
errors["403"] = await expect(OpenAI.PermissionDeniedError, 403, "forbidden", () =>
  client(process.env.ASSISTIV_PLATFORM_KEY).chat.completions.create(ping),
);
errors["404"] = await expect(OpenAI.NotFoundError, 404, "model_not_found", () =>
  eu.chat.completions.create({ ...ping, model: "gpt-does-not-exist" }),
);
const limited = client(process.env.ASSISTIV_LIMITED_KEY);
await limited.chat.completions.create(ping);
errors["429"] = await expect(OpenAI.RateLimitError, 429, "rate_limited", () =>
  limited.chat.completions.create(ping),
);
out.errors = errors;
out.ok = true;
console.log(JSON.stringify(out));
