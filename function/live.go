package main

import (
	"context"
	"io"

	"github.com/vpncheck/vpncheck/checker"
)

// defaultConcurrency is how many regions are scanned at once.
const defaultConcurrency = 4

// collectLive reads every connection of the configured regions from the VPC API.
func collectLive(ctx context.Context, cfg *checkConfig, getenv func(string) string, inv *checker.Inventory) error {
	return usagef("no --inventory given, and live collection is not built yet")
}

var _ = io.Discard
