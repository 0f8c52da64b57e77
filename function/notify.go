package main

import (
	"context"
	"errors"

	"github.com/vpncheck/vpncheck/checker"
)

func notifyCLI(ctx context.Context, getenv func(string) string, res *checker.Result) error {
	return errors.New("notify: Slack delivery is not built yet")
}
