package awstest

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// iamActions are the IAM actions the fake serves.
var iamActions = map[string]handler{
	"CreateUser":                (*Server).createUser,
	"GetUser":                   (*Server).getUser,
	"DeleteUser":                (*Server).deleteUser,
	"TagUser":                   (*Server).tagUser,
	"CreateAccessKey":           (*Server).createAccessKey,
	"DeleteAccessKey":           (*Server).deleteAccessKey,
	"ListAccessKeys":            (*Server).listAccessKeys,
	"PutUserPolicy":             (*Server).putUserPolicy,
	"DeleteUserPolicy":          (*Server).deleteUserPolicy,
	"ListUserPolicies":          (*Server).listUserPolicies,
	"AttachUserPolicy":          (*Server).attachUserPolicy,
	"DetachUserPolicy":          (*Server).detachUserPolicy,
	"ListAttachedUserPolicies":  (*Server).listAttachedUserPolicies,
	"AddUserToGroup":            (*Server).addUserToGroup,
	"RemoveUserFromGroup":       (*Server).removeUserFromGroup,
	"ListGroupsForUser":         (*Server).listGroupsForUser,
	"ListGroupPolicies":         (*Server).listGroupPolicies,
	"GetGroupPolicy":            (*Server).getGroupPolicy,
	"ListAttachedGroupPolicies": (*Server).listAttachedGroupPolicies,
}

var (
	// nameRe is IAM's user, group and policy name syntax.
	nameRe = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	// policyARNRe is a managed policy's ARN.
	policyARNRe = regexp.MustCompile(`^arn:aws:iam::(aws|\d{12}):policy/[\w+=,.@/-]+$`)
)

// maxKeysPerUser is IAM's quota of access keys per user.
const maxKeysPerUser = 2

const timeFmt = "2006-01-02T15:04:05Z"

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlBoundary struct {
	Type string `xml:"PermissionsBoundaryType"`
	Arn  string `xml:"PermissionsBoundaryArn"`
}

type xmlUser struct {
	Path       string       `xml:"Path"`
	UserName   string       `xml:"UserName"`
	UserID     string       `xml:"UserId"`
	Arn        string       `xml:"Arn"`
	CreateDate string       `xml:"CreateDate"`
	Boundary   *xmlBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags       []xmlTag     `xml:"Tags>member,omitempty"`
}

func (u *user) xml() xmlUser {
	out := xmlUser{Path: u.path, UserName: u.name, UserID: u.id, Arn: u.arn, CreateDate: u.created.Format(timeFmt)}
	if u.boundary != "" {
		out.Boundary = &xmlBoundary{Type: "Policy", Arn: u.boundary}
	}
	for _, k := range sortedKeys(u.tags) {
		out.Tags = append(out.Tags, xmlTag{Key: k, Value: u.tags[k]})
	}
	return out
}

type xmlAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate"`
}

// members parses a list parameter: name.member.1.field, name.member.2....
func members(p url.Values, name, field string) []string {
	var out []string
	for i := 1; ; i++ {
		k := name + ".member." + strconv.Itoa(i)
		if field != "" {
			k += "." + field
		}
		if !p.Has(k) {
			return out
		}
		out = append(out, p.Get(k))
	}
}

// tags parses a Tags.member.N.Key/Value list.
func tags(p url.Values) map[string]string {
	keys, vals := members(p, "Tags", "Key"), members(p, "Tags", "Value")
	out := make(map[string]string, len(keys))
	for i, k := range keys {
		if i < len(vals) {
			out[k] = vals[i]
		}
	}
	return out
}

// target is the user a request names, or the caller's user.
func (s *Server) target(p url.Values, caller *accessKey) (*user, *apiError) {
	name := p.Get("UserName")
	if name == "" {
		if caller.sessionToken != "" {
			return nil, errValidation("Must specify userName when calling with non-User credentials")
		}
		name = caller.userName
	}
	u := s.users[name]
	if u == nil {
		return nil, errNoSuchEntity("The user with name " + name + " cannot be found.")
	}
	return u, nil
}

func (s *Server) createUser(p url.Values, _ *accessKey) (any, *apiError) {
	name, path := p.Get("UserName"), p.Get("Path")
	if path == "" {
		path = "/"
	}
	switch {
	case len(name) > 64 || !nameRe.MatchString(name):
		return nil, errValidation("1 validation error detected: Value '" + name + "' at 'userName' failed to satisfy constraint")
	case s.users[name] != nil:
		return nil, errConflict("EntityAlreadyExists", "User with name "+name+" already exists.")
	case p.Get("PermissionsBoundary") != "" && !policyARNRe.MatchString(p.Get("PermissionsBoundary")):
		return nil, &apiError{status: 400, code: "InvalidInput", message: "ARN " + p.Get("PermissionsBoundary") + " is not valid."}
	}
	u := s.newUser(name, path, p.Get("PermissionsBoundary"))
	u.tags = tags(p)
	return struct {
		User xmlUser `xml:"User"`
	}{u.xml()}, nil
}

func (s *Server) getUser(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	return struct {
		User xmlUser `xml:"User"`
	}{u.xml()}, nil
}

func (s *Server) deleteUser(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	switch {
	case len(s.userKeys(u.name)) > 0:
		return nil, errConflict("DeleteConflict", "Cannot delete entity, must delete access keys first.")
	case len(u.inline) > 0 || len(u.attached) > 0:
		return nil, errConflict("DeleteConflict", "Cannot delete entity, must delete policies first.")
	case len(u.groups) > 0:
		return nil, errConflict("DeleteConflict", "Cannot delete entity, must remove users from group first.")
	}
	delete(s.users, u.name)
	return nil, nil
}

func (s *Server) tagUser(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	for k, v := range tags(p) {
		u.tags[k] = v
	}
	return nil, nil
}

// userKeys are the IAM (not STS) keys of a user, oldest first.
func (s *Server) userKeys(name string) []*accessKey {
	var out []*accessKey
	for _, k := range s.keys {
		if k.userName == name && k.sessionToken == "" {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.Before(out[j].created)
		}
		return out[i].id < out[j].id
	})
	return out
}

func (s *Server) createAccessKey(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	if len(s.userKeys(u.name)) >= maxKeysPerUser {
		return nil, errConflict("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
	}
	k := &accessKey{id: "AKIA" + randID(16), secret: randSecret(40), userName: u.name, status: "Active", created: s.now().UTC()}
	s.keys[k.id] = k
	return struct {
		AccessKey xmlAccessKey `xml:"AccessKey"`
	}{xmlAccessKey{UserName: u.name, AccessKeyID: k.id, Status: k.status, SecretAccessKey: k.secret, CreateDate: k.created.Format(timeFmt)}}, nil
}

func (s *Server) deleteAccessKey(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	id := p.Get("AccessKeyId")
	if k := s.keys[id]; k == nil || k.userName != u.name || k.sessionToken != "" {
		return nil, errNoSuchEntity("The Access Key with id " + id + " cannot be found.")
	}
	delete(s.keys, id)
	return nil, nil
}

func (s *Server) listAccessKeys(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	type result struct {
		Keys        []xmlAccessKey `xml:"AccessKeyMetadata>member"`
		IsTruncated bool           `xml:"IsTruncated"`
	}
	var out result
	for _, k := range s.userKeys(u.name) {
		out.Keys = append(out.Keys, xmlAccessKey{UserName: u.name, AccessKeyID: k.id, Status: k.status, CreateDate: k.created.Format(timeFmt)})
	}
	return out, nil
}

func (s *Server) putUserPolicy(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	name, doc := p.Get("PolicyName"), p.Get("PolicyDocument")
	if !nameRe.MatchString(name) {
		return nil, errValidation("1 validation error detected: Value '" + name + "' at 'policyName' failed to satisfy constraint")
	}
	if !json.Valid([]byte(doc)) {
		return nil, &apiError{status: 400, code: "MalformedPolicyDocument", message: "Syntax errors in policy."}
	}
	u.inline[name] = doc
	return nil, nil
}

func (s *Server) deleteUserPolicy(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	name := p.Get("PolicyName")
	if _, ok := u.inline[name]; !ok {
		return nil, errNoSuchEntity("The user policy with name " + name + " cannot be found.")
	}
	delete(u.inline, name)
	return nil, nil
}

func (s *Server) listUserPolicies(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	return struct {
		Names       []string `xml:"PolicyNames>member"`
		IsTruncated bool     `xml:"IsTruncated"`
	}{Names: sortedKeys(u.inline)}, nil
}

func (s *Server) attachUserPolicy(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	arn := p.Get("PolicyArn")
	if !policyARNRe.MatchString(arn) {
		return nil, &apiError{status: 400, code: "InvalidInput", message: "ARN " + arn + " is not valid."}
	}
	if !slices.Contains(u.attached, arn) {
		u.attached = append(u.attached, arn)
	}
	return nil, nil
}

func (s *Server) detachUserPolicy(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	arn := p.Get("PolicyArn")
	i := slices.Index(u.attached, arn)
	if i < 0 {
		return nil, errNoSuchEntity("Policy " + arn + " was not found.")
	}
	u.attached = slices.Delete(u.attached, i, i+1)
	return nil, nil
}

func (s *Server) listAttachedUserPolicies(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	return attachedPolicies(u.attached), nil
}

// attachedPolicy is one member of a List*AttachedPolicies answer.
type attachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

// attachedPolicies is the answer of ListAttachedUserPolicies and
// ListAttachedGroupPolicies for arns.
func attachedPolicies(arns []string) any {
	var out struct {
		Policies    []attachedPolicy `xml:"AttachedPolicies>member"`
		IsTruncated bool             `xml:"IsTruncated"`
	}
	for _, arn := range arns {
		out.Policies = append(out.Policies, attachedPolicy{PolicyName: arn[strings.LastIndexByte(arn, '/')+1:], PolicyArn: arn})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
