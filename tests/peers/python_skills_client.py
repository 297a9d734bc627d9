"""The skills tools driven by the official Python MCP SDK (`mcp`), from tests/api/skills_mcp.rs.

    python_skills_client.py URL --query TEXT [--mode auto|legacy]

With the end user's key from ASSISTIV_MCP_KEY (sent as `Authorization: Bearer <key>`), it
runs what an agent does: `find_skill{query}`, `fetch_skill{id}` on the best hit (files
arrive as embedded resources: text, or base64 blobs), then `submit_skill_review{id,
scores, comment}` and `find_skill` again to read the new aggregates.

Prints one JSON document: the tool names, the hits, each fetched file as base64 of its
bytes (keyed by the path in its `skill://` URI), and the review and aggregate answers.
Exits non-zero on any protocol failure.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from urllib.parse import unquote, urlparse

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


from peer_report import report_or_fail

def as_json(value) -> dict:
    return value.model_dump(mode="json", by_alias=True, exclude_none=True)


def checked(result, tool: str):
    if result.is_error:
        raise RuntimeError(f"{tool} answered an error: {as_json(result)}")
    return result


async def run(args: argparse.Namespace) -> dict:
    key = os.environ["ASSISTIV_MCP_KEY"]
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with http:
        transport = streamable_http_client(args.url, http_client=http)
        async with Client(transport, mode=args.mode, raise_exceptions=True) as client:
            tools = await client.list_tools()
            found = checked(await client.call_tool("find_skill", {"query": args.query}), "find_skill")
            hits = found.structured_content["skills"]
            if not hits:
                raise RuntimeError(f"find_skill found nothing for {args.query!r}")
            skill_id = hits[0]["id"]
            fetched = checked(await client.call_tool("fetch_skill", {"id": skill_id}), "fetch_skill")
            files = {}
            for block in fetched.content:
                content = as_json(block)
                if content.get("type") != "resource":
                    continue
                resource = content["resource"]
                uri = urlparse(resource["uri"])
                if uri.scheme != "skill" or uri.netloc != skill_id:
                    raise RuntimeError(f"unexpected resource URI {resource['uri']}")
                path = unquote(uri.path.lstrip("/"))
                if "text" in resource:
                    data = resource["text"].encode("utf-8")
                else:
                    data = base64.b64decode(resource["blob"])
                files[path] = {
                    "base64": base64.b64encode(data).decode("ascii"),
                    "mimeType": resource.get("mimeType"),
                    "kind": "text" if "text" in resource else "blob",
                }
            review = checked(
                await client.call_tool(
                    "submit_skill_review",
                    {
                        "id": skill_id,
                        "scores": {"correctness": 5, "clarity": 4, "safety": 5, "usefulness": 3},
                        "comment": "Worked first time from the Python SDK.",
                    },
                ),
                "submit_skill_review",
            )
            again = checked(await client.call_tool("find_skill", {"query": args.query}), "find_skill")
            protocol_version = client.protocol_version
    return {
        "protocol_version": protocol_version,
        "tools": sorted(t.name for t in tools.tools),
        "hits": hits,
        "fetched": {
            "structured": fetched.structured_content,
            "files": files,
        },
        "review": review.structured_content,
        "after_review": again.structured_content["skills"],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--query", required=True)
    parser.add_argument("--mode", choices=["auto", "legacy"], default="auto")
    args = parser.parse_args()
    return report_or_fail(run(args), "python MCP skills client")


if __name__ == "__main__":
    sys.exit(main())
