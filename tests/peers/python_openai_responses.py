"""The official OpenAI Python SDK, unmodified, against the gateway's Responses
API: responses.create (plain, with the cost header), responses.stream,
responses.parse with a Pydantic model, a three-turn previous_response_id
chain, retrieve / input_items.list / delete, hosted MCP items parsed into the
SDK's typed models (with an approval round trip), and the typed errors.
Prints one JSON line.

Environment: ASSISTIV_BASE_URL (the gateway), ASSISTIV_EU_KEY (a funded end
user), ASSISTIV_OTHER_EU_KEY (a second end user of the same platform),
ASSISTIV_PLATFORM_KEY, ASSISTIV_MODEL, ASSISTIV_HOSTED_MCP ("1": the platform
has skills enabled and the model calls the first tool it is offered).
"""

import json
import os

import openai
from openai import OpenAI
from openai.types.responses import ResponseOutputMessage
from openai.types.responses.response_output_item import McpApprovalRequest, McpCall, McpListTools
from pydantic import BaseModel

BASE = os.environ["ASSISTIV_BASE_URL"]
MODEL = os.environ["ASSISTIV_MODEL"]


def client(key):
    return OpenAI(base_url=BASE + "/v1", api_key=key, max_retries=0)


eu = client(os.environ["ASSISTIV_EU_KEY"])
out = {"sdk": openai.__version__}

# 1. Plain: the echo as output_text, usage summed, the gateway's cost header.
raw = eu.responses.with_raw_response.create(model=MODEL, input="ping from python")
plain = raw.parse()
assert plain.status == "completed", plain
assert plain.output_text == "ping from python", plain
assert plain.usage.input_tokens > 0 and plain.usage.total_tokens > plain.usage.input_tokens, plain.usage
assert float(raw.headers["x-assistiv-cost-usd"]) > 0, raw.headers
out["plain"] = plain.output_text

# 2. Streamed through the SDK's helper: the deltas spell the answer, the
# lifecycle events arrive, and the final response is the one stored.
kinds, deltas = [], ""
with eu.responses.stream(model=MODEL, input="hello streamed python") as stream:
    for event in stream:
        kinds.append(event.type)
        if event.type == "response.output_text.delta":
            deltas += event.delta
    final = stream.get_final_response()
assert deltas == "hello streamed python", deltas
for kind in ("response.created", "response.output_text.delta", "response.completed"):
    assert kind in kinds, kinds
assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
stored = eu.responses.retrieve(final.id)
assert stored.status == "completed" and stored.output_text == deltas, stored
# (exclude_none: the streamed one's text parts carry the helper's `parsed: None`)
assert final.model_dump(exclude_none=True) == stored.model_dump(exclude_none=True), (final, stored)
out["streamed"] = deltas
out["stream_events"] = sorted(set(kinds))


# 3. Structured output: text_format from a Pydantic model, parsed back.
class Weather(BaseModel):
    city: str
    temperature_c: float
    sunny: bool


parsed = eu.responses.parse(model=MODEL, input="Weather in Paris as JSON", text_format=Weather)
assert isinstance(parsed.output_parsed, Weather), parsed
out["parsed"] = parsed.output_parsed.model_dump()

# 4. A three-turn chain: each turn continues the one before by its id (the
# driver checks the provider saw the whole conversation on turn 3).
texts = ["python turn one: my name is Ada", "python turn two: I like tea", "python turn three: who am I?"]
chain, previous = [], None
for text in texts:
    turn = eu.responses.create(model=MODEL, input=text, **({"previous_response_id": previous} if previous else {}))
    assert turn.output_text == text and turn.previous_response_id == previous, turn
    chain.append(turn.id)
    previous = turn.id
out["chain"] = {"ids": chain, "texts": texts}

# 5. retrieve, input_items.list (only that turn's own input, typed, with ids),
# delete, then retrieve is a 404.
second = eu.responses.retrieve(chain[1])
assert second.id == chain[1] and second.previous_response_id == chain[0], second
items = eu.responses.input_items.list(chain[1]).data
assert len(items) == 1, items
item = items[0]
assert item.type == "message" and item.role == "user" and item.id.startswith("msg_"), item
assert item.content[0].type == "input_text" and item.content[0].text == texts[1], item
eu.responses.delete(chain[2])
try:
    eu.responses.retrieve(chain[2])
    raise AssertionError("a deleted response is still readable")
except openai.NotFoundError as e:
    assert e.status_code == 404, e
out["input_item"] = {"id": item.id, "type": item.type, "role": item.role}
out["deleted"] = chain[2]

# 6. Hosted MCP (the end user's skills tools): the items parse into the SDK's
# typed models; with approvals the turn stops at a request, and approving it
# in the next turn runs the call.
if os.environ.get("ASSISTIV_HOSTED_MCP") == "1":
    mcp = {
        "type": "mcp",
        "server_label": "gw",
        "server_url": BASE + "/mcp/skills",
        "allowed_tools": ["find_skill"],
        "require_approval": "never",
    }
    run = eu.responses.create(model=MODEL, input="find a skill for pdf forms", tools=[mcp])
    listing, call, message = run.output
    assert isinstance(listing, McpListTools) and [t.name for t in listing.tools] == ["find_skill"], listing
    assert isinstance(call, McpCall) and call.name == "find_skill" and call.error is None, call
    assert call.output is not None and "query" in json.loads(call.arguments), call
    assert isinstance(message, ResponseOutputMessage) and run.output_text, run

    ask = eu.responses.create(
        model=MODEL, input="find a skill for spreadsheets", tools=[{**mcp, "require_approval": "always"}]
    )
    request = ask.output[-1]
    assert isinstance(ask.output[0], McpListTools), ask.output
    assert isinstance(request, McpApprovalRequest) and request.name == "find_skill", request
    approved = eu.responses.create(
        model=MODEL,
        previous_response_id=ask.id,
        input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}],
        tools=[{**mcp, "require_approval": "always"}],
    )
    calls = [i for i in approved.output if isinstance(i, McpCall)]
    assert len(calls) == 1 and calls[0].approval_request_id == request.id and calls[0].output is not None, approved
    assert isinstance(approved.output[-1], ResponseOutputMessage) and approved.output_text, approved
    out["mcp"] = {
        "types": [i.type for i in run.output],
        "approval_request_id": request.id,
        "approved_call": calls[0].approval_request_id,
    }


# 7. Errors, typed by status: a platform key, an unknown previous_response_id,
# another end user's response.
def expect(error_type, status, call):
    try:
        call()
    except error_type as e:
        assert e.status_code == status, (e.status_code, e.body)
        return e.code
    raise AssertionError(f"expected {error_type.__name__}")


other = client(os.environ["ASSISTIV_OTHER_EU_KEY"])
out["errors"] = {
    "platform_key": expect(
        openai.PermissionDeniedError,
        403,
        lambda: client(os.environ["ASSISTIV_PLATFORM_KEY"]).responses.create(model=MODEL, input="x"),
    ),
    "unknown_previous": expect(
        openai.NotFoundError,
        404,
        lambda: eu.responses.create(model=MODEL, input="x", previous_response_id="resp_" + "0" * 32),
    ),
    "other_user": expect(openai.NotFoundError, 404, lambda: other.responses.retrieve(chain[0])),
}
out["ok"] = True
print(json.dumps(out))
