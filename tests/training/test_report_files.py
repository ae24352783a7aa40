"""The run files the report reads (nertag.training.report_files): a damaged metrics.json,
meta.json or config.yaml is one error naming the file and the field, never a crash;
what older models did not record is fine. No matplotlib needed."""

from __future__ import annotations

import json

import pytest

from nertag.errors import NertagError
from nertag.training.report_files import FIX, read_run


class Whole:
    """What a change gives to replace the whole file's value."""

    def __init__(self, value):
        self.value = value


def _edit(model_dir, name: str, change) -> None:
    """Change the JSON file ``name`` in place (``change`` edits the value, or returns a
    :class:`Whole` to replace it)."""
    path = model_dir / name
    data = json.loads(path.read_text(encoding="utf-8"))
    new = change(data)
    path.write_text(json.dumps(new.value if isinstance(new, Whole) else data), encoding="utf-8")


def test_a_trained_model_and_the_shipped_one_pass(model_copy):
    from nertag.resources import default_model

    run = read_run(model_copy)
    assert run.best()["epoch"] == run.provenance["best_epoch"] == 1
    assert read_run(default_model()).best()["epoch"] == 20  # no dev set: the last epoch


def test_older_records_without_the_optional_figures_pass(model_copy):
    keep = ("epoch", "loss")
    _edit(model_copy, "metrics.json", lambda h: Whole([{k: r[k] for k in keep} for r in h]))
    _edit(model_copy, "meta.json", lambda m: Whole({"labels": m["labels"]}))
    run = read_run(model_copy)
    assert run.history == [{"epoch": 1, "loss": run.history[0]["loss"]}]
    assert run.best() == run.history[-1] and run.provenance == {}


def _drop(key):
    def change(history):
        for r in history:
            del r[key]
    return change


def _set(*path_and_value):
    *path, value = path_and_value

    def change(data):
        obj = data
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
    return change


METRICS = [
    (_drop("loss"), "record 1: loss is missing"),
    (_drop("epoch"), "record 1: epoch is missing"),
    (lambda h: Whole({"epochs": h}), "holds an object, not a list of epoch records"),
    (lambda h: Whole([[]]), "record 1 is a list, not an object"),
    (_set(0, "loss", "0.5"), "record 1: loss is a string, not a number"),
    (_set(0, "epoch", 1.5), "record 1: epoch is a number, not an integer"),
    (_set(0, "best", "yes"), "record 1: best is a string, not true or false"),
    (_set(0, "dev", [0.5]), "record 1: dev is a list, not an object"),
    (lambda h: h[0]["dev"].pop("f1"), "record 1: dev.f1 is missing"),
    (_set(0, "dev", "per_type", "LOC", "support", "12"),
     "record 1: dev.per_type.LOC.support is a string, not an integer"),
    (_set(0, "dev", "per_type", "PER", None), "record 1: dev.per_type.PER is null, not an "
                                              "object"),
    (_set(0, "dev", "per_type", "PER", 3), "record 1: dev.per_type.PER is an integer, not an "
                                           "object"),
    (_set(0, "saturation", "activation", 1), "record 1: saturation.activation is an integer, "
                                             "not a string"),
    (_set(0, "confusion", "LOC", "PER", "2"), "record 1: confusion.LOC.PER is a string, not an "
                                              "integer"),
    (_set(0, "confusion", "LOC", [1]), "record 1: confusion.LOC is a list, not an object"),
    (_set(0, "grad_norms", "W", None), None),  # a norm that was not finite
    (_set(0, "grad_norms", "W", {}), "record 1: grad_norms.W is an object, not a number"),
]


@pytest.mark.parametrize("change,message", METRICS)
def test_a_damaged_metrics_file_names_the_field(model_copy, change, message):
    _edit(model_copy, "metrics.json", change)
    if message is None:
        read_run(model_copy)
        return
    with pytest.raises(NertagError) as e:
        read_run(model_copy)
    assert e.value.message == f"{model_copy / 'metrics.json'}: {message}; {FIX}"


def test_no_epochs_is_nothing_to_report(model_copy):
    _edit(model_copy, "metrics.json", lambda h: h.clear())
    with pytest.raises(NertagError) as e:
        read_run(model_copy)
    assert e.value.message == f"{model_copy / 'metrics.json'}: no epochs recorded; nothing to " \
                              f"report"


META = [
    (lambda m: Whole([]), "holds a list, not an object"),
    (_set("provenance", []), "provenance is a list, not an object"),
    (_set("provenance", "best_epoch", "1"), "provenance.best_epoch is a string, not an integer"),
    (_set("provenance", "train", "data.conll"), "provenance.train is a string, not an object"),
    (_set("provenance", "dev", "path", 3), "provenance.dev.path is an integer, not a string"),
    (_set("labels", "O B-PER"), "labels is a string, not a list"),
    (_set("labels", 1, 7), "labels[1] is an integer, not a string"),
]


@pytest.mark.parametrize("change,message", META)
def test_a_damaged_meta_file_names_the_field(model_copy, change, message):
    _edit(model_copy, "meta.json", change)
    with pytest.raises(NertagError) as e:
        read_run(model_copy)
    assert e.value.message == f"{model_copy / 'meta.json'}: {message}; {FIX}"


@pytest.mark.parametrize("text,message", [
    ("- model\n- train\n", "holds a list, not an object"),
    ("model: 20\n", "model is an integer, not an object"),
    ("model:\n  tag_scheme: [bio]\n", "model.tag_scheme is a list, not a string"),
])
def test_a_damaged_config_names_the_field(model_copy, text, message):
    (model_copy / "config.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(NertagError) as e:
        read_run(model_copy)
    assert e.value.message == f"{model_copy / 'config.yaml'}: {message}; {FIX}"
