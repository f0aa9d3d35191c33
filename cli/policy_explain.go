package cli

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// policyExplainCmd is `vaultctl policy explain`.
type policyExplainCmd struct {
	app        *app
	token      string
	accessor   string
	entity     string
	entityID   string
	operation  string
	action     string
	remoteAddr string
	ttl        string
}

func newPolicyExplainCmd(a *app) *cobra.Command {
	c := &policyExplainCmd{app: a}
	cmd := &cobra.Command{
		Use:   "explain [-token T|-accessor A|-entity NAME|-entity-id ID] [-operation OP] PATH",
		Short: "Show why a request is allowed or denied",
		Long: `Asks the server to evaluate the Cedar policies for a request on PATH and
prints the verdict, the reason, the policies that decided it with their
text, the principal and its groups, and any policy evaluation errors.

The principal is the token in use, or the one chosen by -token ("-" reads
it from stdin), -accessor, -entity (an entity name) or -entity-id.
-operation is read, list, create, update, patch or delete (default read);
-action names a Cedar action directly (e.g. generate, sudo). -remote-addr
and -ttl set the request context.

Exit code 0: allowed, 2: denied, 1: error.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	f := cmd.Flags()
	f.StringVar(&c.token, "token", "", "explain for this token (\"-\": read it from stdin)")
	f.StringVar(&c.accessor, "accessor", "", "explain for the token with this accessor")
	f.StringVar(&c.entity, "entity", "", "explain for the entity with this name")
	f.StringVar(&c.entityID, "entity-id", "", "explain for the entity with this id")
	f.StringVar(&c.operation, "operation", "read", "operation: read, list, create, update, patch or delete")
	f.StringVar(&c.action, "action", "", "Cedar action to evaluate instead of the operation's")
	f.StringVar(&c.remoteAddr, "remote-addr", "", "client IP address in the context")
	f.StringVar(&c.ttl, "ttl", "", "requested TTL in the context, e.g. 1h")
	return cmd
}

// explainOperations are the operations the server explains.
var explainOperations = []string{"read", "list", "create", "update", "patch", "delete"}

func (c *policyExplainCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	req, err := c.request(args[0])
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	e, err := cl.Sys().Explain(cmd.Context(), req)
	if err != nil {
		return fmt.Errorf("explaining %s %s: %w", req.Operation, req.Path, err)
	}
	if err := p.print(explainDocument(req, e)); err != nil {
		return err
	}
	if !e.Allowed {
		return &exitError{code: ExitUsage}
	}
	return nil
}

// request builds the explain request from PATH and the flags.
func (c *policyExplainCmd) request(path string) (*client.ExplainRequest, error) {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil, usagef("empty path")
	}
	if err := checkSegments(path); err != nil {
		return nil, err
	}
	op := strings.ToLower(c.operation)
	if !slices.Contains(explainOperations, op) {
		return nil, usagef("-operation %q: want one of %s", c.operation, strings.Join(explainOperations, ", "))
	}
	set := 0
	for _, v := range []string{c.token, c.accessor, c.entity, c.entityID} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return nil, usagef("-token, -accessor, -entity and -entity-id are exclusive: give at most one")
	}
	if c.remoteAddr != "" {
		if _, err := netip.ParseAddr(c.remoteAddr); err != nil {
			return nil, usagef("-remote-addr %q is not an IP address", c.remoteAddr)
		}
	}
	if err := checkDuration(c.ttl); err != nil {
		return nil, err
	}
	tok := c.token
	if tok != "" {
		var err error
		if tok, err = c.app.tokenArg(tok); err != nil {
			return nil, err
		}
	}
	return &client.ExplainRequest{Path: path, Operation: op, Action: c.action, Token: tok, Accessor: c.accessor,
		EntityID: c.entityID, EntityName: c.entity, RemoteAddr: c.remoteAddr, TTL: c.ttl}, nil
}

// explainDocument renders a decision: the verdict and reason first, then
// the Cedar request, the deciding policies with their text, the context
// and the evaluation errors. json and yaml print the server's answer.
func explainDocument(req *client.ExplainRequest, e *client.Explanation) document {
	verdict := "DENIED"
	if e.Allowed {
		verdict = "ALLOWED"
	}
	head := []string{fmt.Sprintf("%s: %s %s", verdict, req.Operation, req.Path)}
	if e.Reason != "" {
		head = append(head, "Reason: "+e.Reason)
	}
	sections := []section{{Text: head}, keyValueSection("", explainFields(e))}
	sections = append(sections, decidingSections(e)...)
	if len(e.Context) > 0 {
		ctx := make([]field, 0, len(e.Context))
		for _, k := range sortedKeys(e.Context) {
			ctx = append(ctx, field{k, e.Context[k]})
		}
		sections = append(sections, keyValueSection("Context", ctx))
	}
	if len(e.Errors) > 0 {
		sections = append(sections, section{Title: "Evaluation errors", Text: e.Errors})
	}
	return document{Value: e, Sections: sections}
}

// explainFields is the Cedar request and the deciding policy ids.
func explainFields(e *client.Explanation) []field {
	deciding := "none (default deny)"
	if e.Allowed || len(e.PolicyIDs) > 0 {
		deciding = strings.Join(e.PolicyIDs, ", ")
	}
	groups := "none"
	if len(e.Groups) > 0 {
		groups = strings.Join(e.Groups, ", ")
	}
	return []field{
		{"principal", orNA(e.Principal)},
		{"groups", groups},
		{"action", orNA(e.Action)},
		{"resource", orNA(e.Resource)},
		{"deciding_policies", deciding},
		{"policies_considered", e.Considered},
	}
}

// decidingSections shows the text of each deciding policy under its id,
// in the order of PolicyIDs (then any other policy the server sent); an
// id the server sent no text for is listed alone.
func decidingSections(e *client.Explanation) []section {
	texts := make(map[string]string, len(e.Policies))
	for _, pol := range e.Policies {
		texts[pol.ID] = pol.Text
	}
	order := make([]string, 0, len(e.PolicyIDs)+len(e.Policies))
	for _, id := range e.PolicyIDs {
		if !slices.Contains(order, id) {
			order = append(order, id)
		}
	}
	for _, pol := range e.Policies {
		if !slices.Contains(order, pol.ID) {
			order = append(order, pol.ID)
		}
	}
	out := make([]section, 0, len(order))
	for _, id := range order {
		lines := textLines(texts[id])
		if lines == nil {
			lines = []string{"(text not returned by the server)"}
		}
		out = append(out, section{Title: "Policy " + id, Text: lines})
	}
	return out
}
