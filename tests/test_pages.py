"""Every section has the page shape of CONTRIBUTING.md: checked on the source, and on the smoke run."""

from __future__ import annotations

import re

import jupytext
import nbformat
import pytest

from helpers.book.results import read_results
from helpers.build import notebook_source, toc_notebooks

HEADING = re.compile(r"^(#{1,6}) ", re.M)
COMMENTED_HEADING = re.compile(r"^#+ #{1,6} \S", re.M)  # `# ## Title` inside a code cell


def cells(slug: str) -> list:
    return jupytext.read(notebook_source(slug)).cells


def headings(cell) -> list[tuple[int, str]]:
    return [(len(m.group(1)), line) for m, line in _heading_lines(cell.source)]


def _heading_lines(source: str):
    for line in source.splitlines():
        match = HEADING.match(line)
        if match:
            yield match, line[match.end() :].strip()


def tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


@pytest.mark.parametrize("slug", toc_notebooks())
def test_one_h1_in_the_first_markdown_cell(slug):
    markdown = [c for c in cells(slug) if c.cell_type == "markdown"]
    h1 = [(i, text) for i, cell in enumerate(markdown) for level, text in headings(cell) if level == 1]
    assert len(h1) == 1 and h1[0][0] == 0, f"{slug}: one H1, in the first Markdown cell; found {h1}"


@pytest.mark.parametrize("slug", toc_notebooks())
def test_parameters_then_hidden_set_up_then_our_scale(slug):
    code = [c for c in cells(slug) if c.cell_type == "code"]
    assert tags(code[0]) == ["parameters"], f"{slug}: the first code cell is the parameters cell"
    assert "hide-input" in tags(code[1]) and "start_section(" in code[1].source, (
        f"{slug}: the second code cell sets up the section (start_section), its input hidden"
    )
    scale = [c for c in code if "scale_table(" in c.source]
    assert len(scale) == 1 and "hide-input" in tags(scale[0]), f"{slug}: one hidden 'our scale' table"


@pytest.mark.parametrize("slug", toc_notebooks())
def test_claims_then_summary_close_the_page(slug):
    sequence = cells(slug)
    titles = [text for cell in sequence if cell.cell_type == "markdown" for level, text in headings(cell)]
    assert "Our scale" in titles, f"{slug}: no '## Our scale' section"
    assert titles[-2:] == ["Claims", "Summary"], f"{slug}: the page ends with Claims, then Summary"
    claims = next(i for i, c in enumerate(sequence) if c.cell_type == "markdown" and "## Claims" in c.source)
    table = sequence[claims + 1]
    assert table.cell_type == "code" and "results.claim_table()" in table.source, (
        f"{slug}: the cell after '## Claims' records the claims and displays the claim table"
    )
    assert sequence[-1].cell_type == "markdown" and "## Summary" in sequence[-1].source


@pytest.mark.parametrize("slug", toc_notebooks())
def test_no_headings_hidden_in_code_cells_and_no_functions_defined(slug):
    for cell in cells(slug):
        if cell.cell_type != "code":
            continue
        assert not COMMENTED_HEADING.search(cell.source), f"{slug}: a Markdown heading inside a code cell"
        assert not re.search(r"^\s*def \w+\(", cell.source, re.M), (
            f"{slug}: defines a function; analysis belongs in helpers"
        )


@pytest.mark.parametrize("slug", toc_notebooks())
def test_every_claim_states_its_criterion(slug):
    source = notebook_source(slug).read_text()
    assert '"yes" if' not in source and "'yes' if" not in source, f"{slug}: a verdict not from verdict()"
    assert source.count("results.claim(") >= 1


@pytest.mark.slow
@pytest.mark.parametrize("slug", toc_notebooks())
def test_the_executed_page_shows_no_stray_values_or_warnings(slug, smoke_run):
    executed = nbformat.read(smoke_run.notebook(slug), as_version=4)
    for index, cell in enumerate(executed.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "execute_result":
                assert set(output.data) - {"text/plain"}, (
                    f"{slug}, cell {index}: a bare value under the cell: {output.data['text/plain'][:60]!r}"
                )
            if output.output_type == "stream" and output.name == "stderr":
                assert "Warning" not in output.text, f"{slug}, cell {index}: {output.text.strip()[:300]}"
    claims = read_results(smoke_run.results_dir(slug) / "results.json")["claims"]
    assert all(row["criterion"].strip() for row in claims)
