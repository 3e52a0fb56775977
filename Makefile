# hpcbridge: the two quick-start commands are `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/debug/hpcbridge
CONFIG ?= config/hpcbridge.yaml
DEMO_JOB_ID := 0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10

.PHONY: all build test run examples demo-data tokens validate golden clean cluster bench bench-smoke bench-tools wes-tools ui-tools postgres \
        reliability reliability-fast reliability-tools schema-suite

all: build

## build: compile the package, the executable and the tests (debug)
## The Slurm shim compiles against <slurm/slurm.h> when it exists; when that changes (libslurm-dev was
## installed by `make cluster` after an earlier build), the shim is rebuilt.
build:
	@have=$$([ -f /usr/include/slurm/slurm.h ] && echo yes || echo no); \
	 if [ "$$(cat .build/slurm-headers.stamp 2>/dev/null)" != "$$have" ]; then \
	   touch Sources/CSlurmShim/shim.c; mkdir -p .build; echo $$have > .build/slurm-headers.stamp; fi
	$(SWIFT) build --build-tests

## cluster: bring up the single-node dev Slurm cluster (root, Debian 12), unless a real cluster answers
cluster:
	@if [ "$$(id -u)" = 0 ]; then contrib/dev-cluster/up; \
	 else echo "make: not root, so no dev cluster; tests that need Slurm are skipped (or fail with HPCBRIDGE_REQUIRE_SLURM=1)"; fi

## postgres: bring up PostgreSQL 15 from Debian's packages on loopback (contrib/dev-postgres/up, root), for
## the tests of the PostgreSQL pieces (the leader lease of several login nodes)
postgres:
	@if [ "$$(id -u)" = 0 ]; then contrib/dev-postgres/up; \
	 else echo "make: not root, so no dev PostgreSQL; its tests are skipped (or fail with HPCBRIDGE_REQUIRE_POSTGRES=1)"; fi

## test: the full test suite (what README and CI run); brings up the dev cluster first. The reliability
## suites (Tests/HPCBridgeTests/Reliability) stop daemons and load the cluster, so they run apart:
## `make reliability`.
test: cluster postgres build schema-suite wes-tools ui-tools
	$(SWIFT) test --skip-build --skip Reliability

## schema-suite: the official JSON Schema Test Suite's draft 2020-12 cases that the schema dialect's
## conformance tests read (Tests/HPCBridgeTests/Schema/JSONSchemaTestSuiteTests.swift), taken from the
## jsonschema sdist on PyPI (which carries the suite), pinned by version and SHA-256, into .build/
SCHEMA_SUITE_DIR := .build/json-schema-test-suite
SCHEMA_SUITE_SDIST := https://files.pythonhosted.org/packages/38/2e/03362ee4034a4c917f697890ccd4aec0800ccf9ded7f511971c75451deec/jsonschema-4.23.0.tar.gz
SCHEMA_SUITE_SHA256 := d71497fef26351a33265337fa77ffeb82423f3ea21283cd9467bb03999266bc4
schema-suite:
	@if [ ! -f $(SCHEMA_SUITE_DIR)/.complete ]; then \
	   mkdir -p $(SCHEMA_SUITE_DIR) && tmp=$$(mktemp) && \
	   curl -sSfL --retry 3 --max-time 120 -o $$tmp $(SCHEMA_SUITE_SDIST) && \
	   echo "$(SCHEMA_SUITE_SHA256)  $$tmp" | sha256sum -c --quiet && \
	   tar -xzf $$tmp -C $(SCHEMA_SUITE_DIR) --strip-components=4 jsonschema-4.23.0/json/tests/draft2020-12 && \
	   rm -f $$tmp && touch $(SCHEMA_SUITE_DIR)/.complete && echo "JSON Schema Test Suite cases in $(SCHEMA_SUITE_DIR)" \
	   || { echo "make: could not fetch the JSON Schema Test Suite from PyPI ($(SCHEMA_SUITE_SDIST))"; exit 1; }; fi

## run: bring up the dev cluster, write the demo data, check the example config, render the seed examples
## into var/demo/, make a token per example group (var/tokens/), then serve the API on the example config
## until Ctrl-C
run: examples tokens
	@echo "starting hpcbridge serve (Ctrl-C stops it); from another shell, try:"
	@echo "  curl -s -H \"Authorization: Bearer \$$(cat var/tokens/cancer_genomics_lab.token)\" -H 'Content-Type: application/json' \\"
	@echo "       --data @config/examples/gatk_variant_calling.json http://127.0.0.1:8080/v1/jobs"
	@echo "  HPCBRIDGE_TOKEN=\$$(cat var/tokens/systems_biology_lab.token) $(BIN) submit config/examples/rnaseq_deseq2.json"
	@echo "  or open http://127.0.0.1:8080/ui/ and sign in with a token from var/tokens/"
	$(BIN) serve --config $(CONFIG)

## examples: write the demo data, check the config and the example requests, and render what they would
## submit into var/demo/
examples: cluster build demo-data
	$(BIN) validate --config $(CONFIG)
	@mkdir -p var/demo
	@for example in gatk_variant_calling:cancer_genomics_lab:gatk_variant_calling rnaseq_deseq2:systems_biology_lab:rnaseq_deseq2 \
	                rnaseq_deseq2:systems_biology_lab:rnaseq_deseq2_design; do \
	  IFS=: read -r pipeline group file <<< "$$example"; \
	  $(BIN) check-params $$pipeline config/examples/$$file.json --config $(CONFIG) || exit 1; \
	  for scheduler in slurm pbs; do \
	    $(BIN) render $$pipeline config/examples/$$file.json --group $$group --scheduler $$scheduler \
	      --config $(CONFIG) --job-id $(DEMO_JOB_ID) > var/demo/$$file.$$scheduler.sh || exit 1; \
	    bash -n var/demo/$$file.$$scheduler.sh || exit 1; \
	    echo "rendered var/demo/$$file.$$scheduler.sh"; \
	  done; \
	done

## demo-data: the tiny demo references and reads the example requests name (/srv/references/demo_*,
## /data/<group>/demo/); seconds the first time, a no-op while its stamp (var/demo-data.stamp) matches
## Without root (no dev cluster, /srv and /data not writable) or with HPCBRIDGE_DEV_TOOLS=0 (no bwa, samtools,
## salmon) it says so and `make run` goes on; the examples then fail on their missing inputs.
demo-data: cluster build
	@status=0; $(BIN) demo-data --config $(CONFIG) || status=$$?; \
	 if [ $$status != 0 ]; then \
	   if [ "$$(id -u)" != 0 ] || [ "$${HPCBRIDGE_DEV_TOOLS:-1}" = 0 ]; then \
	     echo "make: no demo data (not root, or HPCBRIDGE_DEV_TOOLS=0); the example requests will fail on their missing inputs"; \
	   else exit $$status; fi; \
	 fi

## tokens: one API token per example research group in var/tokens/GROUP.token (kept while still valid)
tokens: build
	@mkdir -p var/tokens && chmod 700 var/tokens
	@for group in cancer_genomics_lab systems_biology_lab; do \
	  file=var/tokens/$$group.token; id=$$(cut -d_ -f2 $$file 2>/dev/null || true); \
	  if [ -z "$$id" ] || ! $(BIN) token list --config $(CONFIG) | awk -F'\t' -v id="$$id" '$$1 == id && $$4 == "-" {found=1} END {exit !found}'; then \
	    (umask 077; $(BIN) token create --group $$group --label quickstart --config $(CONFIG) > $$file) || exit 1; \
	  fi; \
	  echo "token for $$group: $$(cat $$file)   (kept in $$file)"; \
	done

## validate: check config, catalogs and templates
validate: build
	$(BIN) validate --config $(CONFIG)

## golden: regenerate the golden scripts after a deliberate template change (review the diff!)
golden: build
	HPCBRIDGE_UPDATE_GOLDEN=1 $(SWIFT) test --skip-build --filter GoldenScriptTests

## bench: the benchmarks of BENCHMARKS.md against the dev cluster, on a release build; prints Markdown
## tables and writes them with the JSON to var/bench/ (about 25 minutes plus a first release build)
bench: cluster bench-tools
	$(SWIFT) build -c release --product hpcbridge
	$(SWIFT) build -c release --product hpcbridge-bench
	.build/release/hpcbridge-bench --hpcbridge .build/release/hpcbridge

## bench-smoke: the whole harness with a few jobs per contender on the debug build (CI runs it so it
## cannot rot; its numbers mean nothing)
bench-smoke: cluster build bench-tools
	.build/debug/hpcbridge-bench --smoke --hpcbridge .build/debug/hpcbridge

## bench-tools: wrk (HTTP load) and socat (relays wrk's TCP to slurmrestd's unix socket), from Debian
bench-tools:
	@missing=""; for tool in wrk socat; do command -v $$tool > /dev/null || missing="$$missing $$tool"; done; \
	 if [ -n "$$missing" ]; then echo "installing$$missing"; \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing > /tmp/hpcbridge-bench-apt.log 2>&1 \
	   || { apt-get update -q > /dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; }; fi

## reliability: the reliability and security suite of RELIABILITY.md at full size (crash during load with
## 1,000 jobs, a 60 s controller outage, purged jobs, store faults, hostile input, the auth matrix, 64
## clients for 5 minutes); one suite at a time; figures in var/reliability/ (about 10 minutes after the build)
reliability: cluster postgres build reliability-tools
	HPCBRIDGE_RELIABILITY=full $(SWIFT) test --skip-build --no-parallel --filter Reliability

## reliability-fast: the same suites at small sizes (300 jobs, a 20 s outage, 30 s of load): what CI runs
reliability-fast: cluster postgres build reliability-tools
	$(SWIFT) test --skip-build --no-parallel --filter Reliability

## reliability-tools: schemathesis (from PyPI, pinned) in .build/reliability-tools, a Python venv
SCHEMATHESIS_VERSION := 4.32.5
reliability-tools:
	@if ! .build/reliability-tools/bin/schemathesis --version 2> /dev/null | grep -q $(SCHEMATHESIS_VERSION); then \
	   python3 -m venv .build/reliability-tools 2> /dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv > /dev/null; python3 -m venv .build/reliability-tools; }; \
	   .build/reliability-tools/bin/pip install -q schemathesis==$(SCHEMATHESIS_VERSION); fi

## wes-tools: the GA4GH WES community clients the live WES test drives (from PyPI, pinned): wes-service's
## wes-client and ai4gh, in .build/wes-tools, a Python venv
WES_SERVICE_VERSION := 5.0
AI4GH_VERSION := 1.0.0
wes-tools:
	@if [ "$$(.build/wes-tools/bin/pip freeze 2> /dev/null | grep -cxE 'wes-service==$(WES_SERVICE_VERSION)|ai4gh==$(AI4GH_VERSION)')" != 2 ]; then \
	   python3 -m venv .build/wes-tools 2> /dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv > /dev/null; python3 -m venv .build/wes-tools; }; \
	   .build/wes-tools/bin/pip install -q wes-service==$(WES_SERVICE_VERSION) ai4gh==$(AI4GH_VERSION); fi

## ui-tools: what the browser tests of the web pages drive (Tests/ui/browser_flows.py): Debian's chromium and
## chromium-driver (installed when missing, as root), and selenium from PyPI, pinned, in .build/ui-tools
SELENIUM_VERSION := 4.51.0
ui-tools:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	   if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver > /dev/null; \
	   else echo "make: chromium and chromium-driver are missing and this is not root; the browser tests will fail"; fi; fi
	@if [ "$$(.build/ui-tools/bin/pip freeze 2> /dev/null | grep -cx 'selenium==$(SELENIUM_VERSION)')" != 1 ]; then \
	   python3 -m venv .build/ui-tools 2> /dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv > /dev/null; python3 -m venv .build/ui-tools; }; \
	   .build/ui-tools/bin/pip install -q selenium==$(SELENIUM_VERSION); fi

clean:
	rm -rf .build var
