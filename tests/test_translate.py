"""Translation edge cases, format to format (the SDK round trips are in test_proxy.py)."""

import json

from proxy.translate import anthropic, responses, to_chat, upstream_requests
from proxy.translate.shapes import ChatCompletion


def test_anthropic_request_with_structured_tool_results_and_unknown_fields() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "stop_sequences": ["END"],
        "top_k": 5,
        "thinking": {"type": "adaptive"},
        "cache_control": {"type": "ephemeral"},
        "tools": [
            {"name": "t", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search"},
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": [
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "tool_use", "id": "tu1", "name": "t", "input": {"a": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "tu1",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "failed"},
                            {"type": "image", "source": {"type": "url", "url": "http://x/i.png"}},
                        ],
                    },
                    {"type": "text", "text": "try again"},
                ],
            },
        ],
    }
    chat = anthropic.request_to_chat(body)
    assert (
        chat["stop"] == ["END"]
        and chat["tool_choice"] == "required"
        and chat["parallel_tool_calls"] is False
    )
    assert [t["function"]["name"] for t in chat["tools"]] == ["t"]  # server tools have no chat form
    assert chat["messages"][0]["tool_calls"][0]["function"] == {"name": "t", "arguments": '{"a":1}'}
    assert chat["messages"][1] == {
        "role": "tool",
        "tool_call_id": "tu1",
        "content": "[tool error] failed",
    }
    assert chat["messages"][2]["content"][0] == {
        "type": "image_url",
        "image_url": {"url": "http://x/i.png"},
    }
    assert "thinking" not in json.dumps(chat)


def test_anthropic_response_and_stream_from_chat() -> None:
    chat: ChatCompletion = {
        "choices": [
            {
                "message": {
                    "content": "ok",
                    "tool_calls": [
                        {"id": "c1", "function": {"name": "t", "arguments": "not json"}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 2,
            "prompt_tokens_details": {"cached_tokens": 4},
        },
    }
    message = anthropic.response_from_chat(chat, "m")
    assert message["stop_reason"] == "tool_use"
    assert message["content"][1]["input"] == {"_unparsed_arguments": "not json"}
    assert message["usage"] == {
        "input_tokens": 6,
        "output_tokens": 2,
        "cache_read_input_tokens": 4,
        "cache_creation_input_tokens": 0,
    }

    stream = anthropic.StreamFromChat("m")
    out = stream.feed({"choices": [{"delta": {"content": "a"}}]})
    out += stream.feed(
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "c1", "function": {"name": "t", "arguments": '{"x"'}}
                        ]
                    }
                }
            ]
        }
    )
    out += stream.feed(
        {
            "choices": [
                {
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
                    "finish_reason": "tool_calls",
                }
            ]
        }
    )
    out += stream.finish()
    kinds = [line[7:] for line in out.decode().splitlines() if line.startswith("event: ")]
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert '"stop_reason":"tool_use"' in out.decode()


def test_responses_request_merges_calls_and_maps_roles() -> None:
    chat, names = responses.request_to_chat(
        {
            "model": "m",
            "instructions": "be good",
            "max_output_tokens": 50,
            "tools": [
                {
                    "type": "namespace",
                    "name": "mcp__s",
                    "tools": [{"type": "function", "name": "t"}],
                },
                {"type": "web_search"},
            ],
            "input": [
                {"role": "developer", "content": "dev rules"},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "calling"}],
                },
                {
                    "type": "function_call",
                    "call_id": "c1",
                    "name": "t",
                    "namespace": "mcp__s",
                    "arguments": "{}",
                },
                {
                    "type": "function_call",
                    "call_id": "c2",
                    "name": "t",
                    "namespace": "mcp__s",
                    "arguments": "{}",
                },
                {"type": "reasoning", "summary": []},
                {
                    "type": "function_call_output",
                    "call_id": "c1",
                    "output": [{"type": "input_text", "text": "r1"}],
                },
            ],
        }
    )
    assert chat["max_tokens"] == 50
    assert chat["messages"][0] == {"role": "system", "content": "be good"}
    assert chat["messages"][1] == {"role": "system", "content": "dev rules"}
    assistant = chat["messages"][2]
    assert assistant["content"] == "calling" and [c["id"] for c in assistant["tool_calls"]] == [
        "c1",
        "c2",
    ]
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "c1", "content": "r1"}
    assert [t["function"]["name"] for t in chat["tools"]] == ["mcp__s__t"]
    assert names.restore("mcp__s__t") == ("mcp__s", "t")
    assert names.restore("unknown") == (None, "unknown")


def test_chat_to_anthropic_request_alternates_roles() -> None:
    body = upstream_requests.chat_to_anthropic_request(
        {
            "model": "m",
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "t", "arguments": '{"a": 2}'},
                        },
                        {
                            "id": "c2",
                            "type": "function",
                            "function": {"name": "t", "arguments": "{}"},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "r1"},
                {"role": "tool", "tool_call_id": "c2", "content": "r2"},
            ],
            "tool_choice": "required",
            "tools": [{"type": "function", "function": {"name": "t"}}],
        }
    )
    assert (
        body["system"] == "s"
        and body["max_tokens"] == 16384
        and body["tool_choice"] == {"type": "any"}
    )
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert [b["tool_use_id"] for b in body["messages"][2]["content"]] == ["c1", "c2"]
    assert body["messages"][1]["content"][0]["input"] == {"a": 2}


def test_anthropic_and_responses_answers_to_chat() -> None:
    chat = to_chat.anthropic_response_to_chat(
        {
            "model": "m",
            "stop_reason": "max_tokens",
            "content": [{"type": "text", "text": "hi"}],
            "usage": {"input_tokens": 3, "output_tokens": 4},
        },
    )
    assert chat["choices"][0]["finish_reason"] == "length" and chat["usage"]["total_tokens"] == 7
    chat = to_chat.responses_response_to_chat(
        {
            "model": "m",
            "status": "completed",
            "output": [{"type": "function_call", "call_id": "c", "name": "t", "arguments": "{}"}],
            "usage": {},
        },
    )
    assert chat["choices"][0]["finish_reason"] == "tool_calls"
    assert chat["choices"][0]["message"]["tool_calls"][0]["id"] == "c"


def test_several_tool_results_answering_one_turn() -> None:
    from proxy.translate import anthropic

    chat = anthropic.request_to_chat(
        {
            "model": "m",
            "max_tokens": 5,
            "messages": [
                {"role": "user", "content": "read both"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "Read", "input": {"p": "a"}},
                        {"type": "tool_use", "id": "t2", "name": "Read", "input": {"p": "b"}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "A"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "t2",
                            "content": [{"type": "text", "text": "B"}],
                        },
                        {"type": "text", "text": "now compare"},
                    ],
                },
            ],
        }
    )
    messages = chat["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "user"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["t1", "t2"]
    assert [(m["tool_call_id"], m["content"]) for m in messages[2:4]] == [("t1", "A"), ("t2", "B")]
    assert messages[4]["content"] == "now compare"
