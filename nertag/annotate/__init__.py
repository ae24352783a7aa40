"""``nertag annotate``: a local page to annotate raw text, one sentence at a time, with
the model's entities pre-highlighted (docs/annotate.md).

* :mod:`nertag.annotate.source` -- the input files read, checked, cut into sentences and
  tagged once, each sentence with a stable id;
* :mod:`nertag.annotate.queue` -- the order (as-is, uncertain, random) and the leases
  that give each sentence to one tab at a time;
* :mod:`nertag.annotate.store` -- the answers file (append-only, fsynced JSON lines, the
  last record per id wins) and the lock that keeps a second process off it;
* :mod:`nertag.annotate.session` -- the rules of a decision (answer, undo, refusals,
  writes that fail and are retried);
* :mod:`nertag.annotate.retrain` -- ``--retrain-every``: the answers continued into a new
  model in a process of its own (:mod:`nertag.annotate.retrain_job`), taken into use when
  it scores higher on the held-back answers;
* :mod:`nertag.annotate.page` -- the page (``static/annotate.js`` and ``.css``);
* :mod:`nertag.annotate.app` -- the Starlette application, on ``nertag serve``'s server.

Starlette and uvicorn are the optional ``serve`` extra; only ``app`` imports them.
"""
