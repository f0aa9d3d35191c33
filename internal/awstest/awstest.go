// Package awstest is a fake of AWS IAM and STS for tests: an httptest
// server speaking their Query API (form-encoded POSTs naming an Action
// and a Version) in AWS's XML wire format, so that the real AWS SDK can
// be pointed at it (BaseEndpoint = Server.URL).
//
// Every request must carry a valid SigV4 signature, which the server
// recomputes with the secret of the access key it issued; a request
// signed with an unknown, deleted or rotated key, with a wrong secret,
// or with a temporary key without its session token is refused with the
// error AWS answers (InvalidClientTokenId, SignatureDoesNotMatch, 403).
//
// The server starts with one IAM user (Config.RootUser) and its access
// key; it tracks users, their access keys, inline and attached policies,
// group memberships and tags, and the temporary credentials STS issued.
// Groups and roles exist only when a test creates them (CreateGroup,
// CreateRole). Inspection methods (UserExists, AccessKeys, User,
// STSCalls) and an admin API (DeleteAccessKey) let tests look behind the
// API. Every method is safe for concurrent use. It is test-only code.
package awstest

import (
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"
)

// Config is the fake's starting state.
type Config struct {
	// Account is the 12-digit account id (default "123456789012").
	Account string
	// RootUser is the name of the IAM user holding the starting key
	// (default "vault-root").
	RootUser string
	// AccessKeyID and SecretAccessKey are the starting key (required).
	AccessKeyID, SecretAccessKey string
	// Now replaces time.Now (signature skew, credential expiry).
	Now func() time.Time
}

// Server is a running fake. URL is its endpoint, for both IAM and STS.
type Server struct {
	URL string

	srv     *httptest.Server
	account string
	now     func() time.Time

	mu       sync.Mutex
	users    map[string]*user
	keys     map[string]*accessKey
	groups   map[string]*group
	roles    map[string]*role // ARN -> role
	stsCalls []STSCall
	refused  []string
}

// user is an IAM user.
type user struct {
	name, id, arn, path, boundary string
	created                       time.Time
	tags                          map[string]string
	inline                        map[string]string // policy name -> document
	attached                      []string          // policy ARNs, in attach order
	groups                        []string          // group names, in join order
}

// accessKey is an IAM user's key or STS temporary credentials (which
// have a session token and an expiry).
type accessKey struct {
	id, secret, userName, status string
	created                      time.Time
	// sessionToken, expires, arn and userID are set for STS keys.
	sessionToken string
	expires      time.Time
	arn, userID  string
	// federated says the key came from GetFederationToken.
	federated bool
}

// role is an IAM role STS can assume.
type role struct {
	name, arn, id, externalID string
	maxSession                time.Duration
}

// New starts a fake with cfg's root user and key. Close it when done.
func New(cfg Config) (*Server, error) {
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, fmt.Errorf("awstest: AccessKeyID and SecretAccessKey are required")
	}
	s := &Server{
		account: cfg.Account, now: cfg.Now,
		users: map[string]*user{}, keys: map[string]*accessKey{},
		groups: map[string]*group{}, roles: map[string]*role{},
	}
	if s.account == "" {
		s.account = "123456789012"
	}
	if s.now == nil {
		s.now = time.Now
	}
	name := cfg.RootUser
	if name == "" {
		name = "vault-root"
	}
	u := s.newUser(name, "/", "")
	s.keys[cfg.AccessKeyID] = &accessKey{id: cfg.AccessKeyID, secret: cfg.SecretAccessKey, userName: u.name, status: "Active", created: s.now()}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) newUser(name, path, boundary string) *user {
	u := &user{
		name: name, id: "AIDA" + randID(17), path: path, boundary: boundary,
		arn: "arn:aws:iam::" + s.account + ":user" + path + name, created: s.now().UTC(),
		tags: map[string]string{}, inline: map[string]string{},
	}
	s.users[name] = u
	return u
}

// The XML namespaces and API versions of the two services.
const (
	iamNS      = "https://iam.amazonaws.com/doc/2010-05-08/"
	iamVersion = "2010-05-08"
	stsNS      = "https://sts.amazonaws.com/doc/2011-06-15/"
	stsVersion = "2011-06-15"
)

// handler serves one action: params are the form values, caller the
// verified key. It answers the Result element's content or an error.
type handler func(s *Server, params url.Values, caller *accessKey) (any, *apiError)

// service is "iam" or "sts" plus its handlers.
type service struct {
	name, ns, version string
	actions           map[string]handler
}

var services = []*service{
	{name: "iam", ns: iamNS, version: iamVersion, actions: iamActions},
	{name: "sts", ns: stsNS, version: stsVersion, actions: stsActions},
}

// maxBody bounds a request body.
const maxBody = 1 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	params, err := url.ParseQuery(string(body))
	if err != nil || r.Method != http.MethodPost {
		writeError(w, iamNS, &apiError{status: http.StatusBadRequest, code: "MalformedQueryString", message: "The query string is malformed."})
		return
	}
	action := params.Get("Action")
	svc, h := lookup(action, params.Get("Version"))
	if h == nil {
		writeError(w, iamNS, &apiError{status: http.StatusBadRequest, code: "InvalidAction", message: "Could not find operation " + action + " for version " + params.Get("Version")})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	caller, aerr := s.verify(r, body, svc.name)
	if aerr == nil {
		var result any
		result, aerr = h(s, params, caller)
		if aerr == nil {
			writeResult(w, svc.ns, action, result)
			return
		}
	}
	s.refused = append(s.refused, aerr.code)
	writeError(w, svc.ns, aerr)
}

// lookup finds the service and handler of an action at a version.
func lookup(action, version string) (*service, handler) {
	for _, svc := range services {
		if h := svc.actions[action]; h != nil && version == svc.version {
			return svc, h
		}
	}
	return nil, nil
}

// apiError is an AWS error answer.
type apiError struct {
	status        int
	code, message string
}

func errMissingAuth() *apiError {
	return &apiError{status: http.StatusForbidden, code: "MissingAuthenticationToken", message: "Request is missing Authentication Token"}
}

func errInvalidToken() *apiError {
	return &apiError{status: http.StatusForbidden, code: "InvalidClientTokenId", message: "The security token included in the request is invalid."}
}

func errSignature(msg string) *apiError {
	return &apiError{status: http.StatusForbidden, code: "SignatureDoesNotMatch", message: msg}
}

func errNoSuchEntity(msg string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "NoSuchEntity", message: msg}
}

func errValidation(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "ValidationError", message: msg}
}

func errConflict(code, msg string) *apiError {
	return &apiError{status: http.StatusConflict, code: code, message: msg}
}

func errAccessDenied(msg string) *apiError {
	return &apiError{status: http.StatusForbidden, code: "AccessDenied", message: msg}
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	NS      string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, ns string, e *apiError) {
	var out xmlErrorResponse
	out.NS, out.RequestID = ns, randUUID()
	out.Error.Type, out.Error.Code, out.Error.Message = "Sender", e.code, e.message
	writeXML(w, e.status, out.RequestID, out)
}

// writeResult writes <ActionResponse><ActionResult>result</ActionResult>
// <ResponseMetadata/></ActionResponse>.
func writeResult(w http.ResponseWriter, ns, action string, result any) {
	type metadata struct {
		RequestID string `xml:"RequestId"`
	}
	type envelope struct {
		XMLName  xml.Name
		NS       string   `xml:"xmlns,attr"`
		Result   any      `xml:",omitempty"`
		Metadata metadata `xml:"ResponseMetadata"`
	}
	id := randUUID()
	out := envelope{XMLName: xml.Name{Local: action + "Response"}, NS: ns, Metadata: metadata{RequestID: id}}
	if result != nil {
		out.Result = wrapped{name: action + "Result", v: result}
	}
	writeXML(w, http.StatusOK, id, out)
}

// wrapped marshals v under another element name.
type wrapped struct {
	name string
	v    any
}

// MarshalXML implements xml.Marshaler.
func (x wrapped) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(x.v, xml.StartElement{Name: xml.Name{Local: x.name}})
}

// writeXML writes v with AWS's request id header.
func writeXML(w http.ResponseWriter, status int, requestID string, v any) {
	buf, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(buf)
}

// randID is n random characters of AWS's id alphabet.
func randID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randSecret is n random characters of AWS's secret alphabet.
func randSecret(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
