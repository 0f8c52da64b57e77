package orgfake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/orgfake"
)

var caller = acsfake.Credential{AccessKeyID: "LTAIcaller", AccessKeySecret: "caller-secret", Label: "caller"}

func cred(t *testing.T, secret string) credentials.Credential {
	t.Helper()
	c, err := credentials.NewCredential(&credentials.Config{
		Type: tea.String("access_key"), AccessKeyId: tea.String(caller.AccessKeyID), AccessKeySecret: tea.String(secret),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWrongSecret: each fake accepts the real clients' signature with the
// right secret and refuses it with a wrong one, recording no success.
func TestWrongSecret(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	rm := orgfake.StartResourceManager(caller)
	defer rm.Close()
	rm.AddAccounts(orgfake.Account{ID: "1000000000000001"})
	sts := orgfake.StartSTS(caller)
	defer sts.Close()
	sts.AddRole(orgfake.Role{AccountID: "1000000000000001", Name: "r"})
	fc := orgfake.StartFC(caller)
	defer fc.Close()
	fc.AddFunction("f")

	for _, tc := range []struct {
		name string
		call func(c credentials.Credential) error
	}{
		{"resource manager", func(c credentials.Credential) error {
			cl, err := org.NewClient(c, rm.URL, org.ClientOptions{})
			if err != nil {
				return err
			}
			_, err = org.ListAccounts(context.Background(), cl)
			return err
		}},
		{"sts", func(c credentials.Credential) error {
			_, err := org.AssumeRole(c, org.RoleOptions{AccountID: "1000000000000001", RoleName: "r", STSEndpoint: sts.Endpoint()})
			return err
		}},
		{"fc", func(c credentials.Credential) error {
			cl, err := org.NewClient(c, fc.URL, org.ClientOptions{})
			if err != nil {
				return err
			}
			return org.InvokeAsync(context.Background(), cl, org.Function{Name: "f"}, []byte("{}"), org.TaskID("run", t.Name()+"wrong"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ae *org.APIError
			if err := tc.call(cred(t, "wrong-secret")); !errors.As(err, &ae) || ae.Code != "SignatureDoesNotMatch" {
				t.Fatalf("wrong secret: %v, want SignatureDoesNotMatch", err)
			}
			if err := tc.call(cred(t, caller.AccessKeySecret)); err != nil {
				t.Fatalf("right secret: %v", err)
			}
		})
	}
	if n := len(sts.Issued("1000000000000001")); n != 1 {
		t.Errorf("STS issued %d credentials, want 1", n)
	}
	if invs := fc.Invocations(); len(invs) != 1 || invs[0].Caller != "caller" {
		t.Errorf("FC invocations %+v, want 1 by caller", invs)
	}
	if calls := rm.Calls(); len(calls) != 2 || calls[0].Code != "SignatureDoesNotMatch" || calls[1].Caller != "caller" {
		t.Errorf("Resource Manager calls %+v", calls)
	}
}
