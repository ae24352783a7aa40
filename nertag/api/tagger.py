"""nertag from Python: ``load()`` a model as a :class:`Tagger`, tag texts into
:class:`Doc` objects, :func:`train` and :func:`evaluate` (see the README's "Use from
Python").  A Tagger tags as ``nertag tag`` does (the same fast path, tokens, tags,
entities, and scores up to float rounding); ``Doc.to_json()`` is the object ``nertag
tag --per document -f jsonl`` writes; :func:`train` and :func:`evaluate` compute what ``nertag
train`` and ``nertag evaluate`` do.  Failures a caller can cause raise
:class:`~nertag.errors.NertagError`.

A Tagger is not thread-safe (its model caches words as it tags): give each thread its
own, or use processes -- a Tagger pickles as its model's path and reloads there.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
from collections import abc
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, NamedTuple, Sequence

from nertag.blas import one_thread
from nertag.errors import NertagError, UsageError
from nertag.inference.decode import DECODERS
from nertag.atomic import atomic_open
from nertag.modelio import PATTERNS_FILE, load_model, model_path, sha256
from nertag.render.formats import document_json
from nertag.tagging.chunks import (check_min_score, group_chunks, iter_chunks, model_patterns,
                                   tag_chunks, use_min_score, use_patterns)
from nertag.tagging.runtime import few_collections
from nertag.text import sentences as sentence_modes
from nertag.text.patterns import Patterns, patterns_from, read_patterns
from nertag.text.tagged import Entity, TaggedChunk, TaggedSentence

if TYPE_CHECKING:
    from nertag.inference.model import NerModel

__all__ = ["load", "Tagger", "Doc", "Span", "Token", "Entity", "add_patterns"]


# ---------------------------------------------------------------------- documents
class Token(NamedTuple):
    """One token of a :class:`Doc`: its text, ``[start, end)`` offsets and BIO tag."""

    text: str
    start: int
    end: int
    tag: str


def _count(n: int, one: str, many: str) -> str:
    """``1 entity``, ``2 entities``, ``0 entities``."""
    return f"{n} {one if n == 1 else many}"


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


def _tokens(sentences: Iterable[TaggedSentence]) -> list[Token]:
    return [Token(w, a, b, g) for s in sentences
            for w, a, b, g in zip(s.tokens.texts, s.tokens.starts, s.tokens.ends, s.tags)]


class Span:
    """A sentence of a :class:`Doc`: ``doc.text[start:end]``, its tokens and entities."""

    __slots__ = ("_doc", "_sent")

    def __init__(self, doc: "Doc", sentence: TaggedSentence):
        self._doc, self._sent = doc, sentence

    start = property(lambda self: self._sent.start, doc="offset of the first character")
    end = property(lambda self: self._sent.end, doc="offset just after the last character")
    text = property(lambda self: self._doc.text[self._sent.start:self._sent.end])
    ents = property(lambda self: list(self._sent.entities), doc="the entities, in order")
    tokens = property(lambda self: _tokens([self._sent]), doc="the tokens with their tags")

    @property
    def probabilities(self) -> list[float]:
        """Each token's probability, by the model, of the tag the model chose for it (raw,
        not calibrated; before ``min_score`` or patterns changed a tag)."""
        probs = self._sent.probs
        return [1.0] * len(self) if probs is None else [float(p) for p in probs]

    def __len__(self) -> int:
        return len(self._sent.tokens)

    def __repr__(self) -> str:
        return (f"<Span {self.start}:{self.end} {_short(self.text)} "
                f"({_count(len(self), 'token', 'tokens')}, "
                f"{_count(len(self._sent.entities), 'entity', 'entities')})>")


class Doc(abc.Sequence):
    """A tagged text: ``text``, ``sentences`` (or ``sents``: :class:`Span`), ``tokens``
    (:class:`Token`) and ``ents`` (:class:`~nertag.text.tagged.Entity`: ``text``,
    ``label``, ``start``, ``end``, ``score``), all with character offsets into ``text``.

    A Doc is the sequence of its tokens, as a spaCy Doc: ``len(doc)``, ``doc[0]``,
    ``doc[-1]``, ``doc[1:3]`` (a list of Tokens), ``for token in doc``."""

    __slots__ = ("text", "_chunks", "_token_list")

    def __init__(self, text: str, chunks: list[TaggedChunk]):
        self.text = text
        self._chunks = chunks  # the text's chunks, offsets relative to this text
        self._token_list: list[Token] | None = None  # made when first asked for

    def _sents(self) -> list[TaggedSentence]:
        return [s for c in self._chunks for s in c.sentences]

    sentences = property(lambda self: [Span(self, s) for s in self._sents()])
    sents = property(lambda self: self.sentences, doc="the sentences (spaCy's name)")
    ents = property(lambda self: [e for s in self._sents() for e in s.entities])

    @property
    def tokens(self) -> list[Token]:
        """The tokens with their tags."""
        if self._token_list is None:
            self._token_list = _tokens(self._sents())
        return list(self._token_list)

    def __getitem__(self, index):
        """A token (``doc[0]``, ``doc[-1]``) or a list of tokens (``doc[1:3]``)."""
        if self._token_list is None:
            self._token_list = _tokens(self._sents())
        return self._token_list[index]

    def __iter__(self) -> Iterator[Token]:
        return iter(self.tokens)

    def to_json(self, source: str | None = None) -> dict:
        """The object ``nertag tag --per document -f jsonl`` writes for this text: ``source``
        (only if given; the command writes the file name or ``<stdin>``), ``text``,
        ``start``, ``sentences``, ``tokens`` and ``entities`` (scores to 4 decimals)."""
        obj = json.loads(document_json(self._chunks, "" if source is None else source))
        if source is None:
            del obj["source"]
        return obj

    def __len__(self) -> int:
        return sum(len(s.tokens) for s in self._sents())

    def __eq__(self, other) -> bool:
        key = lambda d: (d.text, d.tokens, d.ents, [(s.start, s.end) for s in d._sents()])  # noqa
        return key(self) == key(other) if isinstance(other, Doc) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n = len(self._sents())
        return (f"<Doc {_short(self.text)} ({_count(n, 'sentence', 'sentences')}, "
                f"{_count(len(self), 'token', 'tokens')}, "
                f"{_count(len(self.ents), 'entity', 'entities')})>")


# ---------------------------------------------------------------------- the tagger
def _check_decoder(decoder: str | None, where: str) -> None:
    if decoder is not None and decoder not in DECODERS:
        raise UsageError(f"{where}: unknown decoder {decoder!r}; use one of "
                         f"{', '.join(DECODERS)} (or None for the model's own)")


def _manifest_digest(path: Path) -> str:
    try:
        return hashlib.sha256((path / "manifest.json").read_bytes()).hexdigest()
    except OSError:
        return ""


#: The model last unpickled: a worker given a Tagger task after task loads it once.
_unpickled: dict[tuple[str, str], "NerModel"] = {}


class Tagger:
    """A loaded model that tags texts: ``tagger(text)`` → :class:`Doc`,
    ``tagger.pipe(texts)`` → Docs.  ``model``: a model directory (None or ``"default"``:
    the shipped model); ``decoder``: ``"greedy"``, ``"constrained"`` or ``"viterbi"`` (None: the
    model's own, as ``nertag tag --decoder``).  Each call takes ``sentences``: which line
    breaks end a sentence, as ``nertag tag --sentences``: ``"auto"`` (the default: line
    breaks of hard-wrapped prose do not, those of line-per-item text do), ``"line"``
    (every one) or ``"blank"`` (only blank lines); see :mod:`nertag.text.sentences`;
    and ``min_score``: the model's entities scored below it are dropped (None: the
    Tagger's :attr:`min_score`)."""

    def __init__(self, model: str | Path | None = None, decoder: str | None = None, *,
                 patterns=None, pattern_mode: str | None = None,
                 min_score: float | None = None):
        where = f"nertag.load({'' if model is None else repr(str(model))})"
        _check_decoder(decoder, where)
        check_min_score(min_score, f"{where}: min_score")
        path = model_path(model)
        digest = _manifest_digest(path)  # before loading: a later change is noticed
        self._setup(path.resolve(), digest, load_tagging_model(path, patterns, pattern_mode),
                    decoder, min_score)

    def _setup(self, path: Path, digest: str, model: "NerModel", decoder: str | None,
               min_score: float | None = None):
        model.fast_inference = True
        self.path, self._digest, self._model = path, digest, model
        #: The decoder used when a call gives none (the model's own unless given).
        self.decoder: str = decoder or model.cfg.model.decoder
        #: The model's entities scored below this are dropped when a call gives no
        #: ``min_score`` (None: none are); the scores are calibrated if the model
        #: directory has a ``calibration.json``.
        self.min_score: float | None = check_min_score(min_score)

    @property
    def patterns(self) -> Patterns | None:
        """The entity patterns merged with the model's entities (None: none); their
        ``mode`` says how (:mod:`nertag.text.patterns`)."""
        return model_patterns(self._model)

    @property
    def labels(self) -> list[str]:
        """The entity types the tagger gives, e.g. ``['LOC', 'MISC', 'ORG', 'PER']``: the
        model's and its patterns' (only the patterns' in pattern mode ``patterns``)."""
        rules = self.patterns
        own = set() if rules is not None and rules.mode == "patterns" else \
            {t[2:] for t in self._model.labels if t != "O"}
        return sorted(own | set(rules.labels if rules is not None else ()))

    def __call__(self, text: str, *, decoder: str | None = None,
                 sentences: str = sentence_modes.DEFAULT, min_score: float | None = None
                 ) -> Doc:
        """Tag one text (any length); offsets in the Doc are offsets into ``text``."""
        _check_decoder(decoder, "tagger(text)")
        sentence_modes.check_mode(sentences, "tagger(text): sentences")
        floor = self._floor(min_score, "tagger(text): min_score")
        return self._tag([_checked(text, "tagger(text)")], decoder or self.decoder,
                         sentences, floor)[0]

    def pipe(self, texts: Iterable[str], batch_size: int = 1000, *,
             decoder: str | None = None, sentences: str = sentence_modes.DEFAULT,
             min_score: float | None = None) -> Iterator[Doc]:
        """Tag many texts, ``batch_size`` at a time in one model call: a generator of
        Docs in the order of ``texts`` (read lazily, one batch ahead)."""
        _check_decoder(decoder, "tagger.pipe()")
        sentence_modes.check_mode(sentences, "tagger.pipe(): sentences")
        floor = self._floor(min_score, "tagger.pipe(): min_score")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError(f"tagger.pipe(): batch_size must be an integer >= 1, got "
                             f"{batch_size!r}")
        if isinstance(texts, str):
            raise TypeError("tagger.pipe() takes an iterable of texts, not one str; use "
                            "tagger(text) for one text")
        return self._pipe(iter(texts), batch_size, decoder or self.decoder, sentences, floor)

    def _floor(self, min_score, where: str) -> float:
        """The minimum entity score of a call (``min_score``, or the Tagger's; 0: none)."""
        floor = check_min_score(min_score, where)
        return (self.min_score or 0.0) if floor is None else floor

    def _pipe(self, texts: Iterator[str], batch_size: int, decoder: str, sentences: str,
              floor: float) -> Iterator[Doc]:
        for batch in iter(lambda: list(itertools.islice(texts, batch_size)), []):
            yield from self._tag([_checked(t, "tagger.pipe()") for t in batch], decoder,
                                 sentences, floor)

    def _tag(self, texts: Sequence[str], decoder: str, sentences: str, floor: float
             ) -> list[Doc]:
        """The texts' chunks tagged together (model calls of about ``BATCH_CHARS``
        characters, as ``nertag tag``), then split back per text."""
        chunks = [[c for c in iter_chunks(io.StringIO(t, newline=""))] for t in texts]
        model = self._model
        tagged: list[TaggedChunk] = []
        text_of = [i for i, cs in enumerate(chunks) for _ in cs]  # each text is a document
        with few_collections(), one_thread():  # (no full collection: ms per call)
            done = 0
            for group in group_chunks(c for cs in chunks for c in cs):
                tagged.extend(tag_chunks(model, group, sentences, text_of[done:done + len(group)],
                                         decoder=decoder, min_score=floor))
                done += len(group)
        ends = itertools.accumulate(len(cs) for cs in chunks)
        return [Doc(t, tagged[e - len(cs):e]) for t, cs, e in zip(texts, chunks, ends)]

    def __reduce__(self):
        return _unpickle, (str(self.path), self.decoder, self._digest, self.patterns,
                           self.min_score)

    def __repr__(self) -> str:
        rules = self.patterns
        extra = "" if rules is None else \
            f", patterns={rules.source!r} ({len(rules)}, mode {rules.mode!r})"
        if self.min_score is not None:
            extra += f", min_score={self.min_score!r}"
        return f"Tagger({str(self.path)!r}, decoder={self.decoder!r}{extra})"


def load_tagging_model(path: str | Path, patterns=None, pattern_mode: str | None = None, *,
                       verify: bool = True, min_score: float | None = None) -> "NerModel":
    """The model in directory ``path``, read-only, merging ``patterns`` in ``pattern_mode``
    (as :func:`load` takes them; None, None: the directory's own, if any) and dropping
    its entities scored below ``min_score`` (None: none)."""
    model = load_model(path, verify=verify, read_only=True)
    use_patterns(model, _patterns(patterns, pattern_mode, model_patterns(model)))
    use_min_score(model, min_score)
    return model


def _patterns(patterns, mode: str | None, own: Patterns | None) -> Patterns | None:
    """The patterns a Tagger merges: ``patterns`` (a JSONL file's path, a list of pattern
    dicts, a :class:`Patterns`, or an empty list: none; None: the model's own, ``own``)
    in ``mode`` (None: theirs, or ``override``)."""
    if patterns is None:
        rules = own
    elif isinstance(patterns, Patterns):
        rules = patterns
    elif isinstance(patterns, (str, os.PathLike)):
        rules = read_patterns(patterns)
    elif isinstance(patterns, abc.Iterable) and not isinstance(patterns, (bytes, dict)):
        items = list(patterns)
        rules = patterns_from(items) if items else None
    else:
        raise TypeError(f"patterns: a JSONL file's path or a list of pattern dicts, not "
                        f"{type(patterns).__name__}")
    if mode is not None:
        if rules is None:
            raise UsageError(f"pattern mode {mode!r}: there are no patterns to merge (give "
                             f"patterns, or a model directory with a {PATTERNS_FILE})",
                             inputs=("patterns",))
        rules = rules.with_mode(mode)
    return rules


def add_patterns(model_dir: str | Path, patterns_file: str | Path | None) -> None:
    """Give model directory ``model_dir`` the entity patterns of ``patterns_file`` (checked
    first; None: remove them) as its ``patterns.jsonl``, which tagging then merges by
    default, and list it in the manifest.  Each file is replaced atomically."""
    d = Path(model_dir)
    load_model(d, read_only=True)  # a complete, unchanged model
    data = None if patterns_file is None else read_patterns(patterns_file).file_bytes
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop(PATTERNS_FILE, None)
    if data is None:
        (d / PATTERNS_FILE).unlink(missing_ok=True)
    else:
        with atomic_open(d / PATTERNS_FILE, "wb", encoding=None) as f:
            f.write(data)
        manifest[PATTERNS_FILE] = sha256(d / PATTERNS_FILE)
    with atomic_open(d / "manifest.json", "w") as f:
        f.write(json.dumps(manifest, indent=2))


def _checked(text, where: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{where}: a text must be a str, got {type(text).__name__}")
    return text


def _unpickle(path: str, decoder: str, digest: str, patterns: Patterns | None = None,
              min_score: float | None = None) -> Tagger:
    """A pickled Tagger, reloaded from its model directory (which must be unchanged)."""
    if _manifest_digest(Path(path)) != digest:
        raise NertagError(f"unpickling a Tagger: {path}: the model directory is missing or "
                          f"changed since the Tagger was pickled")
    key = (path, digest, patterns and patterns.digest)
    if key not in _unpickled:
        _unpickled.clear()
        _unpickled[key] = load_model(path, read_only=True)
        use_patterns(_unpickled[key], patterns)
    tagger = Tagger.__new__(Tagger)
    tagger._setup(Path(path), digest, _unpickled[key], decoder, min_score)
    return tagger


def load(model: str | Path | None = None, *, decoder: str | None = None, patterns=None,
         pattern_mode: str | None = None, min_score: float | None = None) -> Tagger:
    """The model in directory ``model`` (None or ``"default"``: the shipped one) as a
    :class:`Tagger`; ``patterns``: entity patterns merged with its entities instead of
    the directory's ``patterns.jsonl`` (a JSONL file's path or a list of pattern dicts,
    as spaCy's EntityRuler takes them; ``[]``: none), ``pattern_mode``: ``override`` (the
    default), ``fill`` or ``patterns`` (:mod:`nertag.text.patterns`); ``min_score``:
    drop the model's entities scored below it, from 0 to 1 (calibrated scores if the
    directory has a ``calibration.json``; a call may give its own)."""
    return Tagger(model, decoder, patterns=patterns, pattern_mode=pattern_mode,
                  min_score=min_score)
