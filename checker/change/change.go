// Package change reads the ActionTrail CloudEvents that EventBridge delivers
// when someone creates, modifies or deletes an IPsec-VPN connection, and
// reduces each to the little the function needs: which connection, in which
// account and region, changed by whom, and the names of what was set.
//
// Request parameters of these calls carry pre-shared keys and BGP auth keys
// (IkeConfig.Psk, TunnelOptionsSpecification...Psk, BgpConfig.AuthKey), and
// the responses echo them. Parse never keeps a request or response value
// other than the connection and tunnel ids, never keeps the caller's access
// key id, and its errors name fields without quoting values.
package change

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// MaxBody is the largest event Parse reads. EventBridge's own limit on one
// event is far below it; a larger body is not an event from the platform.
const MaxBody = 1 << 20

// maxText bounds every free-text value kept from an event (names, user
// agents, ids): they are untrusted and end up in messages.
const maxText = 256

// Event is one ActionTrail API call as the function needs it.
type Event struct {
	ID, Source, Type  string    // envelope
	Time              time.Time // eventTime (fallback: envelope time)
	AccountID, Region string    // aliyunaccountid / acsRegion (fallback aliyunregionid)
	Name              string    // eventName, e.g. ModifyVpnConnectionAttribute
	Relevant          bool
	Deleted           bool   // DeleteVpnConnection / DeleteVpnAttachment
	ConnectionID      string // set whenever Relevant
	TunnelID          string // the TunnelId a call names (ModifyTunnelAttribute), if any
	RequestID         string
	Actor             Actor
	SourceIP          string
	UserAgent         string
	Console           bool     // made in the console (ConsoleOperation type/eventType, or a console user agent)
	Changed           []string // names of the request parameters that were set, sorted; never their values
	// ErrorCode is the API's error code when the call failed. A failed call
	// changed nothing, so such an event is never Relevant.
	ErrorCode string
}

// Actor is who made the call. Name is the RAM user name, the role name of an
// assumed role, "root" for the account itself, or the service's name for
// calls Alibaba Cloud made; SessionName is set for assumed roles.
type Actor struct {
	Type, Name, PrincipalID, AccountID, SessionName string
}

// DedupeKey identifies the event across redeliveries: EventBridge may deliver
// one event twice with the same id, and source + id is unique per event.
func (e *Event) DedupeKey() string { return e.Source + "/" + e.ID }

// Digest identifies what the event says, for telling a redelivery (the
// same call under its id) from another event reusing the id. It is taken
// over the parsed event, not the body: a redelivery's envelope differs
// (its publish time, its formatting), and the body's request parameters
// hold keys, which a digest kept in the state must never be a guess
// oracle for. The parsed event holds no secret.
func (e *Event) Digest() string {
	b, err := json.Marshal(e)
	if err != nil {
		return "" // cannot happen: strings, bools and a time
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ActorString is one short line for humans, e.g. "RAM user alice",
// "role vpn-admin (session bob)", "root account 1234567890123456". The parts
// are untrusted text: the renderer sanitises them.
func (e *Event) ActorString() string {
	a := e.Actor
	switch a.Type {
	case "ram-user":
		return "RAM user " + orUnknown(a.Name)
	case "assumed-role":
		s := "role " + orUnknown(a.Name)
		if a.SessionName != "" {
			s += " (session " + a.SessionName + ")"
		}
		return s
	case "root-account":
		id := a.AccountID
		if id == "" {
			id = a.PrincipalID
		}
		if id == "" {
			return "root account"
		}
		return "root account " + id
	case "system":
		return "Alibaba Cloud service " + orUnknown(a.Name)
	case "":
		if a.Name != "" {
			return a.Name
		}
		return "unknown caller"
	default:
		return a.Type + " " + orUnknown(a.Name)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(unnamed)"
	}
	return s
}

// FieldError is a malformed event: the field that is missing or has the wrong
// shape, named by its JSON path. It never carries the field's value.
type FieldError struct {
	Field   string // e.g. "data.requestParameters.VpnConnectionId"
	Problem string // e.g. "missing", "not a string"
}

func (e *FieldError) Error() string { return "event field " + e.Field + ": " + e.Problem }

func fieldErr(field, problem string) error { return &FieldError{Field: field, Problem: problem} }

// api describes one call that changes an IPsec-VPN connection.
type api struct {
	deleted bool
	// idInResponse: a create learns its connection id from the response.
	idInResponse bool
	// params are the call's request parameters worth naming in Changed: the
	// top-level fields of the SDK's request struct, without identifiers and
	// plumbing (RegionId, ClientToken, VpnConnectionId, TunnelId, owner ids,
	// DryRun, VpnGatewayId). TestParamsMatchSDK keeps them honest.
	params []string
}

var (
	connectionParams = []string{"AutoConfigRoute", "BgpConfig", "EffectImmediately", "EnableDpd", "EnableNatTraversal",
		"EnableTunnelsBgp", "HealthCheckConfig", "IkeConfig", "IpsecConfig", "LocalSubnet", "Name", "RemoteSubnet",
		"TunnelOptionsSpecification"}

	apis = map[string]api{
		"CreateVpnConnection": {idInResponse: true,
			params: with(connectionParams, "CustomerGatewayId", "RemoteCaCertificate", "Tags")},
		"ModifyVpnConnectionAttribute": {params: with(connectionParams, "RemoteCaCertificate")},
		"ModifyTunnelAttribute":        {params: []string{"TunnelOptionsSpecification"}},
		"DeleteVpnConnection":          {deleted: true},
		"CreateVpnAttachment": {idInResponse: true,
			params: with(connectionParams, "CustomerGatewayId", "NetworkType", "RemoteCaCert", "ResourceGroupId", "Tags")},
		"ModifyVpnAttachmentAttribute": {params: with(connectionParams, "CustomerGatewayId", "NetworkType", "RemoteCaCert")},
		"DeleteVpnAttachment":          {deleted: true},
	}
)

func with(base []string, more ...string) []string {
	return append(slices.Clone(base), more...)
}

// Names lists the API calls whose events are relevant, sorted: what an
// EventBridge rule for this function should match on data.eventName.
func Names() []string {
	names := make([]string, 0, len(apis))
	for n := range apis {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

var (
	// Ids are handed to the VPC API and used in state keys: a conservative
	// shape, so a hostile event cannot smuggle anything through them.
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	accountPattern = regexp.MustCompile(`^[0-9]{1,32}$`)
	regionPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
)

// IsCloudEvent reports whether body looks like a CloudEvent (an object with
// specversion, type, source and id), so the function can tell event kinds
// apart by shape.
func IsCloudEvent(body []byte) bool {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || len(body) > MaxBody {
		return false
	}
	var env map[string]json.RawMessage
	if json.Unmarshal(body, &env) != nil {
		return false
	}
	for _, k := range []string{"specversion", "type", "source", "id"} {
		var s string
		if json.Unmarshal(env[k], &s) != nil || strings.TrimSpace(s) == "" {
			return false
		}
	}
	return true
}

// Parse reads one ActionTrail CloudEvent. An event that is not a CloudEvent,
// lacks required fields, or has wrong types is an error naming the field
// (never quoting values). An event for an API that does not matter, a
// CloudEvent that is not an ActionTrail record, and a call that failed are
// returned with Relevant false, not an error.
func Parse(body []byte) (*Event, error) {
	if len(body) > MaxBody {
		return nil, fmt.Errorf("event: larger than %d bytes", MaxBody)
	}
	env, err := decodeTop(body)
	if err != nil {
		return nil, err
	}
	o := object{raw: env}

	e := &Event{}
	if err := readEnvelope(o, e); err != nil {
		return nil, err
	}
	product, kind, ok := actionTrailType(e.Type)
	if !ok {
		// Another kind of CloudEvent (a misrouted rule): acknowledged, ignored.
		return e, nil
	}
	var at place
	if at.envTime, err = o.optString("time"); err != nil {
		return nil, err
	}
	if at.envAccount, err = o.optID("aliyunaccountid"); err != nil {
		return nil, err
	}
	if at.envRegion, err = o.optString("aliyunregionid"); err != nil {
		return nil, err
	}

	data, err := o.object("data", true)
	if err != nil {
		return nil, err
	}
	rec, err := readRecord(data, e, &at)
	if err != nil {
		return nil, err
	}
	if product == "actiontrail" && strings.EqualFold(rec.service, "vpc") {
		// EventBridge's ActionTrail page also shows records of other services
		// under the actiontrail: prefix; the record's service then decides.
		product = "vpc"
	}
	e.Console = rec.eventType == "ConsoleOperation" || kind == "ConsoleOperation" || consoleAgent(e.UserAgent)

	spec, known := apis[e.Name]
	e.Relevant = known && product == "vpc" && e.ErrorCode == ""
	if err := at.settle(e); err != nil {
		return nil, err
	}
	if !e.Relevant {
		return e, nil
	}
	e.Deleted = spec.deleted
	if err := readCall(e, data, spec); err != nil {
		return nil, err
	}
	return e, nil
}

// readEnvelope reads the CloudEvent's required strings into e.
func readEnvelope(o object, e *Event) error {
	for _, f := range []struct {
		name string
		dst  *string
	}{{"specversion", nil}, {"id", &e.ID}, {"source", &e.Source}, {"type", &e.Type}} {
		s, err := o.requiredString(f.name)
		if err != nil {
			return err
		}
		if len(s) > maxText {
			return fieldErr(f.name, "too long")
		}
		if f.dst != nil {
			*f.dst = s
		}
	}
	return nil
}

// record is what the ActionTrail record says beside the Event's fields.
type record struct {
	eventType string // ConsoleOperation, ApiCall, ...
	service   string // the record's serviceName
}

// readRecord reads the ActionTrail record (the event's data) into e: the
// call's name, request, source, error and actor; and its time and region
// into at.
func readRecord(data object, e *Event, at *place) (record, error) {
	var rec record
	var err error
	if e.Name, err = data.requiredString("eventName"); err != nil {
		return rec, err
	}
	e.Name = bound(e.Name)
	if rec.eventType, err = data.optString("eventType"); err != nil {
		return rec, err
	}
	if rec.service, err = data.optString("serviceName"); err != nil {
		return rec, err
	}
	if at.eventTime, err = data.optString("eventTime"); err != nil {
		return rec, err
	}
	if at.acsRegion, err = data.optString("acsRegion"); err != nil {
		return rec, err
	}
	if e.RequestID, err = data.optString("requestId"); err != nil {
		return rec, err
	}
	if e.SourceIP, err = data.optString("sourceIpAddress"); err != nil {
		return rec, err
	}
	if e.UserAgent, err = data.optString("userAgent"); err != nil {
		return rec, err
	}
	if e.ErrorCode, err = data.optID("errorCode"); err != nil {
		return rec, err
	}
	e.RequestID, e.SourceIP, e.UserAgent, e.ErrorCode = bound(e.RequestID), bound(e.SourceIP), bound(e.UserAgent), bound(e.ErrorCode)
	if e.Actor, err = readActor(data); err != nil {
		return rec, err
	}
	return rec, nil
}

// place is when, where and in which account the event says the call
// happened: the record's word, else the envelope's.
type place struct {
	envTime, envAccount, envRegion string // the envelope's
	eventTime, acsRegion           string // the record's
}

// settle sets e's time, region and account: required of a relevant event,
// best effort otherwise (an ignored event must not fail on a field nobody
// reads).
func (at place) settle(e *Event) error {
	e.Time = parseTime(at.eventTime, at.envTime)
	regionField, region := "data.acsRegion", at.acsRegion
	if region == "" && at.envRegion != "" {
		regionField, region = "aliyunregionid", at.envRegion
	}
	accountField, account := "aliyunaccountid", at.envAccount
	if account == "" && e.Actor.AccountID != "" {
		accountField, account = "data.userIdentity.accountId", e.Actor.AccountID
	}
	if !e.Relevant {
		if regionPattern.MatchString(region) {
			e.Region = region
		}
		if accountPattern.MatchString(account) {
			e.AccountID = account
		}
		return nil
	}
	if e.Time.IsZero() {
		return fieldErr("data.eventTime", "missing or not an RFC 3339 time")
	}
	var err error
	if e.Region, err = check(regionField, region, regionPattern, "not a region id"); err != nil {
		return err
	}
	if e.AccountID, err = check(accountField, account, accountPattern, "not an account id"); err != nil {
		return err
	}
	return nil
}

// decodeTop decodes the envelope. encoding/json's own messages can quote a
// byte of the input, so they are never passed on.
func decodeTop(body []byte) (map[string]json.RawMessage, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("event: not valid JSON (error at byte %d)", syn.Offset)
		}
		return nil, errors.New("event: not a JSON object")
	}
	if env == nil {
		return nil, errors.New("event: not a JSON object")
	}
	return env, nil
}

// actionTrailType splits "vpc:ActionTrail:ApiCall" into its product and kind.
func actionTrailType(t string) (product, kind string, ok bool) {
	parts := strings.Split(t, ":")
	if len(parts) != 3 || parts[1] != "ActionTrail" {
		return "", "", false
	}
	return strings.ToLower(parts[0]), parts[2], true
}

// consoleAgent: most consoles call the public API, so their changes arrive as
// ApiCall events whose user agent is the console's host name
// (e.g. vpc.console.aliyun.com). The user agent is the caller's to choose:
// Console is a hint for people, never a basis for trust.
func consoleAgent(ua string) bool {
	ua = strings.ToLower(ua)
	for _, suffix := range []string{".console.aliyun.com", ".console.alibabacloud.com"} {
		if strings.HasSuffix(ua, suffix) || strings.Contains(ua, suffix+" ") || strings.Contains(ua, suffix+"/") {
			return true
		}
	}
	return false
}

func parseTime(candidates ...string) time.Time {
	for _, s := range candidates {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func check(field, v string, re *regexp.Regexp, problem string) (string, error) {
	if v == "" {
		return "", fieldErr(field, "missing")
	}
	if !re.MatchString(v) {
		return "", fieldErr(field, problem)
	}
	return v, nil
}

func readActor(data object) (Actor, error) {
	ui, err := data.object("userIdentity", false)
	if err != nil || ui.raw == nil {
		return Actor{}, err
	}
	var a Actor
	var name string
	for _, f := range []struct {
		name string
		dst  *string
		id   bool
	}{{"type", &a.Type, false}, {"userName", &name, false}, {"principalId", &a.PrincipalID, true}, {"accountId", &a.AccountID, true}} {
		var v string
		if f.id {
			v, err = ui.optID(f.name)
		} else {
			v, err = ui.optString(f.name)
		}
		if err != nil {
			return Actor{}, err
		}
		*f.dst = v
	}
	// accessKeyId and sessionContext are deliberately not read.
	a.Name = name
	if a.Type == "assumed-role" {
		// userName is "role:session", principalId "roleId:session"; role names
		// cannot contain ':' but session names (SAML, OIDC) might.
		if role, session, ok := strings.Cut(name, ":"); ok {
			a.Name, a.SessionName = role, session
		} else if _, session, ok := strings.Cut(a.PrincipalID, ":"); ok {
			a.SessionName = session
		}
	}
	a.Type, a.Name, a.PrincipalID, a.AccountID, a.SessionName =
		bound(a.Type), bound(a.Name), bound(a.PrincipalID), bound(a.AccountID), bound(a.SessionName)
	return a, nil
}

// readCall fills the connection id, tunnel id and Changed of a relevant event.
func readCall(e *Event, data object, spec api) error {
	req, err := data.looseObject("requestParameters")
	if err != nil {
		return err
	}
	if req.raw == nil {
		// Some records carry the parameters only as a JSON string here.
		if req, err = data.looseObject("requestParameterJson"); err != nil {
			return err
		}
	}
	resp, err := data.looseObject("responseElements")
	if err != nil {
		return err
	}

	reqID, err := req.optIDFold("VpnConnectionId")
	if err != nil {
		return err
	}
	respID, err := resp.optIDFold("VpnConnectionId")
	if err != nil {
		return err
	}
	idField, id := req.path+".VpnConnectionId", reqID
	if spec.idInResponse {
		idField, id = resp.path+".VpnConnectionId", respID
	} else if id == "" {
		id = respID // a modify's response echoes the connection
	}
	if id == "" {
		id = referencedConnection(data)
	}
	if e.ConnectionID, err = check(idField, id, idPattern, "not a connection id"); err != nil {
		return err
	}

	tunnel, err := req.optIDFold("TunnelId")
	if err != nil {
		return err
	}
	if tunnel != "" {
		if e.TunnelID, err = check(req.path+".TunnelId", tunnel, idPattern, "not a tunnel id"); err != nil {
			return err
		}
	}

	e.Changed = changed(req, spec.params)
	return nil
}

// referencedConnection is the last resort for the connection id: ActionTrail
// lists the resources a call touched by type.
func referencedConnection(data object) string {
	refs, err := data.object("referencedResources", false)
	if err != nil || refs.raw == nil {
		return ""
	}
	for _, k := range sortedKeys(refs.raw) {
		if !strings.EqualFold(k, "ACS::VPC::VpnConnection") {
			continue
		}
		var ids []string
		if json.Unmarshal(refs.raw[k], &ids) == nil && len(ids) == 1 {
			return ids[0]
		}
	}
	return ""
}

// changed names the parameters a call set. A key's top-level name is the part
// before the first '.', since the SDKs flatten nested parameters into keys
// such as TunnelOptionsSpecification.1.TunnelIkeConfig.Psk. Only names the
// API documents come out (in their canonical spelling), so a parameter name
// is never attacker-chosen text; values are never looked at beyond null and
// empty.
func changed(req object, params []string) []string {
	if req.raw == nil || len(params) == 0 {
		return nil
	}
	canon := make(map[string]string, len(params))
	for _, p := range params {
		canon[strings.ToLower(p)] = p
	}
	var out []string
	for k, raw := range req.raw {
		top, _, _ := strings.Cut(k, ".")
		name, ok := canon[strings.ToLower(top)]
		if !ok || !isSet(raw) {
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// isSet: null and "" are parameters that were not given a value.
func isSet(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null")) && !bytes.Equal(raw, []byte(`""`))
}

// bound cuts untrusted text to maxText runes. Invalid UTF-8 was already
// replaced by the JSON decoder.
func bound(s string) string {
	if len(s) <= maxText {
		return s
	}
	n := 0
	for i := range s {
		if n == maxText {
			return s[:i]
		}
		n++
	}
	return s
}

// object is a decoded JSON object whose members are read one by one, so that
// each wrong shape names its own field and no decoder message (which can
// quote input) escapes.
type object struct {
	path string // "" for the envelope, "data", "data.userIdentity", ...
	raw  map[string]json.RawMessage
}

func (o object) field(name string) string {
	if o.path == "" {
		return name
	}
	return o.path + "." + name
}

func (o object) requiredString(name string) (string, error) {
	s, err := o.optString(name)
	if err != nil {
		return "", err
	}
	if s == "" {
		if _, present := o.raw[name]; present {
			return "", fieldErr(o.field(name), "empty")
		}
		return "", fieldErr(o.field(name), "missing")
	}
	return s, nil
}

// optString reads a string member; absent and null are "".
func (o object) optString(name string) (string, error) {
	raw, ok := o.raw[name]
	if !ok || isNull(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", fieldErr(o.field(name), "not a string")
	}
	return strings.TrimSpace(s), nil
}

// optID reads an identifier that the platform writes as a string or, now and
// then, as a number.
func (o object) optID(name string) (string, error) {
	raw, ok := o.raw[name]
	if !ok || isNull(raw) {
		return "", nil
	}
	return scalarID(o.field(name), raw)
}

// optIDFold is optID with the member name matched case-insensitively, an
// exact match winning, then the first of the other spellings in sorted order
// (so that the result never depends on map order): request parameter names
// are not always spelt alike.
func (o object) optIDFold(name string) (string, error) {
	if _, ok := o.raw[name]; ok {
		return o.optID(name)
	}
	for _, k := range sortedKeys(o.raw) {
		if strings.EqualFold(k, name) && !isNull(o.raw[k]) {
			return scalarID(o.field(k), o.raw[k])
		}
	}
	return "", nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func scalarID(field string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", fieldErr(field, "not a string")
		}
		return strings.TrimSpace(s), nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return "", fieldErr(field, "not a string or number")
	}
	return n.String(), nil
}

// object reads a member that must be a JSON object. A string holding a JSON
// object is accepted too: some records carry data that way.
func (o object) object(name string, required bool) (object, error) {
	sub := object{path: o.field(name)}
	raw, ok := o.raw[name]
	if !ok || isNull(raw) {
		if required {
			return sub, fieldErr(sub.path, "missing")
		}
		return sub, nil
	}
	m, err := decodeObject(raw)
	if err != nil {
		return sub, fieldErr(sub.path, "not an object")
	}
	if m == nil && required {
		return sub, fieldErr(sub.path, "missing")
	}
	sub.raw = m
	return sub, nil
}

// looseObject is object for requestParameters and responseElements, where the
// platform is loose: absent, null, "" and {} are all "nothing", and an array
// (some records use [] for no parameters) counts as nothing as well.
func (o object) looseObject(name string) (object, error) {
	raw := bytes.TrimSpace(o.raw[name])
	if len(raw) > 0 && raw[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil && len(list) == 0 {
			return object{path: o.field(name)}, nil
		}
	}
	return o.object(name, false)
}

// decodeObject decodes an object, or a string holding one. An empty string is
// no object (nil map, no error).
func decodeObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("not an object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}
