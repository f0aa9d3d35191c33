package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// clusterView is one frame of the live view of "status -watch" and
// "rotation watch": what the server said at At. A part the server refused
// (no raft storage, a token without sudo, ...) keeps its error and the
// other parts are still shown.
type clusterView struct {
	At       time.Time                     `json:"time"`
	Address  string                        `json:"address"`
	Seal     *client.SealStatus            `json:"seal_status,omitempty"`
	Nodes    []client.RaftPeer             `json:"nodes,omitempty"`
	Rotation *client.RotationStatus        `json:"rotation,omitempty"`
	Audit    map[string]auditDeviceFailure `json:"audit,omitempty"`
	Errors   map[string]string             `json:"errors,omitempty"`
}

// auditDeviceFailure is one audit device's failure count: in total, and
// since the view started.
type auditDeviceFailure struct {
	Failures uint64 `json:"failures"`
	Recent   uint64 `json:"recent"`
}

// Parts of a view, the keys of clusterView.Errors.
const (
	partSeal     = "seal"
	partNodes    = "nodes"
	partRotation = "rotation"
	partAudit    = "audit"
)

// viewSource fetches frames; base holds the audit failure counts of the
// first frame, from which "recent" counts.
type viewSource struct {
	cl      *client.Client
	metrics func(context.Context) (string, error)
	now     func() time.Time
	base    map[string]uint64
}

// fetch builds one frame; it fails only when ctx is done.
func (s *viewSource) fetch(ctx context.Context) (*clusterView, error) {
	v := &clusterView{At: s.now().UTC(), Address: s.cl.Address(), Errors: map[string]string{}}
	note := func(part string, err error) {
		if err != nil {
			v.Errors[part] = err.Error()
		}
	}
	var err error
	v.Seal, err = s.cl.Sys().SealStatus(ctx)
	note(partSeal, err)
	v.Nodes, err = s.cl.Raft().Peers(ctx)
	note(partNodes, err)
	v.Rotation, err = s.cl.Rotation().Status(ctx)
	note(partRotation, err)
	v.Audit, err = s.auditFailures(ctx)
	note(partAudit, err)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if len(v.Errors) == 0 {
		v.Errors = nil
	}
	return v, nil
}

// auditFailures lists the enabled devices with their failure counts from
// the metrics endpoint (secretum_vault_audit_log_failures_total).
func (s *viewSource) auditFailures(ctx context.Context) (map[string]auditDeviceFailure, error) {
	devs, err := s.cl.Sys().ListAudit(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]auditDeviceFailure, len(devs))
	for p := range devs {
		out[devicePath(p)] = auditDeviceFailure{}
	}
	text, err := s.metrics(ctx)
	if err != nil {
		return out, fmt.Errorf("reading metrics: %w", err)
	}
	counts := parseAuditFailures(text)
	if s.base == nil {
		s.base = counts
	}
	for dev, n := range counts {
		out[devicePath(dev)] = auditDeviceFailure{Failures: n, Recent: n - min(n, s.base[dev])}
	}
	return out, nil
}

// devicePath writes an audit device path with one trailing slash, as
// sys/audit lists it.
func devicePath(p string) string { return strings.TrimSuffix(p, "/") + "/" }

// render draws v as lines of at most width columns.
func (v *clusterView) render(width int) []string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, clip(fmt.Sprintf(format, args...), width)) }
	add("SecretumVault %s at %s (q quits)", v.Address, v.At.Format("15:04:05"))
	add("")
	add("Cluster")
	switch {
	case v.Seal != nil:
		add("  initialized %v, sealed %v, storage %s, version %s", v.Seal.Initialized, v.Seal.Sealed, dash(v.Seal.StorageType), dash(v.Seal.Version))
	default:
		add("  seal status: %s", v.Errors[partSeal])
	}
	if e, ok := v.Errors[partNodes]; ok {
		add("  nodes: %s", e)
	}
	for _, tl := range tableLines([]string{"Node", "Address", "Leader", "Voter"}, nodeRows(v.Nodes)) {
		add("  %s", tl)
	}
	add("")
	add("Rotation")
	if e, ok := v.Errors[partRotation]; ok {
		add("  %s", e)
	} else if v.Rotation != nil {
		add("  ok %d, warn %d, overdue %d, quarantined %d", v.Rotation.OK, v.Rotation.Warn, v.Rotation.Overdue, v.Rotation.Quarantined)
		s := statusSection(v.Rotation.Secrets, true)
		for _, tl := range tableLines(s.Header, s.Rows) {
			add("  %s", tl)
		}
	}
	add("")
	add("Audit devices")
	if e, ok := v.Errors[partAudit]; ok {
		add("  %s", e)
	}
	for _, tl := range tableLines([]string{"Device", "Failures", "Since watching"}, auditRows(v.Audit)) {
		add("  %s", tl)
	}
	return lines
}

func nodeRows(nodes []client.RaftPeer) [][]string {
	rows := make([][]string, len(nodes))
	for i, n := range nodes {
		rows[i] = []string{n.NodeID, n.Address, yesNo(n.Leader), yesNo(n.Voter)}
	}
	return rows
}

func auditRows(devs map[string]auditDeviceFailure) [][]string {
	names := make([]string, 0, len(devs))
	for d := range devs {
		names = append(names, d)
	}
	sort.Strings(names)
	rows := make([][]string, len(names))
	for i, d := range names {
		rows[i] = []string{d, fmt.Sprint(devs[d].Failures), fmt.Sprint(devs[d].Recent)}
	}
	return rows
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// tableLines is writeTable's output as lines; none without rows.
func tableLines(header []string, rows [][]string) []string {
	if len(rows) == 0 {
		return nil
	}
	var b strings.Builder
	writeTable(&b, header, rows)
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}

// clip cuts s to width runes (no limit when width <= 0).
func clip(s string, width int) string {
	r := []rune(s)
	if width <= 0 || len(r) <= width {
		return s
	}
	return string(r[:width])
}

// parseAuditFailures reads secretum_vault_audit_log_failures_total{device="..."}
// samples from Prometheus text.
func parseAuditFailures(text string) map[string]uint64 {
	const metric = "secretum_vault_audit_log_failures_total{"
	out := map[string]uint64{}
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, metric)
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		dev := labelValue(labels, "device")
		var f float64
		if _, err := fmt.Sscan(strings.Fields(value)[0], &f); err == nil && dev != "" && f >= 0 {
			out[dev] = uint64(f)
		}
	}
	return out
}

// labelValue finds name="value" in a Prometheus label list.
func labelValue(labels, name string) string {
	_, after, ok := strings.Cut(labels, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}
