# Hailo AI system services: build, test, publish, run, benchmark.
# `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

SERVICES := hailo-ocr hailo-pose hailo-depth hailo-whisper hailo-ollama hailo-piper hailo-clip hailo-scrfd hailo-face hailo-florence hailo-vision hailo-portal
# Native AOT command-line tools under services/ that are not services: published like one (make publish SERVICE=hailoctl),
# packaged in hailo-common.
TOOLS := hailoctl
SERVICE ?=
RID ?= linux-x64
CONFIG ?= Release
BUILD := $(CURDIR)/build
MODELS := $(BUILD)/models
PUBLISH := $(BUILD)/publish
# Packaging: .debs for amd64 and arm64 (or ARCH=) of every service (or SERVICE=) and hailo-common.
ARCH ?=
DEB_VERSION ?= $(shell sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
DEBS := $(BUILD)/deb
APT_REPO := $(BUILD)/apt-repo
DOTNET := dotnet
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

bin = services/$(1)/bin/$(CONFIG)/net10.0/$(1)

# Benchmarks of shared libraries (make bench SERVICE=media): figures into the library's README.
LIBRARY_BENCHES := npu-binding media kv-cache depth-stereo

ifneq ($(filter-out $(SERVICES) $(if $(filter publish deb,$(MAKECMDGOALS)),$(TOOLS)) $(if $(filter bench,$(MAKECMDGOALS)),$(LIBRARY_BENCHES)),$(SERVICE)),)
$(error unknown SERVICE=$(SERVICE); the services are: $(SERVICES))
endif

# Targets that need the .NET SDK check for it first, and say how to get it.
need-dotnet:
	@command -v $(DOTNET) >/dev/null 2>&1 || { echo "make: the .NET 10 SDK is not installed; run: .ci/install-deps" >&2; exit 1; }
	@$(DOTNET) --list-sdks 2>/dev/null | grep -q '^1[0-9]\.' || { echo "make: the .NET 10 SDK is not installed ($$($(DOTNET) --list-sdks 2>/dev/null | tail -1 | cut -d' ' -f1) is too old); run: .ci/install-deps" >&2; exit 1; }

need-models:
	@test -d $(MODELS) || { echo "make: no models in $(MODELS); run: make models" >&2; exit 1; }

.PHONY: help deps build test test-dotnet test-shell test-shim test-aot test-deb models shim publish publish-all deb apt-repo run bench clean need-dotnet need-models

help:
	@echo "make help        this list"
	@echo "make deps        install the prerequisites and the .NET 10 SDK (.ci/install-deps; as root, or asks sudo)"
	@echo "make build       build every project ($(CONFIG))"
	@echo "make models      each service's default model where its host answers (sha256-checked), into build/models; a one-line reason where not"
	@echo "make run         run every service in the foreground, with its model or degraded, and print their table (SERVICE=hailo-ocr for one)"
	@echo "make test        the whole test suite: .NET tests, shell tests, native shim tests, Native AOT publish + binary tests, packages"
	@echo "make test-dotnet the .NET tests"
	@echo "make test-shell  the shell tests: install-deps' decisions, make's targets and errors, the README's examples against make run"
	@echo "make test-fuzz   15 s of mutated requests per endpoint family against the service processes"
	@echo "make test-shim   the native shim's ctest suite, natively and cross-built for arm64 under qemu-user, and its real backend compiled against HailoRT's headers"
	@echo "make test-aot    Native AOT publish of every service for both architectures, the binaries through their tests"
	@echo "make test-deb    the packages: lintian, arm64 under qemu-user, amd64 under systemd on Debian 12 and 13"
	@echo "make shim        build the native shim (x64)"
	@echo "make publish SERVICE=hailo-ocr RID=linux-x64|linux-arm64   Native AOT binary into build/publish/<service>/<rid> (SERVICE=hailoctl: the management tool)"
	@echo "make publish-all every service and hailoctl for both architectures"
	@echo "make bench       benchmarks and the load test; figures go into each service's README (SERVICE=hailo-ocr for one; SERVICE=media|npu-binding|kv-cache: a shared library's)"
	@echo "make fuzz        long fuzzing (FUZZ_SECONDS=600 per family; FUZZ_FAMILY=, FUZZ_SEED=, FUZZ_REPLAY=file.req)"
	@echo "make soak        memory: RSS after SOAK_REQUESTS=500 requests against RSS after the model loaded, per service (SOAK_AOT=1: the AOT binaries; SOAK_SETTLE=1: after the idle follow-up passes); then all services at once for FLEET_SECONDS=600 (FLEET_DEVICE=npu: on the shim's fake NPU; FLEET_RATE=R: each client at most R requests/s)"
	@echo "make fleet-npu   every service at once on the shim's fake NPU (one shared device, hailo-ollama and hailo-vision taking turns with its KV cache) for FLEET_SECONDS=45 (SOAK_AOT=1: the AOT binaries)"
	@echo "make deb [SERVICE=hailo-ocr] [ARCH=amd64|arm64]   .debs (with hailo-common) into build/deb"
	@echo "make apt-repo    every package of both architectures as a signed apt repository in build/apt-repo"
	@echo "make clean       remove build outputs (keeps build/models)"

deps:
	.ci/install-deps

build: need-dotnet
	$(DOTNET) build hailo.slnx -c $(CONFIG) -warnaserror

shim:
	native-shim/build.sh x64 >/dev/null

models: build
	@.ci/models $(CONFIG) $(MODELS) $(if $(SERVICE),$(SERVICE),$(SERVICES))

# Each part in turn, with the time it took (a part's failure stops the run).
TEST_PARTS := test-dotnet test-shell test-fuzz test-shim test-aot test-deb
test: build models shim
	@times=(); for t in $(TEST_PARTS); do \
	  s=$$(date +%s); $(MAKE) --no-print-directory $$t; times+=(" $$t $$(( $$(date +%s) - s )) s"); \
	  echo "make test: $$t passed in $$(( $$(date +%s) - s )) s"; \
	done; (IFS=,; echo "all tests passed (times:$${times[*]})")

# The projects run side by side and a failure scrolls away under the others' summaries: on failure the failed tests
# and their messages are printed again at the end.
TEST_DOTNET = HAILO_TEST_MODELS=$(MODELS) $(DOTNET) test hailo.slnx -c $(CONFIG) --no-build --logger "console;verbosity=minimal"
test-dotnet: need-dotnet need-models
	@mkdir -p build; echo '$(TEST_DOTNET)'
	@$(TEST_DOTNET) 2>&1 | tee build/test-dotnet.log || { echo "test-dotnet: these tests failed:"; \
	  awk '/^  Failed /{p=1; n=0; t=0} p{print; n++; if (/Stack Trace:/) t=n; if (n >= 24 || (t && n - t >= 4)) p=0}' build/test-dotnet.log; \
	  grep '^  Failed ' build/test-dotnet.log | sed 's/^  Failed /test-dotnet: failed: /'; exit 1; }

# install-deps' decisions, make's targets against `make help` and the README, and every README example marked
# "tested" against the services as `make run` starts them (the built binaries and build/models).
test-shell: need-dotnet need-models
	tests/shell/install-deps.sh
	tests/shell/make-targets.sh
	tests/shell/readme-examples.sh $(CONFIG) $(MODELS)
	tests/shell/haproxy.sh $(CONFIG) $(MODELS)

# The shim's ctest suite natively, and cross-built for the Pi (its single-threaded tests run under qemu-user);
# then the real HailoRT backend compiled against HailoRT's public headers of each version, for both architectures.
test-shim:
	native-shim/build.sh x64 --test
	native-shim/build.sh aarch64 --test
	native-shim/check-hailort.sh

# Native AOT for both architectures with zero trim/AOT warnings, each x64 binary through its service's process
# tests (tests/Hailo.<Name>.Tests, binary named by AOT_BINARY_HAILO_<NAME>), then all of them at once under a
# mixed load (Hailo.Fuzz fleet: no 5xx, no process lost, /health 200 after; RSS flatness is judged in make soak's 600 s; its table in build/fleet/report.md),
# and again on the shim's fake NPU with hailo-ollama and hailo-vision taking turns with its KV cache (table in build/fleet/report-npu.md). The arm64 binaries run under qemu-user
# in test-deb, as their packages install them (.ci/deb-qemu), rather than twice.
test-aot: need-dotnet need-models
	@for s in $(SERVICES) $(TOOLS); do .ci/publish-both $$s $(PUBLISH); done
	@echo "hailoctl: process tests of the Native AOT binary (tests/Hailo.Ctl.Tests)"
	@AOT_BINARY_HAILOCTL=$(PUBLISH)/hailoctl/linux-x64/hailoctl $(DOTNET) test tests/Hailo.Ctl.Tests -c $(CONFIG) --no-build \
	  --filter "FullyQualifiedName~ProcessTests" --logger "console;verbosity=minimal"
	@for s in $(SERVICES); do \
	  name=$${s#hailo-}; var=AOT_BINARY_$$(echo $$s | tr a-z- A-Z_); \
	  proj=tests/Hailo.$${name^}.Tests; [ ! -d tests/Hailo.$${name^}Service.Tests ] || proj=tests/Hailo.$${name^}Service.Tests; \
	  echo "$$s: process tests of the Native AOT binary ($$proj)"; \
	  env $$var=$(PUBLISH)/$$s/linux-x64/$$s HAILO_TEST_MODELS=$(MODELS) \
	    $(DOTNET) test $$proj -c $(CONFIG) --no-build --filter "FullyQualifiedName~ServiceProcessTests" --logger "console;verbosity=minimal"; \
	done
	@env $(AOT_BINARIES) $(FUZZ) fleet --seconds $(or $(FLEET_SECONDS),45) --report $(BUILD)/fleet/report.md
	@env $(AOT_BINARIES) $(FUZZ) fleet --device npu --seconds $(or $(FLEET_NPU_SECONDS),300) --rate 2 --report $(BUILD)/fleet/report-npu.md

# Mutated requests against every service process (tests/Hailo.Fuzz): no 5xx but 503 + Retry-After, every 4xx a JSON
# error of its family, the process alive and /health 200 at the end. FUZZ_SEED= replays a run, FUZZ_FAMILY=ollama
# picks families, FUZZ_REPLAY=build/fuzz/ollama/x.req sends one saved input; findings go to build/fuzz.
.PHONY: fuzz test-fuzz soak fleet-npu
FUZZ_SECONDS ?= 600
FUZZ = HAILO_TEST_MODELS=$(MODELS) $(DOTNET) run --no-build -c $(CONFIG) --project tests/Hailo.Fuzz --
fuzz: need-dotnet build models
	$(FUZZ) $(if $(FUZZ_REPLAY),replay $(FUZZ_REPLAY),fuzz --seconds $(FUZZ_SECONDS)) $(if $(FUZZ_FAMILY),--family $(FUZZ_FAMILY),)

# CI's bounded fuzz: 20 s per family, from a fixed seed so that a run is repeatable (the same sequence of inputs,
# as far as 20 s reach); `make fuzz` takes a new seed each time to explore.
test-fuzz: need-dotnet need-models
	$(FUZZ) fuzz --seconds 15 --seed $(or $(FUZZ_SEED),1)

# RSS after SOAK_REQUESTS well-formed requests ≤ 1.3 × RSS right after the model loaded, per service, both measured
# with the service idle (it gives memory back 2 s after its last request). SOAK_AOT=1 measures the Native AOT binaries
# in build/publish (what the packages ship; make publish-all first) instead of the JIT build. SOAK_SETTLE=1 takes both
# measures after the idle follow-up passes too (about 100 s each): what stays once the shared array pool let go.
# Then every service at once under a mixed load for FLEET_SECONDS (600; test-aot runs 45 s on the CPU, unjudged, and a
# paced 300 s soak on the fake NPU whose RSS flatness is judged, FLEET_NPU_SECONDS); FLEET_DEVICE=npu
# runs that on the shim's fake NPU (the services with an NPU path on one shared fake device, the others on the CPU).
SOAK_REQUESTS ?= 500
AOT_BINARIES = $(foreach s,$(SERVICES),AOT_BINARY_$(subst -,_,$(shell echo $(s) | tr a-z A-Z))=$(PUBLISH)/$(s)/linux-x64/$(s))
soak: need-dotnet build models
	env $(if $(filter 1,$(SOAK_AOT)),$(AOT_BINARIES),) SOAK_SETTLE=$(SOAK_SETTLE) $(FUZZ) memory --requests $(SOAK_REQUESTS) $(if $(FUZZ_FAMILY),--family $(FUZZ_FAMILY),)
	env $(if $(filter 1,$(SOAK_AOT)),$(AOT_BINARIES),) $(FUZZ) fleet --device $(or $(FLEET_DEVICE),cpu) --seconds $(or $(FLEET_SECONDS),600) \
	  --report $(BUILD)/fleet/report$(if $(filter npu,$(FLEET_DEVICE)),-npu,).md

# Every service at once on the shim's fake NPU for FLEET_SECONDS (45): host RSS per service with the weights on the
# module (the fake allocates none of HailoRT's buffers), the KV-cache hand-offs between hailo-ollama and hailo-vision.
fleet-npu: need-dotnet build
	env $(if $(filter 1,$(SOAK_AOT)),$(AOT_BINARIES),) $(FUZZ) fleet --device npu --seconds $(or $(FLEET_SECONDS),45) --report $(BUILD)/fleet/report-npu.md

publish: need-dotnet
	@test -n "$(SERVICE)" || { echo "name a service: make publish SERVICE=hailo-ocr RID=$(RID)"; exit 2; }
	.ci/publish-check $(SERVICE) $(RID) $(PUBLISH)

publish-all: need-dotnet
	@for s in $(SERVICES) $(TOOLS); do .ci/publish-both $$s $(PUBLISH); done

# hailo-common (with hailoctl), then each service from its Native AOT publish (re-published first unless DEB_REUSE_PUBLISH=1
# and the binary is there), for each architecture. debian/README.md describes the packaging. SERVICE=hailoctl: hailo-common only.
deb: need-dotnet
	@for a in $(if $(ARCH),$(ARCH),amd64 arm64); do \
	  case $$a in amd64) rid=linux-x64 shim=x64 ;; arm64) rid=linux-arm64 shim=aarch64 ;; \
	    *) echo "ARCH=$$a: packages are built for amd64 and arm64" >&2; exit 2 ;; esac; \
	  native-shim/build.sh $$shim >/dev/null; \
	  for t in $(TOOLS); do \
	    if [ "$(DEB_REUSE_PUBLISH)" != 1 ] || [ ! -x $(PUBLISH)/$$t/$$rid/$$t ]; then .ci/publish-check $$t $$rid $(PUBLISH); fi; \
	  done; \
	  debian/build-deb hailo-common $$a $(DEB_VERSION) $(DEBS); \
	  for s in $(filter $(SERVICES),$(if $(SERVICE),$(SERVICE),$(SERVICES))); do \
	    if [ "$(DEB_REUSE_PUBLISH)" != 1 ] || [ ! -x $(PUBLISH)/$$s/$$rid/$$s ]; then .ci/publish-check $$s $$rid $(PUBLISH); fi; \
	    debian/build-deb $$s $$a $(DEB_VERSION) $(DEBS); \
	  done; \
	done

# A signed flat apt repository of every package, the metapackage hailo-ai-services (every service) and
# hailo-archive-keyring, which installs the signing key:
#   deb [signed-by=/usr/share/keyrings/hailo-archive-keyring.gpg] file:$(APT_REPO) ./
# The key: APT_SIGN_KEY (in your GnuPG keyring), or a throwaway key made once in build/apt-key (debian/repo-key).
apt-repo:
	$(MAKE) --no-print-directory deb SERVICE= ARCH=
	debian/repo-key export $(DEBS)/hailo-archive-keyring.gpg
	KEYRING=$(DEBS)/hailo-archive-keyring.gpg debian/build-deb hailo-archive-keyring all $(DEB_VERSION) $(DEBS)
	SERVICES="$(SERVICES)" debian/build-deb hailo-ai-services all $(DEB_VERSION) $(DEBS)
	debian/build-repo $(APT_REPO) $(foreach p,hailo-archive-keyring hailo-ai-services,$(DEBS)/$(p)_$(DEB_VERSION)_all.deb) \
	  $(foreach p,hailo-common $(SERVICES),$(foreach a,amd64 arm64,$(DEBS)/$(p)_$(DEB_VERSION)_$(a).deb))

# The packages: lintian and contents for both architectures, each arm64 service binary from its .deb under
# qemu-user, and the amd64 packages under a real systemd in systemd-nspawn containers of Debian 12 and 13
# (.ci/deb-e2e; the second run reuses the upgrade build of the first).
test-deb: need-dotnet need-models
	$(MAKE) --no-print-directory apt-repo DEB_REUSE_PUBLISH=1
	.ci/deb-lint $(DEBS) $(DEB_VERSION) hailo-archive-keyring hailo-ai-services hailo-common $(SERVICES)
	@for s in $(SERVICES); do .ci/deb-qemu $(DEBS)/$${s}_$(DEB_VERSION)_arm64.deb $(MODELS); done
	.ci/deb-e2e $(DEBS) $(DEB_VERSION) $(APT_REPO) $(MODELS) bookworm
	.ci/deb-e2e $(DEBS) $(DEB_VERSION) $(APT_REPO) $(MODELS) trixie

run: build models
	.ci/run-services "$(if $(SERVICE),$(SERVICE),$(SERVICES))" $(CONFIG) $(MODELS)

bench: build models shim
	@case "$(SERVICE)" in ""|hailo-depth|depth-stereo) /usr/bin/python3 -c 'import cv2' 2>/dev/null || echo "make bench: python3-opencv is missing: the stereo rows show ours without OpenCV's StereoSGBM beside it (install it: apt-get install python3-opencv; not in .ci/install-deps, it brings Qt, GStreamer and VTK)" >&2;; esac
	$(DOTNET) run -c $(CONFIG) --project tests/Hailo.Bench -- --repo $(CURDIR) --models $(MODELS) $(if $(SERVICE),--service $(SERVICE),)

clean:
	$(DOTNET) clean hailo.slnx -c $(CONFIG) >/dev/null || true
	rm -rf $(BUILD)/publish $(BUILD)/native-shim $(DEBS) $(APT_REPO) $(BUILD)/deb-e2e
