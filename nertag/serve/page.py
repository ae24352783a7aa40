"""The page at ``/``: a text box whose entities are shown as you type.

It is the page ``nertag tag --format html`` writes (the same style, legend, colours --
CSS rules on ``mark[data-label]`` from :mod:`nertag.render.palette` -- and ``<mark>``
elements with the label and confidence on hover), with a text box and
``static/page.js``, which tags the box's text through ``POST /tag``.  Everything the
page loads comes from the server itself (no CDN, no web font): it works offline.
"""

from __future__ import annotations

import html
from importlib import resources

from nertag.inference.decode import DECODERS
from nertag.render.formats import html_head

#: What the page may load: its own files only (an inline style: the head's, with the
#: marks' colours).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "connect-src 'self'; img-src 'self' data:; form-action 'none'; "
       "frame-ancestors 'none'; base-uri 'none'")

FORM = """<form class="try" action="#">
<textarea id="text" rows="6" autofocus spellcheck="false" aria-label="text to tag"
 placeholder="Type or paste English text, e.g.: Laura Okafor flew from Chicago to Geneva \
on Monday."></textarea>
<div class="bar"><label>decoder <select id="decoder">{options}</select></label><span id="status"
 role="status"></span><a id="json" hidden target="_blank">JSON of this result</a><a
 href="/model">model</a><a href="/health">health</a></div>
</form>
"""


def static_file(name: str) -> bytes:
    """A file of ``nertag/serve/static/`` (package data)."""
    return resources.files("nertag.serve").joinpath("static", name).read_bytes()


def page_html(labels: list[str], title: str, decoder: str) -> str:
    """The page for a model predicting entity types ``labels`` whose decoder is ``decoder``."""
    # the head without the text's <div> (as for sections); the labels' colours: its CSS
    head = html_head(title, labels, sections=True)
    if "</head>" not in head:  # formats.HTML_HEAD changed
        raise RuntimeError("nertag.render.formats.html_head has no </head>: update "
                           "nertag.serve.page")
    head = head.replace("</head>", '<link rel="icon" href="data:,">\n'
                                   '<link rel="stylesheet" href="/static/page.css"></head>', 1)
    options = [f'<option value="">{html.escape(decoder)} (the model\'s)</option>']
    options += [f'<option value="{d}">{d}</option>' for d in DECODERS if d != decoder]
    return (head + FORM.format(options="".join(options))
            + '<div class="text" id="out" aria-live="polite"></div>\n'
            + '<script src="/static/page.js"></script>\n</body></html>\n')
