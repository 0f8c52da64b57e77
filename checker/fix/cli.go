package fix

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Param is one request parameter as it travels: nested objects and lists
// flattened with dots (TunnelOptionsSpecification.TunnelIkeConfig.IkeEncAlg,
// a list's items numbered from 1), as the SDK sends them and the aliyun CLI
// takes them.
type Param struct{ Name, Value string }

// leading are the parameters a CLI line names first.
var leading = []string{"RegionId", "VpnConnectionId", "TunnelId"}

// Flatten writes an API call's parameters as they travel, the leading
// ones first, then by name.
func Flatten(params map[string]any) []Param {
	var out []Param
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				walk(prefix+"."+k, x[k])
			}
		case []any:
			for i, e := range x {
				walk(prefix+"."+strconv.Itoa(i+1), e)
			}
		case string:
			out = append(out, Param{prefix, x})
		case json.Number:
			out = append(out, Param{prefix, x.String()})
		default:
			out = append(out, Param{prefix, fmt.Sprint(x)})
		}
	}
	for _, k := range sortedKeys(params) {
		walk(k, params[k])
	}
	for i := range out {
		out[i].Name = strings.TrimPrefix(out[i].Name, ".")
	}
	rank := func(p Param) int {
		if i := slices.Index(leading, p.Name); i >= 0 {
			return i
		}
		return len(leading)
	}
	slices.SortStableFunc(out, func(a, b Param) int { return rank(a) - rank(b) })
	return out
}

// cliLine is the call as an aliyun CLI command, new keys generated first
// on the user's side. Values are single-quoted for a POSIX shell, with a
// key's placeholder spliced in as a shell variable, only where the plan
// put it: a value from the cloud (an id, a role) that spells a placeholder
// must not carry the new key.
func cliLine(api report.FixAPI) string {
	params := Flatten(api.Parameters)
	var keys []string
	for _, p := range params {
		if !holdsKey(p.Name) {
			continue
		}
		for _, k := range keyNames {
			if strings.Contains(p.Value, Placeholder(k)) && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(k + `="$(` + KeyCommand + `)" && `)
	}
	sb.WriteString("aliyun vpc " + api.Action)
	for _, p := range params {
		var spliced []string
		if holdsKey(p.Name) {
			spliced = keys
		}
		sb.WriteString(" --" + p.Name + " " + shellValue(p.Value, spliced))
	}
	return sb.String()
}

// holdsKey: the parameter is where a plan puts a new key, a single-tunnel
// connection's IkeConfig (JSON text whose other values spell no
// placeholder, see dropPlaceholders) or a tunnel's TunnelIkeConfig.Psk.
func holdsKey(name string) bool {
	return name == "IkeConfig" || strings.HasSuffix(name, ".TunnelIkeConfig.Psk")
}

// shellValue quotes v, leaving the placeholders of keys as "$NAME".
func shellValue(v string, keys []string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,", r))
	}) < 0 {
		return v
	}
	quote := func(s string) string {
		if s == "" {
			return ""
		}
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var sb strings.Builder
	for v != "" {
		at, name := -1, ""
		for _, k := range keys {
			if i := strings.Index(v, Placeholder(k)); i >= 0 && (at < 0 || i < at) {
				at, name = i, k
			}
		}
		if at < 0 {
			sb.WriteString(quote(v))
			break
		}
		sb.WriteString(quote(v[:at]))
		sb.WriteString(`"$` + name + `"`)
		v = v[at+len(Placeholder(name)):]
	}
	if sb.Len() == 0 {
		return "''"
	}
	return sb.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Terraform writes the attributes as HCL to paste into the resource:
// nested objects as blocks, lists of objects as repeated blocks, and a
// "${...}" string as the expression it holds.
func Terraform(tf report.FixTerraform) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "resource %q \"this\" {\n", tf.Resource)
	writeHCL(&sb, tf.Attributes, "  ")
	sb.WriteString("}\n")
	return sb.String()
}

func writeHCL(sb *strings.Builder, m map[string]any, indent string) {
	for _, k := range sortedKeys(m) {
		switch x := m[k].(type) {
		case map[string]any:
			sb.WriteString(indent + k + " {\n")
			writeHCL(sb, x, indent+"  ")
			sb.WriteString(indent + "}\n")
		case []any:
			for _, e := range x {
				if o, ok := e.(map[string]any); ok {
					sb.WriteString(indent + k + " {\n")
					writeHCL(sb, o, indent+"  ")
					sb.WriteString(indent + "}\n")
				}
			}
		case string:
			if isVarRef(x) {
				sb.WriteString(indent + k + " = " + x[2:len(x)-1] + "\n")
			} else {
				sb.WriteString(indent + k + " = " + hclString(x) + "\n")
			}
		default:
			sb.WriteString(indent + k + " = " + fmt.Sprint(x) + "\n")
		}
	}
}

// isVarRef reports whether s is a key's own variable, "${var.new_psk}" or
// "${var.new_psk_N}", the one expression the attributes hold; every other
// string (ids and roles from the cloud among them, even one spelling
// "${var.x}") is a literal.
func isVarRef(s string) bool {
	name, pre := strings.CutPrefix(s, "${var.")
	name, suf := strings.CutSuffix(name, "}")
	if !pre || !suf {
		return false
	}
	for _, k := range keyNames {
		if name == strings.ToLower(k) {
			return true
		}
	}
	return false
}

// hclString is s as an HCL string literal that interpolates nothing: its
// "${" and "%{" escaped as "$${" and "%%{".
func hclString(s string) string {
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(strconv.Quote(s))
}
