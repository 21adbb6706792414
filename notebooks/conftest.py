"""pytest never collects the ``*.py`` files here: they are the jupytext twins of the notebooks
(``01_cross_modality_qm9.py`` pairs ``01_cross_modality_qm9.ipynb``), not modules, and
importing one — as ``--doctest-modules`` would — runs the whole notebook."""

collect_ignore_glob = ["*.py"]
