package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

func newPolicyCmd(a *app) *cobra.Command {
	return groupCommand("policy", "Manage Cedar and Vault HCL policies, and explain decisions",
		`Authorization is Cedar. Policies are written either in Cedar or as Vault HCL
ACL policies, which the server compiles to Cedar.

  policy write NAME FILE|-         upload a policy (*.cedar or *.hcl, or -type)
  policy read NAME [-cedar]        print a policy (-cedar: the Cedar an HCL policy compiles to)
  policy list                      list the policies of both kinds
  policy delete NAME               delete a policy
  policy schema                    print the Cedar schema policies are validated against
  policy explain PATH              show why a request is allowed or denied
  policy capabilities PATH...      show a token's capabilities on paths
  policy convert FILE.hcl          print the Cedar equivalent of an HCL policy

-type cedar|hcl chooses the kind; without it, read and delete find the one
policy of that name.`,
		newPolicyWriteCmd(a), newPolicyReadCmd(a), newPolicyListCmd(a), newPolicyDeleteCmd(a),
		newPolicySchemaCmd(a), newPolicyExplainCmd(a), newPolicyCapabilitiesCmd(a), newPolicyConvertCmd(a))
}

// Policy kinds as the CLI names them (-type and output).
const (
	kindCedar = "cedar"
	kindHCL   = "hcl"
)

// bindPolicyType adds the -type flag.
func bindPolicyType(cmd *cobra.Command, kind *string) {
	cmd.Flags().StringVar(kind, "type", "", "policy kind: cedar or hcl (Vault ACL)")
}

// parseKind checks a -type value; "" stays "" (unspecified), "acl" is hcl.
func parseKind(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case kindCedar:
		return kindCedar, nil
	case kindHCL, "acl":
		return kindHCL, nil
	}
	return "", usagef("-type %q: want cedar or hcl", s)
}

// kindOfFile chooses the kind of a policy file: the -type flag, else the
// file extension.
func kindOfFile(flag, file string) (string, error) {
	kind, err := parseKind(flag)
	if err != nil || kind != "" {
		return kind, err
	}
	if file == "-" {
		return "", usagef("reading the policy from stdin: say which kind it is with -type cedar or -type hcl")
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".cedar":
		return kindCedar, nil
	case ".hcl":
		return kindHCL, nil
	}
	return "", usagef("cannot tell the kind of policy in %q: name the file *.cedar or *.hcl, or pass -type cedar or -type hcl", file)
}

// storedPolicy is one policy as the CLI shows it.
type storedPolicy struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Policy string `json:"policy"`
	// Cedar is the compiled Cedar of an HCL policy ("" for a Cedar one).
	Cedar string `json:"cedar,omitempty"`
}

// getPolicy reads the policy name of kind; ok is false when there is none.
func getPolicy(ctx context.Context, sys *client.Sys, kind, name string) (sp *storedPolicy, ok bool, err error) {
	switch kind {
	case kindCedar:
		p, err := sys.GetCedarPolicy(ctx, name)
		if err != nil {
			return nil, false, notFoundOK(err)
		}
		return &storedPolicy{Name: p.Name, Type: kindCedar, Policy: p.Policy}, true, nil
	default:
		p, err := sys.GetACLPolicy(ctx, name)
		if err != nil {
			return nil, false, notFoundOK(err)
		}
		return &storedPolicy{Name: p.Name, Type: kindHCL, Policy: p.Policy, Cedar: p.Cedar}, true, nil
	}
}

// notFoundOK turns a not-found error into nil.
func notFoundOK(err error) error {
	if errors.Is(err, client.ErrNotFound) {
		return nil
	}
	return err
}

// findPolicy reads the policy name of kind, or, when kind is "", the one
// policy of either kind with that name. No such policy is Vault's "no
// value" answer (exit code 2); a name used by both kinds needs -type.
func findPolicy(ctx context.Context, sys *client.Sys, kind, name string) (*storedPolicy, error) {
	kinds := []string{kind}
	if kind == "" {
		kinds = []string{kindCedar, kindHCL}
	}
	var found []*storedPolicy
	for _, k := range kinds {
		sp, ok, err := getPolicy(ctx, sys, k, name)
		if err != nil {
			return nil, fmt.Errorf("reading policy %s: %w", name, err)
		}
		if ok {
			found = append(found, sp)
		}
	}
	switch len(found) {
	case 0:
		return nil, &exitError{code: ExitUsage, msg: "No policy named " + name}
	case 1:
		return found[0], nil
	}
	return nil, usagef("there are both a Cedar and an HCL policy named %q: choose one with -type cedar or -type hcl", name)
}

// policySession is how the policy commands that name a -type start: the
// printer, then each NAME argument checked, the -type kind (kindFlag,
// "" when unspecified) and the sys/ helpers of the client, in this order.
func (a *app) policySession(kindFlag string, names ...string) (*printer, string, *client.Sys, error) {
	p, err := a.printer()
	if err != nil {
		return nil, "", nil, err
	}
	for _, name := range names {
		if err := checkPolicyNameArg(name); err != nil {
			return nil, "", nil, err
		}
	}
	kind, err := parseKind(kindFlag)
	if err != nil {
		return nil, "", nil, err
	}
	cl, err := a.client()
	if err != nil {
		return nil, "", nil, err
	}
	return p, kind, cl.Sys(), nil
}

// checkPolicyNameArg refuses names the server could not address.
func checkPolicyNameArg(name string) error {
	if name == "" || strings.TrimSpace(name) != name || strings.ContainsAny(name, "/?#") || name == "." || name == ".." {
		return usagef("invalid policy name %q", name)
	}
	return nil
}

// textLines splits text into lines for table output, without a trailing
// empty line.
func textLines(text string) []string {
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}
