"""The bad-input corpus: every file in tests/data/bad/ is accepted or refused, as the table says.

A refused file gives one error line of the form ``path:line: reason``, through the library
(`jobs.JobFile` and the importer that also catches duplicate ids, `evals.read_evalset`) and
through the real CLI (exit 2, nothing sent). Files too big to commit (a 10 MB line, a line
nested past the parser's depth) are written into ``tmp_path`` at test time.

The second half feeds `ApiClient` bad server answers through `httpx.MockTransport`: HTML
error pages, an error envelope whose ``message`` is an object, and 200s that hold no
completion. Bad streams (cut off, an error chunk, no ``[DONE]``, nothing at all) are in
tests/runner/test_client_stream.py, beside the stream reader.
"""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import jobs._reader
from evals import EvalSetInvalid, read_evalset
from fanout.cli import main
from jobs import CHAT, Defaults, Job, JobFile, LineError
from jobs._format import MAX_CUSTOM_ID
from runner import JobFileInvalid, Store
from runner._client import ApiClient, Attempt
from runner._clock import FakeClock
from runner._engine import Engine, EngineSettings
from runner._limiter import NoLimit
from runner._retry import Action

BAD = Path(__file__).parent / "data" / "bad"
D = Defaults(model="m")
NOWHERE = "http://127.0.0.1:9/v1"  # nothing listens on the discard port

# file -> jobs read (accepted) or (line, reason) of the one error it gives.
Expected = int | tuple[int, str]
ROLES = "assistant, developer, function, system, tool, user"
BODY_NEEDED = "but no 'body': a Batch API line carries the request as a 'body' object"
URL_MUST = "url must be '/v1/chat/completions' or '/v1/completions', got"
NEITHER = "the body has neither 'messages' (chat) nor 'prompt' (text completion)"
CUT_OFF = "; the file ends inside this line (was it cut off?)"

JOB_FILES: dict[str, Expected] = {
    # accepted: a UTF-8 byte order mark, CRLF endings and blank lines are ordinary text files
    "bom.jsonl": 2,
    "crlf.jsonl": 3,
    "bom_crlf.jsonl": 2,
    "blank_lines.jsonl": 3,
    # not text, not JSON, or not a whole file
    "empty.jsonl": (1, "the file has no jobs (it is empty)"),
    "only_blank_lines.jsonl": (1, "the file has no jobs (it has only blank lines)"),
    "invalid_json.jsonl": (
        2,
        "invalid JSON: Expecting property name enclosed in double quotes (column 34)",
    ),
    "truncated_last_line.jsonl": (
        2,
        "invalid JSON: Unterminated string starting at column 30" + CUT_OFF,
    ),
    "invalid_utf8.jsonl": (
        2,
        "not valid UTF-8 at byte 34 of the line (0xe9); save the file as UTF-8",
    ),
    "utf16.jsonl": (
        1,
        "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8",
    ),
    "utf16_without_bom.jsonl": (
        1,
        "NUL byte at byte 2 of the line: the file is not UTF-8 text (UTF-16, or binary?)",
    ),
    "nan_literal.jsonl": (1, "invalid JSON: NaN is not a JSON value (write a number or null)"),
    "infinity_literal.jsonl": (
        1,
        "invalid JSON: -Infinity is not a JSON value (write a number or null)",
    ),
    "number_overflows_to_infinity.jsonl": (
        1,
        "invalid JSON: the number 1e999 is out of range (it would be infinity)",
    ),
    # a line that is JSON but not an object
    "line_is_array.jsonl": (2, "a job line must be a JSON object, got a list"),
    "line_is_string.jsonl": (2, "a job line must be a JSON object, got a string"),
    "line_is_number.jsonl": (2, "a job line must be a JSON object, got a number"),
    "line_is_null.jsonl": (2, "a job line must be a JSON object, got null"),
    # ids
    "duplicate_custom_id.jsonl": (3, "duplicate custom_id 'a' (first on line 1)"),
    "duplicate_id_int_and_string.jsonl": (2, "duplicate custom_id '7' (first on line 1)"),
    "custom_id_over_64_chars.jsonl": (
        2,
        "custom_id is 65 characters long; Together's Batch API takes at most 64",
    ),
    "custom_id_object.jsonl": (1, "custom_id must be a string, got an object"),
    # the Batch API envelope
    "missing_body.jsonl": (1, f"this line has 'method' and 'url' {BODY_NEEDED}"),
    "url_without_body.jsonl": (1, f"this line has 'url' {BODY_NEEDED}"),
    "body_not_object.jsonl": (1, "'body' must be an object, got a string"),
    "body_null.jsonl": (1, "'body' must be an object, got null"),
    "method_get.jsonl": (1, "method must be 'POST', got 'GET'"),
    "unknown_endpoint_embeddings.jsonl": (1, f"{URL_MUST} '/v1/embeddings'"),
    "unknown_endpoint_v2.jsonl": (1, f"{URL_MUST} '/v2/chat/completions'"),
    "url_disagrees_with_body.jsonl": (
        1,
        "url is /v1/completions but the body has 'messages' (that goes to /v1/chat/completions)",
    ),
    # the request body
    "embeddings_short_line.jsonl": (1, NEITHER),
    "neither_messages_nor_prompt.jsonl": (1, NEITHER),
    "messages_and_prompt.jsonl": (
        1,
        "a body has 'messages' (chat) or 'prompt' (text completion), not both",
    ),
    "messages_not_list.jsonl": (1, "'messages' must be a non-empty list"),
    "messages_object.jsonl": (1, "'messages' must be a non-empty list"),
    "messages_empty.jsonl": (1, "'messages' must be a non-empty list"),
    "message_not_object.jsonl": (1, "messages[0] must be an object, got a string"),
    "message_without_role.jsonl": (1, "messages[0] has no 'role'"),
    "message_without_content.jsonl": (1, "messages[1] has no 'content'"),
    "message_content_number.jsonl": (
        1,
        "messages[0].content must be a string or a list of parts, got a number",
    ),
    "unknown_role.jsonl": (1, f"messages[0].role must be one of {ROLES}; got 'robot'"),
    "max_tokens_string.jsonl": (1, "'max_tokens' must be an integer, got a string '64'"),
    "max_tokens_float.jsonl": (1, "'max_tokens' must be an integer, got a number 64.5"),
    "max_tokens_negative.jsonl": (1, "'max_tokens' must be >= 1, got -5"),
    "max_tokens_zero.jsonl": (1, "'max_tokens' must be >= 1, got 0"),
    "temperature_string.jsonl": (1, "'temperature' must be a number, got a string 'hot'"),
    "temperature_negative.jsonl": (1, "'temperature' must be between 0.0 and 2.0, got -0.1"),
    "temperature_out_of_range.jsonl": (1, "'temperature' must be between 0.0 and 2.0, got 2.5"),
}

EVAL_FILES: dict[str, Expected] = {
    "bom_crlf_blank_lines.jsonl": 2,
    "empty.jsonl": (1, "the file has no items (it is empty)"),
    "invalid_json.jsonl": (1, "invalid JSON: Expecting ',' delimiter (at the end of the line)"),
    "truncated_last_line.jsonl": (
        2,
        "invalid JSON: Unterminated string starting at column 23" + CUT_OFF,
    ),
    "line_is_array.jsonl": (1, "an eval item must be a JSON object, got a list"),
    "target_nan.jsonl": (1, "invalid JSON: NaN is not a JSON value (write a number or null)"),
    "missing_id.jsonl": (1, "missing 'id' (every item needs one; results join on it)"),
    "id_over_64_chars.jsonl": (
        1,
        "'id' is 65 characters long; at most 64, since it becomes the job's custom_id "
        "(Together's Batch API limit)",
    ),
    "duplicate_ids.jsonl": (3, "duplicate id 'q1' (first on line 1)"),
    "no_target.jsonl": (2, "missing 'target' (the accepted answer, or a list of them)"),
    "misspelt_target.jsonl": (1, "unexpected key 'answer' (put extra fields under 'metadata')"),
    "input_and_messages.jsonl": (
        1,
        "an item has 'input' or 'messages', exactly one; this one has both",
    ),
    "neither_input_nor_messages.jsonl": (
        1,
        "an item has 'input' or 'messages', exactly one; this one has neither",
    ),
    "choice_letter_out_of_range.jsonl": (
        1,
        "target 'D' is neither a choice letter (A-C) nor the text of a choice",
    ),
    "tool_role.jsonl": (
        1,
        "messages[0].role must be one of assistant, developer, system, user; got 'tool'",
    ),
}


def import_jobs(path: Path, tmp_path: Path) -> int | list[str]:
    """Import ``path`` as `fanout run` does: the number of jobs, or the error lines."""
    with Store.open(tmp_path / "import.db") as store:
        try:
            run = store.create_run(
                jobs_path=str(path),
                jobs_sha256="-",
                options_json="{}",
                identity=str(path),
                out_path="-",
                jobs=JobFile(path, D),
            )
        except JobFileInvalid as exc:
            return [str(e) for e in exc.errors]
    return run.n_jobs


def test_the_corpus_is_complete() -> None:
    on_disk = {p.name for p in BAD.glob("*.jsonl")}
    evals_on_disk = {p.name for p in (BAD / "eval").glob("*.jsonl")}
    assert on_disk == set(JOB_FILES)
    assert evals_on_disk == set(EVAL_FILES)
    assert len(on_disk) + len(evals_on_disk) >= 30
    assert all(p.stat().st_size < 4096 for p in BAD.rglob("*.jsonl"))  # big inputs: at runtime


@pytest.mark.parametrize(("name", "expected"), JOB_FILES.items(), ids=list(JOB_FILES))
def test_job_file(name: str, expected: Expected, tmp_path: Path) -> None:
    path = BAD / name
    entries = list(JobFile(path, D))
    outcome = import_jobs(path, tmp_path)
    if isinstance(expected, int):
        assert all(isinstance(e, Job) for e in entries), entries
        assert len(entries) == expected == outcome
        return
    line, reason = expected
    assert outcome == [f"{path}:{line}: {reason}"]
    if not reason.startswith("duplicate"):  # duplicates need the whole file: the importer's
        errors = [str(e) for e in entries if isinstance(e, LineError)]
        assert errors == [f"{path}:{line}: {reason}"]


@pytest.mark.parametrize(("name", "expected"), EVAL_FILES.items(), ids=list(EVAL_FILES))
def test_eval_file(name: str, expected: Expected) -> None:
    path = BAD / "eval" / name
    if isinstance(expected, int):
        assert len(read_evalset(path)) == expected
        return
    line, reason = expected
    with pytest.raises(EvalSetInvalid) as info:
        read_evalset(path)
    assert [str(e) for e in info.value.errors] == [f"{path}:{line}: {reason}"]
    assert f"\n{path}:{line}: {reason}" in str(info.value)


def test_eval_ids_and_custom_ids_share_one_limit() -> None:
    assert MAX_CUSTOM_ID == 64


# --- the real CLI -----------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.delenv("TOGETHER_BASE_URL", raising=False)
    return CliRunner()


CLI_JOB_FILES = [
    "truncated_last_line.jsonl",
    "duplicate_custom_id.jsonl",
    "custom_id_over_64_chars.jsonl",
    "missing_body.jsonl",
    "nan_literal.jsonl",
    "empty.jsonl",
    "utf16.jsonl",
    "unknown_endpoint_embeddings.jsonl",
]


@pytest.mark.parametrize("name", CLI_JOB_FILES)
def test_cli_dry_run_refuses_bad_job_file(name: str, cli: CliRunner, tmp_path: Path) -> None:
    path = (BAD / name).resolve()
    expected = JOB_FILES[name]
    assert isinstance(expected, tuple)
    line, reason = expected
    db = tmp_path / "s.db"
    result = cli.invoke(main, ["run", str(path), "--model", "m", "--dry-run", "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert f"\n{path}:{line}: {reason}\n" in result.output
    assert "nothing was sent" in result.output
    assert not db.exists()


@pytest.mark.parametrize("name", ["missing_body.jsonl", "nan_literal.jsonl", "empty.jsonl"])
def test_cli_run_refuses_bad_job_file_before_sending(
    name: str, cli: CliRunner, tmp_path: Path
) -> None:
    """Not a dry run: a real target (where nothing listens) is never contacted."""
    path = (BAD / name).resolve()
    db = tmp_path / "s.db"
    args = ["run", str(path), "--model", "m", "--db", str(db), "--base-url", NOWHERE]
    result = cli.invoke(main, [*args, "--out", str(tmp_path / "o.jsonl"), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert f"{path}:1: " in result.output and "nothing was sent" in result.output
    assert not (tmp_path / "o.jsonl").exists()
    status = cli.invoke(main, ["status", "--db", str(db)])
    assert "no runs" in status.output  # the import was rolled back whole


@pytest.mark.parametrize("name", ["bom.jsonl", "crlf.jsonl", "blank_lines.jsonl"])
def test_cli_dry_run_accepts(name: str, cli: CliRunner, tmp_path: Path) -> None:
    path = (BAD / name).resolve()
    result = cli.invoke(main, ["run", str(path), "--model", "m", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"{path}: {JOB_FILES[name]} valid jobs; nothing sent." in result.output


@pytest.mark.parametrize(
    "name", ["no_target.jsonl", "duplicate_ids.jsonl", "choice_letter_out_of_range.jsonl"]
)
def test_cli_eval_refuses_bad_eval_set(name: str, cli: CliRunner, tmp_path: Path) -> None:
    path = (BAD / "eval" / name).resolve()
    expected = EVAL_FILES[name]
    assert isinstance(expected, tuple)
    line, reason = expected
    db, out = tmp_path / "e.db", tmp_path / "out"
    args = ["eval", str(path), "--sim", "--model", "m", "--db", str(db), "--out-dir", str(out)]
    result = cli.invoke(main, [*args, "--no-progress"])
    assert result.exit_code == 2, result.output
    assert f"\n{path}:{line}: {reason}" in result.output
    assert "nothing was run" in result.output
    assert not db.exists() and not out.exists()


# --- inputs made at test time -----------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


def write_big_line(path: Path) -> Path:
    """Line 1 a small job, line 2 a chat job whose one message is 10 MB of text."""
    small = json.dumps({"custom_id": "small", "prompt": "x"})
    big = json.dumps({"custom_id": "big", "messages": [{"role": "user", "content": "a" * TEN_MB}]})
    path.write_text(f"{small}\n{big}\n")
    return path


def test_ten_mb_line_is_read_and_run(tmp_path: Path) -> None:
    """10 MB is a plausible line (inline base64 images), well under the 32 MiB a line may be."""
    path = write_big_line(tmp_path / "big.jsonl")
    entries = list(JobFile(path, D))
    assert [e.custom_id for e in entries if isinstance(e, Job)] == ["small", "big"]
    big = entries[1]
    assert isinstance(big, Job) and big.endpoint == CHAT
    assert len(big.body["messages"][0]["content"]) == TEN_MB
    assert import_jobs(path, tmp_path) == 2


def test_line_over_the_limit_is_refused_without_being_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_big_line(tmp_path / "big.jsonl")
    size = len(path.read_bytes().splitlines(keepends=True)[1])
    monkeypatch.setattr(jobs._reader, "MAX_LINE_BYTES", 1 << 20)
    jf = JobFile(path, D)
    tracemalloc.start()
    try:
        entries = list(jf)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size // 2  # the 10 MB line was skipped in chunks, never held whole
    errors = [str(e) for e in entries if isinstance(e, LineError)]
    assert errors == [
        f"{path}:2: the line is {size:,} bytes long; a line may be at most 1,048,576 bytes "
        "(is the file JSONL, one JSON object a line?)"
    ]
    assert [e.custom_id for e in entries if isinstance(e, Job)] == ["small"]
    assert jf.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # every byte hashed


def test_eval_line_over_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"id": "q", "input": "a" * 4096, "target": 1}) + "\n")
    size = path.stat().st_size
    monkeypatch.setattr(jobs._reader, "MAX_LINE_BYTES", 1024)
    with pytest.raises(EvalSetInvalid) as info:
        read_evalset(path)
    assert [str(e) for e in info.value.errors] == [
        f"{path}:1: the line is {size:,} bytes long; a line may be at most 1,024 bytes "
        "(is the file JSONL, one JSON object a line?)"
    ]


def test_nesting_past_the_parser_depth(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps({"prompt": "x"}) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    errors = [str(e) for e in JobFile(path, D) if isinstance(e, LineError)]
    assert errors == [f"{path}:2: invalid JSON: nested too deeply"]


# --- bad server answers -----------------------------------------------------------------

NGINX_502 = (
    b"""<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.25.3</center>
</body>
</html>
"""
    + b"<!-- a padding comment to make the page longer -->\n" * 20
)

UNTITLED_503 = (
    b"<!DOCTYPE html><html><head><style>body { font-family: sans-serif; }"
    + b" .x{}" * 200
    + b"</style></head><body><h1>Service  Unavailable</h1>\n<p>The server is temporarily"
    b" unable to service your request &amp; will be back.</p></body></html>"
)


async def post_once(response: httpx.Response) -> Attempt:
    def respond(request: httpx.Request) -> httpx.Response:
        return response

    async with ApiClient(
        "http://test/v1", "sk-test", transport=httpx.MockTransport(respond)
    ) as client:
        return await client.post(CHAT, b'{"model": "m", "messages": []}')


HTML = {"content-type": "text/html; charset=utf-8"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("response", "code", "message"),
    [
        (
            httpx.Response(502, headers=HTML, content=NGINX_502),
            "http_502",
            "HTTP 502: 502 Bad Gateway (an HTML page)",
        ),
        (
            httpx.Response(503, headers=HTML, content=UNTITLED_503),
            "http_503",
            "HTTP 503: Service Unavailable The server is temporarily unable to service your "
            "request & will be back. (an HTML page)",
        ),
        (  # no content-type at all: recognised by its first character
            httpx.Response(504, content=b"<html><title>Gateway Timeout</title></html>"),
            "http_504",
            "HTTP 504: Gateway Timeout (an HTML page)",
        ),
    ],
)
async def test_html_error_page_is_retried_with_a_short_message(
    response: httpx.Response, code: str, message: str
) -> None:
    attempt = await post_once(response)
    assert attempt.decision.action is Action.RETRY
    assert (attempt.decision.code, attempt.decision.message) == (code, message)
    assert "<" not in attempt.decision.message


@pytest.mark.asyncio
async def test_object_message_400_is_not_retried_and_reads_as_text() -> None:
    inner = {"message": "Input validation error", "type": "BadRequestError", "param": None}
    attempt = await post_once(
        httpx.Response(400, json={"id": "r-1", "error": {"message": {**inner, "code": 400}}})
    )
    assert attempt.decision.action is Action.FAIL
    assert attempt.decision.message == "HTTP 400: Input validation error"
    assert attempt.decision.code == "http_400"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            httpx.Response(200, json={"id": "r-1", "object": "chat.completion", "usage": {}}),
            "HTTP 200 without a completion: no 'choices'",
        ),
        (
            httpx.Response(200, json={"id": "r-1", "choices": []}),
            "HTTP 200 without a completion: 'choices' is empty",
        ),
        (
            httpx.Response(200, json={"id": "r-1", "choices": ["hi"]}),
            "HTTP 200 without a completion: a choice is not an object",
        ),
        (
            httpx.Response(200, json={"error": {"message": "model overloaded"}}),
            "HTTP 200 without a completion: no 'choices' (model overloaded)",
        ),
        (
            httpx.Response(200, content=b'[{"choices": [{"text": "hi"}]}]'),
            "HTTP 200 with a body that is not a JSON object: "
            """'[{"choices": [{"text": "hi"}]}]'""",
        ),
        (
            httpx.Response(200, headers={"content-type": "text/plain"}, content=b"OK"),
            "HTTP 200 with a body that is not a JSON object: 'OK'",
        ),
        (httpx.Response(200, content=b""), "HTTP 200 with an empty body"),
    ],
)
async def test_200_without_a_completion_is_retried(response: httpx.Response, message: str) -> None:
    attempt = await post_once(response)
    assert attempt.decision.action is Action.RETRY
    assert attempt.decision.code == "invalid_response"
    assert attempt.decision.message == message


Handler = Callable[[int], httpx.Response]  # attempt number -> response


async def run_one_job(tmp_path: Path, handler: Handler, max_attempts: int) -> dict[str, object]:
    """Run a one-job file through the engine against ``handler``; its result line."""
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps({"custom_id": "c0", "prompt": "p0"}) + "\n")
    store = Store.open(tmp_path / "s.db")
    run = store.create_run(
        jobs_path=str(path),
        jobs_sha256="s",
        options_json="{}",
        identity="i",
        out_path="o",
        jobs=JobFile(path, D),
    )
    assert run.id is not None
    attempts = 0

    def respond(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return handler(attempts)

    clock = FakeClock()
    client = ApiClient("http://test/v1", None, transport=httpx.MockTransport(respond), clock=clock)
    settings = EngineSettings(concurrency=1, max_attempts=max_attempts)
    engine = Engine(store, run.id, client, NoLimit(), settings, clock=clock)
    await engine.run()
    (line,) = [json.loads(r.to_json()) for r in store.iter_results(run.id)]
    store.close()
    assert attempts == max_attempts or line["error"] is None
    return line  # type: ignore[no-any-return]


@pytest.mark.asyncio
async def test_200_without_choices_fails_after_the_attempts_with_a_clear_code(
    tmp_path: Path,
) -> None:
    line = await run_one_job(
        tmp_path, lambda n: httpx.Response(200, json={"id": f"r-{n}", "usage": {}}), 3
    )
    assert line["error"] == {
        "code": "invalid_response_exhausted",
        "message": "HTTP 200 without a completion: no 'choices' (gave up after 3 attempts)",
    }


@pytest.mark.asyncio
async def test_200_without_choices_then_a_real_answer_succeeds(tmp_path: Path) -> None:
    def handler(n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(200, json={"id": "r-1", "choices": []})
        return httpx.Response(200, json={"id": "r-2", "choices": [{"text": "hi"}]})

    line = await run_one_job(tmp_path, handler, 3)
    assert line["error"] is None
    assert line["response"]["body"]["choices"] == [{"text": "hi"}]  # type: ignore[index]
