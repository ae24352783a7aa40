"""The model directory: what a trained model is on disk, and loading it safely.

  weights.npz    the parameters (NumPy .npz; loaded with allow_pickle=False)
  config.yaml    the full resolved config
  vocab.json     each feature's vocabulary and the label list (and the characters of
                 the character CNN, from the training words)
  metrics.json   per-epoch training metrics
  meta.json      format name and version, nertag version, provenance
  gazetteers.tsv.gz            with name lists (features.gazetteer): the lists the model
  gazetteers.provenance.json   was trained with, and where they came from (if known),
  gazetteers.index.npz         and their tokens numbered, read instead of parsing the
                               lists (if it is of their bytes; not in stage1/)
  patterns.jsonl entity patterns merged when it tags (optional: nertag.api.add_patterns)
  calibration.json  calibrated entity scores (optional: nertag.inference.calibration)
  stage1/        with document context (features.doc_context): the first model.  In
                 format 2 it shares the vocabulary and word vectors of the model
                 around it: no vocab.json, and its weights.npz holds only the rows of
                 its word table that differ (:mod:`nertag.inference.storage`; its
                 meta.json says ``"shared": ["vocab.json", "E_word"]``); in format 1
                 (older models, or a first model with another vocabulary) it is a
                 complete model directory of its own
  manifest.json  SHA-256 of every file above, checked on load

``save.float16`` and ``save.max_words`` store a smaller model (half-size embedding
tables, fewer pretrained words); such a directory needs no newer nertag to load.

The directory is built under a temporary name and renamed into place, so it is
written completely or not at all.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np

from nertag.version import __version__
from nertag.atomic import check_output_dir, new_temp_dir, replace_dir
from nertag.config import dump_config, from_dict, read_yaml
from nertag.errors import NertagError
from nertag.resources import default_model
from nertag.text.features import Featurizer
from nertag.text.gazetteer import Gazetteer
from nertag.text.gazetteer_file import provenance_path
from nertag.text.patterns import read_patterns
from nertag.tagging.chunks import use_patterns
from nertag.inference import storage
from nertag.inference.calibration import CALIBRATION_FILE, Calibration, read_calibration
from nertag.inference.calibration import use_calibration
from nertag.inference.storage import load_weights  # (here too: the model files' reader)
from nertag.inference.model import NerModel, model_arch

FORMAT = "nertag-model"
#: The newest format this nertag reads; it writes 2 only for a two-stage model whose
#: first stage shares the vocabulary and word vectors (else 1: the files are as before).
FORMAT_VERSION = 2
#: What a format-2 first stage takes from the model around it (its meta.json's "shared").
SHARED = ["vocab.json", "E_word"]
FILES = ("weights.npz", "config.yaml", "vocab.json", "metrics.json", "meta.json")
#: The name lists a model was trained with (features.gazetteer), copied into it so that
#: tagging needs nothing outside the directory, and their provenance (when known).
GAZETTEER_FILE, GAZETTEER_PROVENANCE = "gazetteers.tsv.gz", "gazetteers.provenance.json"
GAZETTEER_INDEX = "gazetteers.index.npz"  # Gazetteer.index_arrays (a first stage has none)
PATTERNS_FILE = "patterns.jsonl"  # entity patterns, merged when tagging (optional)
OPTIONAL_FILES = (GAZETTEER_FILE, GAZETTEER_PROVENANCE, GAZETTEER_INDEX, PATTERNS_FILE,
                  CALIBRATION_FILE)
#: With document context: the first model's directory inside the model's.
STAGE1_DIR = "stage1"


def model_files(d: str | Path) -> tuple[str, ...]:
    """The files of model directory ``d`` that its manifest covers (not manifest.json)."""
    d = Path(d)
    stage1 = d / STAGE1_DIR
    inner = tuple(f"{STAGE1_DIR}/{name}" for name in model_files(stage1) + ("manifest.json",)) \
        if (stage1 / "manifest.json").is_file() else ()
    own = tuple(name for name in FILES if name != "vocab.json" or (d / name).is_file()
                or d.name != STAGE1_DIR)
    return own + tuple(name for name in OPTIONAL_FILES if (d / name).is_file()) + inner


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(out: str | Path, model: NerModel, history: list | None = None, *,
               provenance: dict | None = None, force: bool = False,
               stage1_dir: str | Path | None = None,
               calibration: Calibration | None = None) -> Path:
    """Write ``model`` as a complete model directory ``out`` (atomically), stored as its
    config's ``save`` section says; with document context, ``stage1_dir`` is the first
    model's directory (format 1, as training writes it), stored in as ``stage1/``;
    ``calibration``: its entity scores' calibration (``calibration.json``), if any."""
    out = Path(out)
    if model.featurizer.doc_context is not None and stage1_dir is None:
        raise ValueError("a model with document context is saved with its stage1_dir")
    if not force:
        check_output_dir(out, force)
    feat, opts = model.featurizer, model.cfg.save
    words = next(f.vocab for f in feat.features if f.name == "word")
    kept = storage.words_kept(len(words), words.n_seen, opts.max_words)
    tmp = new_temp_dir(out)
    try:
        params = storage.stored_params(model.params, kept, opts.float16)
        with open(tmp / "weights.npz", "wb") as f:
            np.savez(f, **params)
        (tmp / "config.yaml").write_text(dump_config(model.cfg), encoding="utf-8")
        vocab = {"features": feat.vocabs(), "labels": model.labels}
        if feat.doc_context is not None:
            vocab["doc_context"] = feat.doc_context.types
        if feat.chars is not None:
            vocab["chars"] = feat.chars.vocab.items
        if feat.gazetteer is not None:
            vocab["gazetteer"] = feat.gazetteer.categories
        version = 1
        if feat.doc_context is not None:
            version = _write_stage1(tmp / STAGE1_DIR, Path(stage1_dir), vocab, params, kept,
                                    opts.float16)
        if kept < len(words):  # (what a later save.max_words needs)
            vocab["features"] = dict(vocab["features"], word=words.items[:kept])
            vocab["words_seen"] = words.n_seen
        (tmp / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(history or [], indent=1), encoding="utf-8")
        meta = {"format": FORMAT, "format_version": version, "nertag_version": __version__,
                "labels": model.labels, "provenance": provenance or {}}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if feat.gazetteer is not None:
            _write_gazetteer(tmp, feat.gazetteer.lists)
        if calibration is not None:
            (tmp / CALIBRATION_FILE).write_text(calibration.to_json(), encoding="utf-8")
        _write_manifest(tmp)
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_manifest(d: Path) -> None:
    manifest = {name: sha256(d / name) for name in model_files(d)}
    (d / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _write_stage1(dst: Path, src: Path, vocab: dict, params: dict, kept: int,
                  float16: bool) -> int:
    """The first model ``src`` as ``dst``: sharing the vocabulary ``vocab`` (before
    ``save.max_words``) and the word table of ``params`` (as stored) if it has the same
    vocabulary (format 2), else copied whole (format 1); return the format."""
    own = _read_json(src, "vocab.json")
    if own != {k: v for k, v in vocab.items() if k != "doc_context"}:
        shutil.copytree(src, dst)
        return 1
    first = storage.stored_params(load_weights(src / "weights.npz"), kept, float16)
    first.update(storage.word_delta(first.pop("E_word"), params["E_word"]))
    dst.mkdir()
    with open(dst / "weights.npz", "wb") as f:
        np.savez(f, **first)
    for name in ("config.yaml", "metrics.json") + OPTIONAL_FILES:
        if name != GAZETTEER_INDEX and (src / name).is_file():  # (it shares the lists)
            shutil.copyfile(src / name, dst / name)
    meta = _read_json(src, "meta.json")
    meta.update(format_version=2, shared=SHARED)
    (dst / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    _write_manifest(dst)
    return 2


def _write_gazetteer(d: Path, lists: Gazetteer) -> None:
    """The lists' file as read (its bytes), and its provenance if the file it came from
    has one that describes these bytes (``NAME.provenance.json`` with their SHA-256)."""
    data = lists.file_bytes
    (d / GAZETTEER_FILE).write_bytes(data)
    with open(d / GAZETTEER_INDEX, "wb") as f:
        np.savez(f, **lists.index_arrays())
    if lists.source is None:
        return
    prov = provenance_path(lists.source)
    try:
        text = prov.read_text(encoding="utf-8")
        same = json.loads(text).get("sha256") == hashlib.sha256(data).hexdigest()
    except (OSError, ValueError, AttributeError):
        return
    if same:
        (d / GAZETTEER_PROVENANCE).write_text(text, encoding="utf-8")


def _load_gazetteer(d: Path, vocab: dict, outer: Gazetteer | None = None) -> Gazetteer:
    path = d / GAZETTEER_FILE
    if not path.is_file():
        raise NertagError(f"{d}: {GAZETTEER_FILE} is missing, and config.yaml uses name lists "
                          f"(features.gazetteer); re-copy the whole model directory")
    data = path.read_bytes()
    lists = outer if outer is not None and outer.file_bytes == data else None  # (shared)
    if lists is None and (d / GAZETTEER_INDEX).is_file():
        try:
            with np.load(d / GAZETTEER_INDEX, allow_pickle=False) as arrays:
                lists = Gazetteer.from_index(arrays, data, path)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            lists = None
    if lists is None:  # (no index, a damaged one or another file's: parse the file)
        lists = Gazetteer.load(path, data)
    if vocab.get("gazetteer") != lists.categories:
        raise NertagError(f"{path}: its categories {lists.categories} are not the model's "
                          f"{vocab.get('gazetteer')} (vocab.json); the files do not belong "
                          f"together; retrain or re-copy the model")
    return lists


def _read_json(d: Path, name: str):
    try:
        return json.loads((d / name).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise NertagError(f"{d / name}: corrupted (not valid JSON); retrain or re-copy the "
                          f"model directory") from None


#: The name of the shipped model (``nertag evaluate default FILE``, ``nertag.load("default")``).
DEFAULT_MODEL = "default"


def model_path(model: str | Path | None) -> Path:
    """The model directory ``model`` names: a path, or None or :data:`DEFAULT_MODEL` for
    the shipped model (a directory of that name here wins, as a config file does over a
    bundled config's name; ``./default`` is always the path).  Not checked further:
    :func:`load_model` says what is wrong with it."""
    if model is None:
        return default_model()
    if str(model).strip() == "":
        raise NertagError("the model directory is an empty path; give the path of a model "
                          "directory", inputs=("model",))
    path = Path(model)
    if str(model) == DEFAULT_MODEL and not path.exists():
        return default_model()
    return path


def load_model(path: str | Path, verify: bool = True, read_only: bool = False) -> NerModel:
    """The model in directory ``path``, checked against its manifest (``verify``).

    ``read_only`` makes the parameter arrays read-only: a model that is only used
    (tagged with, scored) cannot be changed by mistake, and the fast scorers then
    need no copy of the parameters to notice changes.
    """
    if str(path).strip() == "":  # Path("") is the current directory
        raise NertagError("the model directory is an empty path; give the path of a model "
                          "directory", inputs=("model",))
    d = Path(path)
    if not d.exists():
        raise NertagError(f"{d}: model directory not found; give the path of a trained model "
                          f"directory", inputs=("model",))
    if not d.is_dir():
        raise NertagError(f"{d}: not a directory; a model is a directory (of weights.npz, "
                          f"config.yaml, ...)", inputs=("model",))
    if (d / "checkpoint").is_dir() and not (d / "weights.npz").exists():
        # ``OUT.partial`` (training.checkpoint.partial_dir): what Ctrl-C leaves to resume
        out = d.with_name(d.name[:-len(".partial")]) if d.name.endswith(".partial") else d
        raise NertagError(f"{d}: the checkpoint of an interrupted training run, not a model; "
                          f"the best epoch so far is the model in {out}, and resuming the "
                          f"run in {out} continues it", inputs=("model",))
    model = _load(d, verify, read_only)
    if (d / PATTERNS_FILE).is_file():  # (nertag.api.add_patterns lists it in the manifest)
        if verify and PATTERNS_FILE not in _read_json(d, "manifest.json"):
            raise NertagError(f"{d / PATTERNS_FILE}: not listed in manifest.json; add it with "
                              f"nertag.api.add_patterns(model_dir, file), or remove it")
        use_patterns(model, read_patterns(d / PATTERNS_FILE))
    if (d / CALIBRATION_FILE).is_file():
        if verify and CALIBRATION_FILE not in _read_json(d, "manifest.json"):
            raise NertagError(f"{d / CALIBRATION_FILE}: not listed in manifest.json; remove it")
        use_calibration(model, read_calibration(d / CALIBRATION_FILE))
    return model


def _check_meta(d: Path) -> tuple[str, ...]:
    """The files the directory must hold (by its meta.json, which is checked)."""
    meta = _read_json(d, "meta.json") if (d / "meta.json").is_file() else {}
    shared = isinstance(meta, dict) and meta.get("shared") == SHARED
    files = tuple(n for n in FILES if not (shared and n == "vocab.json")) + ("manifest.json",)
    for name in files:
        if not (d / name).is_file():
            raise NertagError(f"{d}: {name} is missing; this is not a complete nertag model "
                              f"directory")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise NertagError(f"{d / 'meta.json'}: not a nertag model (format {meta.get('format')!r})"
                          if isinstance(meta, dict) else f"{d / 'meta.json'}: not a nertag model")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise NertagError(f"{d}: model format version {version} is newer than this nertag "
                          f"understands ({FORMAT_VERSION}); upgrade nertag")
    return files[:-1]


def _shared_from(d: Path, verify: bool) -> tuple[dict, dict]:
    """A format-2 first stage loaded on its own: the vocabulary and stored weights of the
    model around it (checked against that model's manifest)."""
    up = d.parent
    if d.name != STAGE1_DIR or not all((up / n).is_file() for n in FILES + ("manifest.json",)):
        raise NertagError(f"{d}: the first stage of a two-stage model, which shares that "
                          f"model's vocab.json and weights.npz; they are not in {up}: re-copy "
                          f"the whole model directory")
    if verify:
        _verify(up, FILES)
    return _read_json(up, "vocab.json"), load_weights(up / "weights.npz")


def _verify(d: Path, files: tuple[str, ...]) -> dict:
    manifest = _read_json(d, "manifest.json")
    if not isinstance(manifest, dict):
        raise NertagError(f"{d / 'manifest.json'}: corrupted (not a mapping of file names "
                          f"to SHA-256 sums); retrain or re-copy the model directory")
    for name in files + tuple(n for n in manifest if n in OPTIONAL_FILES
                              or n.startswith(STAGE1_DIR + "/")):
        if not (d / name).is_file():
            raise NertagError(f"{d}: {name} is missing (manifest.json lists it); re-copy "
                              f"the whole model directory")
        if manifest.get(name) != sha256(d / name):
            raise NertagError(f"{d / name}: checksum does not match manifest.json; the file "
                              f"was changed or corrupted; retrain or re-copy the model")
    return manifest


def _load(d: Path, verify: bool, read_only: bool, parent=None) -> NerModel:
    """The model in ``d``; ``parent`` is (vocab, stored weights) of the model whose
    ``stage1/`` this is (a format-2 first stage shares them)."""
    files = _check_meta(d)
    manifest = _verify(d, files) if verify else {}
    shared = "vocab.json" not in files
    if shared and parent is None:
        parent = _shared_from(d, verify)
    try:
        cfg = from_dict(read_yaml(d / "config.yaml"), src=str(d / "config.yaml"))
    except NertagError as e:  # a damaged model, not a usage error
        raise NertagError(f"{e.message} (the model's config; retrain or re-copy the model)") \
            from None
    if verify and cfg.features.gazetteer and GAZETTEER_FILE not in manifest:
        raise NertagError(f"{d / 'manifest.json'}: does not list {GAZETTEER_FILE}, which "
                          f"config.yaml uses; retrain or re-copy the model directory")
    vocab = {k: v for k, v in parent[0].items() if k != "doc_context"} if shared \
        else _read_json(d, "vocab.json")
    stored = load_weights(d / "weights.npz")
    if shared:
        stored["E_word"] = storage.apply_word_delta(parent[1]["E_word"], stored,
                                                    d / "weights.npz")
    feat, labels = _featurizer(d, cfg, vocab, parent[2] if parent and len(parent) > 2 else None)
    arch = model_arch(cfg, feat, len(labels))
    for name, shape in arch.shapes().items():
        if name not in stored:
            raise NertagError(f"{d / 'weights.npz'}: parameter {name} is missing")
        if tuple(stored[name].shape) != shape:
            raise NertagError(f"{d / 'weights.npz'}: {name} has shape {stored[name].shape} but "
                              f"config.yaml implies {shape}; the files do not belong together")
        if not np.isfinite(stored[name]).all():  # NaN or inf: it would tag nothing, silently
            raise NertagError(f"{d / 'weights.npz'}: parameter {name} has non-finite values "
                              f"(NaN or infinity); retrain the model")
    dtype = np.dtype(cfg.train.dtype)
    params = {k: np.array(stored[k], dtype=dtype, order="C") for k in arch.shapes()}  # owned
    if read_only:
        for a in params.values():
            a.flags.writeable = False
    stage1 = None
    if cfg.features.doc_context:
        if not (d / STAGE1_DIR / "weights.npz").is_file() or \
                (verify and f"{STAGE1_DIR}/weights.npz" not in manifest):
            raise NertagError(f"{d}: {STAGE1_DIR}/ (the first model) is missing, and config.yaml "
                              f"uses document context (features.doc_context); re-copy the "
                              f"whole model directory")
        stage1 = _load(d / STAGE1_DIR, False, read_only,  # (checked above)
                       (vocab, stored, feat.gazetteer and feat.gazetteer.lists))
    return NerModel(cfg, feat, arch, params, labels, stage1)


def _featurizer(d: Path, cfg, vocab, outer: Gazetteer | None = None
                ) -> tuple[Featurizer, list[str]]:
    """The featurizer and labels of a model directory (``outer``: the name lists of the
    model around a first stage, used if the stage's own file holds the same bytes)."""
    try:
        chars = vocab.get("chars")
        if chars is not None and not all(isinstance(ch, str) for ch in chars):
            raise TypeError("chars")
        lists = _load_gazetteer(d, vocab, outer) if cfg.features.gazetteer else None
        doc_types = vocab.get("doc_context")
        if doc_types is not None and not all(isinstance(t, str) for t in doc_types):
            raise TypeError("doc_context")
        feat = Featurizer.from_vocabs(cfg.features, vocab["features"], chars, lists, doc_types)
        labels = list(vocab["labels"])
        seen = vocab.get("words_seen")
        if seen is not None:
            if not isinstance(seen, int) or isinstance(seen, bool):
                raise TypeError("words_seen")
            next(f.vocab for f in feat.features if f.name == "word").n_seen = seen
    except (KeyError, TypeError, AttributeError):
        raise NertagError(f"{d / 'vocab.json'}: does not match config.yaml's features") from None
    return feat, labels
