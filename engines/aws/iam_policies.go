package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// policyDocument is the part of an IAM policy document session policies
// are combined from.
type policyDocument struct {
	Version    string     `json:"Version"`
	Statements statements `json:"Statement"`
}

// statements is a policy's Statement: a list, or one statement.
type statements []any

// UnmarshalJSON implements json.Unmarshaler.
func (st *statements) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case []any:
		*st = x
	case nil:
		*st = nil
	default:
		*st = statements{x}
	}
	return nil
}

// sessionPolicy is the session policy and policy ARNs of STS credentials
// for a role: its own, plus those of its iam_groups (their inline
// policies' statements folded into the document, their managed
// policies appended to the ARNs), as Vault does.
func sessionPolicy(ctx context.Context, c *iam.Client, r *role) (string, []string, error) {
	doc, arns := r.PolicyDocument, append([]string(nil), r.PolicyArns...)
	var docs []string
	for _, g := range r.IAMGroups {
		group := awssdk.String(g)
		attached, err := c.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: group})
		if err != nil {
			return "", nil, awsError("listing attached policies of group "+g, err)
		}
		for _, p := range attached.AttachedPolicies {
			arns = append(arns, awssdk.ToString(p.PolicyArn))
		}
		inline, err := c.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: group})
		if err != nil {
			return "", nil, awsError("listing policies of group "+g, err)
		}
		for _, name := range inline.PolicyNames {
			p, err := c.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: group, PolicyName: awssdk.String(name)})
			if err != nil {
				return "", nil, awsError("getting policy "+name+" of group "+g, err)
			}
			// IAM answers the document URL-encoded.
			d, err := url.QueryUnescape(awssdk.ToString(p.PolicyDocument))
			if err != nil {
				return "", nil, fmt.Errorf("aws: policy %s of group %s: %w", name, g, err)
			}
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return doc, arns, nil
	}
	combined, err := combinePolicies(append(docs, doc)...)
	if err != nil {
		return "", nil, err
	}
	return combined, arns, nil
}

// combinePolicies merges the statements of policy documents into one
// 2012-10-17 document.
func combinePolicies(docs ...string) (string, error) {
	out := policyDocument{Version: "2012-10-17", Statements: statements{}}
	for _, d := range docs {
		if d == "" {
			continue
		}
		var p policyDocument
		if err := json.Unmarshal([]byte(d), &p); err != nil {
			return "", logical.InvalidRequest("iam_groups", "cannot combine policy documents: %s", err.Error())
		}
		out.Statements = append(out.Statements, p.Statements...)
	}
	buf, err := json.Marshal(&out)
	if err != nil {
		return "", fmt.Errorf("aws: combine policies: %w", err)
	}
	return string(buf), nil
}
