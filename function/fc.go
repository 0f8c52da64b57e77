package main

import (
	"fmt"
	"os"
)

func serveFC() int {
	fmt.Fprintln(os.Stderr, "vpncheck: Function Compute mode is not built yet")
	return exitIncomplete
}
