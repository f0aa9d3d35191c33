package passwordpolicy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// ruleBody is the block of one charset rule, found but not yet decoded.
type ruleBody struct {
	obj   *ast.ObjectType
	where string
}

// parseText reads the length and the rules of a policy; build checks them.
func parseText(text string) (int, []parsedRule, error) {
	file, err := parseHCL(text)
	if err != nil {
		return 0, nil, err
	}
	list, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return 0, nil, invalid("the policy is not an HCL object")
	}
	length, haveLength := 0, false
	var bodies []ruleBody
	for _, item := range list.Items {
		where := whereItem(item)
		key, err := firstKey(item)
		if err != nil {
			return 0, nil, invalid("key%s: %v", where, err)
		}
		switch {
		case strings.EqualFold(key, "length"):
			if haveLength {
				return 0, nil, invalid("length%s: set more than once", where)
			}
			if length, err = lengthValue(item); err != nil {
				return 0, nil, invalid("length%s: %v", where, err)
			}
			haveLength = true
		case strings.EqualFold(key, "rule"):
			found, err := findRules(item.Keys[1:], item.Val, where)
			if err != nil {
				return 0, nil, err
			}
			bodies = append(bodies, found...)
		default:
			return 0, nil, invalid("unknown key %q%s: a policy has only length and rule", key, where)
		}
	}
	if !haveLength {
		return 0, nil, invalid("length is required")
	}
	rules := make([]parsedRule, len(bodies))
	for i, b := range bodies {
		if rules[i], err = decodeCharset(b); err != nil {
			return 0, nil, invalid("rule %d%s: %v", i+1, b.where, err)
		}
	}
	return length, rules, nil
}

// parseHCL parses text as HCL or JSON. hcl is old code; a panic on odd
// input becomes an error rather than taking the server down.
func parseHCL(text string) (f *ast.File, err error) {
	defer func() {
		if recover() != nil {
			f, err = nil, invalid("malformed HCL")
		}
	}()
	f, err = hcl.Parse(text)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return f, nil
}

// lengthValue reads `length = N`.
func lengthValue(item *ast.ObjectItem) (int, error) {
	if len(item.Keys) != 1 {
		return 0, errors.New("must be a number, not a block")
	}
	return intValue(item.Val)
}

// findRules collects the charset blocks of one top-level `rule` item,
// which HCL and JSON spell in several shapes: `rule "charset" { ... }`,
// `rule { charset { ... } }`, and JSON's `"rule": [{"charset": [{...}]}]`.
func findRules(labels []*ast.ObjectKey, val ast.Node, where string) ([]ruleBody, error) {
	if len(labels) > 0 {
		return typedRule(labels, val, where)
	}
	switch v := val.(type) {
	case *ast.ObjectType:
		var out []ruleBody
		for _, inner := range v.List.Items {
			found, err := typedRule(inner.Keys, inner.Val, whereItem(inner))
			if err != nil {
				return nil, err
			}
			out = append(out, found...)
		}
		return out, nil
	case *ast.ListType:
		var out []ruleBody
		for _, elem := range v.List {
			found, err := findRules(nil, elem, whereNode(elem))
			if err != nil {
				return nil, err
			}
			out = append(out, found...)
		}
		return out, nil
	default:
		return nil, invalid("rule%s: must be a block", where)
	}
}

// typedRule checks the rule type label and returns the block it labels.
func typedRule(labels []*ast.ObjectKey, val ast.Node, where string) ([]ruleBody, error) {
	if len(labels) == 0 {
		return nil, invalid("rule%s: needs a type, as in rule \"charset\" { ... }", where)
	}
	typ, err := keyText(labels[0])
	if err != nil {
		return nil, invalid("rule type%s: %v", where, err)
	}
	if typ != "charset" {
		return nil, invalid("unknown rule type %q%s: only \"charset\" is supported", typ, where)
	}
	if len(labels) > 1 {
		return nil, invalid("rule \"charset\"%s: takes exactly one label", where)
	}
	obj, ok := val.(*ast.ObjectType)
	if list, isList := val.(*ast.ListType); isList && len(list.List) == 1 {
		obj, ok = list.List[0].(*ast.ObjectType)
	}
	if !ok {
		return nil, invalid("rule \"charset\"%s: must be a single block { ... }", where)
	}
	return []ruleBody{{obj: obj, where: where}}, nil
}

// decodeCharset reads the keys of one charset block.
func decodeCharset(b ruleBody) (parsedRule, error) {
	r := parsedRule{where: b.where}
	seen := map[string]bool{}
	for _, item := range b.obj.List.Items {
		where := whereItem(item)
		key, err := firstKey(item)
		if err != nil {
			return r, fmt.Errorf("key%s: %v", where, err)
		}
		name := strings.ToLower(key)
		if len(item.Keys) != 1 {
			return r, fmt.Errorf("%q%s: must be a value, not a block", key, where)
		}
		if seen[name] {
			return r, fmt.Errorf("%s%s: set more than once", name, where)
		}
		seen[name] = true
		switch name {
		case "charset":
			s, err := stringValue(item.Val)
			if err != nil {
				return r, fmt.Errorf("charset%s: %v", where, err)
			}
			if !utf8.ValidString(s) {
				return r, fmt.Errorf("charset%s: not valid UTF-8", where)
			}
			r.charset = []rune(s)
		case "min-chars":
			if r.min, err = intValue(item.Val); err != nil {
				return r, fmt.Errorf("min-chars%s: %v", where, err)
			}
		default:
			return r, fmt.Errorf("unknown key %q%s: a charset rule has only charset and min-chars", key, where)
		}
	}
	if !seen["charset"] {
		return r, errors.New("charset is required")
	}
	return r, nil
}

// intValue reads a whole number literal.
func intValue(n ast.Node) (int, error) {
	lit, ok := n.(*ast.LiteralType)
	if !ok {
		return 0, errors.New("must be a whole number")
	}
	switch lit.Token.Type {
	case token.NUMBER:
		v, err := strconv.ParseInt(lit.Token.Text, 0, 32)
		if err != nil {
			return 0, fmt.Errorf("%s is not a usable whole number", lit.Token.Text)
		}
		return int(v), nil
	case token.FLOAT:
		return 0, fmt.Errorf("must be a whole number, not %s", lit.Token.Text)
	default:
		return 0, fmt.Errorf("must be a whole number, not %s", lit.Token.Type)
	}
}

// stringValue reads a string (or heredoc) literal.
func stringValue(n ast.Node) (string, error) {
	lit, ok := n.(*ast.LiteralType)
	if !ok {
		return "", errors.New("must be a string")
	}
	return tokenString(lit.Token)
}

// firstKey is the name of an item's first key.
func firstKey(item *ast.ObjectItem) (string, error) {
	if len(item.Keys) == 0 {
		return "", errors.New("an item without a key")
	}
	return keyText(item.Keys[0])
}

// keyText is the text of a key, bare or quoted.
func keyText(k *ast.ObjectKey) (string, error) {
	if k.Token.Type == token.IDENT {
		return k.Token.Text, nil
	}
	return tokenString(k.Token)
}

// tokenString is a string token's value. hcl's Token.Value panics on a
// malformed token; that becomes an error.
func tokenString(t token.Token) (s string, err error) {
	if t.Type != token.STRING && t.Type != token.HEREDOC {
		return "", fmt.Errorf("must be a string, not %s", t.Type)
	}
	defer func() {
		if recover() != nil {
			s, err = "", errors.New("malformed string")
		}
	}()
	s, ok := t.Value().(string)
	if !ok {
		return "", errors.New("must be a string")
	}
	return s, nil
}

// whereItem locates an item for error messages. JSON keys carry no
// position, so their `:` does.
func whereItem(item *ast.ObjectItem) string {
	if len(item.Keys) > 0 && item.Keys[0].Token.Pos.IsValid() {
		return at(item.Keys[0].Token.Pos)
	}
	if item.Assign.IsValid() {
		return at(item.Assign)
	}
	return whereNode(item.Val)
}

// whereNode locates a node for error messages.
func whereNode(n ast.Node) string {
	if n == nil {
		return ""
	}
	return at(n.Pos())
}

// at renders a position as " (line L, column C)", or "" if unknown.
func at(p token.Pos) string {
	if !p.IsValid() {
		return ""
	}
	return fmt.Sprintf(" (line %d, column %d)", p.Line, p.Column)
}
