// Package deploy prepares an Alibaba Cloud account for the vpncheck
// function (Setup) and checks a deployed one (Doctor): the function's RAM
// role and its least-privilege policies, the state bucket, the permission
// to read the Slack secret from KMS, and in organisation mode the reader
// role in every member account. RAM, STS and FC are called through
// darabonba-openapi's CallApi (org.Client), OSS through
// alibabacloud-oss-go-sdk-v2, KMS through the secrets package.
//
// Every name comes from Config, whose zero values take the documented
// defaults; the policy documents are generated here, never edited by hand.
// It must not import the function, the run or the notifier.
package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Defaults of Config's names (docs/deploy.md lists them with their flags).
const (
	DefaultRole              = "vpncheck"
	DefaultReaderPolicy      = "vpncheck-read"
	DefaultLogsPolicy        = "vpncheck-logs"
	DefaultLogStore          = "vpncheck"
	DefaultStatePolicy       = "vpncheck-state"
	DefaultStatePrefix       = "vpncheck"
	DefaultSecretsPolicy     = "vpncheck-secrets"
	DefaultCoordinatorPolicy = "vpncheck-coordinator"
	DefaultConfigPolicy      = "vpncheck-config"
	DefaultFunction          = "vpncheck"
	DefaultReaderRole        = "vpncheck-reader"
	DefaultAccessRole        = "ResourceDirectoryAccountAccessRole"
	// FCService is the service that assumes the function's role.
	FCService = "fc.aliyuncs.com"
)

// DefaultLogProject is the log project's default name: SLS project names
// are unique within a region across all accounts, so it carries the
// account id.
func DefaultLogProject(accountID string) string { return "vpncheck-logs-" + accountID }

// Config names what setup creates and doctor checks.
type Config struct {
	AccountID string // the account being set up (from STS GetCallerIdentity)
	Region    string // the function's region: its log project, its secrets, its bucket

	Role         string // the function's RAM role
	ReaderPolicy string // vpc:DescribeVpnConnections and vpc:DescribeRegions
	LogsPolicy   string
	LogProject   string // default DefaultLogProject(AccountID)
	LogStore     string

	StateBucket string // "": no state bucket (and no state policy)
	StatePrefix string
	BundleKey   string // an object in StateBucket the function may read ("": none)
	StatePolicy string

	SlackSecret   string // KMS secret names; "": none
	PepperSecret  string
	SecretsPolicy string

	Function string // the function's name (the coordinator invokes it)

	// Organisation mode: the member accounts (AllMembers: every one the
	// resource directory lists).
	AllMembers        bool
	Members           []string
	ReaderRole        string
	AccessRole        string // entered in each member to create ReaderRole
	ExternalID        string
	CoordinatorPolicy string

	// ConfigRule names the Cloud Config custom rule the function answers
	// ("": none); the function's role then may call PutEvaluations.
	ConfigRule   string
	ConfigPolicy string
}

// Org reports whether member accounts are set up.
func (c Config) Org() bool { return c.AllMembers || len(c.Members) > 0 }

// WithDefaults fills in every empty name.
func (c Config) WithDefaults() Config {
	def := func(p *string, v string) {
		if strings.TrimSpace(*p) == "" {
			*p = v
		}
	}
	def(&c.Role, DefaultRole)
	def(&c.ReaderPolicy, DefaultReaderPolicy)
	def(&c.LogsPolicy, DefaultLogsPolicy)
	def(&c.LogStore, DefaultLogStore)
	if c.AccountID != "" {
		def(&c.LogProject, DefaultLogProject(c.AccountID))
	}
	def(&c.StatePrefix, DefaultStatePrefix)
	def(&c.StatePolicy, DefaultStatePolicy)
	def(&c.SecretsPolicy, DefaultSecretsPolicy)
	def(&c.Function, DefaultFunction)
	def(&c.ReaderRole, DefaultReaderRole)
	def(&c.AccessRole, DefaultAccessRole)
	def(&c.CoordinatorPolicy, DefaultCoordinatorPolicy)
	def(&c.ConfigPolicy, DefaultConfigPolicy)
	c.StatePrefix = strings.Trim(c.StatePrefix, "/")
	return c
}

var (
	ramNameRe    = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)
	policyNameRe = regexp.MustCompile(`^[A-Za-z0-9-]{1,128}$`)
	projectRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	logStoreRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$`)
	bucketRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	secretRe     = regexp.MustCompile(`^[A-Za-z0-9_/+=.@-]{1,192}$`)
)

// Validate checks the names against the services' rules, naming the field
// (as its flag) that breaks one.
func (c Config) Validate() error {
	for _, f := range []struct {
		flag, v string
		re      *regexp.Regexp
		rule    string
	}{
		{"--role", c.Role, ramNameRe, "1 to 64 letters, digits, '.' or '-'"},
		{"--reader-role", c.ReaderRole, ramNameRe, "1 to 64 letters, digits, '.' or '-'"},
		{"--access-role", c.AccessRole, ramNameRe, "1 to 64 letters, digits, '.' or '-'"},
		{"--reader-policy", c.ReaderPolicy, policyNameRe, "1 to 128 letters, digits or '-'"},
		{"--logs-policy", c.LogsPolicy, policyNameRe, "1 to 128 letters, digits or '-'"},
		{"--state-policy", c.StatePolicy, policyNameRe, "1 to 128 letters, digits or '-'"},
		{"--secrets-policy", c.SecretsPolicy, policyNameRe, "1 to 128 letters, digits or '-'"},
		{"--coordinator-policy", c.CoordinatorPolicy, policyNameRe, "1 to 128 letters, digits or '-'"},
		{"--config-policy", c.ConfigPolicy, policyNameRe, "1 to 128 letters, digits or '-'"},
		{"--log-project", c.LogProject, projectRe, "3 to 63 lower-case letters, digits or '-'"},
		{"--log-store", c.LogStore, logStoreRe, "3 to 63 lower-case letters, digits, '_' or '-'"},
	} {
		if f.v != "" && !f.re.MatchString(f.v) {
			return fmt.Errorf("%s %q: want %s", f.flag, f.v, f.rule)
		}
	}
	if c.StateBucket != "" && !bucketRe.MatchString(c.StateBucket) {
		return fmt.Errorf("--state-bucket %q: want 3 to 63 lower-case letters, digits or '-'", c.StateBucket)
	}
	for _, s := range []struct{ flag, v string }{{"--slack-secret", c.SlackSecret}, {"--pepper-secret", c.PepperSecret}} {
		if s.v != "" && !secretRe.MatchString(s.v) {
			return fmt.Errorf("%s %q: want 1 to 192 letters, digits or any of _/+=.@-", s.flag, s.v)
		}
	}
	if c.BundleKey != "" && c.StateBucket == "" {
		return fmt.Errorf("--bundle-key needs --state-bucket (the bundle is an object in the state bucket)")
	}
	return nil
}

// RoleARN is the ARN of role name in account.
func RoleARN(account, name string) string { return "acs:ram::" + account + ":role/" + name }

// statement is one statement of a RAM policy document.
type statement struct {
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Principal map[string]any `json:"Principal,omitempty"`
	Resource  any            `json:"Resource,omitempty"`
	Condition map[string]any `json:"Condition,omitempty"`
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

func (d document) String() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(d)
	return strings.TrimSpace(b.String())
}

// FunctionTrust is the function role's trust policy: Function Compute only.
func FunctionTrust() string {
	return document{"1", []statement{{Effect: "Allow", Action: []string{"sts:AssumeRole"}, Principal: map[string]any{"Service": []string{FCService}}}}}.String()
}

// ReaderTrust is a member reader role's trust policy: the management
// account's function role only, with the external id if one is set.
func (c Config) ReaderTrust() string {
	st := statement{Effect: "Allow", Action: []string{"sts:AssumeRole"}, Principal: map[string]any{"RAM": []string{RoleARN(c.AccountID, c.Role)}}}
	if c.ExternalID != "" {
		st.Condition = map[string]any{"StringEquals": map[string]any{"sts:ExternalId": c.ExternalID}}
	}
	return document{"1", []statement{st}}.String()
}

// ReaderDocument is the reader policy: the two calls a check makes, no
// more. AliyunVPCReadOnlyAccess grants neither; AliyunVPNGatewayReadOnlyAccess
// also grants DownloadVpnConnectionConfig, which exposes keys.
func ReaderDocument() string {
	return document{"1", []statement{{Effect: "Allow", Action: []string{"vpc:DescribeVpnConnections", "vpc:DescribeRegions"}, Resource: "*"}}}.String()
}

// LogsDocument lets the function write to its own logstore only.
func (c Config) LogsDocument() string {
	return document{"1", []statement{{Effect: "Allow", Action: []string{"log:PostLogStoreLogs"},
		Resource: fmt.Sprintf("acs:log:%s:%s:project/%s/logstore/%s", c.Region, c.AccountID, c.LogProject, c.LogStore)}}}.String()
}

// StateDocument lets the function read the bucket's versioning status and
// read, create, delete and list under the state prefix (and read the
// bundle object).
func (c Config) StateDocument() string {
	bucket := "acs:oss:*:" + c.AccountID + ":" + c.StateBucket
	sts := []statement{
		{Effect: "Allow", Action: []string{"oss:GetBucketVersioning"}, Resource: bucket},
		{Effect: "Allow", Action: []string{"oss:GetObject", "oss:PutObject", "oss:DeleteObject"}, Resource: bucket + "/" + c.StatePrefix + "/*"},
		{Effect: "Allow", Action: []string{"oss:ListObjects"}, Resource: bucket,
			Condition: map[string]any{"StringLike": map[string]any{"oss:Prefix": c.StatePrefix + "/*"}}},
	}
	if c.BundleKey != "" {
		sts = append(sts, statement{Effect: "Allow", Action: []string{"oss:GetObject"}, Resource: bucket + "/" + c.BundleKey})
	}
	return document{"1", sts}.String()
}

// SecretNames are the KMS secrets the function reads.
func (c Config) SecretNames() []string {
	var out []string
	for _, n := range []string{c.SlackSecret, c.PepperSecret} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// SecretsDocument lets the function read its secrets and no other.
func (c Config) SecretsDocument() string {
	var res []string
	for _, n := range c.SecretNames() {
		res = append(res, fmt.Sprintf("acs:kms:%s:%s:secret/%s", c.Region, c.AccountID, n))
	}
	return document{"1", []statement{{Effect: "Allow", Action: []string{"kms:GetSecretValue"}, Resource: res}}}.String()
}

// CoordinatorDocument lets the function list the member accounts, enter
// each with the reader role, and invoke itself once per account.
func (c Config) CoordinatorDocument() string {
	fn := fmt.Sprintf("acs:fc:%s:%s:functions/%s", c.Region, c.AccountID, c.Function)
	return document{"1", []statement{
		{Effect: "Allow", Action: []string{"resourcemanager:ListAccounts"}, Resource: "*"},
		{Effect: "Allow", Action: []string{"sts:AssumeRole"}, Resource: "acs:ram::*:role/" + c.ReaderRole},
		{Effect: "Allow", Action: []string{"fc:InvokeFunction"}, Resource: []string{fn, fn + "/*"}},
	}}.String()
}

// ConfigDocument lets the function answer a Cloud Config custom rule:
// PutEvaluations, which the rule's result token scopes to that rule's run.
func ConfigDocument() string {
	return document{"1", []statement{{Effect: "Allow", Action: []string{"config:PutEvaluations"}, Resource: "*"}}}.String()
}

// ConfigRuleCall is the aliyun CLI call that creates the Cloud Config
// custom rule backed by the function: triggered by a change of an IPsec
// connection and every 24 hours. Setup prints it rather than making it:
// the rule belongs to whoever runs Cloud Config, and creating it starts
// evaluations at once.
func (c Config) ConfigRuleCall() string {
	fn := fmt.Sprintf("acs:fc:%s:%s:functions/%s", c.Region, c.AccountID, c.Function)
	return fmt.Sprintf("aliyun config CreateConfigRule --region %s --ConfigRuleName %s --SourceOwner CUSTOM_FC --SourceIdentifier %s"+
		" --ConfigRuleTriggerTypes ConfigurationItemChangeNotification,ScheduledNotification --MaximumExecutionFrequency TwentyFour_Hours"+
		" --ResourceTypesScope ACS::VPN::VpnConnection --RiskLevel 1 --Description 'IPsec-VPN connections judged by vpncheck'",
		c.Region, c.ConfigRule, fn)
}

// policy is a custom policy the function's role carries.
type policy struct {
	name, document, why string
}

// policies are the custom policies c gives the function's role, in order.
func (c Config) policies() []policy {
	ps := []policy{
		{c.ReaderPolicy, ReaderDocument(), "read VPN connections and regions (vpc:DescribeVpnConnections, vpc:DescribeRegions), nothing else"},
		{c.LogsPolicy, c.LogsDocument(), fmt.Sprintf("write the function's logs to %s/%s, nothing else", c.LogProject, c.LogStore)},
	}
	if c.StateBucket != "" {
		ps = append(ps, policy{c.StatePolicy, c.StateDocument(), fmt.Sprintf("keep state under oss://%s/%s/ (read, create-only write, list, delete)", c.StateBucket, c.StatePrefix)})
	}
	if len(c.SecretNames()) > 0 {
		ps = append(ps, policy{c.SecretsPolicy, c.SecretsDocument(), "read the secret " + strings.Join(c.SecretNames(), " and ") + " from KMS (kms:GetSecretValue), nothing else"})
	}
	if c.ConfigRule != "" {
		ps = append(ps, policy{c.ConfigPolicy, ConfigDocument(), "answer the Cloud Config rule " + c.ConfigRule + " (config:PutEvaluations), nothing else"})
	}
	if c.Org() {
		ps = append(ps, policy{c.CoordinatorPolicy, c.CoordinatorDocument(), "list member accounts, assume " + c.ReaderRole + " in them, invoke " + c.Function + " per account"})
	}
	return ps
}

// sameDocument compares two policy documents as JSON values, so that RAM's
// reformatting is no difference.
func sameDocument(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}
