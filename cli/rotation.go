package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

func newRotationCmd(a *app) *cobra.Command {
	return groupCommand("rotation", "Rotation policies: schedules, ages, runs and the CI gate",
		`Works with the server's rotation policies (sys/rotation/*): which secrets
rotate on which cron schedule, how old they may get (max_age, warn_at), and
what happens otherwise (rotate, notify, quarantine).

  rotation list                 list the policies
  rotation status               every matched secret: age, state, next rotation
  rotation run NAME             run a policy now
  rotation history NAME         a policy's runs (rotations, warnings, failures)
  rotation check                exit 1 when a secret is overdue or inside warn_at (CI gate)
  rotation watch                live view of the cluster, these secrets and audit failures

"vaultctl secrets rotate PATH" rotates one secret by hand.`,
		newRotationListCmd(a), newRotationStatusCmd(a), newRotationRunCmd(a), newRotationHistoryCmd(a), newRotationCheckCmd(a), newRotationWatchCmd(a))
}

func newRotationListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List the rotation policies", Args: exactArgs(0),
		Long: `Lists the rotation policies (LIST sys/rotation/policies). Exit code 2 when there are none.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, cl, err := a.session()
			if err != nil {
				return err
			}
			names, err := cl.Rotation().ListPolicies(cmd.Context())
			if err != nil {
				return fmt.Errorf("listing rotation policies: %w", err)
			}
			if len(names) == 0 {
				return noValueAt("sys/rotation/policies")
			}
			return p.print(keysDocument(names))
		},
	}
}

func newRotationStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "status", Short: "Show every matched secret's age and standing", Args: exactArgs(0),
		Long: `Prints every secret a policy matches (GET sys/rotation/status): its policy,
age, max_age, state (ok, warn, overdue, quarantined), when it becomes overdue
and the policy's next scheduled rotation.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, cl, err := a.session()
			if err != nil {
				return err
			}
			st, err := cl.Rotation().Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("reading rotation status: %w", err)
			}
			return p.print(document{Value: st, Sections: []section{statusSection(st.Secrets, true)}})
		},
	}
}

// statusSection renders secrets as a table.
func statusSection(ss []client.SecretRotationStatus, next bool) section {
	h := []string{"Path", "Policy", "State", "Age", "Max age", "Due"}
	if next {
		h = append(h, "Next rotation")
	}
	rows := make([][]string, len(ss))
	for i, s := range ss {
		r := []string{s.Path, s.Policy, s.State, secs(s.Age), secs(s.MaxAge), dash(s.Due)}
		if next {
			r = append(r, dash(s.NextRotation))
		}
		rows[i] = r
	}
	return section{Header: h, Rows: rows}
}

func secs(n int64) string {
	if n == 0 {
		return "-"
	}
	return (time.Duration(n) * time.Second).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newRotationRunCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "run NAME", Short: "Run a rotation policy now", Args: exactArgs(1),
		Long: `Rotates every secret policy NAME matches now (PUT sys/rotation/policies/NAME/run),
fenced like a scheduled slot and audited; "rotation history NAME" shows the
outcome of each secret.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, cl, err := a.session()
			if err != nil {
				return err
			}
			if err := cl.Rotation().Run(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("running rotation policy %s: %w", args[0], err)
			}
			p.success("Success! Ran rotation policy %s", args[0])
			return nil
		},
	}
}

func newRotationHistoryCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "history NAME", Short: "Show a rotation policy's runs", Args: exactArgs(1),
		Long: `Prints policy NAME's recorded runs, oldest first (GET sys/rotation/policies/NAME/history):
time, secret, reason (scheduled, overdue, retry, drift, manual), result
(success, failure, warn, overdue, quarantine, lift, drift), the new version
and any error. Never a secret value.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, cl, err := a.session()
			if err != nil {
				return err
			}
			runs, err := cl.Rotation().History(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("reading the history of rotation policy %s: %w", args[0], err)
			}
			rows := make([][]string, len(runs))
			for i, r := range runs {
				rows[i] = []string{r.Time.UTC().Format(time.RFC3339), r.Path, r.Reason, r.Result, dash(r.Version), dash(r.Error)}
			}
			return p.print(document{Value: runs, Sections: []section{{Header: []string{"Time", "Path", "Reason", "Result", "Version", "Error"}, Rows: rows}}})
		},
	}
}

func newRotationCheckCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "check", Short: "Fail when a secret is overdue or due soon (for CI)", Args: exactArgs(0),
		Long: `The CI gate: exits 0 when no secret any policy matches is past its max_age or
inside its warn_at, and 1 with the list (path, policy, state, age, due)
otherwise. -format=json prints {"ok": bool, "secrets": [...]} with the
offending secrets.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, cl, err := a.session()
			if err != nil {
				return err
			}
			st, err := cl.Rotation().Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("reading rotation status: %w", err)
			}
			var bad []client.SecretRotationStatus
			for _, s := range st.Secrets {
				if s.State != "ok" {
					bad = append(bad, s)
				}
			}
			doc := document{Value: map[string]any{"ok": len(bad) == 0, "secrets": bad}}
			if len(bad) == 0 {
				doc.Sections = []section{{Text: []string{"OK: " + strconv.Itoa(len(st.Secrets)) + " secrets within their rotation policies"}}}
				return p.print(doc)
			}
			doc.Sections = []section{{Text: []string{fmt.Sprintf("%d of %d secrets are overdue or due soon:", len(bad), len(st.Secrets))}}, statusSection(bad, false)}
			if err := p.print(doc); err != nil {
				return err
			}
			return &exitError{code: ExitError}
		},
	}
}

// secretsRotateCmd is `vaultctl secrets rotate`.
func newSecretsRotateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "rotate PATH", Short: "Rotate one secret now", Args: exactArgs(1),
		Long: `Rotates the secret at PATH, its full API path (secret/data/app/db,
database/static-roles/app, transit/keys/app), now (PUT sys/rotation/rotate),
audited, lifting any quarantine. A KV secret needs generator metadata
(rotate_length/rotate_charset, password_policy or rotate_webhook).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, cl, err := a.session()
			if err != nil {
				return err
			}
			path := strings.Trim(args[0], "/")
			r, err := cl.Rotation().Rotate(cmd.Context(), path)
			if err != nil {
				return fmt.Errorf("rotating %s: %w", path, err)
			}
			return p.print(document{Value: r, Sections: []section{keyValueSection("", []field{{"path", r.Path}, {"version", r.Version}, {"rotated_at", r.RotatedAt}})}})
		},
	}
}
