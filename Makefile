# skywasm's build, checks and tests. `make test` is what CI runs (.ci/run).

GO       ?= go
GOFMT    ?= $(shell $(GO) env GOROOT)/bin/gofmt
FUZZTIME ?= 10s

# Packages that must also vet for the browser, when they hold Go files.
WASM_DIRS := protocol sdk wasm internal/jsutil
# The wasm test packages that internal/browsertest's own tests run in Chromium.
# Being under testdata, ./... skips them: gofmt and vet name them explicitly.
WASM_FIXTURES := $(patsubst %/,%,$(wildcard internal/browsertest/testdata/*/))

# STEP,TARGET,N/M,WHAT prints which step of a long target is running and
# the seconds since the target began (MAKE_STARTED, set once per run).
MAKE_STARTED := $(shell date +%s)
STEP = echo "make $(1): step $(2) ($$(( $$(date +%s) - $(MAKE_STARTED) )) s in): $(3)"

# Steps run in the order written, also under -j.
.NOTPARALLEL:
.PHONY: build wasm wasm-gcflags run test jstest deps check fuzz bench benchbin gobench clean

build: wasm
	$(GO) build -o bin/skywasm ./cmd/skywasm

# The browser SDK: sdk.wasm, and wasm_exec.js from the same Go toolchain, so
# the two always match. go build rewrites its output every time; sdk.wasm is
# replaced only when its bytes changed, so that its brotli variant (quality
# 11: about 20 s on an idle core, over a minute on a busy one) stays current
# and precompress skips it on a rebuild that changed nothing.
#
# WASM_GCFLAGS turns inlining off in the packages that sdk.wasm links only
# for the package initialisers of what pion/webrtc's browser backend and
# net/http import (pion/dtls, crypto/tls): the page's RTCPeerConnection does
# DTLS, so this code runs at start-up and, for crypto/rand, once per random
# ID. Without inlining their code and its inline tables are 38 KB smaller at
# brotli 11 (1,416,144 -> 1,379,746 bytes). Packages that run per message
# keep inlining: turned off everywhere it costs as much as it saves, and in
# the runtime it saves 36 KB but makes allocation 1.5-2x slower.
WASM_GCFLAGS := -gcflags=crypto/...=-l -gcflags=math/big=-l -gcflags=encoding/gob=-l -gcflags=mime/...=-l
export WASM_GCFLAGS
wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath $(WASM_GCFLAGS) -ldflags='-s -w' -o js/.sdk.wasm.new ./wasm
	if cmp -s js/.sdk.wasm.new js/sdk.wasm; then rm js/.sdk.wasm.new; else mv js/.sdk.wasm.new js/sdk.wasm; fi
	cp -p "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" js/wasm_exec.js
	$(GO) run ./tools/precompress js/sdk.wasm js/wasm_exec.js js/skywasm.js js/skywasm.mjs js/index.d.ts

# WASM_GCFLAGS, for scripts/bench.sh when it is run by hand.
wasm-gcflags:
	@echo '$(WASM_GCFLAGS)'

# Dev mode: prints the URL and a fresh API key.
run: build
	bin/skywasm serve -log-level info

# Each step says which it is and how long the run has taken (STEP prints
# "make test: step 3/7 (41 s in): build").
test:
	@$(call STEP,test,1/7,dependencies: scripts/deps.sh)
	@$(MAKE) --no-print-directory deps
	@$(call STEP,test,2/7,checks: gofmt / vet / staticcheck / licenses / tsc)
	@$(MAKE) --no-print-directory check
	@$(call STEP,test,3/7,build)
	@$(MAKE) --no-print-directory build
	@$(call STEP,test,4/7,go test -race ./... (the longest: several minutes on 2 cores))
	scripts/netns.sh $(GO) test -race -count=1 -timeout 15m ./...
	@# The race detector makes sync.Pool drop items at random, so the
	@# zero-allocation tests skip under -race: run them once without it.
	@$(call STEP,test,5/7,zero-allocation tests without -race)
	scripts/netns.sh $(GO) test -count=1 -run 'AllocatesNothing' ./...
	@$(call STEP,test,6/7,browser tests: make jstest (a few minutes))
	@$(MAKE) --no-print-directory jstest
	@$(call STEP,test,7/7,fuzz targets: make fuzz ($(FUZZTIME) each))
	@$(MAKE) --no-print-directory fuzz
	@$(call STEP,test,done,all passed)

# The JavaScript SDK end to end: the examples and the public API in headless
# Chromium (playwright-core driving scripts/chromium), against bin/skywasm and
# the native bin/echopeer, in a loopback-only namespace.
jstest: build
	$(GO) build -o bin/echopeer ./cmd/echopeer
	scripts/netns.sh node --test --test-concurrency=1 --test-timeout=600000 js/test/*.test.mjs

deps:
	GO=$(GO) scripts/deps.sh

check:
	@files=$$( (find . \( -name .git -o -name node_modules -o -name testdata \) -prune -o -name '*.go' -print; \
		$(if $(WASM_FIXTURES),find $(WASM_FIXTURES) -name '*.go') ) | xargs -r $(GOFMT) -l); \
	if [ -n "$$files" ]; then echo "gofmt: these files need formatting:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	@pkgs=; for d in $(WASM_DIRS); do \
		if [ -n "$$(find $$d -name '*.go' 2>/dev/null | head -n 1)" ]; then pkgs="$$pkgs ./$$d/..."; fi; \
	done; \
	for d in $(WASM_FIXTURES); do pkgs="$$pkgs ./$$d"; done; \
	if [ -n "$$pkgs" ]; then \
		echo "GOOS=js GOARCH=wasm $(GO) vet$$pkgs"; \
		GOOS=js GOARCH=wasm $(GO) vet $$pkgs; \
	fi
	$(GO) tool staticcheck ./...
	@# docs/licenses.md and NOTICE must match the module graph and package-lock.json.
	$(GO) run ./tools/licenses -check
	@test -x node_modules/.bin/tsc || { echo "check: node_modules is missing: run make deps (or npm ci)"; exit 1; }
	node_modules/.bin/tsc -p js/tsconfig.json
	node --check js/skywasm.js
	node --check js/skywasm.mjs
	for f in examples/*/*.js; do node --check "$$f" || exit 1; done
	@# staticcheck itself must be built for the host, then run on the js build.
	GOOS=js GOARCH=wasm $$($(GO) tool -n staticcheck) ./sdk/... ./wasm/... ./internal/jsutil/...

# Every fuzz target, found automatically, for FUZZTIME each.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/netns.sh scripts/fuzz.sh

# The benchmarks of docs/benchmarks.md, side by side with peerjs-server and
# PeerJS, in a loopback-only namespace; rewrites docs/benchmarks.md.
bench:
	@$(call STEP,bench,1/2,dependencies and build)
	@$(MAKE) --no-print-directory deps build benchbin
	@$(call STEP,bench,2/2,scripts/bench.sh (about 7 min on 2 cores; it prints its own steps))
	scripts/bench.sh

# The load generators' own command (bench/), kept out of bin/skywasm.
benchbin:
	$(GO) build -o bin/skywasm-bench ./bench/cmd/skywasm-bench

# The Go micro-benchmarks (relay, forwarding, parsing) with allocations.
gobench:
	scripts/netns.sh $(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -f js/sdk.wasm* js/.sdk.wasm.new js/wasm_exec.js* js/*.gz js/*.br
	rm -rf bin/ coverage.out coverage.html cover.out
