package org_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/orgfake"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

const (
	acctA = "1000000000000001"
	acctB = "1000000000000002"
	role  = "vpncheck-reader"
)

// vpcIDs lists the connection ids the fake VPC API returns to cred in
// cn-hangzhou, through the real VPC SDK.
func vpcIDs(v *vpcfake.Server, cred credentials.Credential) ([]string, error) {
	c, err := vpc.NewClient(&openapiutil.Config{
		Credential: cred, Endpoint: tea.String(v.Host()), Protocol: tea.String("HTTP"),
		RegionId: tea.String("cn-hangzhou"), ReadTimeout: tea.Int(5000), ConnectTimeout: tea.Int(5000),
	})
	if err != nil {
		return nil, err
	}
	resp, err := c.DescribeVpnConnectionsWithOptions(&vpc.DescribeVpnConnectionsRequest{
		RegionId: tea.String("cn-hangzhou"), PageSize: tea.Int32(50),
	}, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range resp.Body.VpnConnections.VpnConnection {
		ids = append(ids, tea.StringValue(c.VpnConnectionId))
	}
	return ids, nil
}

// TestAssumeRoleVPC: the credentials AssumeRole gets for an account are the
// ones the fake VPC API accepts for that account, and show only its
// connections.
func TestAssumeRoleVPC(t *testing.T) {
	isolate(t)
	sts := orgfake.StartSTS(coordinator)
	defer sts.Close()
	sts.AddRole(orgfake.Role{AccountID: acctA, Name: role})
	sts.AddRole(orgfake.Role{AccountID: acctB, Name: role, ExternalID: "ext-b"})
	v := vpcfake.Start(vpcfake.Credentials{AccessKeyID: "LTAIunused", AccessKeySecret: "unused"})
	defer v.Close()
	sts.WireVPC(v)
	v.AddConnectionsFor(acctA, "cn-hangzhou", map[string]any{"VpnConnectionId": "vco-a1"}, map[string]any{"VpnConnectionId": "vco-a2"})
	v.AddConnectionsFor(acctB, "cn-hangzhou", map[string]any{"VpnConnectionId": "vco-b1"})

	base := static(t, coordID, coordSecret, "")
	credA, err := org.AssumeRole(base, org.RoleOptions{AccountID: acctA, RoleName: role, Duration: 10 * time.Hour, STSEndpoint: sts.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	credB, err := org.AssumeRole(base, org.RoleOptions{AccountID: acctB, RoleName: role, SessionName: "run-42", ExternalID: "ext-b",
		Duration: time.Minute, STSEndpoint: "https://" + sts.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cred credentials.Credential
		want string
	}{{credA, "vco-a1 vco-a2"}, {credB, "vco-b1"}} {
		ids, err := vpcIDs(v, tc.cred)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ids, " "); got != tc.want {
			t.Errorf("connections %q, want %q", got, tc.want)
		}
	}

	// A's key without A's token, or with B's, is refused.
	a, b := sts.Issued(acctA), sts.Issued(acctB)
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("issued %d for A, %d for B; want 1 each (fetched once, then cached)", len(a), len(b))
	}
	for name, cred := range map[string]credentials.Credential{
		"A without token":     static(t, a[0].AccessKeyID, a[0].AccessKeySecret, ""),
		"A with B's token":    static(t, a[0].AccessKeyID, a[0].AccessKeySecret, b[0].SecurityToken),
		"A's key, B's secret": static(t, a[0].AccessKeyID, b[0].AccessKeySecret, a[0].SecurityToken),
	} {
		if _, err := vpcIDs(v, cred); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}

	calls := sts.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d STS calls, want 2", len(calls))
	}
	if c := calls[0]; c.Caller != "coordinator" || c.RoleArn != "acs:ram::"+acctA+":role/"+role || c.Duration != 3600 || c.SessionName != "vpncheck" || c.ExternalID != "" {
		t.Errorf("call A = %+v", c)
	}
	if c := calls[1]; c.Duration != 900 || c.SessionName != "run-42" || c.ExternalID != "ext-b" {
		t.Errorf("call B = %+v", c)
	}
}

// TestAssumeRoleDenied: STS's refusal is an *APIError with its code and
// request id, and no error carries the caller's secret or token, even the
// signature mismatch whose server message holds the token.
func TestAssumeRoleDenied(t *testing.T) {
	isolate(t)
	sts := orgfake.StartSTS(coordinator, acsfake.Credential{AccessKeyID: "STS.coordinator", AccessKeySecret: coordSecret, SecurityToken: coordToken, Label: "coordinator-sts"})
	defer sts.Close()
	sts.AddRole(orgfake.Role{AccountID: acctA, Name: role, DenyCode: "NoPermission"})
	sts.AddRole(orgfake.Role{AccountID: acctB, Name: role, ExternalID: "ext-b"})

	for _, tc := range []struct {
		name     string
		base     credentials.Credential
		opts     org.RoleOptions
		wantCode string
		wantText string // for errors that are not the API's
	}{
		{name: "denied", base: static(t, coordID, coordSecret, ""), opts: org.RoleOptions{AccountID: acctA, RoleName: role}, wantCode: "NoPermission"},
		{name: "no such role", base: static(t, coordID, coordSecret, ""), opts: org.RoleOptions{AccountID: acctB, RoleName: "other"}, wantCode: "EntityNotExist.Role"},
		{name: "wrong external id", base: static(t, coordID, coordSecret, ""), opts: org.RoleOptions{AccountID: acctB, RoleName: role, ExternalID: "nope"}, wantCode: "NoPermission"},
		{name: "wrong secret", base: static(t, coordID, "canary-wrong-secret", ""), opts: org.RoleOptions{AccountID: acctB, RoleName: role}, wantCode: "SignatureDoesNotMatch"},
		{name: "wrong secret with token", base: static(t, "STS.coordinator", "canary-wrong-secret", coordToken), opts: org.RoleOptions{AccountID: acctB, RoleName: role}, wantCode: "SignatureDoesNotMatch"},
		{name: "unknown key", base: static(t, "LTAIunknown", coordSecret, ""), opts: org.RoleOptions{AccountID: acctB, RoleName: role}, wantCode: "InvalidAccessKeyId.NotFound"},
		{name: "unreachable", base: static(t, "STS.coordinator", coordSecret, coordToken), opts: org.RoleOptions{AccountID: acctB, RoleName: role, STSEndpoint: freeAddr(t)}, wantText: "connection refused"},
		{name: "plain http", base: static(t, coordID, coordSecret, ""), opts: org.RoleOptions{AccountID: acctB, RoleName: role, STSEndpoint: "http://" + sts.Endpoint()}, wantText: "HTTPS only"},
		{name: "bad account", base: static(t, coordID, coordSecret, ""), opts: org.RoleOptions{AccountID: "12ab", RoleName: role}, wantText: "digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.STSEndpoint == "" {
				tc.opts.STSEndpoint = sts.Endpoint()
			}
			cred, err := org.AssumeRole(tc.base, tc.opts)
			if err == nil {
				t.Fatalf("got a credential %v", cred)
			}
			t.Log(err)
			noSecrets(t, err, coordSecret, coordToken, "canary-wrong-secret")
			if !strings.HasPrefix(err.Error(), "assume role "+tc.opts.RoleName+" in account "+tc.opts.AccountID+": ") {
				t.Errorf("error %q does not name the role", err)
			}
			if tc.wantCode == "" {
				var ae *org.APIError
				if errors.As(err, &ae) || !strings.Contains(err.Error(), tc.wantText) {
					t.Errorf("error %v, want one with %q", err, tc.wantText)
				}
				return
			}
			ae := apiCode(t, err)
			if ae.Code != tc.wantCode || !strings.HasPrefix(ae.RequestID, "S") {
				t.Errorf("error %+v, want %s with a request id", ae, tc.wantCode)
			}
		})
	}
}

// TestAssumeRoleRenews: credentials near expiry are renewed on use, from
// several goroutines at once, and the renewed ones work.
func TestAssumeRoleRenews(t *testing.T) {
	isolate(t)
	sts := orgfake.StartSTS(coordinator)
	defer sts.Close()
	sts.AddRole(orgfake.Role{AccountID: acctA, Name: role})
	sts.SetLifetime(time.Minute) // credentials-go renews 3 minutes before expiry
	v := vpcfake.Start(vpcfake.Credentials{AccessKeyID: "LTAIunused", AccessKeySecret: "unused"})
	defer v.Close()
	sts.WireVPC(v)
	v.AddConnectionsFor(acctA, "cn-hangzhou", map[string]any{"VpnConnectionId": "vco-a1"})

	cred, err := org.AssumeRole(static(t, coordID, coordSecret, ""), org.RoleOptions{AccountID: acctA, RoleName: role, STSEndpoint: sts.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	const workers = 6
	errs := make(chan error, workers)
	for range workers {
		go func() {
			ids, err := vpcIDs(v, cred)
			if err == nil && strings.Join(ids, " ") != "vco-a1" {
				err = errors.New("connections " + strings.Join(ids, " "))
			}
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(sts.Issued(acctA)); n != 1+workers {
		t.Errorf("issued %d credentials, want %d (one, then one per use)", n, 1+workers)
	}
}
