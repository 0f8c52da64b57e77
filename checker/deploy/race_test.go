package deploy

import (
	"context"
	"errors"
	"testing"

	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/orgfake"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/checker/state/ossfake"
)

// TestCreateRaces: what exists by the time setup creates it (another run,
// a colleague) is not a failure: EntityAlreadyExists.Role is taken as
// done, EntityAlreadyExists.Policy gets this document as its default
// version, BucketAlreadyExists from PutBucket says the name is taken.
func TestCreateRaces(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	me := acsfake.Credential{AccessKeyID: "LTAIme", AccessKeySecret: "s", Label: "1"}
	fake := orgfake.StartRAM(me)
	defer fake.Close()
	cred, _ := credentials.NewCredential(&credentials.Config{Type: tea.String("access_key"), AccessKeyId: tea.String("LTAIme"), AccessKeySecret: tea.String("s")})
	c, err := org.NewClient(cred, fake.URL, org.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := ram{c: c}
	ctx := context.Background()
	fake.PutRole("1", orgfake.RAMRole{Name: "vpncheck", Trust: "{}"})
	fake.PutPolicy("1", orgfake.RAMPolicy{Name: "vpncheck-read", Document: "{}"})
	if err := r.createRole(ctx, "vpncheck", FunctionTrust(), ""); err != nil {
		t.Errorf("EntityAlreadyExists.Role: %v", err)
	}
	if err := r.createPolicy(ctx, "vpncheck-read", ReaderDocument(), ""); err != nil {
		t.Errorf("EntityAlreadyExists.Policy: %v", err)
	}
	if p, _ := fake.Policy("1", "vpncheck-read"); !sameDocument(p.Document, ReaderDocument()) {
		t.Errorf("policy document = %s", p.Document)
	}
	codes := map[string]bool{}
	for _, call := range fake.Calls() {
		codes[call.Code] = true
	}
	if !codes["EntityAlreadyExists.Role"] || !codes["EntityAlreadyExists.Policy"] {
		t.Errorf("the fake answered %v", codes)
	}

	oss := ossfake.New(t, ossfake.Config{AccessKeyID: "LTAIme", AccessKeySecret: "s", Foreign: []string{"vpncheck-state"}})
	cl := state.NewOSSClient(state.Options{Region: "cn-hangzhou", Endpoint: oss.URL, Credential: cred})
	err = createBucket(ctx, Config{AccountID: "1", StateBucket: "vpncheck-state", StatePrefix: "vpncheck"}, cl)
	if !errors.Is(err, ErrBucketTaken) {
		t.Errorf("PutBucket of a taken name: %v", err)
	}
	if oss.Count("PutBucket") != 1 || oss.Requests()[0].Code != "BucketAlreadyExists" {
		t.Errorf("requests = %+v", oss.Requests())
	}
}
