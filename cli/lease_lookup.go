package cli

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// leaseLookupCmd is `vaultctl lease lookup`.
type leaseLookupCmd struct{ app *app }

func newLeaseLookupCmd(a *app) *cobra.Command {
	c := &leaseLookupCmd{app: a}
	return &cobra.Command{
		Use:   "lookup ID",
		Short: "Describe a lease",
		Long: `Describes the lease ID (PUT sys/leases/lookup): when it was issued and last
renewed, when it expires, the time left (ttl) and whether it is renewable.
A lease whose revocation keeps failing also shows irrevocable and the
last error. -format=json prints the lease object ({"id","ttl",...}).`,
		Args: exactArgs(1),
		RunE: c.run,
	}
}

func (c *leaseLookupCmd) run(cmd *cobra.Command, args []string) error {
	id, err := leaseIDArg(args[0])
	if err != nil {
		return err
	}
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	l, err := cl.Sys().LookupLease(cmd.Context(), id)
	if err != nil {
		return fmt.Errorf("looking up lease %s: %w", id, err)
	}
	return p.print(leaseDocument(l))
}

// leaseDocument renders a lease as Vault's key/value table (keys sorted).
func leaseDocument(l *client.Lease) document {
	fields := []field{{"expire_time", timeOrNil(l)}, {"id", l.ID}}
	if l.Irrevocable {
		fields = append(fields, field{"irrevocable", true})
	}
	fields = append(fields, field{"issue_time", formatTime(l.IssueTime)})
	if l.LastError != "" {
		fields = append(fields, field{"last_error", l.LastError})
	}
	var renewal any
	if l.LastRenewal != nil {
		renewal = formatTime(*l.LastRenewal)
	}
	fields = append(fields, field{"last_renewal", renewal}, field{"renewable", l.Renewable}, field{"ttl", humanDuration(l.TTL)})
	return document{Value: l, Sections: []section{keyValueSection("", fields)}}
}

// timeOrNil is the lease's expire time as text, or nil (shown "n/a").
func timeOrNil(l *client.Lease) any {
	if l.ExpireTime == nil {
		return nil
	}
	return formatTime(*l.ExpireTime)
}

// leaseIDArg trims a lease ID argument and refuses an empty one.
func leaseIDArg(arg string) (string, error) {
	id := strings.TrimSpace(arg)
	if id == "" {
		return "", usagef("the lease ID is empty")
	}
	if strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return "", usagef("the lease ID contains control characters")
	}
	return id, nil
}
