package awstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The parts of a SigV4 Authorization header.
type sigHeader struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	// maxSkew is how far a request's X-Amz-Date may be from the server's
	// clock, as AWS allows.
	maxSkew = 15 * time.Minute
)

// parseAuthorization splits "AWS4-HMAC-SHA256 Credential=AKID/20260101/
// us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex".
func parseAuthorization(v string) (sigHeader, bool) {
	var h sigHeader
	rest, ok := strings.CutPrefix(v, sigAlgorithm+" ")
	if !ok {
		return h, false
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return h, false
		}
		switch k {
		case "Credential":
			f := strings.Split(val, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return h, false
			}
			h.accessKeyID, h.date, h.region, h.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			h.signedHeaders = strings.Split(val, ";")
		case "Signature":
			h.signature = val
		}
	}
	return h, h.accessKeyID != "" && len(h.signedHeaders) > 0 && h.signature != ""
}

// canonicalRequest is SigV4's canonical form of r with the given body.
func canonicalRequest(r *http.Request, signed []string, body []byte) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path + "\n")
	b.WriteString(canonicalQuery(r.URL.RawQuery) + "\n")
	for _, name := range signed {
		b.WriteString(name + ":" + headerValue(r, name) + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n")
	sum := sha256.Sum256(body)
	b.WriteString(hex.EncodeToString(sum[:]))
	return b.String()
}

// canonicalQuery sorts the query's already-encoded pairs.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	pairs := strings.Split(raw, "&")
	for i, p := range pairs {
		if !strings.Contains(p, "=") {
			pairs[i] = p + "="
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

// headerValue is the canonical value of a signed header.
func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if v := r.Header.Get("Content-Length"); v != "" {
			return v
		}
		return strconv.FormatInt(r.ContentLength, 10)
	}
	vals := r.Header.Values(name)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

// signature computes the SigV4 signature of a canonical request.
func signature(secret string, h sigHeader, amzDate, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	scope := h.date + "/" + h.region + "/" + h.service + "/aws4_request"
	toSign := sigAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+secret), h.date)
	k = hmacSHA256(k, h.region)
	k = hmacSHA256(k, h.service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// verify authenticates r (whose body has been read into body) as AWS
// does for service, answering the caller's key or the error AWS sends.
// The caller holds s.mu.
func (s *Server) verify(r *http.Request, body []byte, service string) (*accessKey, *apiError) {
	h, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return nil, errMissingAuth()
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFmt, amzDate)
	if err != nil || h.date != amzDate[:8] {
		return nil, errSignature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.")
	}
	if d := s.now().Sub(t); d > maxSkew || d < -maxSkew {
		return nil, errSignature("Signature expired: " + amzDate + " is now earlier or later than the allowed skew.")
	}
	if h.service != service {
		return nil, errSignature("Credential should be scoped to correct service: '" + service + "'.")
	}
	if !slices.Contains(h.signedHeaders, "host") || !slices.IsSorted(h.signedHeaders) {
		return nil, errSignature("'Host' must be a signed header and the signed headers must be sorted.")
	}
	key := s.keys[h.accessKeyID]
	if key == nil || key.status != "Active" {
		return nil, errInvalidToken()
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if key.sessionToken != token || (token != "" && !slices.Contains(h.signedHeaders, "x-amz-security-token")) {
		return nil, errInvalidToken()
	}
	if key.sessionToken != "" && !s.now().Before(key.expires) {
		return nil, &apiError{status: http.StatusForbidden, code: "ExpiredToken", message: "The security token included in the request is expired"}
	}
	if sha := r.Header.Get("X-Amz-Content-Sha256"); sha != "" {
		sum := sha256.Sum256(body)
		if sha != hex.EncodeToString(sum[:]) {
			return nil, errSignature("The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	want := signature(key.secret, h, amzDate, canonicalRequest(r, h.signedHeaders, body))
	if !hmac.Equal([]byte(want), []byte(h.signature)) {
		return nil, errSignature("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return key, nil
}
