# Lester — the two commands of the quick start, and a few more.
#   make demo    install what is missing, build, start a local network of nodes
#   make test    install what is missing, build (release + sanitizers), run every test
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
NODES     ?= 4
FUZZ_SECONDS ?= 60
BUILD     := build
REL       := $(BUILD)/release
SAN       := $(BUILD)/asan
FUZZ      := $(BUILD)/fuzz

.PHONY: all deps build build-asan build-fuzz demo demo-down test check unit cluster interop fuzz bench interop-deps clean format

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(REL) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(REL) -j$(JOBS)

build-asan: deps
	@cmake -S . -B $(SAN) -DCMAKE_BUILD_TYPE=Debug -DLESTER_SANITIZE=ON >/dev/null
	@cmake --build $(SAN) -j$(JOBS)

build-fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=Debug -DLESTER_FUZZ=ON \
	  -DFUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) >/dev/null
	@cmake --build $(FUZZ) -j$(JOBS) --target fuzz_all

FUZZ_SMOKE_SECONDS ?= 3

# A local network of nodes: NODES daemons on loopback, then their status.
demo: build
	@$(REL)/lester devnet down --dir .devnet >/dev/null 2>&1 || true
	@$(REL)/lester devnet up -n $(NODES) --dir .devnet
	@scripts/demo.sh $(REL)/lester .devnet

demo-down:
	@$(REL)/lester devnet down --dir .devnet

check:
	@scripts/check-layers.sh
	@scripts/check-source.sh

interop-deps:
	@scripts/interop-deps.sh

# Every test: static checks, unit + cluster + interop under ASan/UBSan, a release
# build, and a short smoke run of every fuzz target.
test: deps check build build-asan build-fuzz interop-deps
	@cd $(SAN) && ctest --output-on-failure -j$(JOBS) -L 'unit|cluster|interop'
	@cd $(FUZZ) && ctest --output-on-failure -j$(JOBS) -L fuzz

unit: build-asan
	@cd $(SAN) && ctest --output-on-failure -j$(JOBS) -L unit

cluster: build-asan
	@cd $(SAN) && ctest --output-on-failure -L cluster

interop: build-asan interop-deps
	@cd $(SAN) && ctest --output-on-failure -L interop

fuzz:
	@$(MAKE) build-fuzz FUZZ_SMOKE_SECONDS=$(FUZZ_SECONDS)
	@cd $(FUZZ) && ctest --output-on-failure -j$(JOBS) -L fuzz

bench: build
	@scripts/bench.sh $(REL)

format:
	@clang-format -i $$(find src tests bench -name '*.[ch]')

clean:
	rm -rf $(BUILD)
