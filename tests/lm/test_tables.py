"""Parts III and IV's tables keep their columns apart and format each as asked."""

from __future__ import annotations

import pandas as pd

from helpers.lm.tables import styled


def test_a_styled_table_pads_its_cells_and_formats_each_column():
    frame = pd.DataFrame({"width": [1024, 4096], "L0": [16.0, 31.96], "FVU": [0.18912, float("nan")]})
    html = styled(frame, {"width": "{:,}", "L0": "{:.1f}"}).to_html()
    assert "padding" in html
    for shown in (">1,024<", ">4,096<", ">16.0<", ">32.0<", ">0.189<", ">–<"):
        assert shown in html
    assert ">0<" not in html, "the index is hidden unless asked for"
    assert ">0<" in styled(frame, index=True).to_html()
