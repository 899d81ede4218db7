"""The job-file format: read and validate JSONL job lines, write Batch-format result lines."""

from ._format import (
    CHAT,
    COMPLETIONS,
    Defaults,
    Endpoint,
    Job,
    LineError,
    encode_body,
    parse_line,
    request_hash,
)
from ._output import ResultLine
from ._reader import JobFile, file_sha256

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "Defaults",
    "Endpoint",
    "Job",
    "JobFile",
    "LineError",
    "ResultLine",
    "encode_body",
    "file_sha256",
    "parse_line",
    "request_hash",
]
