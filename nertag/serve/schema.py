"""The ``POST /tag`` request and response, in plain Python (no web framework).

Request: a JSON object with ``text`` (one string) or ``texts`` (a list of strings),
and optionally ``sentences`` (which line breaks end a sentence: ``auto``, the default,
``line`` or ``blank``, as ``nertag tag --sentences``; see :data:`SENTENCE_MODES`),
``decoder`` (``greedy``, ``constrained``, ``viterbi``, or null for the model's own),
``tokens`` (false: leave the tokens out of the response) and ``min_score`` (a number
from 0 to 1: leave out the entities scored below it, as ``nertag tag --min-score``;
null: the server's ``--min-score``).

Response: ``{"docs": [{"sentences": [S, ...]}, ...]}``, one doc per input text in
order, where each ``S`` is the object ``nertag tag -f jsonl`` writes for one sentence
(``text``, ``start``, ``tokens`` if asked for, ``entities``), all offsets counted in
characters (Unicode code points) of that input text.

Every refusal is an :class:`ApiError` with an HTTP status and a message that names
the field and says what to send instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

from nertag.errors import json_type
from nertag.text.sentences import DEFAULT as DEFAULT_SENTENCES, MODES

#: ``sentences`` values (:mod:`nertag.text.sentences`): a sentence ends after . ! ? before
#: a capital and at every blank line, and at line breaks: ``blank`` none, ``line`` every
#: one, ``auto`` (the default) those of line-per-item text, not those of hard-wrapped prose.
SENTENCE_MODES = MODES
FIELDS = ("text", "texts", "sentences", "decoder", "tokens", "min_score")
EXAMPLE = '{"text": "Laura Okafor flew to Geneva."}'


class ApiError(Exception):
    """A request refused with HTTP ``status`` and a one-line ``message``; ``close``: close
    the connection after the answer (the rest of the request was not read)."""

    def __init__(self, status: int, message: str, close: bool = False):
        super().__init__(message)
        self.status, self.message, self.close = status, message, close


@dataclass(frozen=True)
class TagRequest:
    texts: list[str]
    decoder: str | None = None
    sentences: str = DEFAULT_SENTENCES
    tokens: bool = False
    min_score: float | None = None  # None: the Tagger's

    @property
    def options(self) -> tuple:
        """What must be equal for two requests to be tagged in one model call."""
        return self.decoder, self.sentences, self.min_score


def check_content_type(header: str | None) -> None:
    """415 unless the body is declared as ``application/json`` (any parameters)."""
    media = (header or "").split(";")[0].strip().lower()
    if media != "application/json":
        got = f"{header!r}" if header else "none"
        raise ApiError(415, f"the body must be JSON with the header 'Content-Type: "
                            f"application/json' (got {got}); send e.g. {EXAMPLE}")


def parse_tag_request(body: bytes, *, max_texts: int, decoders: Sequence[str],
                      sentence_modes: Sequence[str] = SENTENCE_MODES) -> TagRequest:
    """The checked request in ``body``; ``sentence_modes``: the modes this Tagger takes
    (without ``sentences``, a request gets the default if the Tagger takes it, else the
    Tagger's first mode)."""
    try:
        obj = json.loads(body)
    except RecursionError:
        raise ApiError(400, "the body is not JSON this server reads: nested too deeply") \
            from None
    except ValueError as e:  # json.JSONDecodeError, or bytes that are not UTF-8
        detail = e.msg if isinstance(e, json.JSONDecodeError) else "not UTF-8"
        raise ApiError(400, f"the body is not valid JSON ({detail}); send e.g. {EXAMPLE}") \
            from None
    if not isinstance(obj, dict):
        raise ApiError(422, f"the body must be a JSON object with a field 'text' or 'texts', "
                            f"not {json_type(obj)}; send e.g. {EXAMPLE}")
    unknown = [k for k in obj if k not in FIELDS]
    if unknown:
        raise ApiError(422, f"unknown field {unknown[0]!r}; the fields are "
                            f"{', '.join(FIELDS)}")
    if "text" in obj and "texts" in obj:
        raise ApiError(422, "give either the field 'text' (one string) or 'texts' (a list "
                            "of strings), not both")
    if "text" in obj:
        texts = [_string(obj["text"], "text")]
    elif "texts" in obj:
        texts = obj["texts"]
        if not isinstance(texts, list):
            raise ApiError(422, f"field 'texts' must be an array of strings, got "
                                f"{json_type(texts)}")
        if len(texts) > max_texts:
            raise ApiError(413, f"too many texts in one request: {len(texts)}; the limit is "
                                f"{max_texts} (send several requests)")
        texts = [_string(t, f"texts[{i}]") for i, t in enumerate(texts)]
    else:
        raise ApiError(422, f"missing field 'text' (one string) or 'texts' (a list of "
                            f"strings); send e.g. {EXAMPLE}")
    decoder = obj.get("decoder")
    if decoder is not None and decoder not in decoders:
        raise ApiError(422, f"field 'decoder' must be one of {', '.join(decoders)} (or null "
                            f"for the model's own), got {_shown(decoder)}")
    sentences = obj.get("sentences", DEFAULT_SENTENCES if DEFAULT_SENTENCES in sentence_modes
                        else sentence_modes[0])
    if sentences not in SENTENCE_MODES:
        raise ApiError(422, f"field 'sentences' must be one of {', '.join(SENTENCE_MODES)}, "
                            f"got {_shown(sentences)}")
    if sentences not in sentence_modes:
        raise ApiError(422, f"field 'sentences': {sentences!r} is not available in this "
                            f"version of nertag; use {' or '.join(map(repr, sentence_modes))}")
    tokens = obj.get("tokens", False)
    if not isinstance(tokens, bool):
        raise ApiError(422, f"field 'tokens' must be true or false, got {json_type(tokens)}")
    min_score = obj.get("min_score")
    if min_score is not None:
        number = isinstance(min_score, (int, float)) and not isinstance(min_score, bool)
        if not number or not 0 <= min_score <= 1:
            got = min_score if number else json_type(min_score)
            raise ApiError(422, f"field 'min_score' must be a number from 0 to 1 (or null for "
                                f"the server's), got {got}")
    return TagRequest(texts, decoder, sentences, tokens,
                      None if min_score is None else float(min_score))


def _string(value, field: str) -> str:
    if not isinstance(value, str):
        raise ApiError(422, f"field {field!r} must be a string, got {json_type(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:  # "\ud800" in JSON decodes to a lone surrogate
        raise ApiError(422, f"field {field!r} is not valid Unicode: a lone surrogate "
                            f"{value[e.start]!r} at character {e.start}") from None
    return value


def _shown(value) -> str:
    return repr(value) if isinstance(value, str) and len(value) <= 40 else json_type(value)


def sentence_json(sent, tokens: bool) -> dict:
    """One sentence (a :class:`~nertag.api.Span`) as ``nertag tag -f jsonl`` writes it;
    without its tokens unless ``tokens``."""
    obj = {"text": sent.text, "start": sent.start}
    if tokens:
        obj["tokens"] = [{"text": t.text, "start": t.start, "end": t.end, "tag": t.tag}
                         for t in sent.tokens]
    obj["entities"] = [e.as_dict() for e in sent.ents]
    return obj


def response_body(docs, tokens: bool) -> bytes:
    """The ``/tag`` response for these Docs (UTF-8 JSON)."""
    obj = {"docs": [{"sentences": [sentence_json(s, tokens) for s in d.sentences]}
                    for d in docs]}
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def error_body(message: str) -> bytes:
    return json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
