package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/vpncheck/vpncheck/checker/org"
)

// ram calls RAM (2015-05-01) in one account.
type ram struct {
	c       org.Caller
	account string // for messages: "" is the management account
}

// call calls one RAM action with query parameters q. A NoPermission answer
// names the action the caller lacks.
func (r ram) call(ctx context.Context, action string, q map[string]string, out any) error {
	params := &openapiutil.Params{
		Action: tea.String(action), Version: tea.String("2015-05-01"),
		Protocol: tea.String("HTTPS"), Pathname: tea.String("/"), Method: tea.String("POST"),
		AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}
	query := map[string]*string{}
	for k, v := range q {
		query[k] = tea.String(v)
	}
	res, err := r.c.CallAPI(ctx, params, &openapiutil.OpenApiRequest{Query: query})
	if err != nil {
		return permission("ram:"+action, err)
	}
	if out == nil {
		return nil
	}
	b, err := json.Marshal(res["body"])
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// ErrNoPermission is wrapped when the caller lacks a permission.
var ErrNoPermission = errors.New("no permission")

// permission turns a NoPermission (or Forbidden*) answer into an error
// that names the missing action.
func permission(action string, err error) error {
	var ae *org.APIError
	if errors.As(err, &ae) && (ae.Code == "NoPermission" || ae.Code == "Forbidden.RAM" || ae.Code == "Forbidden.NoPermission") {
		return fmt.Errorf("%w: the identity running vpncheck lacks %s (%v)", ErrNoPermission, action, err)
	}
	return err
}

func apiCode(err error) string {
	var ae *org.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

type roleInfo struct {
	Arn   string `json:"Arn"`
	Trust string `json:"AssumeRolePolicyDocument"`
}

// getRole returns the role, or nil when it does not exist.
func (r ram) getRole(ctx context.Context, name string) (*roleInfo, error) {
	var out struct {
		Role roleInfo `json:"Role"`
	}
	err := r.call(ctx, "GetRole", map[string]string{"RoleName": name}, &out)
	if apiCode(err) == "EntityNotExist.Role" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get role %s: %w", name, err)
	}
	return &out.Role, nil
}

func (r ram) createRole(ctx context.Context, name, trust, description string) error {
	err := r.call(ctx, "CreateRole", map[string]string{"RoleName": name, "AssumeRolePolicyDocument": trust, "Description": description}, nil)
	if apiCode(err) == "EntityAlreadyExists.Role" {
		// Created since we looked (or by another run): its trust is
		// checked on the next run.
		return nil
	}
	if err != nil {
		return fmt.Errorf("create role %s: %w", name, err)
	}
	return nil
}

func (r ram) updateTrust(ctx context.Context, name, trust string) error {
	if err := r.call(ctx, "UpdateRole", map[string]string{"RoleName": name, "NewAssumeRolePolicyDocument": trust}, nil); err != nil {
		return fmt.Errorf("update the trust policy of role %s: %w", name, err)
	}
	return nil
}

// getPolicy returns the custom policy's default document, found false when
// the policy does not exist.
func (r ram) getPolicy(ctx context.Context, name string) (doc string, found bool, err error) {
	var out struct {
		Default struct {
			Document string `json:"PolicyDocument"`
		} `json:"DefaultPolicyVersion"`
	}
	err = r.call(ctx, "GetPolicy", map[string]string{"PolicyName": name, "PolicyType": "Custom"}, &out)
	if apiCode(err) == "EntityNotExist.Policy" {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get policy %s: %w", name, err)
	}
	return out.Default.Document, true, nil
}

func (r ram) createPolicy(ctx context.Context, name, doc, description string) error {
	err := r.call(ctx, "CreatePolicy", map[string]string{"PolicyName": name, "PolicyDocument": doc, "Description": description}, nil)
	if apiCode(err) == "EntityAlreadyExists.Policy" {
		// Created since we looked: make this document its default.
		return r.newVersion(ctx, name, doc)
	}
	if err != nil {
		return fmt.Errorf("create policy %s: %w", name, err)
	}
	return nil
}

// newVersion makes doc the policy's default version, dropping the oldest
// other version when RAM's limit of 5 is reached.
func (r ram) newVersion(ctx context.Context, name, doc string) error {
	err := r.call(ctx, "CreatePolicyVersion", map[string]string{"PolicyName": name, "PolicyDocument": doc, "SetAsDefault": "true",
		"RotateStrategy": "DeleteOldestNonDefaultVersionWhenLimitExceeded"}, nil)
	if err != nil {
		return fmt.Errorf("update policy %s: %w", name, err)
	}
	return nil
}

// attached lists the policies attached to role, as "Custom:name" or
// "System:name".
func (r ram) attached(ctx context.Context, role string) (map[string]bool, error) {
	var out struct {
		Policies struct {
			Policy []struct {
				Name string `json:"PolicyName"`
				Type string `json:"PolicyType"`
			} `json:"Policy"`
		} `json:"Policies"`
	}
	if err := r.call(ctx, "ListPoliciesForRole", map[string]string{"RoleName": role}, &out); err != nil {
		return nil, fmt.Errorf("list the policies of role %s: %w", role, err)
	}
	m := map[string]bool{}
	for _, p := range out.Policies.Policy {
		m[p.Type+":"+p.Name] = true
	}
	return m, nil
}

func (r ram) attach(ctx context.Context, role, policy string) error {
	err := r.call(ctx, "AttachPolicyToRole", map[string]string{"RoleName": role, "PolicyName": policy, "PolicyType": "Custom"}, nil)
	if apiCode(err) == "EntityAlreadyExists.Role.Policy" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("attach policy %s to role %s: %w", policy, role, err)
	}
	return nil
}

// CallerAccount is the account of the caller's credentials (STS
// GetCallerIdentity, 2015-04-01).
func CallerAccount(ctx context.Context, sts org.Caller) (string, error) {
	params := &openapiutil.Params{
		Action: tea.String("GetCallerIdentity"), Version: tea.String("2015-04-01"),
		Protocol: tea.String("HTTPS"), Pathname: tea.String("/"), Method: tea.String("POST"),
		AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}
	res, err := sts.CallAPI(ctx, params, &openapiutil.OpenApiRequest{})
	if err != nil {
		return "", fmt.Errorf("get caller identity: %w", permission("sts:GetCallerIdentity", err))
	}
	body, _ := res["body"].(map[string]any)
	id, _ := body["AccountId"].(string)
	if id == "" {
		return "", errors.New("get caller identity: the answer holds no AccountId")
	}
	return id, nil
}
