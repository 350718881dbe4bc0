"""The book's machinery: paths, checksums, npm assets, starting a section, results and claims, the
figure style and seeded random sources. It imports no Part."""

import warnings

from tqdm import TqdmWarning

# sae_lens imports transformers, whose hub utilities import `tqdm.auto`; in a Jupyter kernel without
# ipywidgets that import warns "IProgress not found", though the book's progress bars are plain text.
# Every section imports `helpers.book` before any Part, so importing `tqdm.auto` here first, with
# that one warning silenced, keeps it off every executed page.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", TqdmWarning)
    import tqdm.auto  # noqa: F401
