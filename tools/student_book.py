"""The configuration of the student edition of the book (`make book STUDENT=1`).

It is _config.yml with two changes, written to the path given (the student build's own folder, so
that the instructors' edition in _build/html is not clobbered):
- the local extension book/_ext/student_build.py, which removes every exercise solution;
- the instructors' build's jupyter-cache, so that chapters already executed there are not executed
  again (the cache is keyed by the chapters' code, which the two editions share).
Jupyter Book resolves local extension paths against the configuration file's folder, so those
are written as absolute paths.
"""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def student_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config['title']} (student edition)"
    sphinx = config.setdefault("sphinx", {})
    extensions = sphinx.setdefault("local_extensions", {}) or {}
    extensions["student_build"] = "book/_ext"
    sphinx["local_extensions"] = {name: str((ROOT / path).resolve()) for name, path in extensions.items()}
    config.setdefault("execute", {})["cache"] = str(ROOT / "_build" / ".jupyter_cache")
    return config


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(student_config(), sort_keys=False), encoding="utf-8")
