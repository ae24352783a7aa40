"""One config schema for nertag, as dataclasses, validated once.

A config is read from YAML (``safe_load`` only), checked against the schema below
(unknown keys are rejected with the nearest valid key suggested; wrong types and
out-of-range values with the key named), and may be overridden from the command line
with dotted keys: ``--set model.hidden=300``.  Bundled configs live in
``nertag/configs/NAME.yaml`` and are usable by name (``--config conll2003``) or path.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nertag.config_fields import _check_value, _describe, _f
from nertag.errors import NertagError, UsageError
from nertag.resources import gazetteers

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass
class DataConfig:
    train: str | None = _f(None, help="training file (CoNLL columns or JSONL spans)")
    dev: str | None = _f(None, help="development file for early stopping and scores")
    format: str = _f("auto", choices=["auto", "conll", "conll-bioes", "conll-iob1", "io",
                                      "jsonl", "doccano", "prodigy"],
                     help="format of the data files; auto-detected by default")
    encoding: str = _f("utf-8", help="text encoding of the data files (e.g. latin-1)")
    tag_scheme: str = _f("auto", choices=["auto", "iob1", "bio", "bioes", "io"],
                         help="tag scheme of CoNLL files; auto-detected by default")


@dataclass
class FeaturesConfig:
    window: int = _f(2, lo=0, hi=10, help="words on each side of the centre word")
    word_dim: int = _f(50, lo=1, hi=1000, help="word embedding size d")
    caps_dim: int = _f(5, lo=0, hi=100, help="caps-pattern embedding size (0 = off)")
    min_count: int = _f(1, lo=1, help="words seen fewer times in training become <unk>")
    lowercase: bool = _f(True, help="lowercase words before lookup")
    digits_to_zero: bool = _f(True, help="map every digit to 0 before lookup")
    prefix_lengths: list[int] = _f([], help="character prefix lengths to embed, e.g. [1, 2, 3]")
    suffix_lengths: list[int] = _f([], help="character suffix lengths to embed, e.g. [1, 2, 3]")
    affix_dim: int = _f(10, lo=1, hi=200, help="size of each prefix/suffix embedding")
    affix_min_count: int = _f(2, lo=1, help="affixes seen fewer times become <unk>")
    shape_dim: int = _f(0, lo=0, hi=100, help="word-shape (Xxxx, dd-dd) embedding size (0 = off)")
    char_dim: int = _f(0, lo=0, hi=200, help="character embedding size of the character CNN "
                                             "(0 = off)")
    char_filters: int = _f(30, lo=1, hi=1000, help="character CNN filters: the size of each "
                                                    "word's character vector")
    char_width: int = _f(3, lo=1, hi=15, help="characters each filter of the character CNN sees")
    char_max_len: int = _f(20, lo=1, hi=200, help="characters kept per word (a longer word "
                                                   "keeps its first and last halves)")
    char_activation: str = _f("tanh", choices=["tanh", "linear"],
                              help="applied to the character CNN's max over positions")
    gazetteer: str | None = _f(None, help="name lists: a file of tools.build_gazetteers, or "
                                          "'bundled' for the shipped one (null = off); copied "
                                          "into the model directory")
    gazetteer_dim: int = _f(4, lo=1, hi=100, help="embedding size of each name-list "
                                                 "category's match codes (O B I E S)")
    doc_context: bool = _f(False, help="a second model that also sees the first's tags on each "
                                       "word's other occurrences in its document (trained "
                                       "on jackknifed tags: about twice the training time)")
    doc_context_dim: int = _f(4, lo=1, hi=100, help="embedding size of each entity type's "
                                                   "document-context code")
    doc_max_sentences: int = _f(50, lo=0, hi=1000000, help="with doc_context: documents are cut "
                                "into parts of at most this many sentences (0 = no cap)")


@dataclass
class EmbeddingsConfig:
    path: str | None = _f(None, help="pretrained vectors (GloVe/word2vec text, plain or .gz)")
    max_words: int = _f(0, lo=0, help="keep only the N most frequent pretrained words (0 = all)")
    freeze: bool = _f(False, help="keep pretrained word vectors fixed")
    scale: float = _f(1.0, lo=0.0, help="multiply pretrained vectors by this factor")
    lr_scale: float = _f(1.0, gt=0, hi=1000.0, help="multiply the word vectors' learning "
                         "rate by this factor (1 = the model's train.lr)")


@dataclass
class ModelConfig:
    hidden: int = _f(300, lo=1, hi=100000, help="hidden layer size H")
    activation: str = _f("tanh", choices=["tanh", "sigmoid", "relu", "hardtanh"],
                         help="hidden nonlinearity f")
    head: str = _f("softmax", choices=["softmax", "binary", "crf"],
                   help="softmax over tags, one-vs-rest sigmoids, or a linear-chain CRF")
    decoder: str = _f("constrained", choices=["greedy", "constrained", "viterbi"],
                      help="how tags are chosen at prediction time")
    tag_scheme: str = _f("bio", choices=["bio", "bioes"], help="scheme the model predicts")
    dropout_input: float = _f(0.0, lo=0.0, hi=0.95, help="dropout on the window vector x")
    dropout_hidden: float = _f(0.0, lo=0.0, hi=0.95, help="dropout on the hidden layer h")
    init_scale: float = _f(0.1, lo=0.0, hi=10.0, help="uniform(-a, a) init of embeddings")


@dataclass
class TrainConfig:
    epochs: int = _f(10, lo=1, hi=10000, help="maximum number of epochs")
    batch_size: int = _f(32, lo=1, hi=1000000, help="tokens per minibatch (sentences for crf)")
    optimizer: str = _f("sgd", choices=["sgd", "adagrad", "adam"], help="update rule")
    lr: float = _f(0.1, gt=0, hi=100.0, help="learning rate alpha (> 0)")
    lr_schedule: str = _f("constant", choices=["constant", "linear", "plateau"],
                          help="learning-rate schedule over epochs")
    lr_decay: float = _f(0.5, gt=0, hi=1.0, help="factor for the plateau schedule (> 0)")
    l2: float = _f(0.0, lo=0.0, help="L2 penalty on W, U (and the character filters)")
    clip_norm: float = _f(0.0, lo=0.0, help="clip the global gradient norm (0 = off)")
    patience: int = _f(3, lo=0, help="stop after this many epochs without dev F1 gain (0 = off)")
    average: float = _f(0.0, lo=0.0, hi=0.9999,
                        help="decay of a running average of the parameters, used for scoring "
                             "and saving (0 = off; e.g. 0.9, updated every 50 batches)")
    word_dropout: float = _f(0.0, lo=0.0, hi=0.95,
                             help="replace a training word by <unk> with this probability")
    gazetteer_dropout: float = _f(0.0, lo=0.0, hi=0.95,
                                  help="hide each whole name-list match with this probability, "
                                       "drawn again every epoch")
    doc_folds: int = _f(2, lo=2, hi=20, help="with features.doc_context: the training "
                                             "documents' first-stage tags come from this many "
                                             "models, each trained without one part")
    doc_first_hidden: int = _f(0, lo=0, hi=100000, help="with features.doc_context: the "
                               "first-stage models' hidden size (0 = model.hidden)")
    base: str | None = _f(None, help="continue this trained model (nertag train --from): its "
                                     "config, vocabulary and weights, with new types added")
    rehearse: str | None = _f(None, help="with a base model: a file of its own training data, a "
                                         "share of which is mixed into every epoch")
    rehearse_ratio: float = _f(1.0, gt=0, hi=100.0, help="with train.rehearse: sentences drawn "
                               "each epoch per training sentence (> 0)")
    pseudo_rehearse: bool = _f(True, help="with a base model: its own entities of the types the "
                                          "training data does not annotate are added to the gold")
    seed: int = _f(1, lo=0, help="random seed")
    dtype: str = _f("float32", choices=["float32", "float64"], help="floating-point type")


@dataclass
class SaveConfig:  # how the model directory stores the model (the training is the same)
    float16: bool = _f(False, help="store embedding tables of 1,024+ rows as float16")
    max_words: int = _f(0, lo=0, help="store the training words + N most frequent others (0 = all)")


@dataclass
class LabelsConfig:
    map: dict[str, str] = _f({}, help="entity types renamed as the data files are read, e.g. "
                                      "{person: PER}")


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    embeddings: EmbeddingsConfig = field(default_factory=EmbeddingsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    save: SaveConfig = field(default_factory=SaveConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------- validation
def _unknown_key(key: str, valid: list[str], src: str, prefix: str) -> UsageError:
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    if prefix:  # the key of another section? (train.dropout_input -> model.dropout_input)
        other = {f.name: f"{sec.name}." for sec in dataclasses.fields(Config)
                 for f in dataclasses.fields(sec.default_factory())}
        match = [key] if key in other else [] if near else \
            difflib.get_close_matches(key, list(other), n=1, cutoff=0.8)
        if match:
            return UsageError(f"{src}: unknown key '{prefix}{key}'; did you mean "
                              f"'{other[match[0]]}{match[0]}'?")
    hint = f"; did you mean '{prefix}{near[0]}'?" if near else f"; valid keys: {', '.join(valid)}"
    return UsageError(f"{src}: unknown key '{prefix}{key}'{hint}")


def from_dict(raw: Any, src: str = "config") -> Config:
    """Build a validated :class:`Config` from a nested mapping (e.g. parsed YAML)."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise UsageError(f"{src}: a config must be a mapping of sections (data, features, "
                         f"embeddings, model, train, save, labels), got {type(raw).__name__}")
    cfg = Config()
    sections = {f.name: f for f in dataclasses.fields(Config)}
    for sec_name, sec_raw in raw.items():
        if sec_name not in sections:
            raise _unknown_key(str(sec_name), list(sections), src, "")
        if sec_raw is None:
            continue
        if not isinstance(sec_raw, dict):
            raise UsageError(f"{src}: section '{sec_name}' must be a mapping of keys, "
                             f"got {sec_raw!r}")
        section = getattr(cfg, sec_name)
        hints = typing.get_type_hints(type(section))
        fields = {f.name: f for f in dataclasses.fields(section)}
        for key, value in sec_raw.items():
            if key not in fields:
                raise _unknown_key(str(key), list(fields), src, f"{sec_name}.")
            value = _check_value(f"{sec_name}.{key}", value, hints[key], fields[key].metadata, src)
            setattr(section, key, value)
    gaz = cfg.features.gazetteer
    if gaz is not None and not gaz.strip():
        raise UsageError(f"{src}: 'features.gazetteer' must be a name-list file or 'bundled' "
                         f"(null = off), got {gaz!r}")
    return cfg


BUNDLED_GAZETTEER = "bundled"


def gazetteer_path(cfg: "Config", src: str = "config") -> Path | None:
    """The name-list file ``features.gazetteer`` names (None: off); errors name the key."""
    value = cfg.features.gazetteer
    if value is None:
        return None
    if value == BUNDLED_GAZETTEER:
        path = gazetteers()
        if not path.is_file():
            raise NertagError(f"{src}: 'features.gazetteer: bundled': the shipped name lists "
                              f"({path}) are missing from this install; reinstall nertag or "
                              f"give a file made by 'python -m tools.build_gazetteers FILE'",
                              exit_code=2)
        return path
    path = Path(value).expanduser()
    if not path.is_file():
        what = "is a directory, not" if path.is_dir() else "no such file; expected"
        raise UsageError(f"{src}: 'features.gazetteer': {value}: {what} a name-list file (made "
                         f"by 'python -m tools.build_gazetteers FILE'), or 'bundled' for the "
                         f"shipped one")
    return path


OVERRIDES = "override"  # what an override's errors name (the CLI adds its --set KEY=VALUE)

#: What the data the bundled configs name is (by a part of its path), for when it is missing.
KNOWN_DATA = {"conll2003": "CoNLL-2003 English, Reuters news, not shipped with nertag for "
                           "licence reasons"}


def check_data_files(cfg: Config, train: str | Path | None = None,
                     dev: str | Path | None = None) -> None:
    """``data.train``, ``data.dev`` (unless ``train``/``dev`` replace them) exist, or an error."""
    for key, given, value in (("train", train, cfg.data.train), ("dev", dev, cfg.data.dev)):
        if given is not None or value is None or Path(value).expanduser().exists():
            continue
        what = next((f"; it is {text}" for part, text in KNOWN_DATA.items()
                     if part in Path(value).parts), "")
        raise NertagError(f"{value}: data file not found{what}; 'data.{key}' expects it at "
                          f"{Path(value).expanduser().resolve()} (relative to the current "
                          f"directory); put it there, or give another file",
                          exit_code=2, inputs=(f"{key}_file", "overrides"))


def parse_override(item: str) -> tuple[list[str], Any]:
    """``'model.hidden=300'`` -> (['model', 'hidden'], 300); the value is YAML.  A key
    of three parts names an entry of a mapping: ``labels.map.person=PER``."""
    if not isinstance(item, str) or "=" not in item:
        raise UsageError(f"{OVERRIDES} {item!r}: expected 'SECTION.KEY=VALUE', e.g. "
                         f"'model.hidden=300'", inputs=("overrides",))
    key, _, text = item.partition("=")
    parts = key.strip().split(".")
    if len(parts) not in (2, 3) or not all(parts):  # (3: an entry of a mapping, labels.map.X)
        raise UsageError(f"{OVERRIDES} {item!r}: the key must be SECTION.KEY, e.g. "
                         f"model.hidden", inputs=("overrides",))
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    return parts, value


def resolve_config_path(name_or_path: str) -> Path:
    """A bundled config name (``conll2003``) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in name_or_path:
        if not p.exists():
            raise UsageError(f"{p}: config file not found; give a YAML file or one of the "
                             f"bundled configs: {', '.join(bundled_configs())}")
        if p.is_dir():
            raise UsageError(f"{p}: is a directory, not a config file")
        return p
    bundled = CONFIG_DIR / f"{name_or_path}.yaml"
    if not bundled.exists():
        near = difflib.get_close_matches(name_or_path, bundled_configs(), n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        raise UsageError(f"unknown config '{name_or_path}'{hint} (bundled: "
                         f"{', '.join(bundled_configs())}; or give a path to a YAML file)")
    return bundled


def bundled_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NertagError(f"{path}: not valid UTF-8 text; a config must be a YAML file") from None
    except OSError as e:
        raise NertagError(f"{path}: cannot read config ({e.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid syntax"
        raise UsageError(f"{path}{line}: not valid YAML ({problem}); check the indentation "
                         f"and 'key: value' pairs") from None


def load_config(name_or_path: str | None = None, overrides: list[str] = ()) -> Config:
    """Load a config by bundled name or path (default: ``default``), apply overrides."""
    path = resolve_config_path(name_or_path or "default")
    return apply_overrides(from_dict(read_yaml(path), src=str(path)), overrides)


def apply_overrides(cfg: Config, overrides: list[str] = ()) -> Config:
    """Apply ``--set SECTION.KEY=VALUE`` overrides and validate again."""
    if not overrides:
        return cfg
    raw = cfg.to_dict()
    try:
        for item in overrides:
            (sec, key, *entry), value = parse_override(item)
            if sec not in raw:
                raise _unknown_key(sec, list(raw), OVERRIDES, "")
            if key not in raw[sec]:
                raise _unknown_key(key, list(raw[sec]), OVERRIDES, f"{sec}.")
            set_entry(raw[sec], key, entry, value, f"{OVERRIDES}: '{sec}.")
        return from_dict(raw, src=OVERRIDES)
    except UsageError as e:  # the command line names its option
        raise UsageError(e.message, inputs=("overrides",)) from None


def set_entry(section: dict, key: str, entry: list[str], value: Any, where: str) -> None:
    """``section[key] = value``, or with ``entry`` ([name]) ``section[key][name] = value``
    (a mapping's entry: ``labels.map.person``); ``where`` starts an error: ``"SRC: 'SEC."``."""
    if not entry:
        section[key] = value
    elif isinstance(section[key], dict):
        section[key] = dict(section[key], **{entry[0]: value})
    else:
        raise UsageError(f"{where}{key}.{entry[0]}': not a key of a mapping; set it as "
                         f"{where[where.index(chr(39)):]}{key}=VALUE'")


def dump_config(cfg: Config) -> str:
    """The config as a model directory's config.yaml holds it."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def config_yaml(cfg: Config) -> str:
    """The config as YAML that lists every key, each with its value and (as a comment) what
    it does and may be (``nertag train --show-config``); it reads back as ``cfg``."""
    lines = []
    for sec in dataclasses.fields(cfg):
        section = getattr(cfg, sec.name)
        lines.append(f"{sec.name}:")
        for f in dataclasses.fields(section):
            flow = yaml.safe_dump([getattr(section, f.name)], default_flow_style=True,
                                  width=10**6).strip()[1:-1]  # the value alone, on one line
            lines.append(f"  {f'{f.name}: {flow}':<32} # {_describe(f.metadata)}")
    return "\n".join(lines) + "\n"
