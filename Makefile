# SecretumVault build entry points.
#
#   make generate        regenerate the committed Go and OpenAPI code from proto/
#   make check-generate  regenerate and fail when the result differs from git
#   make build           compile every package
#   make test            run the unit tests
#
# Code generation uses Debian's protoc (protobuf-compiler) and plugins built
# at pinned versions into ./bin; google/api/*.proto come from the npm package
# google-proto-files into ./third_party (both directories are git-ignored).

GO     ?= go
PROTOC ?= protoc
NPM    ?= npm

BIN         := $(CURDIR)/bin
THIRD_PARTY := $(CURDIR)/third_party
GOOGLEAPIS  := $(THIRD_PARTY)/googleapis

PROTOC_VERSION             := 3.21.12
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION       := v2.33.0
GOOGLE_PROTO_FILES_VERSION := 6.0.1

PROTO_ROOT  := proto
PROTO_FILES := $(sort $(wildcard $(PROTO_ROOT)/secretumvault/v1/*.proto))
# Services served only on the cluster port (mutual TLS between nodes): Go
# and gRPC code, but no REST gateway and no place in the public OpenAPI.
CLUSTER_PROTO_FILES := $(PROTO_ROOT)/secretumvault/v1/forwarding.proto
API_PROTO_FILES := $(filter-out $(CLUSTER_PROTO_FILES),$(PROTO_FILES))
OPENAPI_DIR := $(PROTO_ROOT)/openapi
GOOGLE_API_PROTOS := google/api/annotations.proto google/api/http.proto google/api/httpbody.proto

PLUGIN_STAMP := $(BIN)/.plugins-$(PROTOC_GEN_GO_VERSION)-$(PROTOC_GEN_GO_GRPC_VERSION)-$(GRPC_GATEWAY_VERSION)
GOOGLEAPIS_STAMP := $(GOOGLEAPIS)/.google-proto-files-$(GOOGLE_PROTO_FILES_VERSION)

.PHONY: all generate check-generate check-protoc plugins googleapis build test vet clean-generated

all: build

build:
	$(GO) build ./...

test:
	$(GO) test ./...

vet:
	$(GO) vet ./...

check-protoc:
	@$(PROTOC) --version | grep -qx 'libprotoc $(PROTOC_VERSION)' || { \
		echo "protoc $(PROTOC_VERSION) required (Debian: apt-get install protobuf-compiler); found: $$($(PROTOC) --version)"; exit 1; }

plugins: $(PLUGIN_STAMP)

$(PLUGIN_STAMP):
	mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	GOBIN=$(BIN) $(GO) install \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION) \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
	rm -f $(BIN)/.plugins-*
	touch $@

googleapis: $(GOOGLEAPIS_STAMP)

# google/api/{annotations,http,httpbody}.proto ship with neither protoc nor
# the gateway module: take them from the npm package and check their hashes.
$(GOOGLEAPIS_STAMP): $(PROTO_ROOT)/googleapis.sha256
	rm -rf $(THIRD_PARTY)/npm $(GOOGLEAPIS)
	mkdir -p $(THIRD_PARTY)/npm $(GOOGLEAPIS)
	cd $(THIRD_PARTY)/npm && $(NPM) pack --silent google-proto-files@$(GOOGLE_PROTO_FILES_VERSION) >/dev/null
	tar -xzf $(THIRD_PARTY)/npm/google-proto-files-$(GOOGLE_PROTO_FILES_VERSION).tgz -C $(THIRD_PARTY)/npm \
		$(addprefix package/,$(GOOGLE_API_PROTOS))
	cp -R $(THIRD_PARTY)/npm/package/google $(GOOGLEAPIS)/
	cd $(GOOGLEAPIS) && sha256sum --quiet -c $(CURDIR)/$(PROTO_ROOT)/googleapis.sha256
	touch $@

generate: check-protoc plugins googleapis
	rm -f $(PROTO_ROOT)/secretumvault/v1/*.pb.go $(PROTO_ROOT)/secretumvault/v1/*.pb.gw.go
	rm -rf $(OPENAPI_DIR)
	mkdir -p $(OPENAPI_DIR)
	$(PROTOC) -I $(PROTO_ROOT) -I $(GOOGLEAPIS) \
		--plugin=protoc-gen-go=$(BIN)/protoc-gen-go \
		--plugin=protoc-gen-go-grpc=$(BIN)/protoc-gen-go-grpc \
		--plugin=protoc-gen-grpc-gateway=$(BIN)/protoc-gen-grpc-gateway \
		--plugin=protoc-gen-openapiv2=$(BIN)/protoc-gen-openapiv2 \
		--go_out=$(PROTO_ROOT) --go_opt=paths=source_relative \
		--go-grpc_out=$(PROTO_ROOT) --go-grpc_opt=paths=source_relative \
		--grpc-gateway_out=$(PROTO_ROOT) --grpc-gateway_opt=paths=source_relative \
		--openapiv2_out=$(OPENAPI_DIR) \
		--openapiv2_opt=allow_merge=true,merge_file_name=secretumvault,json_names_for_fields=false,disable_default_errors=true \
		$(API_PROTO_FILES)
	$(PROTOC) -I $(PROTO_ROOT) \
		--plugin=protoc-gen-go=$(BIN)/protoc-gen-go \
		--plugin=protoc-gen-go-grpc=$(BIN)/protoc-gen-go-grpc \
		--go_out=$(PROTO_ROOT) --go_opt=paths=source_relative \
		--go-grpc_out=$(PROTO_ROOT) --go-grpc_opt=paths=source_relative \
		$(CLUSTER_PROTO_FILES)
	$(GO) test -count=1 ./internal/apidoc -run TestAPIReferenceUpToDate -update

check-generate: generate
	git diff --exit-code -- $(PROTO_ROOT) docs/api-reference.md
	@untracked=$$(git ls-files --others --exclude-standard -- $(PROTO_ROOT)); \
	if [ -n "$$untracked" ]; then echo "untracked generated files: $$untracked"; exit 1; fi

clean-generated:
	rm -f $(PROTO_ROOT)/secretumvault/v1/*.pb.go $(PROTO_ROOT)/secretumvault/v1/*.pb.gw.go
	rm -rf $(OPENAPI_DIR)
