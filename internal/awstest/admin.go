package awstest

import (
	"maps"
	"slices"
	"time"
)

// UserInfo is a snapshot of an IAM user.
type UserInfo struct {
	Name, Path, Arn, PermissionsBoundary string
	Tags                                 map[string]string
	// InlinePolicies maps policy names to their documents.
	InlinePolicies map[string]string
	// AttachedPolicies are managed policy ARNs; Groups group names.
	AttachedPolicies, Groups []string
	// AccessKeys are the user's access key ids, oldest first.
	AccessKeys []string
}

// RoleOptions configure a role made by CreateRole.
type RoleOptions struct {
	// ExternalID, when set, must be sent by AssumeRole.
	ExternalID string
	// MaxSessionDuration bounds AssumeRole's DurationSeconds (default 1h).
	MaxSessionDuration time.Duration
}

// CreateGroup makes an IAM group users can be added to and returns its
// ARN. inline maps the names of its inline policies to their documents;
// attached are managed policy ARNs.
func (s *Server) CreateGroup(name string, inline map[string]string, attached ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &group{
		name: name, id: "AGPA" + randID(17), arn: "arn:aws:iam::" + s.account + ":group/" + name,
		created: s.now().UTC(), inline: maps.Clone(inline), attached: slices.Clone(attached),
	}
	if g.inline == nil {
		g.inline = map[string]string{}
	}
	s.groups[name] = g
	return g.arn
}

// CreateRole makes an IAM role anyone may assume and returns its ARN.
func (s *Server) CreateRole(name string, opts RoleOptions) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if opts.MaxSessionDuration == 0 {
		opts.MaxSessionDuration = time.Hour
	}
	arn := "arn:aws:iam::" + s.account + ":role/" + name
	s.roles[arn] = &role{name: name, arn: arn, id: "AROA" + randID(17), externalID: opts.ExternalID, maxSession: opts.MaxSessionDuration}
	return arn
}

// UserExists reports whether the IAM user exists.
func (s *Server) UserExists(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[name] != nil
}

// Users lists the IAM users' names, sorted.
func (s *Server) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.users)
}

// User returns a snapshot of an IAM user.
func (s *Server) User(name string) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[name]
	if u == nil {
		return UserInfo{}, false
	}
	info := UserInfo{
		Name: u.name, Path: u.path, Arn: u.arn, PermissionsBoundary: u.boundary,
		Tags: maps.Clone(u.tags), InlinePolicies: maps.Clone(u.inline),
		AttachedPolicies: slices.Clone(u.attached), Groups: slices.Clone(u.groups),
	}
	for _, k := range s.userKeys(name) {
		info.AccessKeys = append(info.AccessKeys, k.id)
	}
	return info, true
}

// AccessKeys lists a user's IAM access key ids, oldest first.
func (s *Server) AccessKeys(userName string) []string {
	info, _ := s.User(userName)
	return info.AccessKeys
}

// KeyValid reports whether the access key (IAM or STS) would be
// accepted.
func (s *Server) KeyValid(accessKeyID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[accessKeyID]
	return k != nil && k.status == "Active" && (k.sessionToken == "" || s.now().Before(k.expires))
}

// DeleteAccessKey removes a key behind everyone's back, as an operator
// in the AWS console would; false when there was no such key.
func (s *Server) DeleteAccessKey(accessKeyID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[accessKeyID]
	delete(s.keys, accessKeyID)
	return ok
}

// STSCalls lists the successful AssumeRole and GetFederationToken
// calls, oldest first.
func (s *Server) STSCalls() []STSCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stsCalls)
}

// Refused lists the error codes of the requests refused so far, oldest
// first.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refused)
}
