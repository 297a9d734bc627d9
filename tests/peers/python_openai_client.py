"""The official OpenAI Python SDK, unmodified, against the gateway's inference
plane: models.list, chat.completions.create (plain, streamed, a tools round
trip), chat.completions.parse with a Pydantic model, and the typed errors for
401, 402, 403, 404 and 429 carrying the gateway's codes. Prints one JSON line.

Environment: ASSISTIV_BASE_URL (the gateway), ASSISTIV_EU_KEY (a funded end
user), ASSISTIV_PLATFORM_KEY, ASSISTIV_BROKE_KEY (an end user with no budget),
ASSISTIV_LIMITED_KEY (an end user with rpm_limit 1), ASSISTIV_MODEL.
"""

import json
import os

import openai
from openai import OpenAI
from pydantic import BaseModel

BASE = os.environ["ASSISTIV_BASE_URL"] + "/v1"
MODEL = os.environ["ASSISTIV_MODEL"]


def client(key):
    return OpenAI(base_url=BASE, api_key=key, max_retries=0)


eu = client(os.environ["ASSISTIV_EU_KEY"])
out = {"sdk": openai.__version__}

ids = [m.id for m in eu.models.list()]
assert MODEL in ids, ids
out["models"] = len(ids)

raw = eu.chat.completions.with_raw_response.create(
    model=MODEL, messages=[{"role": "user", "content": "ping"}], max_tokens=32
)
plain = raw.parse()
assert plain.choices[0].message.content == "ping", plain
assert float(raw.headers["x-assistiv-cost-usd"]) > 0, raw.headers
assert raw.headers.get("x-assistiv-budget-remaining-usd"), raw.headers
out["plain"] = plain.choices[0].message.content

text, usage, cost = "", None, None
for chunk in eu.chat.completions.create(
    model=MODEL,
    messages=[{"role": "user", "content": "hello from python"}],
    stream=True,
    stream_options={"include_usage": True},
):
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
    if chunk.usage:
        usage = chunk.usage
        cost = (chunk.model_extra or {}).get("assistiv", {}).get("cost_usd")
assert text == "hello from python", text
assert usage is not None and usage.total_tokens > 0
assert cost and cost > 0, cost
out["streamed"] = text

tools = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
]
messages = [{"role": "user", "content": "What is the weather in Paris?"}]
first = eu.chat.completions.create(model=MODEL, messages=messages, tools=tools)
assert first.choices[0].finish_reason == "tool_calls", first
call = first.choices[0].message.tool_calls[0]
assert call.function.name == "get_weather"
args = json.loads(call.function.arguments)
assert isinstance(args["city"], str)
messages.append(first.choices[0].message.model_dump(exclude_none=True))
messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"})
second = eu.chat.completions.create(model=MODEL, messages=messages, tools=tools)
assert second.choices[0].finish_reason == "stop", second
assert second.choices[0].message.content, second
out["tools"] = call.function.name


class Weather(BaseModel):
    city: str
    temperature_c: float
    sunny: bool


parsed = eu.chat.completions.parse(
    model=MODEL,
    messages=[{"role": "user", "content": "Weather in Paris as JSON"}],
    response_format=Weather,
)
weather = parsed.choices[0].message.parsed
assert isinstance(weather, Weather), parsed
out["parsed"] = weather.model_dump()


def expect(error_type, status, code, call):
    try:
        call()
    except error_type as e:
        assert e.status_code == status, (e.status_code, e.body)
        assert e.code == code, (e.code, e.body)
        return e.code
    raise AssertionError(f"expected {error_type.__name__}")


ping = {"model": MODEL, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 8}
errors = {}
errors["401"] = expect(
    openai.AuthenticationError, 401, "unauthorized", lambda: client("sk-eu_nope").chat.completions.create(**ping)
)
errors["402"] = expect(
    openai.APIStatusError,
    402,
    "no_budget",
    lambda: client(os.environ["ASSISTIV_BROKE_KEY"]).chat.completions.create(**ping),
)
errors["403"] = expect(
    openai.PermissionDeniedError,
    403,
    "forbidden",
    lambda: client(os.environ["ASSISTIV_PLATFORM_KEY"]).chat.completions.create(**ping),
)
errors["404"] = expect(
    openai.NotFoundError,
    404,
    "model_not_found",
    lambda: eu.chat.completions.create(model="gpt-does-not-exist", messages=ping["messages"]),
)
limited = client(os.environ["ASSISTIV_LIMITED_KEY"])
limited.chat.completions.create(**ping)
errors["429"] = expect(openai.RateLimitError, 429, "rate_limited", lambda: limited.chat.completions.create(**ping))
out["errors"] = errors
out["ok"] = True
print(json.dumps(out))
