package load

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of one run. Its JSON form (WriteJSON) is stable
// for scripts: durations are float milliseconds, the run time float seconds.
//
// Every Stats carries "availability" (see Availability for the outage
// window), whose names are:
//
//	outages                  windows longer than outage_threshold_ms
//	longest_outage_ms        length of the longest window (0: no failure)
//	longest_outage_start_ms  its start, from the start of the measured phase
//	recovery_ms              its start to the first success after it
//	                         (0 when none came)
//	recovered                false only if the run ended inside it
type Report struct {
	// Workload, ReadPercent (mixed only), Clients and Addrs echo the config.
	Workload    Workload `json:"workload"`
	ReadPercent int      `json:"read_percent,omitempty"`
	Clients     int      `json:"clients"`
	Addrs       []string `json:"addrs"`
	// ElapsedSeconds is the measured phase, setup excluded.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// OutageThresholdMS echoes Config.OutageThreshold in milliseconds: the
	// length an outage window must exceed to count in Availability.Outages.
	OutageThresholdMS float64 `json:"outage_threshold_ms"`
	// Total covers every measured request.
	Total Stats `json:"total"`
	// ByKind has one entry per request kind the workload sent.
	ByKind map[Kind]*Stats `json:"by_kind"`
}

// Stats counts the requests of one kind (or all of them).
type Stats struct {
	// Requests counts every request sent, failed ones included.
	Requests int `json:"requests"`
	// Errors counts requests without a 2xx response.
	Errors int `json:"errors"`
	// ErrorsByStatus splits Errors by HTTP status code ("500") or
	// StatusTransport.
	ErrorsByStatus map[string]int `json:"errors_by_status"`
	// RequestsPerSecond is Requests divided by the elapsed time.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// Latency covers every request that got an HTTP response.
	Latency Latency `json:"latency"`
	// Availability describes the outage windows of these requests'
	// timeline.
	Availability Availability `json:"availability"`
}

// latencyJSON is Latency's wire form.
type latencyJSON struct {
	Min  float64 `json:"min_ms"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

func ms(d time.Duration) float64     { return float64(d) / float64(time.Millisecond) }
func fromMS(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
func (l Latency) toJSON() latencyJSON {
	return latencyJSON{ms(l.Min), ms(l.Mean), ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max)}
}
func (j latencyJSON) toLatency() Latency {
	return Latency{fromMS(j.Min), fromMS(j.Mean), fromMS(j.P50), fromMS(j.P95), fromMS(j.P99), fromMS(j.Max)}
}
func (l Latency) MarshalJSON() ([]byte, error) { return json.Marshal(l.toJSON()) }

// UnmarshalJSON reads the millisecond form written by MarshalJSON.
func (l *Latency) UnmarshalJSON(b []byte) error {
	var j latencyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("load: decode latency: %w", err)
	}
	*l = j.toLatency()
	return nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("load: write json report: %w", err)
	}
	return nil
}

// WriteText writes the report as an aligned table followed by the error
// breakdown and, for every row with errors, its availability line.
func (r *Report) WriteText(w io.Writer) error {
	mix := string(r.Workload)
	if r.Workload == WorkloadMixed {
		mix += fmt.Sprintf(" (%d%% reads)", r.ReadPercent)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "workload %s, %d clients over %d address(es), %.2fs\n", mix, r.Clients, len(r.Addrs), r.ElapsedSeconds)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\trequests\terrors\treq/s\tp50\tp95\tp99\tmax\t")
	rows := []struct {
		name string
		s    *Stats
	}{{"all", &r.Total}}
	for _, k := range slices.Sorted(maps.Keys(r.ByKind)) {
		rows = append(rows, struct {
			name string
			s    *Stats
		}{string(k), r.ByKind[k]})
	}
	for _, row := range rows {
		s := row.s
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t\n", row.name, s.Requests, s.Errors, s.RequestsPerSecond,
			round(s.Latency.P50), round(s.Latency.P95), round(s.Latency.P99), round(s.Latency.Max))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("load: format report: %w", err)
	}
	for _, row := range rows {
		if row.s.Errors > 0 {
			fmt.Fprintf(&b, "errors (%s): %s\n", row.name, formatErrors(row.s.ErrorsByStatus))
		}
	}
	for _, row := range rows {
		if row.s.Errors > 0 {
			fmt.Fprintf(&b, "availability (%s): %s\n", row.name, formatAvailability(row.s.Availability, fromMS(r.OutageThresholdMS)))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("load: write text report: %w", err)
	}
	return nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

func formatErrors(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, " ")
}

// recorder collects one worker's samples; only its worker writes to it.
type recorder struct {
	lat      map[Kind][]time.Duration
	timeline map[Kind][]Sample
	sent     map[Kind]int
	errors   map[Kind]map[string]int
}

// add records one request sent at offset sent from the start of the
// measured phase that took took.
func (r *recorder) add(kind Kind, status int, err error, sent, took time.Duration) {
	if r.sent == nil {
		r.lat = map[Kind][]time.Duration{}
		r.timeline = map[Kind][]Sample{}
		r.sent = map[Kind]int{}
		r.errors = map[Kind]map[string]int{}
	}
	r.sent[kind]++
	if err == nil {
		r.lat[kind] = append(r.lat[kind], took)
	}
	if err == nil && success(status) {
		r.timeline[kind] = append(r.timeline[kind], Sample{At: sent + took, OK: true})
		return
	}
	r.timeline[kind] = append(r.timeline[kind], Sample{At: sent})
	key := StatusTransport
	if err == nil {
		key = strconv.Itoa(status)
	}
	if r.errors[kind] == nil {
		r.errors[kind] = map[string]int{}
	}
	r.errors[kind][key]++
}

// buildReport merges the workers' recorders.
func buildReport(cfg *Config, elapsed time.Duration, workers []*worker) *Report {
	rep := &Report{
		Workload: cfg.Workload, Clients: cfg.Clients, Addrs: cfg.Addrs,
		ElapsedSeconds: elapsed.Seconds(), OutageThresholdMS: ms(cfg.OutageThreshold),
		ByKind: map[Kind]*Stats{},
	}
	if cfg.Workload == WorkloadMixed {
		rep.ReadPercent = cfg.ReadPercent
	}
	var all []time.Duration
	var allTimeline []Sample
	rep.Total.ErrorsByStatus = map[string]int{}
	for _, kind := range []Kind{KindRead, KindWrite} {
		var lat []time.Duration
		var timeline []Sample
		st := &Stats{ErrorsByStatus: map[string]int{}}
		for _, w := range workers {
			lat = append(lat, w.rec.lat[kind]...)
			timeline = append(timeline, w.rec.timeline[kind]...)
			st.Requests += w.rec.sent[kind]
			for code, n := range w.rec.errors[kind] {
				st.ErrorsByStatus[code] += n
				st.Errors += n
				rep.Total.ErrorsByStatus[code] += n
			}
		}
		if st.Requests == 0 {
			continue
		}
		all = append(all, lat...)
		allTimeline = append(allTimeline, timeline...)
		st.Latency = Summarize(lat)
		st.Availability = SummarizeAvailability(timeline, elapsed, cfg.OutageThreshold)
		st.RequestsPerSecond = perSecond(st.Requests, elapsed)
		rep.ByKind[kind] = st
		rep.Total.Requests += st.Requests
		rep.Total.Errors += st.Errors
	}
	rep.Total.Latency = Summarize(all)
	rep.Total.Availability = SummarizeAvailability(allTimeline, elapsed, cfg.OutageThreshold)
	rep.Total.RequestsPerSecond = perSecond(rep.Total.Requests, elapsed)
	return rep
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
