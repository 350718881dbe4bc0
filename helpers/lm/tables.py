"""Parts III and IV's tables: a DataFrame styled for the page, each column in its own format and
every cell padded, so that neighbouring numbers never run together."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from pandas.io.formats.style import Styler

CELL_PADDING = [{"selector": "th, td", "props": "padding: 0.2em 0.8em;"}]


def styled(
    frame: pd.DataFrame, formats: dict[str, str | Callable] | None = None, index: bool = False
) -> Styler:
    """`frame` as a padded table: the columns named in `formats` in their format (e.g. "{:.1f}",
    "{:,}", "{:+.1%}"), other numbers to three decimals; the index shown only when `index`."""
    styler = frame.style.format(precision=3, na_rep="–").set_table_styles(CELL_PADDING)
    if formats:
        styler = styler.format(formats, subset=list(formats), na_rep="–")
    return styler if index else styler.hide(axis="index")
