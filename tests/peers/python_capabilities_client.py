"""The capability tools driven by the official Python MCP SDK (`mcp`), from
tests/api/capabilities/agent_loop.rs.

    python_capabilities_client.py URL --capability SLUG

With the end user's key from ASSISTIV_MCP_KEY, it runs the seed's agent loop:
`list_capabilities()`, `list_providers{capability, sort: "rating", verified_only: true,
limit: 5}`, then `capability_run` on the first provider with its `input_example` as the
input and `max_pay` 0.02; and once more with `max_pay` 0.005 to read a refusal.

Prints one JSON document with the tool names, the menu, the providers, the run's
structured result and the refusal. Exits non-zero on any protocol failure.
"""

from __future__ import annotations

import argparse
import os
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


from peer_report import report_or_fail

def checked(result, tool: str):
    if result.is_error:
        raise RuntimeError(f"{tool} answered an error: {result}")
    return result


async def run(args: argparse.Namespace) -> dict:
    key = os.environ["ASSISTIV_MCP_KEY"]
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with http:
        transport = streamable_http_client(args.url, http_client=http)
        async with Client(transport, raise_exceptions=True) as client:
            tools = await client.list_tools()
            menu = checked(await client.call_tool("list_capabilities", {}), "list_capabilities")
            listed = checked(
                await client.call_tool(
                    "list_providers",
                    {"capability": args.capability, "sort": "rating", "verified_only": True, "limit": 5},
                ),
                "list_providers",
            )
            providers = listed.structured_content["providers"]
            if not providers:
                raise RuntimeError(f"no provider under {args.capability}")
            first = providers[0]
            ran = checked(
                await client.call_tool(
                    "capability_run",
                    {"capability": first["uid"], "input": first["input_example"], "max_pay": 0.02},
                ),
                "capability_run",
            )
            refused = await client.call_tool(
                "capability_run",
                {"capability": first["uid"], "input": first["input_example"], "max_pay": 0.005},
            )
    return {
        "tools": sorted(t.name for t in tools.tools),
        "capabilities": menu.structured_content["capabilities"],
        "providers": providers,
        "run": ran.structured_content,
        "refused": {"is_error": refused.is_error, "structured": refused.structured_content},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--capability", required=True)
    args = parser.parse_args()
    return report_or_fail(run(args), "python MCP capabilities client")


if __name__ == "__main__":
    sys.exit(main())
