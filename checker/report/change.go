package report

import (
	"strings"
	"time"
)

// Change is the API call a change event brought (an ActionTrail record that
// EventBridge delivered): who created, modified or deleted which IPsec-VPN
// connection, when and from where. A run that judges one connection for it
// carries it on its report, so that the news names the change that caused
// it, or fixed it.
//
// Every string is untrusted text from the event (a session name or a user
// agent is the caller's to choose): writers and notifiers sanitise it as
// they sanitise any cloud text. It never holds a parameter's value, a key
// or an access key id: Changed names parameters only.
type Change struct {
	Event        string    `json:"event"` // the API called, e.g. ModifyVpnConnectionAttribute
	EventID      string    `json:"event_id,omitempty"`
	RequestID    string    `json:"request_id,omitempty"` // of the API call
	AccountID    string    `json:"account_id,omitempty"`
	Region       string    `json:"region"`
	ConnectionID string    `json:"connection_id"`
	TunnelID     string    `json:"tunnel_id,omitempty"` // the tunnel a call named, if any
	Actor        string    `json:"actor"`               // e.g. "RAM user alice", "role vpn-admin (session bob)"
	Time         time.Time `json:"time"`
	SourceIP     string    `json:"source_ip,omitempty"`
	Console      bool      `json:"console"` // made in the console, as far as the record tells
	Deleted      bool      `json:"deleted,omitempty"`
	Changed      []string  `json:"changed,omitempty"` // names of the request parameters set, sorted
}

// Via says how the call was made: "console" or "API".
func (c *Change) Via() string {
	if c.Console {
		return "console"
	}
	return "API"
}

// Summary is the change in one line of plain words, e.g. "ModifyVpnConnectionAttribute
// of vco-1 in cn-hangzhou by RAM user alice from 203.0.113.10 (API) at
// 2025-03-04T08:15:30Z; set IkeConfig, IpsecConfig". Its parts are the
// event's untrusted text: sanitise it for the sink that shows it.
func (c *Change) Summary() string {
	var b strings.Builder
	b.WriteString(c.Event)
	if c.ConnectionID != "" {
		b.WriteString(" of " + c.ConnectionID)
	}
	if c.TunnelID != "" {
		b.WriteString(" (tunnel " + c.TunnelID + ")")
	}
	if c.Region != "" {
		b.WriteString(" in " + c.Region)
	}
	if c.Actor != "" {
		b.WriteString(" by " + c.Actor)
	}
	if c.SourceIP != "" {
		b.WriteString(" from " + c.SourceIP)
	}
	b.WriteString(" (" + c.Via() + ")")
	if !c.Time.IsZero() {
		b.WriteString(" at " + c.Time.UTC().Format(time.RFC3339))
	}
	if len(c.Changed) > 0 {
		b.WriteString("; set " + strings.Join(c.Changed, ", "))
	}
	return b.String()
}
