"""Both line formats, and every validation error with its file, line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs import CHAT, COMPLETIONS, Defaults, Job, JobFile, LineError, parse_line

D = Defaults(model="m")


def parse(obj: object, defaults: Defaults = D) -> Job:
    return parse_line("f.jsonl", 7, json.dumps(obj), defaults)


def error_of(obj: object | str, defaults: Defaults = D) -> str:
    text = obj if isinstance(obj, str) else json.dumps(obj)
    with pytest.raises(LineError) as info:
        parse_line("f.jsonl", 7, text, defaults)
    assert str(info.value).startswith("f.jsonl:7: ")
    return info.value.reason


def test_batch_line_chat() -> None:
    job = parse(
        {
            "custom_id": "a",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "x", "messages": [{"role": "user", "content": "hi"}]},
        }
    )
    assert job == Job(7, "a", CHAT, {"model": "x", "messages": [{"role": "user", "content": "hi"}]})


def test_batch_line_without_url_follows_body() -> None:
    job = parse({"custom_id": "a", "body": {"prompt": "once"}})
    assert job.endpoint == COMPLETIONS
    assert job.body == {"prompt": "once", "model": "m"}


def test_short_line_every_other_key_is_body() -> None:
    job = parse(
        {
            "id": "q1",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 5,
            "metadata": {"k": 1},
        }
    )
    assert job.custom_id == "q1"
    assert job.endpoint == CHAT
    assert job.body == {
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 5,
        "model": "m",
    }


def test_missing_id_is_line_number_and_int_ids_become_strings() -> None:
    assert parse({"prompt": "x"}).custom_id == "7"
    assert parse({"custom_id": 12, "prompt": "x"}).custom_id == "12"


def test_cli_defaults_fill_only_what_is_missing() -> None:
    d = Defaults(model="m", max_tokens=10, temperature=0.5)
    job = parse({"prompt": "x", "model": "own", "max_tokens": 3}, d)
    assert job.body == {"prompt": "x", "model": "own", "max_tokens": 3, "temperature": 0.5}


def test_stream_is_kept() -> None:
    """A streamed line is sent streamed (the client reassembles the answer)."""
    job = parse({"prompt": "x", "stream": True, "stream_options": {"include_usage": True}})
    assert job.body["stream"] is True and job.body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "must be a JSON object, got a list"),
        ('"text"', "must be a JSON object, got a string"),
        ({"custom_id": "a"}, "neither 'messages'"),
        ({"prompt": "a", "messages": []}, "not both"),
        ({"custom_id": True, "prompt": "a"}, "custom_id must be a string"),
        ({"custom_id": "", "prompt": "a"}, "custom_id is empty"),
        ({"custom_id": "a", "id": "b", "prompt": "a"}, "either 'custom_id' or 'id'"),
        ({"custom_id": "a", "body": [1]}, "'body' must be an object"),
        ({"custom_id": "a", "body": {"prompt": "x"}, "extra": 1}, "unexpected key 'extra'"),
        ({"custom_id": "a", "method": "GET", "body": {"prompt": "x"}}, "method must be 'POST'"),
        ({"custom_id": "a", "url": "/v1/embeddings", "body": {"prompt": "x"}}, "url must be"),
        (
            {"url": "/v1/completions", "body": {"messages": [{"role": "user", "content": "x"}]}},
            "url is /v1/completions but the body has 'messages'",
        ),
        ({"messages": []}, "'messages' must be a non-empty list"),
        ({"messages": "hi"}, "'messages' must be a non-empty list"),
        ({"messages": ["hi"]}, "messages[0] must be an object"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role must be one of"),
        ({"messages": [{"role": "user"}]}, "messages[0] has no 'content'"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content must be"),
        ({"prompt": 5}, "'prompt' must be a string"),
        ({"prompt": ""}, "'prompt' is empty"),
        ({"prompt": "x", "max_tokens": 0}, "'max_tokens' must be >= 1"),
        ({"prompt": "x", "max_tokens": "5"}, "'max_tokens' must be an integer"),
        ({"prompt": "x", "max_tokens": True}, "'max_tokens' must be an integer"),
        ({"prompt": "x", "max_tokens": 2.5}, "'max_tokens' must be an integer"),
        ({"prompt": "x", "temperature": 3}, "'temperature' must be between 0.0 and 2.0"),
        ({"prompt": "x", "top_p": -1}, "'top_p' must be between"),
        ({"prompt": "x", "stop": [1]}, "'stop' must be a string or a list of strings"),
        ({"prompt": "x", "model": ""}, "'model' must be a non-empty string"),
        ({"prompt": "x", "metadata": [1]}, "'metadata' must be an object"),
    ],
)
def test_each_validation_error(line: object, reason: str) -> None:
    assert reason in error_of(line)


def test_no_model_names_both_fixes() -> None:
    assert "pass --model" in error_of({"prompt": "x"}, Defaults())


def test_assistant_tool_call_message_may_have_null_content() -> None:
    job = parse(
        {
            "messages": [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "content": "42", "tool_call_id": "1"},
            ]
        }
    )
    assert job.endpoint == CHAT


def test_jobfile_streams_lines_skips_blanks_and_hashes(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"prompt": "a"}\n\n   \n{"prompt": 1}\n\xff\xfe\n{"prompt": "b"}'
    )
    jf = JobFile(path, D)
    with pytest.raises(RuntimeError):
        _ = jf.sha256
    items = list(jf)
    assert [type(i).__name__ for i in items] == ["Job", "LineError", "LineError", "Job"]
    assert [i.line_no for i in items] == [1, 4, 5, 6]
    assert isinstance(items[2], LineError) and "UTF-8" in items[2].reason
    assert str(items[1]).startswith(f"{path}:4: ")
    import hashlib

    assert jf.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_example_file_is_valid() -> None:
    path = Path(__file__).parents[2] / "jobs" / "examples" / "demo.jsonl"
    items = list(JobFile(path, D))
    assert len(items) == 300
    assert all(isinstance(i, Job) for i in items)
    assert {i.endpoint for i in items if isinstance(i, Job)} == {CHAT, COMPLETIONS}
