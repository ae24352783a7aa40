"""What ``nertag tag`` writes around the inputs' output: the html page, and with several
inputs in html or pretty, a section or heading for each."""

from __future__ import annotations

import contextlib


class Frame:
    """The page or the sections around the inputs' output (a section names its input, and
    says when it is blank)."""

    def __init__(self, fmt: str, out, inputs: list[str], types: list[str], pretty, blank):
        from nertag.render import formats  # lazy: NumPy only when tagging (0.2 s)

        self.fmt, self.out, self.pretty, self.blank = fmt, out, pretty, blank
        self.sections = len(inputs) > 1 and fmt in ("html", "pretty")
        if fmt == "html":
            out.write(formats.html_head(", ".join(inputs), types, self.sections))

    @contextlib.contextmanager
    def input(self, name: str):
        from nertag.render import formats  # lazy: NumPy only when tagging (0.2 s)

        if self.sections:
            shown = "<stdin>" if name == "-" else name
            note = self.blank.get(name)
            if self.fmt == "html":
                self.out.write(formats.html_section(shown, note))
            else:
                self.pretty.heading(shown, note)
        yield
        if self.sections and self.fmt == "html":
            self.out.write(formats.SECTION_END)

    def close(self) -> None:
        from nertag.render import formats  # lazy: NumPy only when tagging (0.2 s)

        if self.fmt == "html":
            self.out.write(formats.PAGE_END if self.sections else formats.HTML_TAIL)
        elif self.pretty is not None:
            self.pretty.finish()
