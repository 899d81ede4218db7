"""The eval set reader: good items, every error with file, line and reason, and job bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals import EvalItem, EvalSetInvalid, iter_evalset, job_body, read_evalset
from evals._evalset import parse_item
from jobs import Defaults, LineError, parse_line
from runner import UsageError


def write(path: Path, *lines: object) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
        encoding="utf-8",
    )
    return path


def error_of(obj: object) -> str:
    text = obj if isinstance(obj, str) else json.dumps(obj)
    with pytest.raises(LineError) as info:
        parse_item("set.jsonl", 3, text)
    assert str(info.value).startswith("set.jsonl:3: ")
    return info.value.reason


def test_read_items(tmp_path: Path) -> None:
    path = write(
        tmp_path / "set.jsonl",
        {"id": "a", "input": "2+2?", "target": 4, "metadata": {"group": 7, "difficulty": 1}},
        "",
        {"id": 5, "messages": [{"role": "user", "content": "Capital?"}], "target": ["Paris"]},
        {
            "id": "c",
            "input": "Bigger?",
            "choices": ["9.9", "9.11"],
            "target": "A",
            "scorer": "choice",
        },
    )
    a, b, c = read_evalset(path)
    assert a == EvalItem(
        id="a", target=4, input="2+2?", metadata={"group": 7, "difficulty": 1}, line_no=1
    )
    assert a.group == "7" and a.difficulty == 1 and a.targets == (4,)
    assert b.id == "5" and b.target == ("Paris",) and b.line_no == 3 and b.group is None
    assert c.choices == ("9.9", "9.11") and c.letters == "AB" and c.scorer == "choice"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ("{not json", "invalid JSON: Expecting property name enclosed in double quotes (column 2)"),
        ("[1, 2]", "an eval item must be a JSON object, got a list"),
        ({"input": "x", "target": 1}, "missing 'id' (every item needs one; results join on it)"),
        ({"id": "", "input": "x", "target": 1}, "'id' is empty"),
        ({"id": True, "input": "x", "target": 1}, "'id' must be a string, got a boolean"),
        ({"id": "a", "input": "x"}, "missing 'target' (the accepted answer, or a list of them)"),
        ({"id": "a", "input": "x", "target": []}, "'target' is an empty list"),
        ({"id": "a", "input": "x", "target": ""}, "'target' is an empty string"),
        (
            {"id": "a", "input": "x", "target": {"k": 1}},
            "'target' must be a string, a number or a list of them, got an object",
        ),
        (
            {"id": "a", "input": "x", "messages": [{"role": "user", "content": "x"}], "target": 1},
            "an item has 'input' or 'messages', exactly one; this one has both",
        ),
        (
            {"id": "a", "target": 1},
            "an item has 'input' or 'messages', exactly one; this one has neither",
        ),
        ({"id": "a", "input": "", "target": 1}, "'input' must be a non-empty string, got a string"),
        ({"id": "a", "messages": [], "target": 1}, "'messages' must be a non-empty list"),
        (
            {"id": "a", "messages": [{"role": "bot", "content": "x"}], "target": 1},
            "messages[0].role must be one of assistant, developer, system, user; got 'bot'",
        ),
        (
            {"id": "a", "input": "x", "target": "E", "choices": ["p", "q", "r", "s"]},
            "target 'E' is neither a choice letter (A-D) nor the text of a choice",
        ),
        ({"id": "a", "input": "x", "target": "A", "choices": ["p"]}, "'choices' must be a list"),
        (
            {"id": "a", "input": "x", "target": 1, "traget": 1},
            "unexpected key 'traget' (put extra fields under 'metadata')",
        ),
        (
            {"id": "a", "input": "x", "target": 1, "metadata": {"group": [1]}},
            "metadata.group must be a string, got a list",
        ),
        ({"id": "a", "input": "x", "target": 1, "scorer": ""}, "'scorer' must be a non-empty"),
    ],
)
def test_line_errors(obj: object, reason: str) -> None:
    assert error_of(obj).startswith(reason)


def test_duplicate_id_names_the_first_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "set.jsonl",
        {"id": "a", "input": "x", "target": 1},
        {"id": "b", "input": "y", "target": 2},
        {"id": "a", "input": "z", "target": 3},
    )
    entries = list(iter_evalset(path))
    assert isinstance(entries[2], LineError)
    assert str(entries[2]) == f"{path}:3: duplicate id 'a' (first on line 1)"


def test_read_raises_with_the_first_errors(tmp_path: Path) -> None:
    lines: list[Any] = [{"id": "ok", "input": "x", "target": 1}]
    lines += [{"id": f"bad{i}", "input": "x"} for i in range(12)]
    path = write(tmp_path / "set.jsonl", *lines, "{oops")
    with pytest.raises(EvalSetInvalid) as info:
        read_evalset(path, max_errors=3)
    err = info.value
    assert isinstance(err, UsageError) and err.exit_code == 2
    assert err.total == 13 and len(err.errors) == 3
    message = str(err)
    assert message.splitlines()[0] == f"{path}: 13 invalid lines; nothing was run"
    assert f"{path}:2: missing 'target'" in message
    assert message.endswith("... and 10 more")


def test_empty_eval_set_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "set.jsonl", "", "  ")
    with pytest.raises(EvalSetInvalid, match="has no items"):
        read_evalset(path)


def test_bad_utf8_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"id": "a", "input": "x", "target": 1}\n{"id": "b\xff", "input": "x"}\n'
    )
    first, second = list(iter_evalset(path))
    assert isinstance(first, EvalItem)
    assert isinstance(second, LineError) and "not valid UTF-8" in second.reason


def test_job_body_plain_input_is_the_user_message() -> None:
    it = EvalItem(id="a", target=4, input="What is 2+2?")
    body = job_body(it, model="m", max_tokens=64)
    assert body == {
        "messages": [{"role": "user", "content": "What is 2+2?"}],
        "model": "m",
        "max_tokens": 64,
    }
    parse_line("gen", 1, json.dumps({"custom_id": it.id, **body}), Defaults())  # a valid job


def test_job_body_multiple_choice_appends_lettered_choices() -> None:
    it = EvalItem(id="a", target="B", input="Which is larger?", choices=("9.11", "9.9"))
    content = job_body(it)["messages"][0]["content"]
    assert content.startswith("Which is larger?\n\nA) 9.11\nB) 9.9\n\n")
    assert "Answer with the letter" in content
    assert content.endswith("'Answer: X', where X is one of A, B.")


def test_job_body_messages_are_copied_and_choices_go_to_the_last_user_message() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Colour of the sky?"},
    ]
    it = EvalItem(id="a", target="A", messages=messages, choices=("blue", "green"))
    body = job_body(it, system="Think first.")
    assert [m["role"] for m in body["messages"]] == ["system", "system", "user"]
    assert body["messages"][2]["content"].startswith("Colour of the sky?\n\nA) blue\nB) green")
    assert messages[1]["content"] == "Colour of the sky?"  # the item is untouched


def test_job_body_choices_join_a_list_of_parts() -> None:
    parts = [{"type": "text", "text": "Which colour?"}]
    it = EvalItem(
        id="a", target="A", messages=[{"role": "user", "content": parts}], choices=("x", "y")
    )
    content = job_body(it)["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "Which colour?"}
    assert content[1]["text"].startswith("A) x\nB) y")
    assert len(parts) == 1


# params, tool-call targets, object targets ---------------------------------------------------

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
CALL = {"name": "get_weather", "arguments": {"city": "Paris"}}


def test_params_reach_the_job_body_and_win_over_the_eval_options() -> None:
    it = parse_item(
        "set.jsonl",
        1,
        json.dumps(
            {
                "id": "fc",
                "input": "Weather in Paris?",
                "target": [CALL],
                "scorer": "tool_call",
                "params": {"tools": TOOLS, "tool_choice": "auto", "n": 4, "temperature": 0.7},
            }
        ),
    )
    body = job_body(it, model="m", max_tokens=64, temperature=0.0)
    assert body["tools"] == TOOLS and body["tool_choice"] == "auto" and body["n"] == 4
    assert body["temperature"] == 0.7 and body["max_tokens"] == 64 and body["model"] == "m"
    body["tools"][0]["type"] = "changed"
    assert it.params["tools"][0]["type"] == "function"  # the item is untouched
    parse_line("gen", 1, json.dumps({"custom_id": it.id, **job_body(it, model="m")}), Defaults())


def test_tool_call_targets() -> None:
    one = parse_item(
        "s", 1, json.dumps({"id": "a", "input": "x", "scorer": "tool_call", "target": CALL})
    )
    assert one.targets == (CALL,)
    two = parse_item(
        "s",
        1,
        json.dumps(
            {"id": "a", "input": "x", "scorer": "tool_call", "target": [CALL, {"name": "now"}]}
        ),
    )
    assert two.targets == (CALL, {"name": "now", "arguments": {}})
    none = parse_item(
        "s", 1, json.dumps({"id": "a", "input": "x", "scorer": "tool_call", "target": []})
    )
    assert none.targets == ()


def test_json_targets_may_be_objects() -> None:
    schema = {"type": "object"}
    it = parse_item(
        "s",
        1,
        json.dumps(
            {
                "id": "a",
                "input": "x",
                "scorer": "json_schema",
                "target": {"k": 1},
                "params": {
                    "response_format": {"type": "json_schema", "json_schema": {"schema": schema}}
                },
            }
        ),
    )
    assert it.target == {"k": 1}
    assert parse_item(
        "s", 1, json.dumps({"id": "a", "input": "x", "scorer": "json", "target": {"k": 1}})
    )


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"params": [1]}, "'params' must be an object, got a list"),
        ({"params": {"messages": []}}, "params.messages is not allowed"),
        ({"params": {"prompt": "x"}}, "params.prompt is not allowed"),
        ({"params": {"model": "m"}}, "params.model is not allowed"),
        ({"params": {"tools": {}}}, "params.tools must be a list, got an object"),
        ({"params": {"tools": [{"type": "function"}]}}, "params.tools[0] must be"),
        ({"params": {"tool_choice": 3}}, "params.tool_choice must be a string or an object"),
        ({"params": {"response_format": "json"}}, "params.response_format must be an object"),
        ({"params": {"n": 0}}, "params.n must be an integer >= 1, got 0"),
        ({"params": {"n": True}}, "params.n must be an integer >= 1, got True"),
        ({"params": {"logprobs": "yes"}}, "params.logprobs must be an integer (Together) or a"),
        ({"scorer": "tool_call", "target": "Paris"}, "target must be a call"),
        ({"scorer": "tool_call", "target": [CALL, 3]}, "target[1] must be a call"),
        (
            {"scorer": "tool_call", "target": [{"arguments": {}}]},
            "target[0].name must be a non-empty",
        ),
        (
            {"scorer": "tool_call", "target": [{"name": "f", "arguments": "{}"}]},
            "target[0].arguments must be an object",
        ),
        (
            {"scorer": "tool_call", "target": [{"name": "f", "args": {}}]},
            "target[0] has unexpected key 'args'",
        ),
        ({"scorer": "tool_call", "target": None}, "missing 'target' (the expected calls"),
        ({"scorer": "json_schema", "target": {"k": 1}}, "scorer 'json_schema' needs a schema"),
        (
            {"target": {"k": 1}},
            "'target' must be a string, a number or a list of them, got an object (an object "
            "target needs scorer json, json_schema or tool_call)",
        ),
    ],
)
def test_params_and_target_errors(obj: dict[str, Any], reason: str) -> None:
    assert error_of({"id": "a", "input": "x", "target": 1, **obj}).startswith(reason)
