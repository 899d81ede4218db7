"""The job-file format: read and validate JSONL job lines, write Batch-format result lines."""

from ._format import (
    CHAT,
    COMPLETIONS,
    MAX_CUSTOM_ID,
    Defaults,
    Endpoint,
    Job,
    LineError,
    encode_body,
    load_json,
    parse_line,
    quick_json,
    request_hash,
)
from ._output import ResultLine
from ._reader import JobFile, file_sha256, read_lines

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "MAX_CUSTOM_ID",
    "Defaults",
    "Endpoint",
    "Job",
    "JobFile",
    "LineError",
    "ResultLine",
    "encode_body",
    "file_sha256",
    "load_json",
    "parse_line",
    "quick_json",
    "read_lines",
    "request_hash",
]
