# llemma-prove. `make run` and `make test` install what is missing first.
GO      ?= go
SPLIT   ?= test
OUT     ?= results/minif2f-$(SPLIT).jsonl
# Tests that run Chromium on the HTML report need it; CI installs it.
TEST_PKGS ?= ./...

.PHONY: all build test test-short run data setup setup-coq setup-test setup-lean bench fuzz vet clean

all: build

build: setup-go
	$(GO) build -o bin/llemma-prove ./cmd/llemma-prove

setup-go:
	@scripts/setup-go.sh

setup-coq:
	@scripts/setup-coq.sh

# Chromium renders the HTML report in its end-to-end test.
setup-test: setup-coq
	@scripts/setup-test.sh

setup-lean:
	@scripts/setup-lean.sh

data:
	@scripts/data.sh

# The default run: miniF2F test split on Coq with the GPU-free portfolio.
run: setup-coq build data
	@mkdir -p $(dir $(OUT))
	@rm -f $(OUT) $(OUT).meta.json
	bin/llemma-prove minif2f --backend coq --proposer portfolio --split $(SPLIT) --data data/minif2f/coq --out $(OUT)

vet: setup-go
	$(GO) vet ./...

test: setup-go setup-test vet
	$(GO) test -race -count=1 $(TEST_PKGS)

test-short: setup-go
	$(GO) test -short -count=1 ./...

bench: setup-coq
	$(GO) test -run '^$$' -bench . -benchmem ./search/ ./lean/ ./isabelle/ ./model/ ./bridge/

# Every fuzzer of a parser between untrusted text and a verdict, FUZZTIME each.
FUZZTIME ?= 30s
FUZZERS  ?= coq:FuzzPolicy coq:FuzzParseShow coq:FuzzScanFile coq:FuzzSplitAgainstCoqc coq:FuzzHoles \
	lean:FuzzPolicy lean:FuzzScanLean lean:FuzzDecodeResponse lean:FuzzLeanHoles \
	isabelle:FuzzPolicy isabelle:FuzzScanIsabelle isabelle:FuzzReadMessage isabelle:FuzzParseGoals isabelle:FuzzIsabelleHoles \
	model:FuzzDecodeCandidates model:FuzzDecodeChat model:FuzzDecodeLlamaCpp model:FuzzExtractAnswer model:FuzzKNNFeatures
fuzz: setup-go
	@set -e; for f in $(FUZZERS); do \
		echo "fuzz $${f%%:*} $${f#*:} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${f#*:}$$" -fuzztime $(FUZZTIME) ./$${f%%:*}/; \
	done

clean:
	rm -rf bin
