"""The model directory: what a trained model is on disk, and loading it safely.

  weights.npz    the parameters (NumPy .npz; loaded with allow_pickle=False)
  config.yaml    the full resolved config
  vocab.json     each feature's vocabulary and the label list (and the characters of
                 the character CNN, from the training words)
  metrics.json   per-epoch training metrics
  meta.json      format name and version, nertag version, provenance
  gazetteers.tsv.gz            with name lists (features.gazetteer): the lists the model
  gazetteers.provenance.json   was trained with, and where they came from (if known)
  stage1/        with document context (features.doc_context): the first model, a
                 complete model directory of its own
  manifest.json  SHA-256 of every file above, checked on load

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
from nertag.atomic import new_temp_dir, replace_dir
from nertag.config import dump_config, from_dict, read_yaml
from nertag.errors import NertagError
from nertag.resources import default_model
from nertag.text.features import Featurizer
from nertag.text.gazetteer import Gazetteer
from nertag.text.gazetteer_file import provenance_path
from nertag.inference.model import NerModel, model_arch

FORMAT = "nertag-model"
FORMAT_VERSION = 1
FILES = ("weights.npz", "config.yaml", "vocab.json", "metrics.json", "meta.json")
#: The name lists a model was trained with (features.gazetteer), copied into it so that
#: tagging needs nothing outside the directory, and their provenance (when known).
GAZETTEER_FILE, GAZETTEER_PROVENANCE = "gazetteers.tsv.gz", "gazetteers.provenance.json"
OPTIONAL_FILES = (GAZETTEER_FILE, GAZETTEER_PROVENANCE)
#: With document context: the first model's directory inside the model's.
STAGE1_DIR = "stage1"


def model_files(d: str | Path) -> tuple[str, ...]:
    """The files of model directory ``d`` that its manifest covers (not manifest.json)."""
    d = Path(d)
    stage1 = d / STAGE1_DIR
    inner = tuple(f"{STAGE1_DIR}/{name}" for name in model_files(stage1) + ("manifest.json",)) \
        if (stage1 / "manifest.json").is_file() else ()
    return FILES + tuple(name for name in OPTIONAL_FILES if (d / name).is_file()) + inner


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse to train into an existing non-empty directory unless ``force``."""
    out = Path(out)
    if str(out) == "":
        raise NertagError("the output directory is an empty path; give a directory name",
                          exit_code=2, inputs=("output",))
    if out.exists() and not out.is_dir():
        raise NertagError(f"{out}: exists and is not a directory; choose another output "
                          f"directory", exit_code=2, inputs=("output",))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise NertagError(f"{out}: directory exists and is not empty; choose another output "
                          f"directory, or replace it", exit_code=2, inputs=("output", "force"))
    new_temp_dir(out).rmdir()  # the parent must exist and be writable


def save_model(out: str | Path, model: NerModel, history: list | None = None, *,
               provenance: dict | None = None, force: bool = False,
               stage1_dir: str | Path | None = None) -> Path:
    """Write ``model`` as a complete model directory ``out`` (atomically); with document
    context, ``stage1_dir`` is the first model's directory, copied in as ``stage1/``."""
    out = Path(out)
    if model.featurizer.doc_context is not None and stage1_dir is None:
        raise ValueError("a model with document context is saved with its stage1_dir")
    if not force:
        check_output_dir(out, force)
    tmp = new_temp_dir(out)
    try:
        with open(tmp / "weights.npz", "wb") as f:
            np.savez(f, **model.params)
        (tmp / "config.yaml").write_text(dump_config(model.cfg), encoding="utf-8")
        vocab = {"features": model.featurizer.vocabs(), "labels": model.labels}
        if model.featurizer.doc_context is not None:
            vocab["doc_context"] = model.featurizer.doc_context.types
            shutil.copytree(stage1_dir, tmp / STAGE1_DIR)
        if model.featurizer.chars is not None:
            vocab["chars"] = model.featurizer.chars.vocab.items
        if model.featurizer.gazetteer is not None:
            vocab["gazetteer"] = model.featurizer.gazetteer.categories
        (tmp / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(history or [], indent=1), encoding="utf-8")
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "nertag_version": __version__,
                "labels": model.labels, "provenance": provenance or {}}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if model.featurizer.gazetteer is not None:
            _write_gazetteer(tmp, model.featurizer.gazetteer.lists)
        manifest = {name: sha256(tmp / name) for name in model_files(tmp)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_gazetteer(d: Path, lists: Gazetteer) -> None:
    """The lists' file as read (its bytes), and its provenance if the file it came from
    has one that describes these bytes (``NAME.provenance.json`` with their SHA-256)."""
    data = lists.file_bytes
    (d / GAZETTEER_FILE).write_bytes(data)
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


def _load_gazetteer(d: Path, vocab: dict) -> Gazetteer:
    path = d / GAZETTEER_FILE
    if not path.is_file():
        raise NertagError(f"{d}: {GAZETTEER_FILE} is missing, and config.yaml uses name lists "
                          f"(features.gazetteer); re-copy the whole model directory")
    lists = Gazetteer.load(path)
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


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """Arrays of an .npz, refusing pickled objects; errors name the file."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise NertagError(f"{path}: cannot read weights ({e.strerror or e})") from None
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # np.load would try unpickling it
        if magic[:1] == b"\x80":
            raise NertagError(f"{path}: is a pickle, not a NumPy .npz archive; refused (nertag "
                              f"never loads pickles; retrain the model)")
        raise NertagError(f"{path}: not a NumPy .npz archive (truncated or corrupted); retrain "
                          f"or re-copy the model")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
        for k, v in out.items():
            if not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
                raise NertagError(f"{path}: entry {k!r} is not a numeric array; retrain or "
                                  f"re-copy the model")
        return out
    except ValueError as e:
        if "pickle" in str(e).lower() or "object arrays" in str(e).lower():
            raise NertagError(f"{path}: contains a pickled object; refused (nertag never loads "
                              f"pickles; retrain the model)") from None
        raise NertagError(f"{path}: corrupted weights ({e}); retrain or re-copy the model") \
            from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise NertagError(f"{path}: truncated or corrupted weights ({type(e).__name__}); "
                          f"retrain or re-copy the model") from None


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
    for name in FILES + ("manifest.json",):
        if not (d / name).is_file():
            raise NertagError(f"{d}: {name} is missing; this is not a complete nertag model "
                              f"directory")
    meta = _read_json(d, "meta.json")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise NertagError(f"{d / 'meta.json'}: not a nertag model (format {meta.get('format')!r})"
                          if isinstance(meta, dict) else f"{d / 'meta.json'}: not a nertag model")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise NertagError(f"{d}: model format version {version} is newer than this nertag "
                          f"understands ({FORMAT_VERSION}); upgrade nertag")
    if verify:
        manifest = _read_json(d, "manifest.json")
        if not isinstance(manifest, dict):
            raise NertagError(f"{d / 'manifest.json'}: corrupted (not a mapping of file names "
                              f"to SHA-256 sums); retrain or re-copy the model directory")
        for name in FILES + tuple(n for n in manifest if n in OPTIONAL_FILES
                                  or n.startswith(STAGE1_DIR + "/")):
            if not (d / name).is_file():
                raise NertagError(f"{d}: {name} is missing (manifest.json lists it); re-copy "
                                  f"the whole model directory")
            if manifest.get(name) != sha256(d / name):
                raise NertagError(f"{d / name}: checksum does not match manifest.json; the file "
                                  f"was changed or corrupted; retrain or re-copy the model")
    try:
        cfg = from_dict(read_yaml(d / "config.yaml"), src=str(d / "config.yaml"))
    except NertagError as e:  # a damaged model, not a usage error
        raise NertagError(f"{e.message} (the model's config; retrain or re-copy the model)") \
            from None
    if verify and cfg.features.gazetteer and GAZETTEER_FILE not in manifest:
        raise NertagError(f"{d / 'manifest.json'}: does not list {GAZETTEER_FILE}, which "
                          f"config.yaml uses; retrain or re-copy the model directory")
    vocab = _read_json(d, "vocab.json")
    params = load_weights(d / "weights.npz")
    try:
        chars = vocab.get("chars")
        if chars is not None and not all(isinstance(ch, str) for ch in chars):
            raise TypeError("chars")
        lists = _load_gazetteer(d, vocab) if cfg.features.gazetteer else None
        doc_types = vocab.get("doc_context")
        if doc_types is not None and not all(isinstance(t, str) for t in doc_types):
            raise TypeError("doc_context")
        feat = Featurizer.from_vocabs(cfg.features, vocab["features"], chars, lists, doc_types)
        labels = list(vocab["labels"])
    except (KeyError, TypeError, AttributeError):
        raise NertagError(f"{d / 'vocab.json'}: does not match config.yaml's features") from None
    arch = model_arch(cfg, feat, len(labels))
    for name, shape in arch.shapes().items():
        if name not in params:
            raise NertagError(f"{d / 'weights.npz'}: parameter {name} is missing")
        if tuple(params[name].shape) != shape:
            raise NertagError(f"{d / 'weights.npz'}: {name} has shape {params[name].shape} but "
                              f"config.yaml implies {shape}; the files do not belong together")
        if not np.isfinite(params[name]).all():  # NaN or inf: it would tag nothing, silently
            raise NertagError(f"{d / 'weights.npz'}: parameter {name} has non-finite values "
                              f"(NaN or infinity); retrain the model")
    dtype = np.dtype(cfg.train.dtype)
    params = {k: np.array(params[k], dtype=dtype, order="C") for k in arch.shapes()}  # owned
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
        stage1 = load_model(d / STAGE1_DIR, verify=False, read_only=read_only)  # (checked above)
    return NerModel(cfg, feat, arch, params, labels, stage1)
