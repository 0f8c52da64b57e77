package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// s.yaml is checked against the code it deploys: the handler is the binary
// its build step produces, the runtime is go1, and every environment
// variable it sets is one the code reads.
func TestServerlessDevsProject(t *testing.T) {
	b, err := os.ReadFile("../s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Edition   string `yaml:"edition"`
		Resources map[string]struct {
			Component string `yaml:"component"`
			Actions   map[string][]struct {
				Run  string `yaml:"run"`
				Path string `yaml:"path"`
			} `yaml:"actions"`
			Props struct {
				Runtime     string            `yaml:"runtime"`
				Handler     string            `yaml:"handler"`
				Code        string            `yaml:"code"`
				MemorySize  int               `yaml:"memorySize"`
				Timeout     int               `yaml:"timeout"`
				Role        string            `yaml:"role"`
				LogConfig   any               `yaml:"logConfig"`
				Env         map[string]string `yaml:"environmentVariables"`
				AsyncInvoke struct {
					MaxRetry  *int `yaml:"maxAsyncRetryAttempts"`
					MaxAgeSec int  `yaml:"maxAsyncEventAgeInSeconds"`
				} `yaml:"asyncInvokeConfig"`
				Triggers []struct {
					Type   string `yaml:"triggerType"`
					Config struct {
						Cron    string `yaml:"cronExpression"`
						Enable  bool   `yaml:"enable"`
						Payload string `yaml:"payload"`
					} `yaml:"triggerConfig"`
				} `yaml:"triggers"`
			} `yaml:"props"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Edition != "3.0.0" || len(doc.Resources) != 1 {
		t.Fatalf("want edition 3.0.0 with one resource, got %q with %d", doc.Edition, len(doc.Resources))
	}
	for name, r := range doc.Resources {
		p := r.Props
		if r.Component != "fc3" || p.Runtime != "go1" {
			t.Errorf("%s: component %q runtime %q, want fc3 and go1", name, r.Component, p.Runtime)
		}

		// The build step must write a static linux/amd64 binary named like
		// the handler at the root of the code directory.
		var build string
		for _, a := range r.Actions["pre-deploy"] {
			if strings.Contains(a.Run, "go build") {
				build = a.Run
			}
		}
		wantOut := filepath.Join(strings.TrimPrefix(p.Code, "./"), p.Handler)
		for _, want := range []string{"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "-o " + wantOut + " ", "./function"} {
			if !strings.Contains(build+" ", want) {
				t.Errorf("%s: build step %q lacks %q", name, build, want)
			}
		}

		known := envNamesReadByCode(t)
		for k := range p.Env {
			if !known[k] {
				t.Errorf("%s: environment variable %s is not read by the code", name, k)
			}
		}
		// So must the names of commented examples (VPNCHECK_ACCOUNTS).
		for _, m := range regexp.MustCompile(`(?m)^\s*#\s*(VPNCHECK_[A-Z0-9_]+):`).FindAllStringSubmatch(string(b), -1) {
			if !known[m[1]] {
				t.Errorf("%s: the commented example %s is not read by the code", name, m[1])
			}
		}
		for _, k := range []string{envSlackSecret, "VPNCHECK_REGIONS"} {
			if _, ok := p.Env[k]; !ok {
				t.Errorf("%s: environment lacks %s", name, k)
			}
		}
		// A Slack credential in the function's configuration can be read
		// by anyone who can read the function: only the secret's name.
		for _, k := range []string{"SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN"} {
			if _, ok := p.Env[k]; ok {
				t.Errorf("%s: environment sets %s: use %s", name, k, envSlackSecret)
			}
		}

		if p.MemorySize < 128 || p.Timeout < 60 || p.Role == "" || p.LogConfig == nil {
			t.Errorf("%s: memory %d timeout %d role %q logConfig %v", name, p.MemorySize, p.Timeout, p.Role, p.LogConfig)
		}
		// Retries are deliberate and few, and end before the next hourly run.
		if p.AsyncInvoke.MaxRetry == nil || *p.AsyncInvoke.MaxRetry > 3 || p.AsyncInvoke.MaxAgeSec == 0 || p.AsyncInvoke.MaxAgeSec >= 3600 {
			t.Errorf("%s: asyncInvokeConfig %+v", name, p.AsyncInvoke)
		}
		timers := 0
		for _, tr := range p.Triggers {
			if tr.Type == "timer" {
				timers++
				if !strings.HasPrefix(tr.Config.Cron, "CRON_TZ=") || !tr.Config.Enable {
					t.Errorf("%s: timer %+v: want an enabled CRON_TZ schedule", name, tr.Config)
				}
				if _, err := parseEvent([]byte(`{"payload": ` + quote(tr.Config.Payload) + `}`)); err != nil {
					t.Errorf("%s: the timer's payload is rejected by the handler: %v", name, err)
				}
			}
		}
		if timers != 1 {
			t.Errorf("%s: %d timer triggers, want 1", name, timers)
		}
	}
}

// envNamesReadByCode lists the names the function package passes to getenv
// (or os.Getenv).
func envNamesReadByCode(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	// Read directly, or named by an env* constant (config.go).
	re := regexp.MustCompile(`(?i:getenv)\("([A-Z0-9_]+)"\)|(?m)^\s*env\w+\s*=\s*"([A-Z0-9_]+)"`)
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names[m[1]+m[2]] = true
		}
	}
	return names
}

func quote(s string) string {
	b := strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`)
	return `"` + b + `"`
}
