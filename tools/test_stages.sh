#!/usr/bin/env bash
# `make test`: every stage, each with its time ("== stage NAME: SECONDS s", which
# benchmarks/build_time.py reads).
#
# The stages up to nbval use both cores (pytest-xdist), so they run one after another. The four
# after them mostly use one core each (a Sphinx or LaTeX build, one chapter in a kernel, a
# browser), so they run in two lanes at once, each line of their output prefixed with its stage:
#   lane 1: book-check, then pdf-check (both run jupyter-book, which shares _build/jupyter_execute)
#   lane 2: classroom, then lab-check (nbgrader in _build/assignments; JupyterLab on a copy)
# Nothing they share is written by both: the chapters' pairs are synced and their executions cached
# before the lanes start, and the system packages (Chromium, TeX Live) are installed by `deps`.
set -uo pipefail
MAKE=${MAKE:-make}

stage() {
  local start=$SECONDS status=0
  "$MAKE" --no-print-directory "$1" || status=$?
  echo "== stage $1: $((SECONDS - start)) s"
  return "$status"
}

lane() {  # the stages in order, output prefixed; stops at the first failure
  local name
  for name in "$@"; do
    { stage "$name" 2>&1 | sed -u "/^== stage /!s/^/[$name] /"; } || return 1
  done
}

for name in env deps lint unit nbval pairing; do
  stage "$name" || exit 1
done

lane book-check pdf-check &
first=$!
lane classroom lab-check &
second=$!
failed=0
wait "$first" || failed=1
wait "$second" || failed=1
exit "$failed"
