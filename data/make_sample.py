#!/usr/bin/env python3
"""Generate nertag's sample training and development data.

Writes ``data/sample/train.conll`` and ``data/sample/dev.conll`` in CoNLL-2003
format: one token per line, four space-separated columns ``word POS chunk NER``,
a blank line between sentences, and a ``-DOCSTART- -X- -X- O`` line (followed
by a blank line) at the start of each document.  NER tags are BIO (IOB2) with
the types PER, LOC, ORG and MISC.

All of the text is invented for nertag from the templates and name lists
below; nothing is copied from any corpus.  The POS and chunk columns are a
small heuristic, good enough for features but not gold annotation.

The output is deterministic: stdlib only, one ``random.Random(2026)``.

Usage::

    python data/make_sample.py            # writes data/sample/*.conll
    python data/make_sample.py --out DIR  # writes DIR/train.conll, DIR/dev.conll
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

SEED = 2026
N_TRAIN = 400
N_DEV = 120

# --------------------------------------------------------------------------
# Name lists.  Each entry is a (possibly multi-token) name, tokens separated
# by spaces.  The dev set draws partly from held-out names (see split_pool)
# and partly from the DEV_ONLY lists, so that it tests generalisation.
# --------------------------------------------------------------------------

FIRST = """Anna Marco Sofia Peter Laura Daniel Elena Tomas Grace Samuel Nadia Oliver
Ines Victor Clara Jonas Maria Hugo Leila Patrick Irene Felix Rosa Martin Yusuf
Helen Carlos Mira Stefan Julia Andrew Emma Luca Hanna Paul Alice Rafael Nina
George Sara""".split()

LAST = """Lindqvist Moreau Okafor Brennan Castillo Novak Takeda Fischer Larsen
Duarte Whitlock Petrov Haddad Oyelaran Ferreira Kowalski Marsh Aldana Henning
Rourke Vasquez Dunmore Ibsen Kerrigan Mendes Halvorsen Szabo Achterberg
Pellegrini Farrow Nakamura Ostrowski Quintero Blackwood Varga Lindholm Okoye
Renaud Sandoval Tamsin Ashdown Corvino Halloran Eriksen Mbeki Thorne Galvez
Radcliffe Sorensen Vance""".split()

CITY = """London Paris Berlin Madrid Rome Lisbon Vienna Oslo Stockholm Helsinki
Warsaw Prague Budapest Athens Dublin Cairo Nairobi Lagos Tokyo Seoul Sydney
Melbourne Toronto Chicago Boston Denver Lima Santiago Mumbai Jakarta Manila
Istanbul Geneva Zurich Hamburg Marseille Naples Porto Bergen Leeds
New_York Los_Angeles Rio_de_Janeiro Buenos_Aires Cape_Town Hong_Kong""".split()

COUNTRY = """Britain France Germany Spain Italy Portugal Austria Norway Sweden
Finland Poland Hungary Greece Ireland Egypt Kenya Nigeria Japan Canada Peru
Chile India Indonesia Turkey Brazil Argentina Mexico Australia Morocco Ghana
Denmark Belgium Slovakia Switzerland South_Africa New_Zealand
South_Korea Sri_Lanka Costa_Rica""".split()

REGION = """Tuscany Patagonia Bavaria Andalusia Siberia Scandinavia Normandy
Queensland Ontario Catalonia Silesia Lapland Cornwall Sicily Anatolia
Silver_Valley Eastern_Highlands Northern_Province Lake_Ardent Coral_Coast
Red_River_Delta""".split()

COMPANY = """Northwind_Holdings Bluestone_Capital Kestrel_Airlines Redfern_Motors
Orchard_Foods Harbourline_Shipping Veltro_Energy Amberly_Pharmaceuticals
Crescent_Telecom Ironbridge_Steel Solvane Meridian_Bank Pinecrest_Insurance
Larkspur_Media Tessaro_Group Quillfield_Software Brightwater_Utilities
Castellan_Mining Halden_Retail Nordcape_Fisheries Greyhaven_Logistics
Ostara_Chemicals Silverline_Rail Fennimore_Brewing Acme_Corp. Talbot_Inc.
Zephyr_Aerospace Corran_Textiles Wexford_Cement Auric_Systems""".split()

CLUB = """Leeds Chelsea Eastfield_United Northgate_Rovers Harbour_City
Westbrook_Athletic Kingsmoor Redcliffe_Town Ashford_Wanderers Bramley
Castlegate Dunmore_Albion Fenwick_Rangers Hollins_County Millbrook
Saint_Aldric Portvale_Olympic Riverside_FC Sutton_Heath Thornbury
Union_Marais Real_Costera Sporting_Alba Dynamo_Velin Atletico_Rivera""".split()

ORGB = """United_Nations European_Union World_Bank Red_Cross Interior_Ministry
Finance_Ministry Supreme_Court Football_Association
International_Olympic_Committee World_Trade_Organisation African_Union
Harbour_Authority Coast_Guard Environment_Agency National_Statistics_Office
Press_Council Rugby_Football_Union Medical_Council Transport_Ministry
Electoral_Commission""".split()

ORGA = """NATO OPEC UNICEF FIFA UEFA Interpol Greenpeace Amnesty_International
Oxfam""".split()

BANK = """Bundesbank Federal_Reserve Bank_of_England Bank_of_Avalon
Reserve_Bank_of_Norland Central_Bank_of_Veloria Riksbank""".split()

PARTY = """Labour_Party Green_Party Liberal_Party National_Reform_Party
Social_Democrats Christian_Democrats Freedom_Alliance Progress_Party
Peasants_Union Civic_Platform""".split()

PAPER = """Northern_Herald Daily_Courier Evening_Ledger Coastal_Times
Weekly_Observer Morning_Bulletin Capital_Gazette""".split()

NAT = """German French Spanish Italian Portuguese Austrian Norwegian Swedish
Finnish Polish Hungarian Greek Irish Egyptian Kenyan Nigerian Japanese
Canadian Peruvian Chilean Indian Turkish Brazilian Argentine Mexican
Australian Moroccan British Danish Belgian Dutch Swiss""".split()

EVENT = """World_Cup Olympic_Games Harbour_Marathon Northern_Open Spring_Classic
European_Championship Tour_of_the_Valleys Grand_Prix Davis_Cup
Coastal_Regatta Masters Winter_Games Nations_Cup Autumn_Festival
Alpine_Rally Champions_League""".split()

LANG = """English Spanish French German Portuguese Arabic Swahili Japanese
Russian Italian Dutch Polish Turkish Hindi""".split()

# Names that only the dev set uses (never seen in training).
DEV_ONLY = {
    "FIRST": "Ottilie Bram Zofia Kwame Ilse Mateo Priya Lorenz Ayla Dmitri".split(),
    "LAST": "Waverley Okonkwo Brandt Villanueva Kostadinov Pryce Lindgren "
            "Abernathy Szilagyi Ferro".split(),
    "CITY": "Bologna Krakow Antwerp Valparaiso Kyoto Accra Adelaide "
            "Rotterdam Salzburg Cordoba".split(),
    "COUNTRY": "Iceland Uruguay Vietnam Tanzania Croatia Estonia".split(),
    "REGION": "Transylvania Galicia Yorkshire Glass_Valley Upper_Marsh".split(),
    "COMPANY": "Hollowell_Instruments Vantage_Freight Sableworth_Foods "
               "Corvane_Electric Luminet Drayfield_Plastics".split(),
    "CLUB": "Oakhurst_United Marlow_Rovers Stonebridge Ferrisgate_Town "
            "Deportivo_Sal".split(),
    "ORGB": "Fisheries_Board Aviation_Authority Chamber_of_Commerce "
            "Health_Ministry".split(),
    "ORGA": "WHO IMF".split(),
    "BANK": "Bank_of_Estrel Norges_Bank".split(),
    "PARTY": "Workers_Party Centre_Union".split(),
    "PAPER": "Valley_Sentinel Harbour_Post".split(),
    "NAT": "Icelandic Uruguayan Vietnamese Croatian Estonian".split(),
    "EVENT": "Pacific_Games Desert_Rally Summer_Regatta Lakeside_Open".split(),
    "LANG": "Catalan Icelandic Vietnamese".split(),
}

POOLS = {
    "FIRST": FIRST, "LAST": LAST, "CITY": CITY, "COUNTRY": COUNTRY,
    "REGION": REGION, "COMPANY": COMPANY, "CLUB": CLUB, "ORGB": ORGB,
    "ORGA": ORGA, "BANK": BANK, "PARTY": PARTY, "PAPER": PAPER, "NAT": NAT,
    "EVENT": EVENT, "LANG": LANG,
}

# Entity type of each name slot.
SLOT_TYPE = {
    "PER": "PER", "PERL": "PER", "CITY": "LOC", "COUNTRY": "LOC",
    "REGION": "LOC", "COMPANY": "ORG", "CLUB": "ORG", "ORGB": "ORG",
    "ORGA": "ORG", "BANK": "ORG", "PARTY": "ORG", "PAPER": "ORG",
    "NAT": "MISC", "EVENT": "MISC", "LANG": "MISC",
}

DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = ("January February March April May June July August September "
          "October November December").split()

# --------------------------------------------------------------------------
# Templates.  Tokens are separated by spaces and already tokenised in Penn
# Treebank / CoNLL style ('s and n't split off, punctuation separate).
#   {SLOT}          a name from a pool (see SLOT_TYPE) or a value slot below
#   [A_B|TYPE]      a fixed entity written in the template (underscores = spaces)
# Value slots: NUM (2-40), BIG (1,000-style), DEC (3.5-style), SCORE (2-1),
# WIN (winner first, 3-1), DRAW (2-2),
# TSET (tennis sets), YEAR, DATE (1996-08-22), DAY, MONTH, DOM (1-28).
# Each template is (split, text) with split in {"both", "train", "dev"}.
# --------------------------------------------------------------------------

# Headlines: upper-cased most of the time, otherwise left in sentence case.
HEADLINES = [
    ("both", "Soccer - {CLUB} beat {CLUB} {WIN} ."),
    ("both", "Tennis - {PERL} advances to {EVENT} quarter-finals ."),
    ("both", "{COUNTRY} 's {PERL} wins {EVENT} title ."),
    ("both", "{COMPANY} profit rises {DEC} pct in {YEAR} ."),
    ("both", "{NAT} election result delayed ."),
    ("both", "{COMPANY} to cut {BIG} jobs in {COUNTRY} ."),
    ("both", "Rugby union - {COUNTRY} name squad for {EVENT} ."),
    ("both", "Athletics - {PER} sets world record in {CITY} ."),
    ("both", "Markets - shares fall on rate fears ."),
    ("both", "{ORGB} calls for talks on {REGION} ."),
    ("train", "Cycling - {PERL} takes lead in {EVENT} ."),
    ("train", "{ORGA} warns {COUNTRY} over budget deficit ."),
    ("dev", "Golf - {PERL} leads by {NUM} strokes at {EVENT} ."),
    ("dev", "Cricket - {COUNTRY} v {COUNTRY} scoreboard ."),
]

# Datelines open most documents, as in wire-service copy.
DATELINES = [
    ("both", "{CITY} {DATE}"),
    ("both", "{CITY} , {MONTH} {DOM}"),
]

BODY = [
    # --- sport -----------------------------------------------------------
    ("both", "{CLUB} beat {CLUB} {WIN} on {DAY} to move top of the table ."),
    ("both", "{PER} scored twice as {CLUB} drew {DRAW} with {CLUB} ."),
    ("both", "{PER} ( {COUNTRY} ) beat {PER} ( {COUNTRY} ) {TSET}"),
    ("both", "{NAT} {PER} won the {EVENT} in {CITY} on {DAY} ."),
    ("both", "{CLUB} {NUM} {CLUB} {NUM}"),
    ("both", "{PER} , who joined {CLUB} from {CLUB} last season , was injured "
             "in training ."),
    ("both", "The {EVENT} will be held in {CITY} in {YEAR} ."),
    ("both", "{COUNTRY} coach {PER} named an unchanged side for the match "
             "against {COUNTRY} ."),
    ("both", "{PERL} finished in {NUM} minutes {DEC} seconds , ahead of {NAT} "
             "{PER} ."),
    ("both", "Attendance : {BIG}"),
    ("both", "Leading scores after the first round of the {EVENT} in {CITY} :"),
    ("both", "Halftime {SCORE} ."),
    ("both", "{PER} 's late goal gave {CLUB} the lead before {PERL} equalised ."),
    ("both", "{COUNTRY} 's {PER} retained the {EVENT} title with a round of "
             "{NUM} ."),
    ("both", "{NAT} {PER} , the {EVENT} champion , withdrew with a back "
             "injury ."),
    ("both", "{NAT} champion {PER} beat {PER} in straight sets at the "
             "{EVENT} ."),
    ("both", "The {NAT} and {NAT} teams will meet in the {EVENT} final ."),
    ("both", "{PERL} said the {CLUB} fans had been superb ."),
    ("train", "{PER} , {PER} and {PER} have been picked for the {EVENT} ."),
    ("train", "{CLUB} have signed {NAT} defender {PER} on a contract until "
              "{YEAR} ."),
    ("train", "Result of the {EVENT} race over {BIG} metres in {CITY} on "
              "{DAY} :"),
    ("train", "{PERL} did n't play after hurting his knee against {CLUB} ."),
    # --- politics ----------------------------------------------------------
    ("both", "{NAT} Prime Minister {PER} said on {DAY} that talks with "
             "{COUNTRY} would continue ."),
    ("both", "President {PER} will visit {CITY} and {CITY} next week , the "
             "{ORGB} said ."),
    ("both", "The {PARTY} won {NUM} seats in the {REGION} regional "
             "assembly ."),
    ("both", "{PER} , leader of the opposition {PARTY} , did n't comment on "
             "the report ."),
    ("both", "\" We will not accept these terms , \" {PER} told reporters in "
             "{CITY} ."),
    ("both", "Foreign ministers of the {ORGB} meet in {CITY} on {DAY} to "
             "discuss the dispute over {REGION} ."),
    ("both", "{ORGB} officials said more than {BIG} people had left their "
             "homes near {CITY} ."),
    ("both", "A {NAT} court sentenced {PER} to {NUM} years in prison on "
             "{DAY} ."),
    ("both", "{PER} , who speaks {LANG} and {LANG} , will chair the "
             "meeting ."),
    ("both", "Elections are expected in {MONTH} , officials said ."),
    ("both", "The {NAT} government said it would send {NUM} observers to "
             "{COUNTRY} ."),
    ("both", "Mr. {PERL} 's spokesman said the minister had n't been "
             "informed ."),
    ("both", "{ORGA} said in a statement it would appeal against the "
             "decision ."),
    ("both", "The [U.S.|LOC] embassy in {CITY} said it was monitoring the "
             "situation ."),
    ("train", "{PER} resigned from the {PARTY} after {NUM} years as a "
              "member ."),
    ("train", "Talks between {COUNTRY} and {COUNTRY} ended without agreement "
              "in {CITY} on {DAY} ."),
    # --- business ----------------------------------------------------------
    ("both", "{COMPANY} said net profit rose {DEC} percent to $ {DEC} "
             "million in the first quarter ."),
    ("both", "Shares in {COMPANY} fell {DEC} percent in {CITY} after the "
             "company cut its forecast ."),
    ("both", "{COMPANY} has agreed to buy {COMPANY} for about $ {DEC} "
             "billion , the companies said ."),
    ("both", "{COMPANY} chief executive {PER} said demand from {COUNTRY} "
             "remained weak ."),
    ("both", "The {BANK} left interest rates unchanged at {DEC} percent on "
             "{DAY} ."),
    ("both", "{COMPANY} , based in {CITY} , employs about {BIG} people ."),
    ("both", "Analysts at {COMPANY} expect the {NAT} economy to grow by {DEC} "
             "percent in {YEAR} ."),
    ("both", "Trading volume was {BIG} lots , dealers said ."),
    ("both", "The index closed {DEC} points higher at {BIG} ."),
    ("both", "{COMPANY} shares closed at {DEC} , up from {DEC} ."),
    ("both", "The contract was awarded to {COMPANY} ."),
    ("both", "{PER} , a spokesman for {COMPANY} , declined to comment ."),
    ("both", "{COMPANY} appointed {PER} as finance director , replacing "
             "{PER} ."),
    ("train", "{COMPANY} 's results were better than expected , said {PER} , "
              "an analyst at {COMPANY} ."),
    ("train", "The [U.S.|LOC] dollar rose against the yen in {CITY} ."),
    # --- travel, weather, local news --------------------------------------
    ("both", "Flights between {CITY} and {CITY} were cancelled because of "
             "heavy snow ."),
    ("both", "The old town of {CITY} attracts {BIG} visitors a year ."),
    ("both", "The ferry from {CITY} to {CITY} takes about {NUM} hours ."),
    ("both", "{NAT} and {NAT} tourists now make up most visitors to "
             "{REGION} ."),
    ("both", "The {LANG} edition of the guide was published by {COMPANY} in "
             "{YEAR} ."),
    ("both", "Signs in {CITY} are written in both {LANG} and {LANG} ."),
    ("both", "Police in {CITY} said {NUM} people were hurt when a bus "
             "overturned on {DAY} ."),
    ("both", "Heavy rain has flooded parts of {REGION} , forcing {BIG} "
             "residents from their homes ."),
    ("both", "{CITY} police arrested {NUM} men on {DAY} ."),
    ("both", "The film was shown in {LANG} ."),
    ("both", "{NAT} troops will stay in {COUNTRY} until {MONTH} ."),
    ("train", "Hotels in {CITY} were full for the {EVENT} ."),
    ("both", "The {NAT} writer {PER} won the prize for a novel written in "
             "{LANG} ."),
    # --- dates and numbers -------------------------------------------------
    ("both", "The agreement , signed on {DATE} , runs until {YEAR} ."),
    ("both", "The report was released on {DATE} by the {ORGB} ."),
    ("both", "About {BIG} people attended the {EVENT} in {YEAR} ."),
    ("both", "Prices rose {DEC} percent in {MONTH} , the {ORGB} said ."),
    # --- quotes ------------------------------------------------------------
    ("both", "\" It was a difficult game for us , \" said {PER} , the {CLUB} "
             "captain ."),
    ("both", "\" I do n't think {COUNTRY} is ready , \" {PERL} said ."),
    ("both", "{PER} told the {PAPER} newspaper : \" The decision is final . \""),
    ("both", "\" The market has n't reacted yet , \" said an analyst at "
             "{COMPANY} in {CITY} ."),
    # --- several entities --------------------------------------------------
    ("both", "{PER} of {COUNTRY} , {PER} of {COUNTRY} and {PER} of {COUNTRY} "
             "reached the semi-finals ."),
    ("both", "Delegates from the {ORGB} , {ORGA} and the {NAT} government met "
             "in {CITY} ."),
    ("both", "{PER} and {PER} will represent {COUNTRY} at the {EVENT} in "
             "{CITY} ."),
    # --- no entities -------------------------------------------------------
    ("both", "The match was postponed because of rain ."),
    ("both", "Prices were mostly steady in quiet trade ."),
    ("both", "He said the talks had been useful but that no agreement was "
             "reached ."),
    ("both", "It was n't clear how many people had been affected ."),
    ("both", "Details of the deal were not disclosed ."),
    ("train", "The two sides will meet again next month ."),
    # --- dev-only templates -----------------------------------------------
    ("dev", "{PER} , a former {ORGB} official , was appointed ambassador to "
            "{COUNTRY} ."),
    ("dev", "The {NAT} side lost {WIN} to {CLUB} in the final of the "
            "{EVENT} ."),
    ("dev", "{COMPANY} opened a new plant near {CITY} , creating {BIG} jobs ."),
    ("dev", "Speaking in {LANG} , {PER} thanked supporters in {CITY} ."),
    ("dev", "{ORGB} inspectors arrived in {REGION} on {DAY} ."),
    ("dev", "{PERL} 's lawyer said his client would n't appeal the ruling ."),
    ("dev", "Visitors to the {EVENT} can travel by train from {CITY} ."),
    ("dev", "\" We have n't given up , \" said {NAT} captain {PER} ."),
    ("dev", "{CLUB} manager {PER} was fined {BIG} pounds by the {ORGB} ."),
    ("dev", "{PER} , {PER} and {PER} were named in the {COUNTRY} squad ."),
    ("dev", "Inflation in {COUNTRY} slowed to {DEC} percent , the {BANK} "
            "said ."),
    ("dev", "The {PAPER} reported that {COMPANY} would move its headquarters "
            "to {CITY} ."),
]

ALL_TEMPLATES = HEADLINES + DATELINES + BODY

# --------------------------------------------------------------------------
# Filling templates
# --------------------------------------------------------------------------

SLOT_RE = re.compile(r"^\{([A-Z]+)\}$")
FIXED_RE = re.compile(r"^\[(.+)\|(PER|LOC|ORG|MISC)\]$")


def split_pool(names: list[str], extra: list[str], split: str) -> list[str]:
    """Train sees 3 of every 4 names; dev sees the held-out quarter, a share
    of the training names, and names no training sentence uses."""
    if split == "train":
        return [n for i, n in enumerate(names) if i % 4 != 0]
    return [n for i, n in enumerate(names) if i % 4 != 3] + list(extra)


def make_pools(split: str) -> dict[str, list[str]]:
    return {k: split_pool(v, DEV_ONLY[k], split) for k, v in POOLS.items()}


def fmt_big(rng: random.Random) -> str:
    n = rng.choice([rng.randint(1000, 9999), rng.randint(10000, 99999),
                    rng.randint(100, 999) * 1000])
    return f"{n:,}"


def fill_value(slot: str, rng: random.Random) -> str:
    if slot == "NUM":
        return str(rng.randint(2, 40))
    if slot == "BIG":
        return fmt_big(rng)
    if slot == "DEC":
        return f"{rng.randint(1, 99) / 10:.1f}"
    if slot == "SCORE":
        return f"{rng.randint(0, 4)}-{rng.randint(0, 3)}"
    if slot == "WIN":
        a = rng.randint(1, 5)
        return f"{a}-{rng.randint(0, a - 1)}"
    if slot == "DRAW":
        a = rng.randint(1, 3)
        return f"{a}-{a}"
    if slot == "TSET":  # the first-named player wins: straight sets or 2-1
        won = ["6-1", "6-2", "6-3", "6-4", "7-5", "7-6"]
        sets = [rng.choice(won) for _ in range(2)]
        if rng.random() < 0.35:
            sets.insert(rng.randint(0, 1), "-".join(rng.choice(won).split("-")[::-1]))
        return " ".join(sets)
    if slot == "YEAR":
        return str(rng.randint(1990, 2025))
    if slot == "DATE":
        return f"{rng.randint(1994, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if slot == "DOM":
        return str(rng.randint(1, 28))
    if slot == "DAY":
        return rng.choice(DAYS)
    if slot == "MONTH":
        return rng.choice(MONTHS)
    raise ValueError(f"unknown slot {slot!r}")


def entity(words: list[str], etype: str) -> list[tuple[str, str]]:
    return [(w, ("B-" if i == 0 else "I-") + etype) for i, w in enumerate(words)]


def fill_name(slot: str, pools: dict[str, list[str]], rng: random.Random) -> list[str]:
    if slot == "PER":
        first, last = rng.choice(pools["FIRST"]), rng.choice(pools["LAST"])
        r = rng.random()
        if r < 0.08:  # middle initial
            return [first, rng.choice("ABCDEFGHJKLMNPRSTW") + ".", last]
        if r < 0.14:  # double-barrelled surname
            return [first, last + "-" + rng.choice(pools["LAST"])]
        return [first, last]
    if slot == "PERL":
        return [rng.choice(pools["LAST"])]
    return rng.choice(pools[slot]).replace("_", " ").split()


def fill(template: str, pools: dict[str, list[str]], rng: random.Random,
         upper: bool = False) -> list[tuple[str, str]]:
    """Return [(word, NER tag), ...] for one filled template."""
    out: list[tuple[str, str]] = []
    for tok in template.split():
        m = SLOT_RE.match(tok)
        f = FIXED_RE.match(tok)
        if m and m.group(1) in SLOT_TYPE:
            slot = m.group(1)
            out.extend(entity(fill_name(slot, pools, rng), SLOT_TYPE[slot]))
        elif m:
            out.extend((w, "O") for w in fill_value(m.group(1), rng).split())
        elif f:
            out.extend(entity(f.group(1).replace("_", " ").split(), f.group(2)))
        else:  # literal word, possibly with a value slot inside ("{NUM}-year")
            tok = re.sub(r"\{([A-Z]+)\}", lambda v: fill_value(v.group(1), rng), tok)
            out.append((tok, "O"))
    if upper:
        out = [(w.upper(), t) for w, t in out]
    return out


# --------------------------------------------------------------------------
# Heuristic POS and chunk columns
# --------------------------------------------------------------------------

LEXICON = {
    **dict.fromkeys("the a an this that these those both no".split(), "DT"),
    **dict.fromkeys("of in on at for with by from into over after before "
                    "against about than between without until near because "
                    "as up".split(), "IN"),
    **dict.fromkeys("and but or".split(), "CC"),
    **dict.fromkeys("he she it we they i us".split(), "PRP"),
    **dict.fromkeys("his her its their our".split(), "PRP$"),
    **dict.fromkeys("will would can could should may must".split(), "MD"),
    **dict.fromkeys("is are".split(), "VBZ"),
    **dict.fromkeys("was were had said did told won beat drew lost met took "
                    "rose fell left set gave scored joined retained named "
                    "signed finished equalised hurt resigned ended reached "
                    "arrived opened thanked reported".split(), "VBD"),
    **dict.fromkeys("sets rises wins advances calls leads takes warns "
                    "remains employs attracts takes".split(), "VBZ"),
    **dict.fromkeys("be been".split(), "VB"),
    **dict.fromkeys("not never yet again mostly now twice".split(), "RB"),
    **dict.fromkeys("who".split(), "WP"),
    **dict.fromkeys("how".split(), "WRB"),
    **dict.fromkeys("many most more".split(), "JJ"),
    **dict.fromkeys("million billion".split(), "CD"),
    "to": "TO", "do": "VBP", "have": "VBP", "has": "VBZ", "'s": "POS",
    "n't": "RB", "v": "IN", "mr.": "NNP", "assembly": "NN", "given": "VBN",
}
PUNCT = {".": ".", ",": ",", ":": ":", "(": "(", ")": ")", '"': '"',
         "-": ":", "$": "$"}
NUMBER_RE = re.compile(r"^\d[\d,.:-]*$")


def pos_tag(words: list[str], tags: list[str], upper: bool) -> list[str]:
    out = []
    for i, (w, t) in enumerate(zip(words, tags)):
        low = w.lower()
        if t != "O" and not (w.islower() and low in LEXICON):
            p = "NNP"  # "of" in "Bank of England" still gets IN below
        elif w in PUNCT:
            p = PUNCT[w]
        elif NUMBER_RE.match(w):
            p = "CD"
        elif low in LEXICON:
            p = LEXICON[low]
        elif upper and w[0].isalpha():
            p = "NNP"  # headline words are all capitals
        elif w[0].isupper() and i > 0:
            p = "NNP"
        elif low.endswith("ly") and len(low) > 4:
            p = "RB"
        elif low.endswith("ing") and len(low) > 5:
            p = "VBG"
        elif low.endswith("ed") and len(low) > 4:
            p = "VBN"
        elif low.endswith("s") and not low.endswith("ss") and len(low) > 3:
            p = "NNS"
        else:
            p = "NN"
        out.append(p)
    return out


NP_TAGS = {"DT", "PRP$", "JJ", "NN", "NNS", "NNP", "CD", "$"}


def chunk_tag(pos: list[str]) -> list[str]:
    out: list[str] = []
    prev = "O"
    for p in pos:
        if p in NP_TAGS:
            kind = "NP"
            cont = prev == "NP" and p != "DT"
        elif p in ("PRP", "POS"):
            kind, cont = "NP", False
        elif p.startswith("VB") or p == "MD" or (p == "RB" and prev == "VP"):
            kind, cont = "VP", prev == "VP"
        elif p == "RB":
            kind, cont = "ADVP", False
        elif p in ("IN", "TO"):
            kind, cont = "PP", False
        else:
            kind, cont = "O", False
        out.append("O" if kind == "O" else ("I-" if cont else "B-") + kind)
        prev = kind
    return out


# --------------------------------------------------------------------------
# Corpus generation
# --------------------------------------------------------------------------

def usable(templates, split):
    return [t for s, t in templates if s in ("both", split)]


def generate(split: str, n_sentences: int, rng: random.Random):
    """Yield documents, each a list of sentences of (word, pos, chunk, ner)."""
    pools = make_pools(split)
    heads, dates, body = (usable(HEADLINES, split), usable(DATELINES, split),
                          usable(BODY, split))
    # Walk through the body templates in shuffled rounds so that every
    # template is used about equally often.
    queue: list[str] = []
    made = 0
    docs = []
    while made < n_sentences:
        size = min(rng.randint(10, 20), n_sentences - made)
        doc = []
        for k in range(size):
            if k == 0:
                tpl, upper = rng.choice(heads), rng.random() < 0.75
            elif k == 1 and rng.random() < 0.7:
                tpl, upper = rng.choice(dates), True
            else:
                if not queue:
                    queue = body[:]
                    rng.shuffle(queue)
                tpl, upper = queue.pop(), False
            pairs = fill(tpl, pools, rng, upper=upper)
            words = [w for w, _ in pairs]
            ner = [t for _, t in pairs]
            pos = pos_tag(words, ner, upper)
            chunk = chunk_tag(pos)
            doc.append(list(zip(words, pos, chunk, ner)))
        docs.append(doc)
        made += size
    return docs


def write_conll(docs, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for doc in docs:
            fh.write("-DOCSTART- -X- -X- O\n\n")
            for sent in doc:
                for row in sent:
                    fh.write(" ".join(row) + "\n")
                fh.write("\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent / "sample",
                    help="output directory (default: data/sample)")
    args = ap.parse_args(argv)
    rng = random.Random(SEED)
    for split, n in (("train", N_TRAIN), ("dev", N_DEV)):
        path = args.out / f"{split}.conll"
        write_conll(generate(split, n, rng), path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
