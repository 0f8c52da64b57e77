package keys

import (
	"context"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/report"
)

// normalizeJSON decodes one raw connection object and normalises it.
func normalizeJSON(t testing.TB, conn string) *input.Connection {
	t.Helper()
	var out []*apiwire.Connection
	_, err := apiwire.Decode(strings.NewReader(`{"VpnConnections": {"VpnConnection": [`+conn+`]}}`), func(c *apiwire.Connection, _ []string) error {
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return input.Normalize(out[0], "cn-test")
}

// analyzeKeys is Analyze without key prints.
func analyzeKeys(ctx context.Context, conns []*input.Connection, p Policy) (*Secrets, []report.ErrorEntry) {
	secrets, errs, _ := Analyze(ctx, conns, p, nil)
	return secrets, errs
}
