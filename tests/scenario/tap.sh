# TAP helpers for the end-to-end tests (sourced). Each check prints
# "ok N - what" or "not ok N - what"; done_testing prints the plan.
T_N=0
T_FAILED=0

ok() { # ok CONDITION_STATUS "what"
    T_N=$((T_N + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $T_N - $2"
    else
        echo "not ok $T_N - $2"
        T_FAILED=$((T_FAILED + 1))
    fi
}

is() { # is ACTUAL EXPECTED "what"
    T_N=$((T_N + 1))
    if [ "$1" = "$2" ]; then
        echo "ok $T_N - $3"
    else
        echo "not ok $T_N - $3"
        printf '%s\n' "got:      '$1'" "expected: '$2'" | sed 's/^/#   /'
        T_FAILED=$((T_FAILED + 1))
    fi
}

like() { # like ACTUAL REGEX "what"
    T_N=$((T_N + 1))
    if printf '%s' "$1" | grep -Eq -- "$2"; then
        echo "ok $T_N - $3"
    else
        echo "not ok $T_N - $3"
        printf '%s\n' "got: '$(printf '%s' "$1" | head -c 600)'" "expected to match: '$2'" |
            sed 's/^/#   /'
        T_FAILED=$((T_FAILED + 1))
    fi
}

done_testing() {
    echo "1..$T_N"
    [ "$T_FAILED" -eq 0 ]
}

data_dir() {
    if [ -n "${SLEUTH_DATA:-}" ] && [ -d "$SLEUTH_DATA" ]; then
        echo "$SLEUTH_DATA"
    else
        echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)"
    fi
}
