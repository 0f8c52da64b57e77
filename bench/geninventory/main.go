// Command geninventory writes a synthetic DescribeVpnConnections response:
//
//	go run ./bench/geninventory -n 10000 -keys 500 -o /tmp/inv-10k.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vpncheck/vpncheck/bench/synth"
)

func main() {
	var opt synth.Options
	flag.IntVar(&opt.Connections, "n", 1000, "connections")
	flag.IntVar(&opt.DistinctKeys, "keys", 500, "distinct pre-shared keys (0: all distinct)")
	flag.IntVar(&opt.DualEvery, "dual-every", 3, "every Nth connection is dual-tunnel (0: none)")
	flag.IntVar(&opt.Compliant, "compliant", 0, "percent of connections made compliant (0: all from the mix, most of them weak)")
	flag.Uint64Var(&opt.Seed, "seed", 1, "random seed")
	flag.StringVar(&opt.Region, "region", "cn-hangzhou", "top-level RegionId")
	out := flag.String("o", "-", "output file (- for stdout)")
	flag.Parse()

	w := os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "geninventory:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	if err := synth.Write(w, opt); err != nil {
		fmt.Fprintln(os.Stderr, "geninventory:", err)
		os.Exit(1)
	}
}
