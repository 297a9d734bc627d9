// An MCP client on the official TypeScript SDK (@modelcontextprotocol/client, v2)
// that can ask its user things (form and URL elicitation), driven by
// tests/api/mcp_rounds.rs.
//
//   node ts_rounds_client.mjs URL --tool NAME [--args JSON] [--confirm accept|decline]
//        [--follow-script SCRIPT --landing ORIGIN]
//
// The key comes from ASSISTIV_MCP_KEY. The client probes the server (`auto`: the
// 2026-07-28 revision when served) and declares form and URL elicitation. A URL
// elicitation is "opened" by running SCRIPT (a headless browser that follows the
// link) with this Node, then accepted; a form is answered with --confirm. The SDK
// retries the call with the answers. Prints one JSON document.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseArgs } from "node:util";

const run = promisify(execFile);
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tool: { type: "string" },
    args: { type: "string", default: "{}" },
    confirm: { type: "string", default: "accept" },
    "follow-script": { type: "string" },
    landing: { type: "string" },
  },
});
const url = positionals[0];
if (!url || !values.tool) {
  console.error("usage: ts_rounds_client.mjs URL --tool NAME [...]");
  process.exit(2);
}

const seen = [];
const client = new Client(
  { name: "assistiv-ts-rounds-peer", version: "1.0.0" },
  {
    capabilities: { elicitation: { form: {}, url: {} } },
    versionNegotiation: { mode: "auto" },
  },
);
client.setRequestHandler("elicitation/create", async (request) => {
  const params = request.params;
  const asked = { mode: params.mode ?? "form", message: params.message };
  if (params.mode === "url") {
    asked.url = params.url;
    if (!values["follow-script"]) {
      seen.push(asked);
      return { action: "decline" };
    }
    const { stdout } = await run(process.execPath, [values["follow-script"], params.url, values.landing]);
    asked.browser = JSON.parse(stdout.trim().split("\n").pop());
    seen.push(asked);
    return { action: "accept" };
  }
  asked.schema = params.requestedSchema;
  seen.push(asked);
  return values.confirm === "accept" ? { action: "accept", content: {} } : { action: values.confirm };
});

try {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${process.env.ASSISTIV_MCP_KEY}` } },
  });
  await client.connect(transport);
  await client.listTools();
  const result = await client.callTool({ name: values.tool, arguments: JSON.parse(values.args) });
  const report = {
    sdk: "typescript",
    protocol_version: client.getNegotiatedProtocolVersion() ?? null,
    era: client.getProtocolEra() ?? null,
    elicitations: seen,
    call: { isError: Boolean(result.isError), structuredContent: result.structuredContent ?? null },
  };
  await client.close();
  console.log(JSON.stringify(report));
} catch (err) {
  console.error(`typescript MCP client failed: ${err?.stack ?? err}`);
  process.exit(1);
}
