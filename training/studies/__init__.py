"""Studies behind groovefader's design choices.

Each study is a command (``python -m training.studies.<name>``) that writes a Markdown
report, PNG figures and a ``results.json`` under ``docs/studies/<name>/``, through one
command skeleton (:mod:`training.studies.skeleton`).
"""
