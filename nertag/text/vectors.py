"""Pretrained word vectors (GloVe / word2vec text format, plain or .gz).

Each line is ``word v1 … vd``; a word2vec header line ``count dim`` is skipped.  Lines
end in LF, CRLF or CR alone, and a UTF-8 byte-order mark is dropped
(:func:`nertag.text.lines.iter_lines`).
Words keep their file order (GloVe orders by corpus frequency), so
``max_words=N`` keeps the N most frequent. Parsing is done in bulk by NumPy,
which loads GloVe 6B's 400,000 vectors in a few seconds.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nertag.errors import NertagError
from nertag.text.features import normalize
from nertag.text.lines import iter_lines


@dataclass
class Vectors:
    words: list[str]
    matrix: np.ndarray  # (N, d) float32

    def copy_into(self, table: np.ndarray, vocab, scale: float = 1.0) -> int:
        """Overwrite the rows of ``table`` whose word has a vector; return how many.

        GloVe is lowercased, so a vocabulary word is looked up as its normalised form.
        """
        if self.matrix.shape[1] != table.shape[1]:
            raise NertagError(f"pretrained vectors have {self.matrix.shape[1]} dimensions but "
                              f"features.word_dim is {table.shape[1]}; set "
                              f"--set features.word_dim={self.matrix.shape[1]}", exit_code=2)
        index = {}
        for i, w in enumerate(self.words):
            index.setdefault(normalize(w), i)
        rows = [(vocab.index[w], index[w]) for w in vocab.items if w in index]
        if rows:
            dst, src = np.array(rows).T
            table[dst] = self.matrix[src] * scale
        return len(rows)


def _open(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def load_vectors(path: str | Path, max_words: int = 0) -> Vectors:
    p = Path(path)
    if not p.is_file():
        raise NertagError(f"{p}: embeddings file not found; check embeddings.path / --embeddings")
    words: list[str] = []
    chunks: list[np.ndarray] = []
    dim = None
    try:
        with _open(p) as f:
            batch: list[bytes] = []
            lineno = 0
            for lineno, line in iter_lines(f, p):  # LF, CRLF or CR; no byte-order mark
                if lineno == 1:
                    head = line.split()
                    if len(head) == 2 and all(t.isdigit() for t in head):
                        continue  # word2vec header "count dim"
                word, _, rest = line.partition(b" ")
                if not rest:
                    continue
                words.append(word.decode("utf-8", "replace"))
                batch.append(rest)
                if len(batch) == 50000:
                    chunks.append(_parse(batch, p, lineno))
                    dim = dim or chunks[-1].shape[1]
                    batch = []
                if max_words and len(words) >= max_words:
                    break
            if batch:
                chunks.append(_parse(batch, p, lineno))
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise NertagError(f"{p}: cannot read embeddings ({e})") from None
    if not chunks:
        raise NertagError(f"{p}: no vectors found; expected lines 'word v1 ... vd'")
    dims = {c.shape[1] for c in chunks}
    if len(dims) != 1:
        raise NertagError(f"{p}: vectors of different sizes {sorted(dims)}")
    return Vectors(words, np.concatenate(chunks))


def _parse(batch: list[bytes], path: Path, lineno: int) -> np.ndarray:
    """Parse the number columns of a batch of lines with NumPy's C parser (``loadtxt``)."""
    try:
        return np.loadtxt(io.BytesIO(b"\n".join(batch)), dtype=np.float32, ndmin=2,
                          comments=None)
    except ValueError:
        pass  # say precisely what is wrong
    counts = np.fromiter((len(r.split()) for r in batch), np.int64, len(batch))
    d = int(counts[0])
    if (counts != d).any():
        raise NertagError(f"{path}: vectors near line {lineno} do not all have {d} numbers")
    raise NertagError(f"{path}: a vector near line {lineno} has a non-number")
