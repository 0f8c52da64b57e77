package state_test

import (
	"os"
	"testing"
)

// TestMain keeps the credential chain off the ECS metadata service for the
// whole binary, once, rather than with t.Setenv in each test: t.Setenv
// forbids t.Parallel, and the OSS tests mostly wait out the SDK's retry
// backoff, so they run side by side.
func TestMain(m *testing.M) {
	os.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}
