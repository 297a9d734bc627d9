"""An MCP client built on the official Python SDK (`mcp`), driven by tests/api/mcp_clients.rs.

    python_client.py URL --mode auto|legacy --tool NAME [--args JSON]

The end user's key comes from the ASSISTIV_MCP_KEY environment variable and is sent as
`Authorization: Bearer <key>` on every request. `--mode auto` is the SDK's default: it
probes `server/discover` (the current, stateless protocol revision) and falls back to the
`initialize` handshake; `--mode legacy` forces the handshake, a session-era protocol
version and an `Mcp-Session-Id` session.

Prints one JSON document: the negotiated protocol version, the session id the server
handed out (if any), the tool names, and the tool call's `isError`, `structuredContent`
and text. Exits non-zero on any protocol failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


from peer_report import report_or_fail

async def run(args: argparse.Namespace) -> dict:
    key = os.environ["ASSISTIV_MCP_KEY"]
    seen = {"session_ids": set(), "protocol_headers": set(), "statuses": []}

    async def record(response: httpx2.Response) -> None:
        seen["statuses"].append(response.status_code)
        if sid := response.headers.get("mcp-session-id"):
            seen["session_ids"].add(sid)

    async def record_request(request: httpx2.Request) -> None:
        if version := request.headers.get("mcp-protocol-version"):
            seen["protocol_headers"].add(version)

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    http.event_hooks = {"request": [record_request], "response": [record]}
    async with http:
        transport = streamable_http_client(args.url, http_client=http)
        async with Client(transport, mode=args.mode, raise_exceptions=True) as client:
            tools = await client.list_tools()
            result = await client.call_tool(args.tool, json.loads(args.args))
            protocol_version = client.protocol_version
    text = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    return {
        "sdk": "python",
        "mode": args.mode,
        "protocol_version": protocol_version,
        "session_ids": sorted(seen["session_ids"]),
        "protocol_headers": sorted(seen["protocol_headers"]),
        "tools": [t.name for t in tools.tools],
        "call": {
            "isError": bool(result.is_error),
            "structuredContent": result.structured_content,
            "text": text,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--mode", choices=["auto", "legacy"], default="auto")
    parser.add_argument("--tool", required=True)
    parser.add_argument("--args", default="{}")
    args = parser.parse_args()
    return report_or_fail(run(args))


if __name__ == "__main__":
    sys.exit(main())
