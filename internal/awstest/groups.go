package awstest

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// group is an IAM group with its policies.
type group struct {
	name, id, arn string
	created       time.Time
	inline        map[string]string // policy name -> document
	attached      []string          // policy ARNs
}

// group finds a group by name.
func (s *Server) group(name string) (*group, *apiError) {
	g := s.groups[name]
	if g == nil {
		return nil, errNoSuchEntity("The group with name " + name + " cannot be found.")
	}
	return g, nil
}

func (s *Server) addUserToGroup(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	name := p.Get("GroupName")
	if _, err := s.group(name); err != nil {
		return nil, err
	}
	if !slices.Contains(u.groups, name) {
		u.groups = append(u.groups, name)
	}
	return nil, nil
}

func (s *Server) removeUserFromGroup(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	name := p.Get("GroupName")
	if _, err := s.group(name); err != nil {
		return nil, err
	}
	i := slices.Index(u.groups, name)
	if i < 0 {
		return nil, errNoSuchEntity("The user with name " + u.name + " is not in group " + name + ".")
	}
	u.groups = slices.Delete(u.groups, i, i+1)
	return nil, nil
}

func (s *Server) listGroupsForUser(p url.Values, caller *accessKey) (any, *apiError) {
	u, err := s.target(p, caller)
	if err != nil {
		return nil, err
	}
	type xmlGroup struct {
		Path       string `xml:"Path"`
		GroupName  string `xml:"GroupName"`
		GroupID    string `xml:"GroupId"`
		Arn        string `xml:"Arn"`
		CreateDate string `xml:"CreateDate"`
	}
	type result struct {
		Groups      []xmlGroup `xml:"Groups>member"`
		IsTruncated bool       `xml:"IsTruncated"`
	}
	var out result
	for _, g := range u.groups {
		grp := s.groups[g]
		out.Groups = append(out.Groups, xmlGroup{Path: "/", GroupName: g, GroupID: grp.id, Arn: grp.arn, CreateDate: grp.created.Format(timeFmt)})
	}
	return out, nil
}

func (s *Server) listGroupPolicies(p url.Values, _ *accessKey) (any, *apiError) {
	g, err := s.group(p.Get("GroupName"))
	if err != nil {
		return nil, err
	}
	return struct {
		Names       []string `xml:"PolicyNames>member"`
		IsTruncated bool     `xml:"IsTruncated"`
	}{Names: sortedKeys(g.inline)}, nil
}

// getGroupPolicy answers the document URL-encoded (RFC 3986), as IAM
// does.
func (s *Server) getGroupPolicy(p url.Values, _ *accessKey) (any, *apiError) {
	g, err := s.group(p.Get("GroupName"))
	if err != nil {
		return nil, err
	}
	name := p.Get("PolicyName")
	doc, ok := g.inline[name]
	if !ok {
		return nil, errNoSuchEntity("The group policy with name " + name + " cannot be found.")
	}
	return struct {
		GroupName      string `xml:"GroupName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{g.name, name, strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")}, nil
}

func (s *Server) listAttachedGroupPolicies(p url.Values, _ *accessKey) (any, *apiError) {
	g, err := s.group(p.Get("GroupName"))
	if err != nil {
		return nil, err
	}
	return attachedPolicies(g.attached), nil
}
