"""``nertag serve``: the tagger behind an HTTP API, and a page to try it.

* :mod:`nertag.serve.schema` -- the ``POST /tag`` request (checked, with the status
  and message of every refusal) and the response, in plain Python;
* :mod:`nertag.serve.runner` -- the one thread per worker process that owns the
  :class:`~nertag.api.Tagger` and tags the requests waiting together;
* :mod:`nertag.serve.app` -- the Starlette application (endpoints, limits, errors);
* :mod:`nertag.serve.page` -- the page at ``/`` (``page.js`` beside it);
* :mod:`nertag.serve.server` -- uvicorn: the listening socket, workers, timeouts.

Starlette and uvicorn are the optional ``serve`` extra (``pip install 'nertag[serve]'``);
importing this package needs neither, its modules (but ``schema``) do.
"""
