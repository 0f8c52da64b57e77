//go:build ossreal

package state_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/checker/state/storetest"
)

// TestRealOSS runs the contract against a real bucket, each subtest under
// a fresh prefix that it deletes afterwards:
//
//	OSS_TEST_BUCKET=... OSS_TEST_REGION=cn-hangzhou OSS_TEST_ACCESS_KEY_ID=... \
//	OSS_TEST_ACCESS_KEY_SECRET=... go test -tags ossreal -run TestRealOSS ./checker/state/
//
// The bucket must never have had versioning enabled.
func TestRealOSS(t *testing.T) {
	bucket, region := os.Getenv("OSS_TEST_BUCKET"), os.Getenv("OSS_TEST_REGION")
	id, sk := os.Getenv("OSS_TEST_ACCESS_KEY_ID"), os.Getenv("OSS_TEST_ACCESS_KEY_SECRET")
	if bucket == "" || region == "" || id == "" || sk == "" {
		t.Skip("set OSS_TEST_BUCKET, OSS_TEST_REGION, OSS_TEST_ACCESS_KEY_ID and OSS_TEST_ACCESS_KEY_SECRET")
	}
	base := fmt.Sprintf("vpncheck-statetest/%d", time.Now().UnixNano())
	n := 0
	storetest.Run(t, func(t *testing.T) state.Store {
		n++
		s, err := state.Open(t.Context(), fmt.Sprintf("oss://%s/%s/%02d", bucket, base, n), state.Options{
			Region:     region,
			Credential: cred(t, id, sk, os.Getenv("OSS_TEST_SECURITY_TOKEN")),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			keys, err := s.List(ctx, "")
			if err != nil {
				t.Errorf("clean up %s: %v", s, err)
			}
			for _, k := range keys {
				if err := s.Delete(ctx, k); err != nil {
					t.Errorf("clean up %s: %v", s, err)
				}
			}
		})
		return s
	})
}
