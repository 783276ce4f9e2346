#!/usr/bin/env bash
# Lints what git tracks: every *.yml/*.yaml with yamllint (rules in .yamllint)
# and every shell script (a *.sh file, or any file whose #! line names sh or
# bash) with shellcheck. Needs the Debian packages yamllint and shellcheck.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in yamllint shellcheck; do
  command -v "$tool" >/dev/null || { echo "lint: $tool not found (apt-get install $tool)" >&2; exit 1; }
done

mapfile -t yaml_files < <(git ls-files '*.yml' '*.yaml')
scripts=()
while IFS= read -r f; do
  [ -f "$f" ] || continue  # deleted in the work tree
  if [[ "$f" == *.sh ]] || head -n 1 "$f" | grep -Eq '^#!.*[/ ](ba)?sh( |$)'; then
    scripts+=("$f")
  fi
done < <(git ls-files)

status=0
echo "== yamllint: ${#yaml_files[@]} files"
yamllint --strict "${yaml_files[@]}" || status=1
echo "== shellcheck: ${#scripts[@]} scripts"
shellcheck "${scripts[@]}" || status=1
[ "$status" -eq 0 ] && echo "OK: lint"
exit "$status"
