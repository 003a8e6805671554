#!/bin/bash
# House rules that a compiler does not check: every C file is formatted with
# the repository's .clang-format (clang-format 14, Debian 12), and the
# pipeline's include lines point one way (input/ includes only util/ and
# itself; nothing includes cmd/).
set -u
. "$(dirname "$0")/tap.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src tests -name '*.[ch]')
bad=$(clang-format --dry-run $files 2>&1 | grep -o '^[^:]*\.[ch]' | sort -u | tr '\n' ' ')
is "$bad" "" "every C file is formatted with .clang-format"
bad=$(grep -l -E '#include "(stats|report|sql|cmd)/' src/input/*.[ch] src/util/*.[ch] | tr '\n' ' ')
is "$bad" "" "input/ and util/ include only util/ and input/"
bad=$(grep -l '#include "cmd/' src/input/* src/util/* src/sql/* src/stats/* src/report/* | tr '\n' ' ')
is "$bad" "" "nothing but main includes cmd/"
done_testing
