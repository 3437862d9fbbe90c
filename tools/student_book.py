"""The configuration of the student edition of the book (`make book STUDENT=1`).

It is _config.yml with the local extension book/_ext/student_build.py added, which removes every
exercise solution, written to the path given (the student build's own folder, so that the
instructors' edition in _build/html is not clobbered). The execution cache is the instructors'
build's (book/_ext/execution_cache.py points both at it): the chapters' code is the same in both
editions, so no chapter is executed again. Jupyter Book resolves local extension paths against the
configuration file's folder, so those are written as absolute paths.
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
    return config


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(student_config(), sort_keys=False), encoding="utf-8")
