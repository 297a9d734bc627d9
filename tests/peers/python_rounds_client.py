"""An MCP client on the official Python SDK (`mcp`) that can ask its user things
(form and URL elicitation), driven by tests/api/mcp_rounds.rs.

    python_rounds_client.py URL --tool NAME [--args JSON] [--confirm accept|decline]
        [--follow NODE SCRIPT LANDING_ORIGIN]

The key comes from ASSISTIV_MCP_KEY. The client negotiates the SDK's default (the
stateless 2026-07-28 revision) and declares form and URL elicitation. A URL
elicitation is "opened" by running `NODE SCRIPT URL LANDING_ORIGIN` (a headless
browser that follows the link), then accepted; a form is answered with --confirm.
The SDK retries the call with the answers. Prints one JSON document: the protocol
version, every elicitation seen, and the final result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import ElicitResult

from peer_report import report_or_fail


async def run(args: argparse.Namespace) -> dict:
    key = os.environ["ASSISTIV_MCP_KEY"]
    seen: list[dict] = []

    async def elicit(_context, params):
        asked = {"mode": params.mode, "message": params.message}
        if params.mode == "url":
            asked["url"] = params.url
            if not args.follow:
                seen.append(asked)
                return ElicitResult(action="decline")
            node, script, landing = args.follow
            browser = await asyncio.create_subprocess_exec(
                node, script, params.url, landing,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            out, err = await browser.communicate()
            if browser.returncode != 0:
                raise RuntimeError(f"the browser failed: {err.decode()}")
            asked["browser"] = json.loads(out.decode().strip().splitlines()[-1])
            seen.append(asked)
            return ElicitResult(action="accept")
        seen.append(asked)
        if args.form_content:
            return ElicitResult(action="accept", content=json.loads(args.form_content))
        return ElicitResult(action=args.confirm)

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with http:
        transport = streamable_http_client(args.url, http_client=http)
        async with Client(transport, elicitation_callback=elicit, raise_exceptions=True) as client:
            await client.list_tools()
            result = await client.call_tool(args.tool, json.loads(args.args))
            protocol_version = client.protocol_version
    return {
        "sdk": "python",
        "protocol_version": protocol_version,
        "elicitations": seen,
        "call": {
            "isError": bool(result.is_error),
            "structuredContent": result.structured_content,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--tool", required=True)
    parser.add_argument("--args", default="{}")
    parser.add_argument("--confirm", choices=["accept", "decline", "cancel"], default="accept")
    parser.add_argument("--form-content", default=None)
    parser.add_argument("--follow", nargs=3, metavar=("NODE", "SCRIPT", "LANDING_ORIGIN"))
    args = parser.parse_args()
    return report_or_fail(run(args))


if __name__ == "__main__":
    sys.exit(main())
