"""Presentation: the output formats of tagged text (:mod:`.formats`), the one colour
palette of every page and plot (:mod:`.palette`) and the evaluation error page
(:mod:`.error_page`)."""
