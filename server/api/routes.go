package api

import (
	"net/http"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// sysRoutes maps each path bound by a Sys RPC to the HTTP methods it
// accepts, read from the google.api.http options in the proto. Without it
// a wrong method on, say, sys/seal-status would fall through to the Logical
// wildcard; Vault answers 405 instead.
func sysRoutes() map[string]map[string]bool {
	routes := map[string]map[string]bool{}
	methods := pb.File_secretumvault_v1_sys_proto.Services().ByName("Sys").Methods()
	for i := 0; i < methods.Len(); i++ {
		rule, ok := proto.GetExtension(methods.Get(i).Options(), annotations.E_Http).(*annotations.HttpRule)
		if !ok || rule == nil {
			continue
		}
		addRule(routes, rule)
		for _, extra := range rule.GetAdditionalBindings() {
			addRule(routes, extra)
		}
	}
	return routes
}

func addRule(routes map[string]map[string]bool, rule *annotations.HttpRule) {
	method, path := httpRuleBinding(rule)
	if path == "" {
		return
	}
	if routes[path] == nil {
		routes[path] = map[string]bool{}
	}
	routes[path][method] = true
}

func httpRuleBinding(rule *annotations.HttpRule) (method, path string) {
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}
