package vpcfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"
)

// ModifyVpnConnectionAttribute and ModifyTunnelAttribute are validated
// against the SDK's own request models: a parameter the model does not
// have, a value of the wrong type, a JSON string (IkeConfig, IpsecConfig)
// with a key its model does not have, or an algorithm the API does not
// offer is refused with 400 InvalidParameter, as a typo would be by the
// real service; the rest is applied to the connection, so the next
// DescribeVpnConnections shows it. The change takes effect at once (the
// real one is asynchronous).

// The write actions the fake answers.
const (
	ActionModifyVpnConnectionAttribute = "ModifyVpnConnectionAttribute"
	ActionModifyTunnelAttribute        = "ModifyTunnelAttribute"
)

// paramKind is what a parameter of a request model holds.
type paramKind int

const (
	kindString paramKind = iota
	kindInt
	kindBool
)

// model is a request model's parameters, flattened as the SDK sends them:
// "TunnelOptionsSpecification.#.TunnelIkeConfig.IkeEncAlg", # for a list
// index from 1.
type model map[string]paramKind

// modelOf reads the parameters of an SDK request struct from its json tags.
func modelOf(v any) model {
	m := model{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				walk(prefix+name+".", ft)
			case reflect.Slice:
				walk(prefix+name+".#.", ft.Elem())
			case reflect.Int, reflect.Int32, reflect.Int64:
				m[prefix+name] = kindInt
			case reflect.Bool:
				m[prefix+name] = kindBool
			default:
				m[prefix+name] = kindString
			}
		}
	}
	walk("", reflect.TypeOf(v))
	return m
}

var (
	modifyConnectionModel = modelOf(vpc.ModifyVpnConnectionAttributeRequest{})
	modifyTunnelModel     = modelOf(vpc.ModifyTunnelAttributeRequest{})
	// The JSON strings of ModifyVpnConnectionAttribute have the shapes of
	// the tunnel configs' models (the same keys, documented on IkeConfig).
	ikeConfigModel   = modelOf(vpc.ModifyVpnConnectionAttributeRequestTunnelOptionsSpecificationTunnelIkeConfig{})
	ipsecConfigModel = modelOf(vpc.ModifyVpnConnectionAttributeRequestTunnelOptionsSpecificationTunnelIpsecConfig{})
)

// The values the API documents for each algorithm field.
var allowedValues = map[string][]string{
	"IkeVersion":   {"ikev1", "ikev2"},
	"IkeMode":      {"main", "aggressive"},
	"IkeEncAlg":    {"aes", "aes192", "aes256", "des", "3des", "sm4"},
	"IkeAuthAlg":   {"md5", "sha1", "sha256", "sha384", "sha512", "sm3"},
	"IkePfs":       {"group1", "group2", "group5", "group14"},
	"IpsecEncAlg":  {"aes", "aes192", "aes256", "des", "3des", "sm4"},
	"IpsecAuthAlg": {"md5", "sha1", "sha256", "sha384", "sha512", "sm3"},
	"IpsecPfs":     {"disabled", "group1", "group2", "group5", "group14"},
}

var index = regexp.MustCompile(`\.[1-9][0-9]*\.`)

func invalid(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameter", fmt.Sprintf(format, a...)}
}

// validate checks every parameter of a request against the model.
func validate(params url.Values, m model, modelName string) *apiError {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		kind, ok := m[index.ReplaceAllString(name, ".#.")]
		if !ok {
			return invalid("The parameter %s is not a parameter of %s.", name, modelName)
		}
		if err := checkValue(name, params.Get(name), kind); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(name, v string, kind paramKind) *apiError {
	leaf := name[strings.LastIndex(name, ".")+1:]
	switch kind {
	case kindInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return invalid("The parameter %s must be an integer, not %q.", name, v)
		}
		if strings.HasSuffix(leaf, "Lifetime") && (n < 0 || n > 86400) {
			return invalid("The parameter %s must be 0 to 86400.", name)
		}
	case kindBool:
		if v != "true" && v != "false" {
			return invalid("The parameter %s must be true or false, not %q.", name, v)
		}
	default:
		if vals, ok := allowedValues[leaf]; ok && !slices.Contains(vals, v) {
			return invalid("The specified %s %q is not valid: it must be one of %s.", name, v, strings.Join(vals, ", "))
		}
		if leaf == "Psk" && (utf8.RuneCountInString(v) < 1 || utf8.RuneCountInString(v) > 100 || strings.ContainsAny(v, " \t\n")) {
			return invalid("The specified %s is not valid: 1 to 100 characters without spaces.", name)
		}
	}
	return nil
}

// jsonParam reads a JSON-string parameter (IkeConfig) as the model's
// object: unknown keys and wrong types are refused.
func jsonParam(name, raw string, m model) (map[string]any, *apiError) {
	var obj map[string]any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, invalid("The parameter %s is not a JSON object.", name)
	}
	for k, v := range obj {
		kind, ok := m[k]
		if !ok {
			return nil, invalid("The parameter %s has an unknown key %s.", name, k)
		}
		var s string
		switch x := v.(type) {
		case string:
			if kind == kindInt {
				return nil, invalid("%s.%s must be a number.", name, k)
			}
			s = x
		case json.Number:
			if kind != kindInt {
				return nil, invalid("%s.%s must be a string.", name, k)
			}
			s = x.String()
		default:
			return nil, invalid("%s.%s must be a string or a number.", name, k)
		}
		if err := checkValue(name+"."+k, s, kind); err != nil {
			return nil, err
		}
		if kind == kindInt {
			n, _ := strconv.ParseInt(s, 10, 64)
			obj[k] = n
		}
	}
	return obj, nil
}

// nested reads the parameters under prefix ("TunnelOptionsSpecification.")
// into an object: one level of sub-objects, ints and bools typed.
func nested(params url.Values, prefix string, m model, modelPrefix string) map[string]any {
	out := map[string]any{}
	for k := range params {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		kind := m[modelPrefix+rest]
		var v any = params.Get(k)
		switch kind {
		case kindInt:
			v, _ = strconv.ParseInt(params.Get(k), 10, 64)
		case kindBool:
			v = params.Get(k) == "true"
		}
		if obj, field, ok := strings.Cut(rest, "."); ok {
			sub, _ := out[obj].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				out[obj] = sub
			}
			sub[field] = v
		} else {
			out[rest] = v
		}
	}
	return out
}

// modify answers the two write actions.
func (s *Server) modify(params url.Values, call *Call) (map[string]any, int, *apiError) {
	m, modelName := modifyConnectionModel, "ModifyVpnConnectionAttributeRequest"
	if call.Action == ActionModifyTunnelAttribute {
		m, modelName = modifyTunnelModel, "ModifyTunnelAttributeRequest"
	}
	if err := validate(params, m, modelName); err != nil {
		return nil, 0, err
	}
	id := params.Get("VpnConnectionId")
	for _, req := range []string{"RegionId", "VpnConnectionId"} {
		if params.Get(req) == "" {
			return nil, 0, &apiError{http.StatusBadRequest, "MissingParameter", req + " is mandatory for this action."}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := accountRegion{call.Account, call.Region}
	list := s.conns[k]
	i := slices.IndexFunc(list, func(c json.RawMessage) bool { return connectionID(c) == id })
	if i < 0 {
		return nil, 0, &apiError{http.StatusBadRequest, "InvalidVpnConnectionInstanceId.NotFound", fmt.Sprintf("The specified VpnConnectionId %s does not exist in %s.", id, call.Region)}
	}
	var conn map[string]any
	if err := json.Unmarshal(list[i], &conn); err != nil {
		return nil, 0, &apiError{http.StatusInternalServerError, "InternalError", "The connection is not readable."}
	}
	var aerr *apiError
	ans := map[string]any{"VpnConnectionId": id, "VpnGatewayId": conn["VpnGatewayId"], "Name": conn["Name"]}
	if call.Action == ActionModifyTunnelAttribute {
		aerr = applyTunnel(conn, params)
		ans["TunnelId"] = params.Get("TunnelId")
	} else {
		aerr = applyConnection(conn, params)
	}
	if aerr != nil {
		return nil, 0, aerr
	}
	b, err := json.Marshal(conn)
	if err != nil {
		return nil, 0, &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	list = slices.Clone(list)
	list[i] = b
	s.conns[k] = list
	return ans, http.StatusOK, nil
}

// tunnels is a connection's TunnelOptionsSpecification.TunnelOptions.
func tunnels(conn map[string]any) []any {
	spec, _ := conn["TunnelOptionsSpecification"].(map[string]any)
	list, _ := spec["TunnelOptions"].([]any)
	return list
}

func merge(into map[string]any, key string, from map[string]any) {
	cur, _ := into[key].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	for k, v := range from {
		cur[k] = v
	}
	into[key] = cur
}

// applyTunnelOptions merges one TunnelOptionsSpecification into a tunnel
// as DescribeVpnConnections shows it (tunnel EnableDpd is a string there).
func applyTunnelOptions(t map[string]any, spec map[string]any) {
	for k, v := range spec {
		switch k {
		case "TunnelIkeConfig", "TunnelIpsecConfig", "TunnelBgpConfig":
			if o, ok := v.(map[string]any); ok {
				merge(t, k, o)
			}
		case "EnableDpd", "EnableNatTraversal":
			t[k] = fmt.Sprint(v)
		case "TunnelId":
		default:
			t[k] = v
		}
	}
}

func applyTunnel(conn map[string]any, params url.Values) *apiError {
	tid := params.Get("TunnelId")
	if tid == "" {
		return &apiError{http.StatusBadRequest, "MissingParameter", "TunnelId is mandatory for this action."}
	}
	list := tunnels(conn)
	if len(list) == 0 {
		return &apiError{http.StatusBadRequest, "OperationUnsupported.SingleTunnel", "The IPsec connection is in single-tunnel mode: use ModifyVpnConnectionAttribute."}
	}
	for _, x := range list {
		t, _ := x.(map[string]any)
		if t != nil && t["TunnelId"] == tid {
			applyTunnelOptions(t, nested(params, "TunnelOptionsSpecification.", modifyTunnelModel, "TunnelOptionsSpecification."))
			return nil
		}
	}
	return &apiError{http.StatusBadRequest, "InvalidTunnelId.NotFound", fmt.Sprintf("The specified TunnelId %s does not exist.", tid)}
}

func applyConnection(conn map[string]any, params url.Values) *apiError {
	dual := len(tunnels(conn)) > 0
	for _, single := range []string{"IkeConfig", "IpsecConfig", "EnableDpd", "EnableNatTraversal", "BgpConfig", "HealthCheckConfig"} {
		if dual && params.Has(single) {
			return invalid("The parameter %s applies to a single-tunnel connection only: this one has two tunnels (use TunnelOptionsSpecification).", single)
		}
	}
	if !dual && slices.ContainsFunc(mapsKeys(params), func(k string) bool { return strings.HasPrefix(k, "TunnelOptionsSpecification.") }) {
		return invalid("TunnelOptionsSpecification applies to a dual-tunnel connection only.")
	}
	for _, p := range []struct {
		name string
		m    model
	}{{"IkeConfig", ikeConfigModel}, {"IpsecConfig", ipsecConfigModel}} {
		if !params.Has(p.name) {
			continue
		}
		obj, err := jsonParam(p.name, params.Get(p.name), p.m)
		if err != nil {
			return err
		}
		merge(conn, p.name, obj)
	}
	for _, b := range []string{"EnableDpd", "EnableNatTraversal"} {
		if params.Has(b) {
			conn[b] = params.Get(b) == "true"
		}
	}
	for n := 1; dual; n++ {
		prefix := "TunnelOptionsSpecification." + strconv.Itoa(n) + "."
		spec := nested(params, prefix, modifyConnectionModel, "TunnelOptionsSpecification.#.")
		if len(spec) == 0 {
			break
		}
		tid, _ := spec["TunnelId"].(string)
		found := false
		for _, x := range tunnels(conn) {
			if t, _ := x.(map[string]any); t != nil && tid != "" && t["TunnelId"] == tid {
				applyTunnelOptions(t, spec)
				found = true
			}
		}
		if !found {
			return &apiError{http.StatusBadRequest, "InvalidTunnelId.NotFound", fmt.Sprintf("%sTunnelId %q does not name a tunnel of the connection.", prefix, tid)}
		}
	}
	return nil
}

func mapsKeys(v url.Values) []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	return out
}
