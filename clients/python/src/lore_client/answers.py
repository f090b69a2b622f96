"""The events of a streamed answer, typed: `Token`s of text as the model writes them, then one `Answer` (the
stored message, with its citations). An `error` event (the provider failed mid-answer; nothing is stored)
raises a `LoreError` with the API's code and no status, since the response had started. The OpenAI-compatible
stream's chunks are plain `JSONObject`s, ending at `[DONE]`."""

from __future__ import annotations

import json
from dataclasses import dataclass

from lore_client._streams import ServerSentEvent
from lore_client.errors import LoreError
from lore_client.types import Citation, JSONObject, Message


@dataclass(frozen=True)
class Token:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class Answer:
    """The whole answer, as stored in the conversation: its text cites passages as [n]."""

    message: Message

    @property
    def text(self) -> str:
        return self.message["content"]

    @property
    def citations(self) -> list[Citation]:
        return self.message["citations"]


AnswerEvent = Token | Answer


def stream_error(data: object) -> LoreError:
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, dict) else {}
    return LoreError(
        str(error.get("message", "the stream failed")),
        code=str(error.get("code", "stream_error")),
        details=error.get("details") if isinstance(error.get("details"), dict) else None,
    )


def answer_event(event: ServerSentEvent) -> AnswerEvent | None:
    """The typed event of a conversation's answer stream (None: an event this client does not know)."""
    data = json.loads(event.data)
    if event.event == "token":
        return Token(str(data["text"]))
    if event.event == "message":
        return Answer(data)
    if event.event == "error":
        raise stream_error(data)
    return None


def chat_chunk(event: ServerSentEvent) -> JSONObject | None:
    """A chunk of an OpenAI-compatible completion stream (None: the closing `[DONE]`)."""
    if event.data == "[DONE]":
        return None
    data = json.loads(event.data)
    if "error" in data and "choices" not in data:
        raise stream_error(data)
    chunk: JSONObject = data
    return chunk
