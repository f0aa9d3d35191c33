package awstest

import (
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// stsActions are the STS actions the fake serves.
var stsActions = map[string]handler{
	"GetCallerIdentity":  (*Server).getCallerIdentity,
	"AssumeRole":         (*Server).assumeRole,
	"GetFederationToken": (*Server).getFederationToken,
}

// sessionNameRe is STS's RoleSessionName and federated Name syntax.
var sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]+$`)

// STSCall records one successful AssumeRole or GetFederationToken.
type STSCall struct {
	// Action is "AssumeRole" or "GetFederationToken".
	Action string
	// RoleArn, SessionName (RoleSessionName or Name), ExternalID,
	// Policy, PolicyArns and Tags are the request's parameters.
	RoleArn, SessionName, ExternalID, Policy string
	PolicyArns                               []string
	Tags                                     map[string]string
	// Duration is the lifetime granted; AccessKeyID the key issued.
	Duration    time.Duration
	AccessKeyID string
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

// callerIdentity is the account, ARN and user id of a key.
func (s *Server) callerIdentity(k *accessKey) (arn, userID string) {
	if k.sessionToken != "" {
		return k.arn, k.userID
	}
	if u := s.users[k.userName]; u != nil {
		return u.arn, u.id
	}
	return "arn:aws:iam::" + s.account + ":user/" + k.userName, ""
}

func (s *Server) getCallerIdentity(_ url.Values, caller *accessKey) (any, *apiError) {
	arn, id := s.callerIdentity(caller)
	return struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}{arn, id, s.account}, nil
}

// duration parses DurationSeconds within [900s, max] (def when absent).
func duration(p url.Values, def, max time.Duration) (time.Duration, *apiError) {
	raw := p.Get("DurationSeconds")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 900 {
		return 0, errValidation("1 validation error detected: Value '" + raw + "' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
	}
	d := time.Duration(n) * time.Second
	if d > max {
		return 0, errValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return d, nil
}

// issue stores and returns new temporary credentials.
func (s *Server) issue(d time.Duration, arn, userID, owner string, federated bool) *accessKey {
	k := &accessKey{
		id: "ASIA" + randID(16), secret: randSecret(40), sessionToken: "FQoGZXIvYXdzE" + randSecret(200),
		userName: owner, status: "Active", created: s.now().UTC(), expires: s.now().UTC().Add(d).Truncate(time.Second),
		arn: arn, userID: userID, federated: federated,
	}
	s.keys[k.id] = k
	return k
}

func (k *accessKey) credentials() xmlCredentials {
	return xmlCredentials{AccessKeyID: k.id, SecretAccessKey: k.secret, SessionToken: k.sessionToken, Expiration: k.expires.Format(timeFmt)}
}

func (s *Server) assumeRole(p url.Values, caller *accessKey) (any, *apiError) {
	arn, session := p.Get("RoleArn"), p.Get("RoleSessionName")
	callerArn, _ := s.callerIdentity(caller)
	if len(session) < 2 || len(session) > 64 || !sessionNameRe.MatchString(session) {
		return nil, errValidation("1 validation error detected: Value '" + session + "' at 'roleSessionName' failed to satisfy constraint")
	}
	r := s.roles[arn]
	if r == nil || r.externalID != p.Get("ExternalId") {
		return nil, errAccessDenied("User: " + callerArn + " is not authorized to perform: sts:AssumeRole on resource: " + arn)
	}
	d, aerr := duration(p, time.Hour, r.maxSession)
	if aerr != nil {
		return nil, aerr
	}
	roleID := r.id + ":" + session
	k := s.issue(d, "arn:aws:sts::"+s.account+":assumed-role/"+r.name+"/"+session, roleID, "", false)
	s.stsCalls = append(s.stsCalls, STSCall{
		Action: "AssumeRole", RoleArn: arn, SessionName: session, ExternalID: p.Get("ExternalId"),
		Policy: p.Get("Policy"), PolicyArns: members(p, "PolicyArns", "arn"), Tags: tags(p), Duration: d, AccessKeyID: k.id,
	})
	type assumedUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	}
	return struct {
		Credentials     xmlCredentials `xml:"Credentials"`
		AssumedRoleUser assumedUser    `xml:"AssumedRoleUser"`
	}{k.credentials(), assumedUser{roleID, k.arn}}, nil
}

// maxFederation is GetFederationToken's longest lifetime.
const maxFederation = 36 * time.Hour

func (s *Server) getFederationToken(p url.Values, caller *accessKey) (any, *apiError) {
	if caller.sessionToken != "" {
		return nil, errAccessDenied("Cannot call GetFederationToken with session credentials")
	}
	name := p.Get("Name")
	if len(name) < 2 || len(name) > 32 || !sessionNameRe.MatchString(name) {
		return nil, errValidation("1 validation error detected: Value '" + name + "' at 'name' failed to satisfy constraint")
	}
	d, aerr := duration(p, 12*time.Hour, maxFederation)
	if aerr != nil {
		return nil, aerr
	}
	id := s.account + ":" + name
	k := s.issue(d, "arn:aws:sts::"+s.account+":federated-user/"+name, id, caller.userName, true)
	s.stsCalls = append(s.stsCalls, STSCall{
		Action: "GetFederationToken", SessionName: name, Policy: p.Get("Policy"),
		PolicyArns: members(p, "PolicyArns", "arn"), Tags: tags(p), Duration: d, AccessKeyID: k.id,
	})
	type federatedUser struct {
		FederatedUserID string `xml:"FederatedUserId"`
		Arn             string `xml:"Arn"`
	}
	return struct {
		Credentials   xmlCredentials `xml:"Credentials"`
		FederatedUser federatedUser  `xml:"FederatedUser"`
	}{k.credentials(), federatedUser{id, k.arn}}, nil
}
