package alibaba

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

func TestOneConnection(t *testing.T) {
	const (
		region = "cn-hangzhou"
		id     = "vco-cn-hangzhou-00001"
		ak     = "LTAI5tOneTest"
		secret = "canary-one-secret-41d2"
		token  = "canary-one-token-8e3a"
	)
	tests := []struct {
		name       string
		setup      func(s *vpcfake.Server)
		wantConns  int
		wantCalls  int
		wantFailed string // error code; "" when the region is scanned
	}{
		{name: "settled", wantConns: 1, wantCalls: 1},
		{name: "updating for two describes", setup: func(s *vpcfake.Server) { s.SetStatus(id, "updating", 2) }, wantConns: 1, wantCalls: 3},
		{name: "deleted", setup: func(s *vpcfake.Server) { s.RemoveConnection(region, id) }, wantConns: 0, wantCalls: 1},
		{name: "never settles", setup: func(s *vpcfake.Server) { s.SetStatus(id, "updating", 100) }, wantCalls: 4, wantFailed: CodeStillChanging},
		{name: "no permission", setup: func(s *vpcfake.Server) { s.Inject(region, vpcfake.Forbidden()) }, wantCalls: 1, wantFailed: "Forbidden.RAM"},
		{name: "throttled, then answered", setup: func(s *vpcfake.Server) { s.Inject(region, vpcfake.Throttled(1)) }, wantConns: 1, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
			s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: ak, AccessKeySecret: secret, SecurityToken: token})
			t.Cleanup(s.Close)
			s.Generate(region, 3, vpcfake.Connection)
			if tt.setup != nil {
				tt.setup(s)
			}
			cred, err := StaticCredential(ak, secret, token)
			if err != nil {
				t.Fatal(err)
			}
			inv := inventory.New()
			src := One{Config: CollectorConfig{Credential: cred, Endpoint: s.URL}, Region: region, ConnectionID: id,
				Settle: Backoff{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}}
			if err := src.Collect(context.Background(), inv); err != nil {
				t.Fatal(err)
			}
			if got := s.Calls(vpcfake.ActionDescribeVpnConnections, region); got != tt.wantCalls {
				t.Errorf("calls %d, want %d", got, tt.wantCalls)
			}
			rs := inv.Regions()
			if len(rs) != 1 || rs[0].Connections != tt.wantConns || rs[0].Scanned != (tt.wantFailed == "") || rs[0].Failed != (tt.wantFailed != "") {
				t.Errorf("regions %+v", rs)
			}
			errs := inv.Errors()
			if tt.wantFailed != "" && (len(errs) != 1 || errs[0].Code != tt.wantFailed || errs[0].ConnectionID != id) {
				t.Errorf("errors %+v, want one %s", errs, tt.wantFailed)
			}
			for _, e := range errs {
				if strings.Contains(e.Message, secret) || strings.Contains(e.Message, token) {
					t.Errorf("error entry holds a secret: %s", e.Message)
				}
			}
		})
	}
}

// A deadline while the connection is still changing: not judged, said so.
func TestOneConnectionDeadline(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	creds := vpcfake.Credentials{AccessKeyID: "LTAI5tOneDeadline", AccessKeySecret: "canary-one-secret-77aa"}
	s := vpcfake.Start(creds)
	t.Cleanup(s.Close)
	s.Generate("cn-hangzhou", 1, vpcfake.Connection)
	s.SetStatus("vco-cn-hangzhou-00000", "updating", 1000)
	cred, _ := StaticCredential(creds.AccessKeyID, creds.AccessKeySecret, "")
	// The deadline comes once the fake has answered "updating" twice: a
	// signal from the fake, not a race against the clock.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		for s.Calls("DescribeVpnConnections", "cn-hangzhou") < 2 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		cancel(context.DeadlineExceeded)
	}()
	inv := inventory.New()
	if err := (One{Config: CollectorConfig{Credential: cred, Endpoint: s.URL}, Region: "cn-hangzhou", ConnectionID: "vco-cn-hangzhou-00000"}).Collect(ctx, inv); err != nil {
		t.Fatal(err)
	}
	errs := inv.Errors()
	if len(errs) != 1 || errs[0].Code != CodeStillChanging || inv.Regions()[0].Connections != 0 {
		t.Errorf("errors %+v regions %+v", errs, inv.Regions())
	}
}
