"""The annotation page at ``/``: one sentence at a time, its entities in the shared
palette (:mod:`nertag.render.palette`, through :func:`nertag.render.formats.html_head`:
the look of ``nertag tag --format html`` and of the ``nertag serve`` page), the label
keys, the action buttons and the progress; ``static/annotate.js`` does the rest.
Everything comes from the server itself (no CDN, no build step): it works offline.
"""

from __future__ import annotations

import html
import json
from importlib import resources

from nertag.render.formats import html_head

#: What the page may load: its own files only.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "connect-src 'self'; img-src 'self' data:; form-action 'none'; "
       "frame-ancestors 'none'; base-uri 'none'")
#: Labels with a number key (more are reached with the mouse).
KEYED = 9

ACTIONS = (("accept", "Accept", "Enter / a"), ("reject", "Reject", "x"),
           ("ignore", "Skip", "s"), ("undo", "Undo", "u / Backspace"),
           ("remove", "Remove span", "Delete"))

BODY = """<main id="app" data-labels="{labels}">
<p class="progress" id="progress" role="status">starting…</p>
<p class="context" id="context" aria-label="the sentence before"></p>
<div class="text sentence" id="sentence" data-state="loading" aria-live="polite"></div>
<p class="keys" id="labels">{label_buttons}</p>
<p class="actions">{action_buttons}</p>
<p class="msg" id="msg" role="alert"></p>
<p class="help">Select tokens with the mouse (drag) or with Shift+←/→, then press a label's
number; a number on a highlighted span changes its label. ←/→ move, Esc clears the
selection. Every decision is saved at once; Undo takes back this tab's last one.</p>
</main>
<script src="/static/annotate.js"></script>
</body></html>
"""


def static_file(name: str) -> bytes:
    """A file of ``nertag/annotate/static/`` (package data)."""
    return resources.files("nertag.annotate").joinpath("static", name).read_bytes()


def page_html(labels: list[str], title: str) -> str:
    """The page for annotating with ``labels`` (the first :data:`KEYED` on keys 1–9)."""
    head = html_head(title, labels, sections=True)
    if "</head>" not in head:  # formats.HTML_HEAD changed
        raise RuntimeError("nertag.render.formats.html_head has no </head>: update "
                           "nertag.annotate.page")
    head = head.replace("</head>", '<link rel="icon" href="data:,">\n<link rel="stylesheet" '
                                   'href="/static/annotate.css"></head>', 1)
    buttons = []
    for k, label in enumerate(labels):
        key = f"<kbd>{k + 1}</kbd> " if k < KEYED else ""
        name = html.escape(label)
        buttons.append(f'<button type="button" class="label" data-label="{name}">{key}'
                       f'<mark data-label="{name}">{name}</mark></button>')
    actions = "".join(f'<button type="button" class="action" data-action="{a}" '
                      f'title="{html.escape(keys)}">{text} <kbd>{html.escape(keys)}</kbd>'
                      f'</button>' for a, text, keys in ACTIONS)
    return head + BODY.format(labels=html.escape(json.dumps(labels)),
                              label_buttons="".join(buttons), action_buttons=actions)
