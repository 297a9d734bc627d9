// An MCP client built on the official TypeScript SDK (@modelcontextprotocol/sdk),
// driven by tests/api/mcp_clients.rs.
//
//   node ts_client.mjs URL --tool NAME [--args JSON]
//
// The end user's key comes from ASSISTIV_MCP_KEY and is sent as
// `Authorization: Bearer <key>` through `requestInit.headers`. Prints one JSON document
// (protocol version, session id, tool names, the call's isError / structuredContent /
// text) and exits non-zero on any protocol failure.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tool: { type: "string" },
    args: { type: "string", default: "{}" },
  },
});
const url = positionals[0];
if (!url || !values.tool) {
  console.error("usage: ts_client.mjs URL --tool NAME [--args JSON]");
  process.exit(2);
}

async function run() {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: {
      headers: { Authorization: `Bearer ${process.env.ASSISTIV_MCP_KEY}` },
    },
  });
  const client = new Client({ name: "assistiv-ts-peer", version: "1.0.0" });
  await client.connect(transport);
  const sessionId = transport.sessionId;
  const protocolVersion = transport.protocolVersion;
  const tools = await client.listTools();
  const result = await client.callTool({
    name: values.tool,
    arguments: JSON.parse(values.args),
  });
  await transport.terminateSession();
  await client.close();
  return {
    sdk: "typescript",
    protocol_version: protocolVersion,
    session_ids: sessionId ? [sessionId] : [],
    server: client.getServerVersion(),
    tools: tools.tools.map((t) => t.name),
    call: {
      isError: Boolean(result.isError),
      structuredContent: result.structuredContent ?? null,
      text: (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text),
    },
  };
}

try {
  console.log(JSON.stringify(await run()));
} catch (err) {
  console.error(`typescript MCP client failed: ${err?.stack ?? err}`);
  process.exit(1);
}
