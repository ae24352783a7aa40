"""report.html: written with every trained model, self-contained (every image an
embedded PNG, nothing fetched), its tables equal to metrics.json, the same bytes when
rebuilt, scoring another file on request, and still built for models that recorded
fewer figures. Skipped without matplotlib (the ``report`` extra)."""

from __future__ import annotations

import base64
import json
import re
import shutil

import pytest

pytest.importorskip("matplotlib", reason="the report extra is not installed: "
                                         "pip install -e '.[report]'")

from nertag.config import load_config  # noqa: E402
from nertag.errors import NertagError  # noqa: E402
from nertag.resources import sample_dev  # noqa: E402
from nertag.training import checkpoint as ckpt  # noqa: E402
from nertag.training.loop import train  # noqa: E402
from nertag.training.report import build_report, write_report  # noqa: E402

IMG = re.compile(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "model"
    events = []
    _, history = train(load_config(None, ["train.epochs=3", "model.hidden=20"]), output=out,
                       callback=lambda e, i: events.append((e, i)))
    return out, history, events


def pngs(page: str) -> dict[str, bytes]:
    return {alt: base64.b64decode(data) for alt, data in IMG.findall(page)}


def test_training_writes_a_self_contained_report(trained):
    out, history, events = trained
    page = (out / "report.html").read_text(encoding="utf-8")
    assert dict(events)["end"]["report"] == str(out / "report.html")
    images = pngs(page)
    assert sorted(images) == ["dev F1 per epoch, overall and per type",
                              "gradient norm of each parameter per epoch, log scale",
                              "hidden-unit saturation per epoch", "training loss per epoch"]
    for png in images.values():
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert page.count("<img") == 4
    # nothing is fetched: no scripts, stylesheets or remote resources
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'(src|href)="(?!data:)', page)
    # the model directory still loads (report.html is not part of its manifest)
    from nertag.modelio import load_model

    load_model(out)


def test_tables_show_the_recorded_figures(trained):
    out, history, _ = trained
    page = (out / "report.html").read_text(encoding="utf-8")
    best = [r for r in history if r["best"]][-1]
    ev = best["dev"]
    assert f"best epoch ({best['epoch']})" in page
    for t, s in ev["per_type"].items():
        assert (f"<tr><td>{t}</td><td>{100 * s['precision']:.2f}</td><td>{100 * s['recall']:.2f}"
                f"</td><td>{100 * s['f1']:.2f}</td><td>{s['support']}</td>") in page
    assert f'<td>overall</td><td>{100 * ev["precision"]:.2f}</td>' in page
    # the confusion matrix: gold rows, predicted columns, "none" on both axes
    rows = re.findall(r"<tr><th>([A-Za-z]+)</th>((?:<td[^>]*>\d*</td>)+)</tr>", page)
    types = sorted(ev["per_type"])
    assert [g for g, _ in rows] == types + ["none"]
    for g, cells in rows:
        values = re.findall(r"<td[^>]*>(\d*)</td>", cells)
        expect = [str(best["confusion"].get(g, {}).get(p, 0)) for p in types + ["none"]]
        if g == "none":
            expect[-1] = ""
        assert values == expect, g
    # every epoch's row
    for r in history:
        assert f"<td>{r['loss']:.4f}</td>" in page
        assert f"<td>{100 * r['saturation']['saturated']:.2f}</td>" in page


def test_rebuilding_gives_the_same_page(trained, tmp_path):
    out, _, _ = trained
    copy = tmp_path / "model"
    shutil.copytree(out, copy)
    before = (copy / "report.html").read_bytes()
    (copy / "report.html").unlink()
    assert write_report(copy) == copy / "report.html"
    assert (copy / "report.html").read_bytes() == before.replace(str(out).encode(),
                                                                 str(copy).encode())


def test_data_scores_another_file(trained, tmp_path):
    out, history, _ = trained
    page = build_report(out, data=sample_dev())
    best = [r for r in history if r["best"]][-1]["dev"]
    assert f"Final scores on {sample_dev()}" in page
    assert f'<td>overall</td><td>{100 * best["precision"]:.2f}</td>' in page  # same file


def test_older_models_get_what_they_recorded(trained, tmp_path):
    out, history, _ = trained
    copy = tmp_path / "old"
    shutil.copytree(out, copy)
    old = [{k: v for k, v in r.items() if k not in ("saturation", "confusion")}
           for r in history]
    (copy / "metrics.json").write_text(json.dumps(old))
    page = build_report(copy)
    assert len(pngs(page)) == 3  # no saturation plot
    assert "Hidden-unit saturation was not recorded" in page
    assert "No confusion counts were recorded" in page


def test_relu_labels_dead_units(tmp_path):
    out = tmp_path / "relu"
    _, history = train(load_config(None, ["train.epochs=1", "model.hidden=20",
                                          "model.activation=relu"]), output=out)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert history[0]["saturation"]["activation"] == "relu"
    assert "relu hidden layer" in page


def test_no_dev_set(tmp_path):
    from nertag.resources import sample_train

    out = tmp_path / "nodev"
    cfg = load_config(None, ["train.epochs=1", "model.hidden=20"])
    cfg.data.train, cfg.data.dev = str(sample_train()), None
    train(cfg, output=out, train_path=sample_train(), dev_path=None)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "No dev set: no dev scores were recorded" in page
    assert len(pngs(page)) == 3


def test_bad_directories(tmp_path, trained):
    with pytest.raises(NertagError, match="model directory not found"):
        build_report(tmp_path / "nope")
    with pytest.raises(NertagError, match="metrics.json is missing"):
        build_report(tmp_path)
    out = tmp_path / "run"
    with pytest.raises(ckpt.Interrupted):
        train(load_config(None, ["train.epochs=2", "model.hidden=20"]), output=out,
              should_stop=lambda: True)  # stops after the first batch: no model yet
    assert not out.exists()
    with pytest.raises(NertagError, match="checkpoint of an interrupted training run"):
        build_report(ckpt.partial_dir(out))


def _colours_in(png: bytes) -> set[str]:
    """Every colour (``#rrggbb``) that some pixel of ``png`` has exactly."""
    import io

    import numpy as np
    from matplotlib.image import imread

    rgb = np.round(imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(int)
    return {f"#{r:02x}{g:02x}{b:02x}" for r, g, b in np.unique(rgb.reshape(-1, 3), axis=0)}


def test_per_type_lines_have_the_palette_colours(trained):
    """They were matplotlib's (LOC blue, PER red) and the HTML pages' are LOC green, PER
    orange."""
    from nertag.render.palette import colours

    out, history, _ = trained
    f1 = pngs((out / "report.html").read_text(encoding="utf-8"))[
        "dev F1 per epoch, overall and per type"]
    drawn = _colours_in(f1)
    types = sorted(history[-1]["dev"]["per_type"])
    assert types == ["LOC", "MISC", "ORG", "PER"]
    assert {t: c.background for t, c in colours(types).items()} == {
        "LOC": "#59a14f", "MISC": "#d81b60", "ORG": "#4e79a7", "PER": "#f28e2b"}
    assert {"#59a14f", "#d81b60", "#4e79a7", "#f28e2b"} <= drawn
    assert not {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"} & drawn  # tab10's first four


def _facts_row(page: str, name: str) -> str:
    return re.search(rf"<tr><th>{name}</th><td>(.*?)</td></tr>", page)[1]


def test_the_header_shows_document_context(trained, doc_model, tmp_path):
    out, _, _ = trained
    assert _facts_row(build_report(out), "document context") == "off"
    first = json.loads((doc_model / "stage1" / "metrics.json").read_text(encoding="utf-8"))
    best = json.loads((doc_model / "stage1" / "meta.json").read_text(
        encoding="utf-8"))["provenance"]["best_epoch"]
    f1 = next(r for r in first if r["epoch"] == best)["dev"]["f1"]
    assert _facts_row(build_report(doc_model), "document context") == (
        f"on (features.doc_context): a second stage that also sees the first stage&#x27;s "
        f"tags on each word&#x27;s other occurrences in its document; first stage (stage1/): "
        f"{len(first)} epochs, best epoch {best}, dev F1 {100 * f1:.2f}; its tags on the "
        f"training data jackknifed over 2 folds")
    copy = tmp_path / "doc"
    shutil.copytree(doc_model, copy)
    (copy / "stage1" / "metrics.json").write_text('[{"epoch": 1}]', encoding="utf-8")
    with pytest.raises(NertagError) as e:
        build_report(copy)
    assert e.value.message == (f"{copy / 'stage1' / 'metrics.json'}: record 1: loss is "
                               f"missing; retrain or re-copy the model directory")


def test_a_plot_of_many_parameters_keeps_its_axes(recwarn):
    """A two-stage model with name lists has 20+ parameters: the gradient-norm legend goes
    into columns beside a wider plot, and matplotlib does not give up on the layout (it
    warned 'constrained_layout not applied' on stderr)."""
    from nertag.training.report_plots import LEGEND_ROWS, grad_norm_plot

    names = ["W", "b", "U", "c", "A", "E_word", "E_caps", "E_shape", "K", "E_char"] + \
        [f"E_gaz_CAT-{i}" for i in range(7)] + [f"E_doc_T{i}" for i in range(4)]
    assert len(names) > LEGEND_ROWS
    png = grad_norm_plot([1, 2, 3], {n: [1.0, 0.5, 0.25] for n in names}, 2)
    assert not [w for w in recwarn.list if "constrained_layout" in str(w.message)]
    width = int.from_bytes(base64.b64decode(png)[16:20], "big")  # the PNG's IHDR width
    assert width > 5.6 * 160
