package load

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Sample is one request on an availability timeline: when it happened, as
// an offset from the start of the measured phase, and whether it
// succeeded (got a 2xx answer).
//
// Run stamps a success with the time its answer arrived (the server was
// serving then) and a failure with the time it was sent, so that a run
// that starts against a dead server is unavailable from its first
// request, not from the moment that request timed out.
type Sample struct {
	At time.Duration
	OK bool
}

// Availability summarises the outage windows of a timeline.
//
// An outage window is a stretch with no successful request that holds at
// least one failure: it begins at the last success before a run of
// failures (or at the first failure, when no request succeeded before it)
// and ends at the next success (or at the end of the run, when none came).
// A stall that ends in success is no outage: it shows in the latency
// maximum instead.
type Availability struct {
	// Outages counts the windows longer than the threshold
	// (Config.OutageThreshold).
	Outages int
	// LongestOutage is the length of the longest window; 0 when no request
	// failed.
	LongestOutage time.Duration
	// LongestOutageStart is when the longest window began, as an offset
	// from the start of the measured phase.
	LongestOutageStart time.Duration
	// Recovery is the time from the start of the longest window to the
	// first success after it; 0 when there was no window or no request
	// succeeded after it.
	Recovery time.Duration
	// Recovered is false only when no request succeeded after the longest
	// window began, that is when the run ended inside it.
	Recovered bool
}

// SummarizeAvailability sorts samples in place by time and returns the
// outage windows of the timeline that ends at end (the length of the
// measured phase; a window still open at the last sample lasts until end,
// or until the last sample if that is later).
// Windows longer than threshold are counted in Outages. Samples at the
// same instant are ordered failures first, so a simultaneous success ends
// a window rather than starting one. When several windows are equally
// long, the first one is reported.
func SummarizeAvailability(samples []Sample, end, threshold time.Duration) Availability {
	slices.SortStableFunc(samples, func(a, b Sample) int {
		if c := cmp.Compare(a.At, b.At); c != 0 {
			return c
		}
		return cmp.Compare(boolInt(a.OK), boolInt(b.OK))
	})
	av := Availability{Recovered: true}
	found := false
	record := func(start, stop time.Duration, recovered bool) {
		length := stop - start
		if length > threshold {
			av.Outages++
		}
		if found && length <= av.LongestOutage {
			return
		}
		found = true
		av.LongestOutage, av.LongestOutageStart, av.Recovered = length, start, recovered
		av.Recovery = 0
		if recovered {
			av.Recovery = length
		}
	}
	var (
		lastOK   time.Duration
		seenOK   bool
		inWindow bool
		start    time.Duration
	)
	for _, s := range samples {
		switch {
		case s.OK && inWindow:
			record(start, s.At, true)
			inWindow = false
		case !s.OK && !inWindow:
			inWindow = true
			start = s.At
			if seenOK {
				start = lastOK
			}
		}
		if s.OK {
			lastOK, seenOK = s.At, true
		}
	}
	if inWindow {
		record(start, max(end, samples[len(samples)-1].At), false)
	}
	return av
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// availabilityJSON is Availability's wire form, documented on Report.
type availabilityJSON struct {
	Outages            int     `json:"outages"`
	LongestOutage      float64 `json:"longest_outage_ms"`
	LongestOutageStart float64 `json:"longest_outage_start_ms"`
	Recovery           float64 `json:"recovery_ms"`
	Recovered          bool    `json:"recovered"`
}

// MarshalJSON writes the durations as float milliseconds (see Report).
func (a Availability) MarshalJSON() ([]byte, error) {
	return json.Marshal(availabilityJSON{a.Outages, ms(a.LongestOutage), ms(a.LongestOutageStart), ms(a.Recovery), a.Recovered})
}

// UnmarshalJSON reads the millisecond form written by MarshalJSON.
func (a *Availability) UnmarshalJSON(b []byte) error {
	var j availabilityJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("load: decode availability: %w", err)
	}
	*a = Availability{j.Outages, fromMS(j.LongestOutage), fromMS(j.LongestOutageStart), fromMS(j.Recovery), j.Recovered}
	return nil
}

// formatAvailability is the text report's line for one row, e.g.
// "1 outage(s) > 250ms; longest 1.2s (2.00s..3.20s, recovered)".
func formatAvailability(a Availability, threshold time.Duration) string {
	until := fmt.Sprintf("%.2fs, recovered", (a.LongestOutageStart + a.Recovery).Seconds())
	if !a.Recovered {
		until = "end, not recovered"
	}
	return fmt.Sprintf("%d outage(s) > %s; longest %s (%.2fs..%s)",
		a.Outages, threshold, round(a.LongestOutage), a.LongestOutageStart.Seconds(), until)
}
