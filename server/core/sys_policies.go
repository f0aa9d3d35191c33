package core

import (
	"context"
	"strings"

	"github.com/secretumvault/secretumvault/authz"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// policyPaths are the policy endpoints: Cedar documents
// (sys/policies/cedar/*), Vault ACL policies in HCL (sys/policies/acl/*
// and the legacy sys/policy/*), and the schema.
func (c sysHandlers) policyPaths() []*framework.Path {
	cedar := &policyHandlers{c: c.Core, kind: cedarPolicies}
	acl := &policyHandlers{c: c.Core, kind: aclPolicies}
	nameField := map[string]*framework.FieldSchema{
		"name":   {Type: framework.TypeString, Description: "The policy's name."},
		"policy": {Type: framework.TypeString, Description: "The policy text."},
		"rules":  {Type: framework.TypeString, Description: "The policy text (legacy sys/policy name)."},
	}
	one := func(h *policyHandlers, read framework.OperationHandler) map[logical.Operation]framework.OperationHandler {
		return map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: read, logical.UpdateOperation: h.write, logical.DeleteOperation: h.remove,
		}
	}
	return []*framework.Path{
		{Pattern: "policies/cedar-schema", Operations: readOp(handleCedarSchema), HelpSynopsis: "The Cedar schema policies are validated against."},
		{Pattern: "policies/cedar/?", Operations: listOp(cedar.list), HelpSynopsis: "List the Cedar policies."},
		{Pattern: "policies/cedar/(?P<name>.+)", Fields: nameField, Operations: one(cedar, cedar.read), HelpSynopsis: "Read, write or delete a Cedar policy."},
		{Pattern: "policies/acl/?", Operations: listOp(acl.list), HelpSynopsis: "List the Vault ACL (HCL) policies."},
		{Pattern: "policies/acl/(?P<name>.+)", Fields: nameField, Operations: one(acl, acl.read), HelpSynopsis: "Read, write or delete a Vault ACL (HCL) policy."},
		{Pattern: "policy/?", Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: acl.legacyList, logical.ListOperation: acl.legacyList,
		}, HelpSynopsis: "List the ACL policies (legacy)."},
		{Pattern: "policy/(?P<name>.+)", Fields: nameField, Operations: one(acl, acl.legacyRead), HelpSynopsis: "Read, write or delete an ACL policy (legacy)."},
	}
}

func listOp(h framework.OperationHandler) map[logical.Operation]framework.OperationHandler {
	return map[logical.Operation]framework.OperationHandler{logical.ListOperation: h}
}

func handleCedarSchema(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	return &logical.Response{Data: map[string]any{"schema": authz.Schema()}}, nil
}

// policyHandlers serve one kind of policy.
type policyHandlers struct {
	c    *Core
	kind policyKind
}

func (h *policyHandlers) store() (*policyStore, error) {
	st, err := h.c.state()
	if err != nil {
		return nil, err
	}
	return st.policies, nil
}

// names lists the policies; the ACL list includes root, as Vault's.
func (h *policyHandlers) names() ([]string, error) {
	ps, err := h.store()
	if err != nil {
		return nil, err
	}
	names := ps.names(h.kind)
	if h.kind == aclPolicies {
		names = append(names, rootPolicyName)
	}
	return names, nil
}

func (h *policyHandlers) list(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	names, err := h.names()
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"keys": names}}, nil
}

func (h *policyHandlers) legacyList(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	names, err := h.names()
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"keys": names, "policies": names}}, nil
}

func policyName(d *framework.FieldData) string { return strings.ToLower(d.String("name")) }

func (h *policyHandlers) read(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ps, err := h.store()
	if err != nil {
		return nil, err
	}
	name := policyName(d)
	text, ok := ps.get(h.kind, name)
	if !ok {
		return nil, nil // Vault answers 404 with no body for an unknown policy
	}
	data := map[string]any{"name": name, "policy": text}
	if h.kind == aclPolicies {
		data["cedar"] = ps.compiledACL(name)
	}
	return &logical.Response{Data: data}, nil
}

func (h *policyHandlers) legacyRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	resp, err := h.read(ctx, req, d)
	if err != nil || resp == nil {
		return resp, err
	}
	resp.Data["rules"] = resp.Data["policy"]
	return resp, nil
}

func (h *policyHandlers) write(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ps, err := h.store()
	if err != nil {
		return nil, err
	}
	text := d.String("policy")
	if text == "" {
		text = d.String("rules")
	}
	if err := ps.put(ctx, h.kind, policyName(d), text); err != nil {
		return nil, err
	}
	return nil, nil
}

func (h *policyHandlers) remove(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ps, err := h.store()
	if err != nil {
		return nil, err
	}
	return nil, ps.remove(ctx, h.kind, policyName(d))
}
