# Hailo AI system services: build, test, publish, run, benchmark.
# `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

SERVICES := hailo-ocr
SERVICE ?=
RID ?= linux-x64
CONFIG ?= Release
BUILD := $(CURDIR)/build
MODELS := $(BUILD)/models
PUBLISH := $(BUILD)/publish
DOTNET := dotnet
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

bin = services/$(1)/bin/$(CONFIG)/net10.0/$(1)

.PHONY: help deps build test test-dotnet test-shim test-aot models shim publish publish-all run bench clean

help:
	@echo "make deps        install prerequisites (apt; needs sudo)"
	@echo "make build       build every project ($(CONFIG))"
	@echo "make models      fetch the models the tests and the default config need (sha256-checked) into build/models"
	@echo "make run         run every service whose model is present, in the foreground (SERVICE=hailo-ocr for one)"
	@echo "make test        the whole test suite: .NET tests, native shim tests, Native AOT publish + binary tests"
	@echo "make publish SERVICE=hailo-ocr RID=linux-x64|linux-arm64   Native AOT binary into build/publish/<service>/<rid>"
	@echo "make bench       benchmarks; figures go into each service's README"

deps:
	.ci/install-deps

build:
	$(DOTNET) build hailo.slnx -c $(CONFIG) -warnaserror

shim:
	native-shim/build.sh x64 >/dev/null

models: build
	@for s in $(SERVICES); do $(call bin,$$s) pull --config /dev/null --models-dir $(MODELS); done

test: build models shim test-dotnet test-shim test-aot
	@echo "all tests passed"

test-dotnet:
	HAILO_TEST_MODELS=$(MODELS) $(DOTNET) test hailo.slnx -c $(CONFIG) --no-build --logger "console;verbosity=minimal"

# The shim's ctest suite natively, and cross-built for the Pi (its single-threaded tests run under qemu-user).
test-shim:
	native-shim/build.sh x64 --test
	native-shim/build.sh aarch64 --test

# Native AOT for both architectures with zero trim/AOT warnings, the x64 binary through the process tests,
# the arm64 binary under qemu-user until /health answers with its model loaded.
test-aot:
	@for s in $(SERVICES); do \
	  .ci/publish-check $$s linux-x64 $(PUBLISH); \
	  .ci/publish-check $$s linux-arm64 $(PUBLISH); \
	done
	AOT_BINARY_HAILO_OCR=$(PUBLISH)/hailo-ocr/linux-x64/hailo-ocr HAILO_TEST_MODELS=$(MODELS) \
	  $(DOTNET) test tests/Hailo.Ocr.Tests -c $(CONFIG) --no-build --filter "FullyQualifiedName~ServiceProcessTests" --logger "console;verbosity=minimal"
	.ci/qemu-smoke hailo-ocr $(PUBLISH)/hailo-ocr/linux-arm64 $(MODELS)

publish:
	@test -n "$(SERVICE)" || { echo "name a service: make publish SERVICE=hailo-ocr RID=$(RID)"; exit 2; }
	.ci/publish-check $(SERVICE) $(RID) $(PUBLISH)

publish-all:
	@for s in $(SERVICES); do for r in linux-x64 linux-arm64; do .ci/publish-check $$s $$r $(PUBLISH); done; done

run: build
	.ci/run-services "$(if $(SERVICE),$(SERVICE),$(SERVICES))" $(CONFIG) $(MODELS)

bench: build models shim
	$(DOTNET) run -c $(CONFIG) --project tests/Hailo.Bench -- --repo $(CURDIR) --models $(MODELS) $(if $(SERVICE),--service $(SERVICE),)

clean:
	$(DOTNET) clean hailo.slnx -c $(CONFIG) >/dev/null || true
	rm -rf $(BUILD)/publish $(BUILD)/native-shim
