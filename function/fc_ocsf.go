package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/checker/run"
)

// logFindingsOCSF is the one value of VPNCHECK_LOG_FINDINGS: each new,
// changed and resolved finding is also written to the function's log as
// one OCSF Compliance Finding a line, for Log Service and a SIEM reading it.
const logFindingsOCSF = "ocsf"

// logFindingsMode reads VPNCHECK_LOG_FINDINGS: empty or "off", or "ocsf".
func logFindingsMode(getenv func(string) string) (string, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(envLogFindings))); v {
	case "", "off", "none":
		return "", nil
	case logFindingsOCSF:
		return v, nil
	default:
		return "", badinput.Errorf("%s: %q is not ocsf or off", envLogFindings, v)
	}
}

// lockedWriter serialises whole writes, so that the JSON log lines of
// concurrent invocations and the OCSF lines never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// logFindings writes the run's news as OCSF lines to the function's log
// when VPNCHECK_LOG_FINDINGS=ocsf. A dry run posts nothing, and logs none.
// A line the log did not take is an error: the state has moved on, so the
// news would not be written again.
func (h *fcHandler) logFindings(log *slog.Logger, out run.Outcome, dryRun bool) error {
	if out.Report == nil || dryRun || h.findingLog == nil {
		return nil
	}
	if mode, err := logFindingsMode(h.getenv); err != nil || mode != logFindingsOCSF {
		return nil // a bad value failed the run before it started (basePlan)
	}
	out.Report.ProductVersion = buildVersion()
	scrub := func(b []byte) []byte { return b }
	if out.Secrets != nil { // a last guard: the report holds no key
		scrub = func(b []byte) []byte { return []byte(out.Secrets.Scrub(string(b))) }
	}
	n := 0
	err := output.OCSFEvents(out.Report, true, func(line []byte) error {
		if _, err := h.findingLog.Write(scrub(line)); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		err = fmt.Errorf("log the OCSF findings (%s=ocsf) after %d lines: %w", envLogFindings, n, err)
		log.Error("OCSF findings not logged", "error", err.Error())
		return err
	}
	log.Info("OCSF findings logged", "lines", n)
	return nil
}
