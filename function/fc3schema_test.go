package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The facts of Serverless Devs' fc3 component schema that s.yaml must
// satisfy, copied from devsapp/fc3 src/schema.json at commit
// 4ca1c1b8c33e654438bb73b64cfc95a5c9d94f5a (2026-05-28). The component
// validates props against that schema before it deploys anything.
var fc3 = struct {
	props        []string             // every property the schema knows
	required     []string             // for a runtime that is not custom
	regions      []string             // IRegion
	triggerTypes []string             // ITriggerType
	trigger      fc3Object            // ITrigger
	configs      map[string]fc3Object // triggerConfig by triggerType
	logConfig    fc3Object            // ILogConfig
	asyncInvoke  fc3Object            // IAsyncInvokeConfig
}{
	props: []string{"annotations", "asyncInvokeConfig", "code", "concurrencyConfig", "cpu", "customContainerConfig", "customDNS",
		"customRuntimeConfig", "description", "diskSize", "enableLongLiving", "endpoint", "environmentVariables", "functionName",
		"gpuConfig", "handler", "instanceConcurrency", "instanceIsolationMode", "instanceLifecycleConfig", "internetAccess", "layers",
		"logConfig", "memorySize", "nasConfig", "ossMountConfig", "provisionConfig", "region", "resourceGroupId", "role", "runtime",
		"scalingConfig", "sessionAffinity", "sessionAffinityConfig", "supplement", "tags", "timeout", "tracingConfig", "triggers",
		"vpcBinding", "vpcConfig"},
	required: []string{"region", "functionName", "runtime", "code", "handler"},
	regions: []string{"ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
		"ap-southeast-5", "ap-southeast-7", "cn-beijing", "cn-chengdu", "cn-hangzhou", "cn-heyuan-acdr-1", "cn-hongkong",
		"cn-huhehaote", "cn-qingdao", "cn-shanghai", "cn-shanghai-cloudspe", "cn-shanghai-finance-1", "cn-shenzhen",
		"cn-wulanchabu", "cn-zhangjiakou", "eu-central-1", "eu-west-1", "me-central-1", "us-east-1", "us-west-1"},
	triggerTypes: []string{"cdn_events", "eventbridge", "http", "log", "mns_topic", "oss", "tablestore", "timer"},
	trigger: fc3Object{
		required: []string{"triggerConfig", "triggerName", "triggerType"},
		types: map[string]string{"description": "string", "invocationRole": "string", "qualifier": "string", "sourceArn": "string",
			"triggerConfig": "object", "triggerName": "string", "triggerType": "string"},
	},
	configs: map[string]fc3Object{
		"timer": { // ITimerTriggerConfig
			required: []string{"cronExpression", "enable"},
			types:    map[string]string{"cronExpression": "string", "enable": "boolean", "payload": "string"},
		},
		"eventbridge": { // IEventBridge
			required: []string{"asyncInvocationType", "eventRuleFilterPattern", "eventSinkConfig", "eventSourceConfig", "runOptions", "triggerEnable"},
			types: map[string]string{"asyncInvocationType": "boolean", "eventRuleFilterPattern": "string", "eventSinkConfig": "object",
				"eventSourceConfig": "object", "runOptions": "object", "triggerEnable": "boolean"},
			nested: map[string]fc3Object{
				"eventSinkConfig": {required: []string{"deliveryOption"}, types: map[string]string{"deliveryOption": "object"}},
				"eventSourceConfig": {required: []string{"eventSourceParameters", "eventSourceType"},
					types: map[string]string{"eventSourceParameters": "object", "eventSourceType": "string"}},
			},
		},
	},
	logConfig: fc3Object{
		required: []string{"logstore", "project"},
		types: map[string]string{"enableInstanceMetrics": "boolean", "enableLlmMetrics": "boolean", "enableRequestMetrics": "boolean",
			"logBeginRule": "string", "logstore": "string", "project": "string"},
		enums: map[string][]string{"logBeginRule": {"DefaultRegex", "None"}},
	},
	asyncInvoke: fc3Object{
		types: map[string]string{"asyncTask": "boolean", "destinationConfig": "object", "maxAsyncEventAgeInSeconds": "number",
			"maxAsyncRetryAttempts": "number", "qualifier": "string"},
		ranges: map[string][2]float64{"maxAsyncEventAgeInSeconds": {1, 2592000}, "maxAsyncRetryAttempts": {0, 8}},
	},
}

// fc3Object is one object definition of the schema: its required keys, the
// JSON type of each known key (no other key is allowed here, although the
// schema itself would tolerate one: a misspelt key would be ignored), enums
// and numeric ranges.
type fc3Object struct {
	required []string
	types    map[string]string
	enums    map[string][]string
	ranges   map[string][2]float64
	nested   map[string]fc3Object
}

// check returns what is wrong with v against o, each problem prefixed by path.
func (o fc3Object) check(path string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: %T, want an object", path, v)}
	}
	var bad []string
	for _, k := range o.required {
		if _, ok := m[k]; !ok {
			bad = append(bad, path+": lacks required "+k)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		typ, known := o.types[k]
		if !known {
			bad = append(bad, path+": unknown key "+k)
			continue
		}
		if got := jsonType(m[k]); got != typ && !(typ == "number" && got == "integer") {
			bad = append(bad, fmt.Sprintf("%s.%s: %s, want %s", path, k, got, typ))
		}
		if e, ok := o.enums[k]; ok && !slices.Contains(e, fmt.Sprint(m[k])) {
			bad = append(bad, fmt.Sprintf("%s.%s: %v not in %v", path, k, m[k], e))
		}
		if r, ok := o.ranges[k]; ok {
			if f, isNum := number(m[k]); isNum && (f < r[0] || f > r[1]) {
				bad = append(bad, fmt.Sprintf("%s.%s: %v outside %v..%v", path, k, f, r[0], r[1]))
			}
		}
		if n, ok := o.nested[k]; ok {
			bad = append(bad, n.check(path+"."+k, m[k])...)
		}
	}
	return bad
}

// jsonType is the JSON Schema type of a YAML value. A string that is one
// ${...} expression counts as the type its default has: Serverless Devs
// substitutes it before validating.
func jsonType(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case bool:
		return "boolean"
	case int:
		return "integer"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

var envExpr = regexp.MustCompile(`^\$\{env\('([A-Z0-9_]+)'(?:,\s*'([^']*)')?\)\}$`)

// TestServerlessDevsSchema: s.yaml's props satisfy fc3's schema: only
// known props, the required ones, memory a multiple of 64 in range, vCPU
// to memory between 1:1 and 1:4, disk 512 or 10240 MB, the region in the
// schema's list, every trigger's config against its own type's definition;
// and no value is edited in place: the deployment's choices come from
// ${env(...)}.
func TestServerlessDevsSchema(t *testing.T) {
	b, err := os.ReadFile("../s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vars      map[string]string `yaml:"vars"`
		Resources map[string]struct {
			Props map[string]any `yaml:"props"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for name, r := range doc.Resources {
		p := r.Props
		var bad []string
		for k := range p {
			if !slices.Contains(fc3.props, k) {
				bad = append(bad, "unknown prop "+k)
			}
		}
		for _, k := range fc3.required {
			if _, ok := p[k]; !ok {
				bad = append(bad, "lacks required prop "+k)
			}
		}
		mem, _ := number(p["memorySize"])
		cpu, _ := number(p["cpu"])
		disk, _ := number(p["diskSize"])
		timeout, _ := number(p["timeout"])
		conc, _ := number(p["instanceConcurrency"])
		if int(mem)%64 != 0 || mem < 128 || mem > 32768 {
			bad = append(bad, fmt.Sprintf("memorySize %v: want a multiple of 64 in 128..32768", mem))
		}
		if cpu < 0.05 || cpu > 16 || math.Abs(cpu*20-math.Round(cpu*20)) > 1e-9 {
			bad = append(bad, fmt.Sprintf("cpu %v: want 0.05..16 in steps of 0.05", cpu))
		}
		if gb := mem / 1024; gb < cpu || gb > 4*cpu {
			bad = append(bad, fmt.Sprintf("cpu %v with memorySize %v: want 1 to 4 GB per vCPU", cpu, mem))
		}
		if disk != 512 && disk != 10240 {
			bad = append(bad, fmt.Sprintf("diskSize %v: want 512 or 10240", disk))
		}
		if timeout < 1 || timeout > 86400 || conc < 1 || conc > 200 {
			bad = append(bad, fmt.Sprintf("timeout %v (1..86400), instanceConcurrency %v (1..200)", timeout, conc))
		}
		region, _ := p["region"].(string)
		if region == "${vars.region}" {
			region = doc.Vars["region"]
		}
		if m := envExpr.FindStringSubmatch(region); m != nil {
			region = m[2]
		}
		if !slices.Contains(fc3.regions, region) {
			bad = append(bad, fmt.Sprintf("region %q (default) is not in fc3's list", region))
		}
		bad = append(bad, fc3.logConfig.check("logConfig", p["logConfig"])...)
		bad = append(bad, fc3.asyncInvoke.check("asyncInvokeConfig", p["asyncInvokeConfig"])...)
		triggers, _ := p["triggers"].([]any)
		for i, tr := range triggers {
			path := "triggers[" + strconv.Itoa(i) + "]"
			bad = append(bad, fc3.trigger.check(path, tr)...)
			m, _ := tr.(map[string]any)
			typ, _ := m["triggerType"].(string)
			if !slices.Contains(fc3.triggerTypes, typ) {
				bad = append(bad, path+": triggerType "+typ+" unknown")
				continue
			}
			def, ok := fc3.configs[typ]
			if !ok {
				bad = append(bad, path+": no facts of trigger type "+typ+" in this test: add them from the schema")
				continue
			}
			bad = append(bad, def.check(path+".triggerConfig", m["triggerConfig"])...)
			if typ == "eventbridge" {
				c, _ := m["triggerConfig"].(map[string]any)
				if s, _ := c["eventRuleFilterPattern"].(string); !json.Valid([]byte(s)) {
					bad = append(bad, path+": eventRuleFilterPattern is not a JSON string")
				}
			}
		}

		// Nothing to edit in place: the choices are ${env(...)}.
		logc, _ := p["logConfig"].(map[string]any)
		env, _ := p["environmentVariables"].(map[string]any)
		for what, v := range map[string]any{
			"role": p["role"], "logConfig.project": logc["project"],
			"environmentVariables." + envSlackSecret: env[envSlackSecret],
			"environmentVariables." + envState:       env[envState],
		} {
			if s, _ := v.(string); !envExpr.MatchString(s) {
				bad = append(bad, fmt.Sprintf("%s = %v: want ${env('...')}", what, v))
			}
		}
		for _, line := range strings.Split(string(b), "\n") {
			if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && regexp.MustCompile(`<[a-z-]+>`).MatchString(l) {
				bad = append(bad, "a placeholder to edit: "+l)
			}
		}
		for _, e := range bad {
			t.Errorf("%s: %s", name, e)
		}
	}
}

// TestServerlessDevsSchemaCatches: the schema test fails on what the issue
// found in the old s.yaml: an EventBridge trigger without runOptions and
// eventSourceParameters, logConfig auto without names, memory off the
// 64 MB grid.
func TestServerlessDevsSchemaCatches(t *testing.T) {
	old := map[string]any{"triggerEnable": true, "asyncInvocationType": false, "eventRuleFilterPattern": "{}",
		"eventSourceConfig": map[string]any{"eventSourceType": "Default"}, "eventSinkConfig": map[string]any{"deliveryOption": map[string]any{}}}
	got := strings.Join(fc3.configs["eventbridge"].check("c", old), "; ")
	for _, want := range []string{"c: lacks required runOptions", "c.eventSourceConfig: lacks required eventSourceParameters"} {
		if !strings.Contains(got, want) {
			t.Errorf("old trigger: %q lacks %q", got, want)
		}
	}
	// A timer config under an eventbridge trigger is caught by its own type.
	if bad := fc3.configs["eventbridge"].check("c", map[string]any{"cronExpression": "x", "enable": true}); len(bad) < 6 {
		t.Errorf("timer config as eventbridge: %v", bad)
	}
	if bad := fc3.logConfig.check("logConfig", "auto"); len(bad) != 1 {
		t.Errorf("logConfig auto: %v", bad)
	}
	if bad := fc3.logConfig.check("logConfig", map[string]any{"project": "p", "logstore": "s", "logBeginRule": "x"}); len(bad) != 1 {
		t.Errorf("logBeginRule x: %v", bad)
	}
}
