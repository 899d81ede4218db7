"""Where a reply's thinking ends and its answer starts: the one ``<think>`` splitter.

Models that think inline write ``"<think>R</think>A"`` in the content (DeepSeek-R1, QwQ,
hybrid Qwen3), or ``"R</think>A"`` when the chat template opened the block for them
(Qwen3-Thinking-2507). `split_thinking` applies one set of rules, right for both, in order:

1. Every complete ``<think>...</think>`` block is removed from the text (its inside is
   reasoning).
2. If a closing ``</think>`` is left without its opening tag, everything before the last
   one is reasoning and the answer is what follows it.
3. If an opening ``<think>`` is left that never closes, the reply ended inside its
   thinking: there is no answer.

A text without tags is the answer, unless ``no_open`` says the template opens the thinking
(the ``inline-no-open`` style): then a text without ``</think>`` never left its thinking.
Tags are matched exactly (lower case), as the models emit them.

The eval stage reads answers with it (`evals.extract`); the stream reader (`_sse`) times
the first answer token with it, so a streamed reply's time to first answer is the time to
the first character of the answer that is scored.
"""

from __future__ import annotations

import re

__all__ = ["split_thinking"]

_OPEN, _CLOSE = "<think>", "</think>"
_BLOCK = re.compile(r"<think>(.*?)</think>", re.DOTALL)


def split_thinking(text: str, *, no_open: bool = False) -> tuple[str | None, list[str], int | None]:
    """``(answer, thinking, answer_at)`` of a reply's text (see the module docstring).

    ``answer`` is None when the reply is still inside its thinking (rule 3, or ``no_open``
    without ``</think>``); it is not stripped. ``thinking`` holds the parts of reasoning in
    the order the rules find them (not stripped, possibly empty). ``answer_at`` is the index
    in ``text`` of the answer's first non-blank character: None when the answer is None or
    blank.
    """
    if _CLOSE not in text:  # no block closes: the text is the answer, unless one opened
        if no_open:
            return None, [text], None
        opened = text.find(_OPEN)
        if opened >= 0:
            return None, [text[opened + len(_OPEN) :]], None
        return text, [], _first_char(text)
    thinking: list[str] = []
    blocks: list[tuple[int, int]] = []  # where the removed blocks were in text
    rest = text
    if _OPEN in text:  # rule 1

        def remove(block: re.Match[str]) -> str:
            thinking.append(block.group(1))
            blocks.append(block.span())
            return ""

        rest = _BLOCK.sub(remove, text)
    cut = 0
    last = rest.rfind(_CLOSE)
    if last >= 0:  # rule 2
        thinking.insert(0, rest[:last].replace(_CLOSE, "\n"))
        cut = last + len(_CLOSE)
    answer = rest[cut:]
    opened = answer.find(_OPEN)
    if opened >= 0:  # rule 3
        thinking.append(answer[opened + len(_OPEN) :])
        return None, thinking, None
    first = _first_char(answer)
    if first is None:
        return answer, thinking, None
    return answer, thinking, _in_text(blocks, cut + first)


def _first_char(text: str) -> int | None:
    """Index of the first non-blank character of ``text``; None if it is all blank."""
    blank = len(text) - len(text.lstrip())
    return blank if blank < len(text) else None


def _in_text(blocks: list[tuple[int, int]], index: int) -> int:
    """The index in the original text of ``index`` in the text with ``blocks`` removed."""
    for start, end in blocks:  # in order: each block before the character shifts it
        if index < start:
            break
        index += end - start
    return index
