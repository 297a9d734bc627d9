// oauth2-mock-server as a stricter provider: an authorization code is bound to the
// client_id it was issued to (as RFC 6749 section 4.1.3 requires), so a code obtained
// through another client's authorize request is refused at the token endpoint with
// `invalid_grant`. Prints the same "listening on http://..." line as the mock's CLI.
import { OAuth2Server } from "oauth2-mock-server";

const args = process.argv.slice(2);
const option = (flag, fallback) => {
  const at = args.indexOf(flag);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
};
const host = option("-a", "127.0.0.1");
const port = Number.parseInt(option("-p", "0"), 10);

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
const issuedTo = new Map();

server.service.on("beforeAuthorizeRedirect", (redirect, req) => {
  const code = redirect.url.searchParams.get("code");
  const clientId = req.query?.client_id;
  if (code && typeof clientId === "string") issuedTo.set(code, clientId);
});

// The client authenticates with HTTP Basic or with client_id in the form.
function clientOf(req) {
  const header = req.headers.authorization ?? "";
  if (header.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return decodeURIComponent(colon >= 0 ? decoded.slice(0, colon) : decoded);
  }
  return req.body?.client_id;
}

server.service.on("beforeResponse", (response, req) => {
  if (req.body?.grant_type !== "authorization_code") return;
  const code = req.body.code;
  const owner = issuedTo.get(code);
  issuedTo.delete(code);
  const client = clientOf(req);
  if (owner === undefined || owner !== client) {
    console.log(`refused a code issued to ${owner} presented by ${client}`);
    response.statusCode = 400;
    response.body = {
      error: "invalid_grant",
      error_description: "the authorization code was issued to another client",
    };
  }
});

await server.start(port, host);
const addr = server.address();
console.log(`OAuth 2 server listening on http://${addr.address}:${addr.port}`);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => server.stop().finally(() => process.exit(0)));
}
