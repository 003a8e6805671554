# Thin wrapper around Meson (cmark style): the targets a user types.
#   make          build ./build/sleuth
#   make demo     install dependencies, build, run the main job
#   make check    install dependencies, build with ASan+UBSan, run every test
#   make bench    throughput and memory benchmarks (figures, not pass/fail)
#   make bench-watch  the live watcher's poll time, RSS and server load (bench/watch)
#   make bench-fingerprints  time and peak RSS of analyze over 10^6 distinct queries
#   make fuzz     build the libFuzzer harnesses with clang and run each for FUZZ_SECONDS
#                 (or FUZZ_RUNS executions), FUZZ_JOBS at a time; corpora grow in
#                 fuzz-corpus/, which clean keeps
#   make install  binary and man page under PREFIX

PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60
MESON ?= meson

.PHONY: all build demo check deps bench bench-watch bench-fingerprints fuzz install format format-check clean

all: build

build/build.ninja:
	$(MESON) setup build --buildtype=release -Dtests=disabled

build: build/build.ninja
	ninja -C build

deps:
	scripts/deps

demo: deps build
	scripts/demo

build-check/build.ninja:
	CC=gcc $(MESON) setup build-check --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=$(if $(CI),true,false)

check: deps build-check/build.ninja
	ninja -C build-check
	scripts/check build-check

bench: deps build
	bench/run
	bench/access
	bench/formats
	bench/fingerprints
	bench/watch

bench-fingerprints: deps build
	bench/fingerprints

bench-watch: deps build
	bench/watch

build-fuzz/build.ninja:
	CC=clang $(MESON) setup build-fuzz --buildtype=debugoptimized -Dfuzz=true -Dtests=disabled -Db_sanitize=address,undefined -Db_lundef=false

fuzz: deps build-fuzz/build.ninja
	ninja -C build-fuzz
	scripts/fuzz build-fuzz $(FUZZ_SECONDS)

install:
	rm -rf build-install
	$(MESON) setup build-install --buildtype=release -Dtests=disabled --prefix=$(PREFIX)
	ninja -C build-install install

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-check build-fuzz build-install
