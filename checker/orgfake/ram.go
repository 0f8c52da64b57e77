package orgfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/vpncheck/vpncheck/checker/acsfake"
)

// RAMVersion is the only RAM API version answered.
const RAMVersion = "2015-05-01"

// RAMWrites are the RAM actions that change something.
var RAMWrites = []string{"CreateRole", "UpdateRole", "CreatePolicy", "CreatePolicyVersion", "AttachPolicyToRole"}

// RAMRole is a role as the RAM fake holds it.
type RAMRole struct {
	Name   string
	Trust  string   // AssumeRolePolicyDocument
	Policy []string // attached policies, "Custom:name" or "System:name"
}

// RAMPolicy is a custom policy as the RAM fake holds it.
type RAMPolicy struct {
	Name     string
	Document string // the default version's
	Versions int
}

// RAMCall is one request the RAM fake received.
type RAMCall struct {
	Account string // the account of the credential that signed it; "" if refused
	Action  string
	Name    string // RoleName or PolicyName
	Status  int
	Code    string // error code answered; "" on success
}

// RAM fakes the RAM API (2015-05-01, RPC style, ACS3-HMAC-SHA256) of many
// accounts: GetRole, CreateRole, UpdateRole, GetPolicy, CreatePolicy,
// CreatePolicyVersion, AttachPolicyToRole, ListPoliciesForRole, with the
// errors a real account gives (EntityNotExist.*, EntityAlreadyExists.*,
// NoPermission). A credential's Label is the account it belongs to. Its
// methods are safe for concurrent use.
type RAM struct {
	// URL is "http://127.0.0.1:PORT", the value of VPNCHECK_RAM_ENDPOINT.
	URL string

	srv    *httptest.Server
	verify *acsfake.Verifier
	ids    requestIDs

	mu       sync.Mutex
	roles    map[string]map[string]*RAMRole   // account -> lower-case name -> role
	policies map[string]map[string]*RAMPolicy // account -> name -> policy
	denied   map[string]bool                  // account + "\x00" + "ram:Action"
	calls    []RAMCall
}

// StartRAM starts a fake that accepts the callers' credentials, each
// labelled with its account id. Close it when done.
func StartRAM(callers ...acsfake.Credential) *RAM {
	s := &RAM{verify: acsfake.NewVerifier(callers...), roles: map[string]map[string]*RAMRole{},
		policies: map[string]map[string]*RAMPolicy{}, denied: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *RAM) Close() { s.srv.Close() }

// Accept adds a credential (its Label the account id).
func (s *RAM) Accept(c acsfake.Credential) { s.verify.Add(c) }

// WireRAM makes r accept every credential s issues from now on, as the
// assumed account's.
func (s *STS) WireRAM(r *RAM) {
	s.OnIssue(func(_ string, c acsfake.Credential) { r.Accept(c) })
}

// Deny makes account's callers get NoPermission for action ("ram:CreateRole").
func (s *RAM) Deny(account, action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[account+"\x00"+action] = true
}

// PutRole creates or replaces a role in account.
func (s *RAM) PutRole(account string, r RAMRole) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.roles[account] == nil {
		s.roles[account] = map[string]*RAMRole{}
	}
	s.roles[account][strings.ToLower(r.Name)] = &r
}

// PutPolicy creates or replaces a custom policy in account.
func (s *RAM) PutPolicy(account string, p RAMPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.policies[account] == nil {
		s.policies[account] = map[string]*RAMPolicy{}
	}
	if p.Versions == 0 {
		p.Versions = 1
	}
	s.policies[account][p.Name] = &p
}

// Role returns a copy of a role of account.
func (s *RAM) Role(account, name string) (RAMRole, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roles[account][strings.ToLower(name)]
	if r == nil {
		return RAMRole{}, false
	}
	c := *r
	c.Policy = slices.Clone(r.Policy)
	return c, true
}

// Policy returns a copy of a custom policy of account.
func (s *RAM) Policy(account, name string) (RAMPolicy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.policies[account][name]
	if p == nil {
		return RAMPolicy{}, false
	}
	return *p, true
}

// Calls returns every request received so far, in order.
func (s *RAM) Calls() []RAMCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Writes counts the successful calls that changed something.
func (s *RAM) Writes() int {
	n := 0
	for _, c := range s.Calls() {
		if c.Code == "" && slices.Contains(RAMWrites, c.Action) {
			n++
		}
	}
	return n
}

func (s *RAM) serve(w http.ResponseWriter, r *http.Request) {
	reqID := s.ids.next('M')
	call := RAMCall{Action: r.Header.Get("x-acs-action")}
	ans, aerr := s.answer(r, &call)
	call.Status, call.Code = acsfake.Outcome(aerr)
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	acsfake.Respond(w, r, reqID, ans, aerr)
}

func ramErr(status int, code, msg string) *acsfake.Error {
	return &acsfake.Error{Status: status, Code: code, Message: msg}
}

func (s *RAM) answer(r *http.Request, call *RAMCall) (map[string]any, *acsfake.Error) {
	body, err := readBody(r, 1<<20)
	if err != nil {
		return nil, ramErr(http.StatusBadRequest, "InvalidParameter", "The request body is too large.")
	}
	account, aerr := s.verify.Verify(r, body)
	if aerr != nil {
		return nil, aerr
	}
	call.Account = account
	if v := r.Header.Get("x-acs-version"); v != RAMVersion {
		return nil, ramErr(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid.")
	}
	p := params(r, body)
	role, policy := p.Get("RoleName"), p.Get("PolicyName")
	call.Name = role
	if policy != "" {
		call.Name = policy
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied[account+"\x00ram:"+call.Action] {
		return nil, ramErr(http.StatusForbidden, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM. AuthAction: ram:"+call.Action)
	}
	if s.roles[account] == nil {
		s.roles[account] = map[string]*RAMRole{}
	}
	if s.policies[account] == nil {
		s.policies[account] = map[string]*RAMPolicy{}
	}
	q := &ramRequest{account: account, role: role, policy: policy, p: p, roles: s.roles[account], policies: s.policies[account]}
	if act := ramActions[call.Action]; act != nil {
		return act(q)
	}
	return nil, ramErr(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
}

// ramRequest is one verified call of an account, with that account's
// roles and policies (the caller holds the lock).
type ramRequest struct {
	account, role, policy string
	p                     url.Values
	roles                 map[string]*RAMRole
	policies              map[string]*RAMPolicy
}

// ramActions are the actions the fake answers, each as RAM does.
var ramActions = map[string]func(*ramRequest) (map[string]any, *acsfake.Error){
	"GetRole":             (*ramRequest).getRole,
	"CreateRole":          (*ramRequest).createRole,
	"UpdateRole":          (*ramRequest).updateRole,
	"GetPolicy":           (*ramRequest).getPolicy,
	"CreatePolicy":        (*ramRequest).createPolicy,
	"CreatePolicyVersion": (*ramRequest).createPolicyVersion,
	"AttachPolicyToRole":  (*ramRequest).attachPolicyToRole,
	"ListPoliciesForRole": (*ramRequest).listPoliciesForRole,
}

func (q *ramRequest) noRole() *acsfake.Error {
	return ramErr(http.StatusNotFound, "EntityNotExist.Role", "The role not exists: acs:ram::"+q.account+":role/"+q.role+".")
}

func (q *ramRequest) noPolicy() *acsfake.Error {
	return ramErr(http.StatusNotFound, "EntityNotExist.Policy", "The policy not exists: "+q.policy+".")
}

func (q *ramRequest) getRole() (map[string]any, *acsfake.Error) {
	rl := q.roles[strings.ToLower(q.role)]
	if rl == nil {
		return nil, q.noRole()
	}
	return map[string]any{"Role": roleJSON(q.account, rl)}, nil
}

func (q *ramRequest) createRole() (map[string]any, *acsfake.Error) {
	if q.role == "" || q.p.Get("AssumeRolePolicyDocument") == "" {
		return nil, ramErr(http.StatusBadRequest, "MissingParameter", "RoleName and AssumeRolePolicyDocument are required.")
	}
	if !json.Valid([]byte(q.p.Get("AssumeRolePolicyDocument"))) {
		return nil, ramErr(http.StatusBadRequest, "MalformedPolicyDocument", "The policy document is malformed.")
	}
	if q.roles[strings.ToLower(q.role)] != nil {
		return nil, ramErr(http.StatusConflict, "EntityAlreadyExists.Role", "The role already exists: "+q.role+".")
	}
	rl := &RAMRole{Name: q.role, Trust: q.p.Get("AssumeRolePolicyDocument")}
	q.roles[strings.ToLower(q.role)] = rl
	return map[string]any{"Role": roleJSON(q.account, rl)}, nil
}

func (q *ramRequest) updateRole() (map[string]any, *acsfake.Error) {
	rl := q.roles[strings.ToLower(q.role)]
	if rl == nil {
		return nil, q.noRole()
	}
	if d := q.p.Get("NewAssumeRolePolicyDocument"); d != "" {
		rl.Trust = d
	}
	return map[string]any{"Role": roleJSON(q.account, rl)}, nil
}

func (q *ramRequest) getPolicy() (map[string]any, *acsfake.Error) {
	if pt := q.p.Get("PolicyType"); pt != "Custom" {
		return nil, ramErr(http.StatusBadRequest, "InvalidParameter.PolicyType", "The parameter PolicyType is invalid: the fake holds Custom policies only.")
	}
	pl := q.policies[q.policy]
	if pl == nil {
		return nil, q.noPolicy()
	}
	return map[string]any{"Policy": policyJSON(pl),
		"DefaultPolicyVersion": map[string]any{"VersionId": fmt.Sprintf("v%d", pl.Versions), "IsDefaultVersion": true, "PolicyDocument": pl.Document}}, nil
}

func (q *ramRequest) createPolicy() (map[string]any, *acsfake.Error) {
	if q.policies[q.policy] != nil {
		return nil, ramErr(http.StatusConflict, "EntityAlreadyExists.Policy", "The policy already exists: "+q.policy+".")
	}
	if !json.Valid([]byte(q.p.Get("PolicyDocument"))) {
		return nil, ramErr(http.StatusBadRequest, "MalformedPolicyDocument", "The policy document is malformed.")
	}
	pl := &RAMPolicy{Name: q.policy, Document: q.p.Get("PolicyDocument"), Versions: 1}
	q.policies[q.policy] = pl
	return map[string]any{"Policy": policyJSON(pl)}, nil
}

func (q *ramRequest) createPolicyVersion() (map[string]any, *acsfake.Error) {
	pl := q.policies[q.policy]
	if pl == nil {
		return nil, q.noPolicy()
	}
	if pl.Versions >= 5 && q.p.Get("RotateStrategy") != "DeleteOldestNonDefaultVersionWhenLimitExceeded" {
		return nil, ramErr(http.StatusConflict, "LimitExceeded.Policy.Version", "Exceeded policy version limit: 5.")
	}
	pl.Versions++
	if q.p.Get("SetAsDefault") == "true" {
		pl.Document = q.p.Get("PolicyDocument")
	}
	return map[string]any{"PolicyVersion": map[string]any{"VersionId": fmt.Sprintf("v%d", pl.Versions), "IsDefaultVersion": q.p.Get("SetAsDefault") == "true"}}, nil
}

func (q *ramRequest) attachPolicyToRole() (map[string]any, *acsfake.Error) {
	rl := q.roles[strings.ToLower(q.role)]
	if rl == nil {
		return nil, q.noRole()
	}
	pt := q.p.Get("PolicyType")
	if pt == "Custom" && q.policies[q.policy] == nil {
		return nil, q.noPolicy()
	}
	ref := pt + ":" + q.policy
	if slices.Contains(rl.Policy, ref) {
		return nil, ramErr(http.StatusConflict, "EntityAlreadyExists.Role.Policy", "The policy already attached to the role.")
	}
	rl.Policy = append(rl.Policy, ref)
	return map[string]any{}, nil
}

func (q *ramRequest) listPoliciesForRole() (map[string]any, *acsfake.Error) {
	rl := q.roles[strings.ToLower(q.role)]
	if rl == nil {
		return nil, q.noRole()
	}
	list := []map[string]any{}
	for _, ref := range rl.Policy {
		pt, name, _ := strings.Cut(ref, ":")
		list = append(list, map[string]any{"PolicyName": name, "PolicyType": pt, "DefaultVersion": "v1", "AttachDate": "2026-12-01T08:00:00Z"})
	}
	return map[string]any{"Policies": map[string]any{"Policy": list}}, nil
}

func roleJSON(account string, r *RAMRole) map[string]any {
	return map[string]any{
		"RoleId": "3" + fmt.Sprintf("%017d", len(r.Name)), "RoleName": r.Name,
		"Arn":                      "acs:ram::" + account + ":role/" + strings.ToLower(r.Name),
		"AssumeRolePolicyDocument": r.Trust, "MaxSessionDuration": 3600, "CreateDate": "2026-12-01T08:00:00Z",
	}
}

func policyJSON(p *RAMPolicy) map[string]any {
	return map[string]any{"PolicyName": p.Name, "PolicyType": "Custom", "DefaultVersion": fmt.Sprintf("v%d", p.Versions),
		"CreateDate": "2026-12-01T08:00:00Z", "AttachmentCount": 0}
}
