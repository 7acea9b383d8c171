# Convenience targets; each one is a thin wrapper around the npm scripts / tools.
#   make build | test | demo | lint | docs | image

IMAGE   ?= vmware-event-router
VERSION ?= $(shell git describe --tags --always 2>/dev/null || node -p "require('./package.json').version")
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DOCKER  ?= docker

.PHONY: all build test demo lint docs image help

all: build

help:
	@echo "make build   compile to dist/ (npm run build)"
	@echo "make test    run the test suite (npm test)"
	@echo "make demo    run the router against the local simulator (npm run demo)"
	@echo "make lint    eslint and prettier --check"
	@echo "make docs    regenerate config.schema.json, docs/configuration.md and the config validators"
	@echo "make image   build the container image $(IMAGE):$(VERSION), also tagged $(IMAGE):latest (needs a Docker engine)"

build:
	npm run build

test:
	npm test

demo:
	npm run demo

lint:
	npx eslint .
	npx prettier --check .

docs:
	npx tsc -p .
	node dist/scripts/gen-config-schema.js
	node dist/scripts/gen-config-docs.js
	node dist/scripts/gen-config-validator.js

image:
	@if ! command -v $(DOCKER) >/dev/null 2>&1; then \
	  echo "make image: \"$(DOCKER)\" not found. Install Docker (or set DOCKER=podman) to build the image." >&2; exit 1; \
	fi
	@if ! $(DOCKER) info >/dev/null 2>&1; then \
	  echo "make image: no Docker engine is reachable (\"$(DOCKER) info\" failed). Start the engine or set DOCKER_HOST, then run make image again." >&2; exit 1; \
	fi
	$(DOCKER) build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE):latest -t $(IMAGE):$(VERSION) .
