// Command measure runs a command several times (its output discarded) and
// prints the median wall time in milliseconds, the largest peak RSS in KB
// and the median CPU time (user and system) in milliseconds, as
// "WALL_MS RSS_KB CPU_MS". It stands in for GNU time, which a fresh
// machine may lack.
//
//	go run ./bench/measure -n 5 -- ./vpncheck check --inventory inv.json --format json
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 3, "runs")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: measure [-n runs] -- command [args...]")
		os.Exit(2)
	}
	var walls, cpus []time.Duration
	var rss int64
	for range *n {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stderr = os.Stderr
		start := time.Now()
		err := cmd.Run()
		walls = append(walls, time.Since(start))
		if err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				fmt.Fprintln(os.Stderr, "measure:", err)
				os.Exit(1)
			}
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = max(rss, ru.Maxrss)
		}
		cpus = append(cpus, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	fmt.Printf("%d %d %d\n", walls[len(walls)/2].Milliseconds(), rss, cpus[len(cpus)/2].Milliseconds())
}
