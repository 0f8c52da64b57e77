package main

import (
	"fmt"
	"io"
	"strings"
)

// envVar is one entry of the environment reference: the variables it
// covers and what they mean. docs/configuration.md is generated from
// environment (a test fails when they drift, and when a variable the code
// reads has no entry).
type envVar struct {
	names   []string
	meaning string
}

// environment is every variable vpncheck reads, in the order a reader
// needs them.
var environment = []envVar{
	{[]string{envRegions}, "region IDs, comma-separated, or `all` (as `--regions`)"},
	{[]string{envExcludeRegions}, "regions to skip (as `--exclude-regions`)"},
	{[]string{envVPCEndpoint}, "VPC OpenAPI endpoint with scheme, for every region: `https://vpc-vpc.cn-hangzhou.aliyuncs.com` (VPC-internal) or `http://127.0.0.1:PORT` for a test double"},
	{[]string{envPolicyDir}, "as `--policies`: a directory or a team bundle"},
	{[]string{envPolicyPublicKey}, "PEM text of the public key team bundles must be signed with; when set, only such a bundle loads (a directory, an unsigned or changed bundle is refused)"},
	{[]string{envPolicyBundle}, "Function Compute: a team bundle, `oss://bucket/key` (re-checked by each invocation with a conditional GET, in effect without a redeploy) or a path in the code package"},
	{[]string{envMinSeverity}, "as `--min-severity`"},
	{[]string{"SLACK_WEBHOOK_URL"}, "Slack incoming-webhook URL"},
	{[]string{"SLACK_BOT_TOKEN", "SLACK_CHANNEL"}, "post with chat.postMessage instead of a webhook (summary in the channel, details in its thread)"},
	{[]string{"SLACK_API_URL"}, "Slack Web API base URL (default https://slack.com/api/)"},
	{[]string{envSlackAllClear}, "`true`: after a run with no findings and no errors, post a short all-clear saying what was covered (default: post nothing)"},
	{[]string{envSlackMax}, "messages one run may post, every message counted (default 5); past it the summary says what was left out and where the rest is"},
	{[]string{envState}, "as `--state`: a directory, or `oss://bucket/prefix` (docs/lifecycle.md)"},
	{[]string{envOSSEndpoint}, "OSS endpoint with scheme for the state and the policy bundle (default: the region's, internal in Function Compute); `http://127.0.0.1:PORT` for a test double"},
	{[]string{envDigest}, "how often everything open is sent whole: a duration (default `24h`), or `off`"},
	{[]string{envNow}, "the run's clock, for tests and replays: an RFC 3339 time (`2026-11-25T10:00:00Z`) that dates the run's lifecycle (first seen, resolved, the digest's period, leases) and exception expiry; unset: the real clock"},
	{[]string{envAccounts}, "as `--accounts`: `all` (every member of the resource directory) or account IDs; unset: the caller's own account only (docs/organisation.md)"},
	{[]string{envExcludeAccounts}, "as `--exclude-accounts`"},
	{[]string{envRoleName}, "the role assumed in each member account (default `vpncheck-reader`)"},
	{[]string{envRoleExternalID}, "the external id that role's trust policy requires, if any"},
	{[]string{envFanout}, "Function Compute: `async` (default), one asynchronous invocation per account; `off`, every account in the timer's invocation"},
	{[]string{envRMEndpoint, envSTSEndpoint, envFCEndpoint}, "endpoints of Resource Manager (`ListAccounts`), STS (`AssumeRole`, `host[:port]`, HTTPS only) and FC (the fan-out's `InvokeFunction`), for test doubles (`http://127.0.0.1:PORT`; STS needs a certificate the process trusts, e.g. `SSL_CERT_FILE`)"},
	{[]string{envKeyPepper}, "a random secret of at least 16 bytes, the HMAC key of every key fingerprint in the state and in saved inventories; never stored (docs/lifecycle.md). Unset: fingerprints are unpeppered, and a run that keeps them warns once"},
	{[]string{envKeyPepperSecret}, "the name of a KMS Secrets Manager secret holding the pepper, read once per Function Compute instance (or by the command line) instead of `VPNCHECK_KEY_PEPPER`"},
	{[]string{envSlackSecret}, "the name of a KMS Secrets Manager secret holding `{\"webhook_url\": ...}` or `{\"bot_token\": ..., \"channel\": ...}`, read once per instance; replaces the plain Slack variables (both set is a usage error)"},
	{[]string{envLogFindings}, "Function Compute: `ocsf` writes every new, changed and resolved finding as one OCSF 1.3.0 line to the function's log (docs/integrations.md); `off` or empty: none"},
	{[]string{envKMSEndpoint, envRAMEndpoint, envConfigEndpoint}, "endpoints with scheme of KMS (`GetSecretValue`), RAM (`vpncheck setup`, `doctor`) and Cloud Config (`PutEvaluations`), for test doubles (`http://127.0.0.1:PORT`)"},
	{[]string{envFCFunctionName, envFCQualifier}, "set by Function Compute: the function the fan-out invokes when the invocation does not name it"},
	{[]string{"VPNCHECK_DEPLOY_REGION"}, "`vpncheck setup` and `doctor`, and s.yaml: the region the function runs in (else `ALIBABA_CLOUD_REGION_ID`, else the aliyun CLI profile's)"},
	{[]string{"VPNCHECK_LOG_PROJECT", "VPNCHECK_LOG_STORE"}, "`vpncheck setup` and `doctor`, and s.yaml: the function's Log Service project and logstore (docs/deploy.md)"},
	{[]string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"}, "command-line credentials; the rest of the standard credential chain (profile, RAM role, OIDC) works too"},
	{[]string{"ALIBABA_CLOUD_REGION_ID"}, "the command line's region when neither `--regions` nor `VPNCHECK_REGIONS` is given (else the aliyun CLI profile's)"},
	{[]string{"GOMEMLIMIT"}, "Go's soft heap limit; unset, vpncheck keeps the heap near 96 MiB and raises that only for a run too large for it"},
	{[]string{"VPNCHECK_CPUPROFILE", "VPNCHECK_MEMPROFILE"}, "only in a build with `-tags profile` (bench/): files to write a CPU profile and a heap profile taken at the heap's peak to"},
}

// printEnvironment writes the environment reference as plain text, for
// `vpncheck help env`.
func printEnvironment(w io.Writer) {
	fmt.Fprintln(w, "environment (a flag wins over its variable):")
	for _, v := range environment {
		fmt.Fprintf(w, "  %s\n      %s\n", strings.Join(v.names, ", "), strings.ReplaceAll(v.meaning, "`", ""))
	}
}
