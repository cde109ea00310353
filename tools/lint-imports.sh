#!/bin/sh
# The import contract (pyproject.toml, [tool.importlinter]) checked on the package as it
# is installed: workers/ travels as newsletter.workers (pyproject package-dir), which the
# import graph sees only when the folder is where the wheel puts it. So the check runs on
# a copy of newsletter/ with workers/ inside it. Usage: tools/lint-imports.sh LINT_IMPORTS
set -eu
lint_imports=${1:-lint-imports}
case $lint_imports in */*) lint_imports=$(cd "$(dirname "$lint_imports")" && pwd)/$(basename "$lint_imports") ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -r "$root/newsletter" "$stage/newsletter"
cp -r "$root/workers" "$stage/newsletter/workers"
cd "$stage"
"$lint_imports" --no-logo --no-cache "$root/pyproject.toml"
