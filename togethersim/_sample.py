"""One choice of a reply, token by token: what the bodies, the stream and logprobs render.

A :class:`Sample` is what a simulated model generated for one choice, as the sequence of
its tokens in generation order. Each :class:`Token` belongs to a channel:

* ``reasoning``: the ``reasoning`` field (models of the ``field`` style);
* ``content``: the message content, or a text completion's text. For the ``inline`` styles
  the thinking is content too, with the ``<think>`` markup glued onto a neighbouring token;
* ``tool``: a fragment of the JSON arguments of tool call number ``call``.

Concatenating a channel's tokens gives exactly the non-streamed field, which is what makes
a streamed reply reassemble to the non-streamed one. One token is one word: a run of words
``a b c`` is the tokens ``a``, `` b``, `` c`` (a leading space on all but the first, as real
tokenizers do), and ``usage.completion_tokens`` is the number of tokens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["REASONING_STYLES", "Channel", "ReasoningStyle", "Sample", "Token", "ToolCall", "spaced"]

ReasoningStyle = Literal["none", "field", "inline", "inline-no-open"]
REASONING_STYLES: tuple[ReasoningStyle, ...] = ("none", "field", "inline", "inline-no-open")
Channel = Literal["reasoning", "content", "tool"]


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    channel: Channel
    call: int = 0  # the tool call this is an argument fragment of (channel "tool")
    thinking: bool = False  # counts in usage.reasoning_tokens


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The head of a tool call; its arguments are the ``tool`` tokens with its index."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Sample:
    """One choice: its tokens, the tool calls they belong to, and how it ended."""

    index: int  # the choice's index in the reply
    key: str  # seeds per-token draws (logprobs, chunk sizes): "<signature>/<index>"
    tokens: tuple[Token, ...]
    calls: tuple[ToolCall, ...]
    style: ReasoningStyle
    finish_reason: str  # "stop", "length" or "tool_calls"
    # Eval replies: the token that carries the answer, how sure the model is of it, and the
    # text of that token had the model given the competing answer (see _logprobs).
    answer_at: int | None = None
    confidence: float | None = None
    alternative: str | None = None

    def text(self, channel: Channel, call: int | None = None) -> str:
        return "".join(
            t.text for t in self.tokens if t.channel == channel and (call is None or t.call == call)
        )

    @property
    def content(self) -> str:
        return self.text("content")

    @property
    def reasoning(self) -> str | None:
        """The ``reasoning`` field: a string for the ``field`` style, else None."""
        return self.text("reasoning") if self.style == "field" else None

    def arguments(self, call: int) -> str:
        return self.text("tool", call)

    @property
    def completion_tokens(self) -> int:
        return len(self.tokens)

    @property
    def reasoning_tokens(self) -> int:
        return sum(1 for t in self.tokens if t.thinking)


def spaced(
    words: Iterable[str], channel: Channel, *, call: int = 0, thinking: bool = False
) -> list[Token]:
    """Tokens for words joined by single spaces: ``a``, `` b``, `` c``."""
    return [
        Token(word if i == 0 else " " + word, channel, call, thinking)
        for i, word in enumerate(words)
    ]
