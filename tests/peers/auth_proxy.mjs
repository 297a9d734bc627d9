// A header-injecting reverse proxy for the MCP conformance suite, which cannot send a
// bearer token: every request is forwarded to UPSTREAM unchanged (method, path, headers,
// `Host` and `Origin` included, so DNS-rebinding checks reach the gateway) plus
// `Authorization: Bearer $ASSISTIV_MCP_KEY`. Bodies stream both ways (SSE included).
//
//   node auth_proxy.mjs http://127.0.0.1:PORT
//
// Listens on an ephemeral loopback port, prints `listening <port>` on stdout, and exits
// when its standard input closes (its parent went away).

import http from "node:http";

const upstream = new URL(process.argv[2]);
const key = process.env.ASSISTIV_MCP_KEY;
if (!key) {
  console.error("ASSISTIV_MCP_KEY is not set");
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true });

const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${key}` };
  const forward = http.request(
    {
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
      res.flushHeaders();
      answer.pipe(res);
    },
  );
  forward.on("error", (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "text/plain" });
    }
    res.end(`proxy error: ${err.message}`);
  });
  // A client that goes away (e.g. closing an SSE stream) closes the upstream request too.
  res.on("close", () => forward.destroy());
  req.pipe(forward);
});

server.listen(0, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});

process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
