"""Committed reports name paths a reader can type on their own machine."""

from __future__ import annotations

import json

from models.pathnames import portable


def test_portable_makes_this_machines_paths_relative() -> None:
    root = "/srv/build/groovefader"
    cmd = (f"groovefader eval --checkpoint {root}/checkpoints/default.pt "
           f"--data /srv/build/shared/data/groove --json {root}/docs/eval/x.json --out {root}")
    assert portable(cmd, root) == ("groovefader eval --checkpoint checkpoints/default.pt --data "
                                   "../shared/data/groove --json docs/eval/x.json --out .")
    # a sibling whose name starts like the repository's is not inside it, and only the data
    # folder beside the repository is named relative to it
    assert portable(f"{root}-old/x.mid", root) == f"{root}-old/x.mid"
    assert portable("/srv/build/tmp/x.json", root) == "/srv/build/tmp/x.json"
    assert portable("/tmp/run/x.json and relative/y", root) == "/tmp/run/x.json and relative/y"
    # inside JSON text the paths are plain strings: the report stays valid JSON
    text = portable(json.dumps({"data": f"{root}/../shared", "argv": [f"{root}/bench/a.py"]}), root)
    assert json.loads(text) == {"data": "../shared", "argv": ["bench/a.py"]}
