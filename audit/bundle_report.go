package audit

import (
	"fmt"
	"time"
)

// BundleReason says why VerifyBundle rejected a bundle.
type BundleReason string

// Reasons of a failed bundle verification.
const (
	// BundleModified: a file's SHA-256 or size is not the one manifest.json
	// and SHA256SUMS list (or those two disagree).
	BundleModified BundleReason = "modified"
	// BundleMissing: a file listed is not in the zip.
	BundleMissing BundleReason = "missing"
	// BundleUnlisted: a file in the zip is listed nowhere.
	BundleUnlisted BundleReason = "unlisted"
	// BundleMalformed: a file cannot be read as what it should be (the
	// zip, manifest.json, SHA256SUMS, manifest.sig, the key).
	BundleMalformed BundleReason = "malformed"
	// BundleBadSignature: manifest.sig does not verify with the bundle's
	// key, or is missing while the manifest says it is signed.
	BundleBadSignature BundleReason = "signature"
	// BundleKeyMismatch: the bundle's key is not the pinned key, or not
	// the one manifest.json names.
	BundleKeyMismatch BundleReason = "key"
	// BundleChain: the log lines do not verify (see BundleProblem.Log), or
	// the first line is neither a checkpoint nor the log's first line.
	BundleChain BundleReason = "chain"
	// BundleInconsistent: manifest.json or verification.json says
	// something the files contradict (counts, seqs, the log files).
	BundleInconsistent BundleReason = "inconsistent"
)

// BundleProblem is the first failure VerifyBundle found.
type BundleProblem struct {
	// File is the bundle file at fault (for the chain, the log file).
	File   string
	Reason BundleReason
	// Detail explains, without quoting log content.
	Detail string
	// Log is the log's problem, for BundleChain.
	Log *Problem
}

// String is "FILE: REASON: DETAIL".
func (p *BundleProblem) String() string {
	return fmt.Sprintf("%s: %s: %s", p.File, p.Reason, p.Detail)
}

// BundleReport is the result of VerifyBundle.
type BundleReport struct {
	// OK is true when every check passed.
	OK bool
	// Problem is the first failure, nil when OK.
	Problem *BundleProblem
	// Manifest is manifest.json as read (nil when it could not be).
	Manifest *BundleManifest
	// KeyID names the bundle's key ("" when it could not be read).
	KeyID string
	// Signed: manifest.sig verified with the bundle's key. Pinned: that
	// key is the pin given to VerifyBundle.
	Signed, Pinned bool
	// Slice is the verification of the log lines.
	Slice Report
}

// bundleVerification is verification.json.
type bundleVerification struct {
	Since          time.Time `json:"since"`
	Until          time.Time `json:"until"`
	KeyID          string    `json:"key_id"`
	EntriesInRange int       `json:"entries_in_range"`
	// Log is the verification of the whole log given to the export, Slice
	// that of logs/.
	Log   reportJSON `json:"log"`
	Slice reportJSON `json:"slice"`
}

// reportJSON is a Report with the files and options it was made with.
type reportJSON struct {
	Files            []string     `json:"files"`
	AllowOpenTail    bool         `json:"allow_open_tail"`
	AllowPartialHead bool         `json:"allow_partial_head"`
	AllowUncleanStop bool         `json:"allow_unclean_stop"`
	Prefix           string       `json:"prefix"`
	OK               bool         `json:"ok"`
	Entries          int          `json:"entries"`
	Checkpoints      int          `json:"checkpoints"`
	Unchecked        int          `json:"unchecked_checkpoints"`
	FirstSeq         uint64       `json:"first_seq"`
	LastSeq          uint64       `json:"last_seq"`
	OpenTail         int          `json:"open_tail"`
	Segments         int          `json:"segments"`
	Gaps             int          `json:"gaps"`
	UncleanStops     int          `json:"unclean_stops"`
	Problem          *problemJSON `json:"problem"`
}

// problemJSON is a Problem.
type problemJSON struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// newReportJSON renders a report made with bundleVerifyOptions(prefix),
// as every report of a bundle is.
func newReportJSON(files []string, prefix string, r Report) reportJSON {
	o := bundleVerifyOptions(prefix)
	j := reportJSON{Files: files, AllowOpenTail: o.AllowOpenTail, AllowPartialHead: o.AllowPartialHead,
		AllowUncleanStop: o.AllowUncleanStop, Prefix: prefix, OK: r.OK, Entries: r.Entries,
		Checkpoints: r.Checkpoints, Unchecked: r.Unchecked, FirstSeq: r.FirstSeq, LastSeq: r.LastSeq, OpenTail: r.OpenTail,
		Segments: r.Segments, Gaps: r.Gaps, UncleanStops: r.UncleanStops}
	if p := r.Problem; p != nil {
		j.Problem = &problemJSON{File: p.File, Line: p.Line, Seq: p.Seq, Reason: string(p.Reason), Detail: p.Detail}
	}
	return j
}

// verification is verification.json of the bundle of manifest m.
func (b *bundleWriter) verification(m *BundleManifest) *bundleVerification {
	var logFiles, sliceFiles []string
	for _, s := range b.in.Logs {
		logFiles = append(logFiles, s.Name)
	}
	for _, l := range m.Logs {
		sliceFiles = append(sliceFiles, l.File)
	}
	return &bundleVerification{Since: m.Since, Until: m.Until, KeyID: m.KeyID, EntriesInRange: m.EntriesInRange,
		Log: newReportJSON(logFiles, m.Prefix, b.slice.whole), Slice: newReportJSON(sliceFiles, m.Prefix, b.slice.report)}
}
