package vpcfake

import (
	"encoding/json"
	"slices"
)

// DescribeVpnConnections with a VpnConnectionId answers that connection
// alone (TotalCount 1), or an empty list (TotalCount 0) when the region
// holds none with that id, as after a delete. ReplaceConnection,
// RemoveConnection and SetStatus change what it answers between calls, as
// a change to the connection would.

// statusOverride is the Status a connection shows for its next describes.
type statusOverride struct {
	status string
	times  int
}

// ReplaceConnection puts conn (as AddConnections takes it) in place of the
// connection of the default account with the same VpnConnectionId in
// region, or appends it when there is none.
func (s *Server) ReplaceConnection(region string, conn any) {
	raw := toRaw(conn)
	id := connectionID(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := accountRegion{"", region}
	list := slices.Clone(s.conns[k])
	if i := slices.IndexFunc(list, func(c json.RawMessage) bool { return connectionID(c) == id }); i >= 0 {
		list[i] = raw
	} else {
		list = append(list, raw)
	}
	s.conns[k] = list
}

// RemoveConnection deletes the connection id from region of the default account.
func (s *Server) RemoveConnection(region, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := accountRegion{"", region}
	s.conns[k] = slices.DeleteFunc(slices.Clone(s.conns[k]), func(c json.RawMessage) bool { return connectionID(c) == id })
}

// SetStatus makes the connection id show status (e.g. "updating") in the
// next times answers to a describe of it by id, whatever it holds.
func (s *Server) SetStatus(id, status string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[id] = &statusOverride{status: status, times: times}
}

// only keeps the connections whose id is id, with any status override
// applied. The caller holds s.mu.
func (s *Server) only(all []json.RawMessage, id string) []json.RawMessage {
	var out []json.RawMessage
	for _, c := range all {
		if connectionID(c) != id {
			continue
		}
		if o := s.statuses[id]; o != nil && o.times > 0 {
			o.times--
			c = withStatus(c, o.status)
		}
		out = append(out, c)
	}
	return out
}

func connectionID(c json.RawMessage) string {
	var v struct{ VpnConnectionId string }
	json.Unmarshal(c, &v)
	return v.VpnConnectionId
}

func withStatus(c json.RawMessage, status string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(c, &m) != nil {
		return c
	}
	m["Status"], _ = json.Marshal(status)
	b, _ := json.Marshal(m)
	return b
}
