# hpcbridge: the two quick-start commands are `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/debug/hpcbridge
CONFIG ?= config/hpcbridge.yaml
DEMO_JOB_ID := 0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10

.PHONY: all build test run validate golden clean cluster

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

## test: the full test suite (what README and CI run); brings up the dev cluster first
test: cluster build
	$(SWIFT) test --skip-build

## run: bring up the dev cluster, check the example config and render the seed examples into var/demo/
run: cluster build
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

## validate: check config, catalogs and templates
validate: build
	$(BIN) validate --config $(CONFIG)

## golden: regenerate the golden scripts after a deliberate template change (review the diff!)
golden: build
	HPCBRIDGE_UPDATE_GOLDEN=1 $(SWIFT) test --skip-build --filter GoldenScriptTests

clean:
	rm -rf .build var
