package hcl

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// capability bits; capDeny alone means deny.
type capSet uint8

const (
	capCreate capSet = 1 << iota
	capRead
	capUpdate
	capPatch
	capDelete
	capList
	capSudo
	capDeny
)

// capNames lists the capabilities we enforce, in Vault's documentation
// order (the order Rule.Capabilities uses).
var capNames = []struct {
	name string
	bit  capSet
}{
	{"create", capCreate}, {"read", capRead}, {"update", capUpdate}, {"patch", capPatch},
	{"delete", capDelete}, {"list", capList}, {"sudo", capSudo}, {"deny", capDeny},
}

// legacyPolicies maps the old `policy = "..."` form to capabilities
// (OpenBao parsePaths).
var legacyPolicies = map[string]capSet{
	"deny":  capDeny,
	"read":  capRead | capList,
	"write": capCreate | capRead | capUpdate | capDelete | capList,
	"sudo":  capCreate | capRead | capUpdate | capDelete | capList | capSudo,
}

// unenforced are the path keys Vault accepts and we refuse, with why.
var unenforced = map[string]string{
	"allowed_parameters":                  "parameter constraints are not enforced",
	"denied_parameters":                   "parameter constraints are not enforced",
	"required_parameters":                 "parameter constraints are not enforced",
	"min_wrapping_ttl":                    "response wrapping constraints are not enforced",
	"max_wrapping_ttl":                    "response wrapping constraints are not enforced",
	"control_group":                       "control groups are not supported",
	"mfa_methods":                         "MFA methods are not supported",
	"expiration":                          "path expiration is not supported",
	"pagination_limit":                    "list pagination limits are not supported",
	"list_scan_response_keys_filter_path": "list response filters are not supported",
}

func (c capSet) names() []string {
	var out []string
	for _, n := range capNames {
		if c&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// parsePolicy decodes the HCL (or JSON) text of one policy.
func parsePolicy(name, text string) (*Policy, error) {
	file, err := hcl.Parse(text)
	if err != nil {
		return nil, badf(name, "%v", err)
	}
	list, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return nil, badf(name, "does not contain a root object")
	}
	pol := &Policy{Name: name}
	index := map[string]int{}
	for _, item := range list.Items {
		key, err := itemKey(item)
		if err != nil {
			return nil, badf(name, "line %d: %v", line(item), err)
		}
		switch key {
		case "name":
			// Vault's policy name field, overridden by the stored name.
			continue
		case "path":
		default:
			return nil, badf(name, "line %d: invalid key %q", line(item), key)
		}
		r, err := parsePath(item)
		if err != nil {
			return nil, badf(name, "%v", err)
		}
		if i, ok := index[r.Path]; ok {
			pol.Rules[i].caps = merge(pol.Rules[i].caps, r.caps)
			pol.Rules[i].Capabilities = pol.Rules[i].caps.names()
			continue
		}
		index[r.Path] = len(pol.Rules)
		pol.Rules = append(pol.Rules, r)
	}
	return pol, nil
}

// merge is Vault's merge of two rules on the same path: deny absorbs.
func merge(a, b capSet) capSet {
	if (a|b)&capDeny != 0 {
		return capDeny
	}
	return a | b
}

// parsePath decodes one `path "..." { ... }` block.
func parsePath(item *ast.ObjectItem) (Rule, error) {
	if len(item.Keys) != 2 {
		return Rule{}, fmt.Errorf("line %d: a path block needs exactly one path name", line(item))
	}
	raw, err := stringValue(item.Keys[1].Token)
	if err != nil {
		return Rule{}, fmt.Errorf("line %d: path name: %v", line(item), err)
	}
	r := Rule{Line: line(item)}
	at := func(format string, args ...any) error {
		return fmt.Errorf("path %q (line %d): %s", raw, r.Line, fmt.Sprintf(format, args...))
	}
	pat, err := newPattern(raw)
	if err != nil {
		return Rule{}, at("%v", err)
	}
	r.Path, r.pat = pat.text, pat
	obj, ok := item.Val.(*ast.ObjectType)
	if !ok {
		return Rule{}, at("the value must be a block { ... }")
	}
	caps, err := parseBody(obj)
	if err != nil {
		return Rule{}, at("%v", err)
	}
	r.caps, r.Capabilities = caps, caps.names()
	return r, nil
}

// parseBody reads the keys of a path block: capabilities, policy,
// comment; anything else is refused by name.
func parseBody(obj *ast.ObjectType) (capSet, error) {
	var caps, legacy capSet
	seen := map[string]bool{}
	for _, it := range obj.List.Items {
		key, err := itemKey(it)
		if err != nil {
			return 0, err
		}
		if seen[key] {
			return 0, fmt.Errorf("line %d: key %q is set twice", line(it), key)
		}
		seen[key] = true
		switch key {
		case "capabilities":
			if caps, err = parseCapabilities(it); err != nil {
				return 0, err
			}
		case "policy":
			if legacy, err = parseLegacy(it); err != nil {
				return 0, err
			}
		case "comment":
		default:
			if why, ok := unenforced[key]; ok {
				return 0, fmt.Errorf("line %d: key %q: %s", line(it), key, why)
			}
			return 0, fmt.Errorf("line %d: invalid key %q", line(it), key)
		}
	}
	return merge(caps, legacy), nil
}

func parseCapabilities(it *ast.ObjectItem) (capSet, error) {
	lt, ok := it.Val.(*ast.ListType)
	if !ok || len(it.Keys) != 1 {
		return 0, fmt.Errorf("line %d: capabilities must be a list of strings", line(it))
	}
	var caps capSet
	for _, n := range lt.List {
		lit, ok := n.(*ast.LiteralType)
		if !ok {
			return 0, fmt.Errorf("line %d: capabilities must be a list of strings", line(it))
		}
		s, err := stringValue(lit.Token)
		if err != nil {
			return 0, fmt.Errorf("line %d: capabilities: %v", lit.Token.Pos.Line, err)
		}
		i := slices.IndexFunc(capNames, func(c struct {
			name string
			bit  capSet
		}) bool {
			return c.name == s
		})
		if i < 0 {
			return 0, fmt.Errorf("line %d: capability %q is not supported (supported: create, read, update, patch, delete, list, sudo, deny)", lit.Token.Pos.Line, s)
		}
		caps = merge(caps, capNames[i].bit)
	}
	return caps, nil
}

func parseLegacy(it *ast.ObjectItem) (capSet, error) {
	lit, ok := it.Val.(*ast.LiteralType)
	if !ok || len(it.Keys) != 1 {
		return 0, fmt.Errorf("line %d: policy must be a string", line(it))
	}
	s, err := stringValue(lit.Token)
	if err != nil {
		return 0, fmt.Errorf("line %d: policy: %v", line(it), err)
	}
	caps, ok := legacyPolicies[s]
	if !ok {
		return 0, fmt.Errorf("line %d: invalid policy %q (read, write, sudo or deny)", line(it), s)
	}
	return caps, nil
}

// itemKey is the first key of an item (an identifier or a string).
func itemKey(it *ast.ObjectItem) (string, error) {
	if len(it.Keys) == 0 {
		return "", fmt.Errorf("an item without a key")
	}
	t := it.Keys[0].Token
	if t.Type == token.IDENT {
		return t.Text, nil
	}
	return stringValue(t)
}

// stringValue is a string token's value; hcl's Token.Value panics on a
// malformed token, which must not take the server down.
func stringValue(t token.Token) (s string, err error) {
	if t.Type != token.STRING && t.Type != token.HEREDOC {
		return "", fmt.Errorf("%s is not a string", t.Text)
	}
	defer func() {
		if recover() != nil {
			s, err = "", fmt.Errorf("malformed string %s", t.Text)
		}
	}()
	v, ok := t.Value().(string)
	if !ok {
		return "", fmt.Errorf("%s is not a string", t.Text)
	}
	return v, nil
}

func line(it *ast.ObjectItem) int {
	if len(it.Keys) == 0 {
		return 0
	}
	return it.Keys[0].Token.Pos.Line
}
